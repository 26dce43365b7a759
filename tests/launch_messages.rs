//! Real launches whose tasks stay PENDING because of where the launch's messages go or what
//! becomes of them: a queue name, a vhost, a task module, a serializer, a result backend, a
//! CLI's queues or modules. Each project of corpus/launches is captured both ways, diffed
//! and isolated with no hand edits; every trial replays the test's own messages where the
//! test sent them, and the outcome names how they were left.

mod common;

use common::launch::*;

/// The captured failing case's header.
fn header(captured: &Captured) -> String {
    std::fs::read_to_string(captured.failing())
        .unwrap()
        .lines()
        .take_while(|line| line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_celery_queue_name_from_an_environment_variable() {
    let captured = capture_pair("dispatch");
    let header = header(&captured);
    assert!(
        header.contains(
            "20 messages for `dispatch.tasks.route_parcel` to `celery` on 127.0.0.1:5672/"
        ) && header.contains("the worker consumed `ci-tasks` on 127.0.0.1:5672/"),
        "{header}"
    );
    assert!(
        header.contains("the command exited with status 1"),
        "{header}"
    );
    let json = check_pair(&captured, &[]);
    let stall = json["outcome"]["stall"].as_str().unwrap_or_default();
    assert!(stall.contains("wait in `celery`"), "{stall}");
}

#[test]
fn a_queue_the_fixture_adds_to_the_celery_command_line() {
    let captured = capture_pair("invoicing");
    let failing = case_table(&captured.failing());
    assert_eq!(
        failing["options"]["queues"].as_array().unwrap()[0].as_str(),
        Some("celery")
    );
    check_pair(&captured, &[]);
}

#[test]
fn a_broker_url_from_the_environment_naming_another_vhost() {
    let captured = capture_pair("bookings");
    let header = header(&captured);
    assert!(
        header.contains("to `bookings` on 127.0.0.1:5672/bookings-dev")
            && header.contains("the worker consumed `bookings` on 127.0.0.1:5672/bookings-ci"),
        "{header}"
    );
    let json = check_pair(&captured, &[]);
    let replay = &json["outcome"]["replay"];
    assert_eq!(
        replay["waiting"][0]["broker"], "127.0.0.1:5672/bookings-dev",
        "{replay}"
    );
    assert_eq!(
        replay["consumed"]["broker"], "127.0.0.1:5672/bookings-ci",
        "{replay}"
    );
}

#[test]
fn celery_on_redis_with_the_worker_on_another_database() {
    let captured = capture_pair("couriers");
    let header = header(&captured);
    assert!(
        header.contains("to `celery` on 127.0.0.1:6379/0")
            && header.contains("the worker consumed `celery` on 127.0.0.1:6379/4"),
        "{header}"
    );
    // kombu's envelope, replayed on Redis by the trials and by the attachment's launcher.
    let out = tempfile::tempdir().unwrap();
    let json = check_pair(&captured, &["--out", out.path().to_str().unwrap()]);
    assert_eq!(json["attachment_verified"], true, "{json}");
    let replay = &json["outcome"]["replay"];
    assert_eq!(
        replay["waiting"][0]["broker"], "127.0.0.1:6379/0",
        "{replay}"
    );
    assert_eq!(replay["consumed"]["broker"], "127.0.0.1:6379/4", "{replay}");
}

#[test]
fn a_task_module_the_worker_does_not_import_under_the_test_settings() {
    let captured = capture_pair("catalog");
    assert!(
        header(&captured).contains("discarded by the worker: Received unregistered task of type 'catalog.tasks.search.reindex'"),
        "{}",
        header(&captured)
    );
    // The attachment's launcher replays the test's messages too, with py-amqp (Celery's).
    let out = tempfile::tempdir().unwrap();
    let json = check_pair(&captured, &["--out", out.path().to_str().unwrap()]);
    assert_eq!(json["attachment_verified"], true, "{json}");
    assert!(
        json["outcome"]["words"]
            .as_str()
            .is_some_and(|w| w.contains("catalog.tasks.search.reindex")),
        "{}",
        json["outcome"]
    );
}

#[test]
fn test_settings_that_refuse_the_senders_serializer() {
    let captured = capture_pair("ledger");
    let failing = case_table(&captured.failing());
    let message = &failing["messages"][0];
    assert_eq!(
        message["properties"]["content_type"].as_str(),
        Some("application/x-msgpack"),
        "{message}"
    );
    let json = check_pair(&captured, &[]);
    assert!(
        json["outcome"]["words"]
            .as_str()
            .is_some_and(|w| w.contains("msgpack")),
        "{}",
        json["outcome"]
    );
}

#[test]
fn a_result_backend_missing_from_the_workers_environment() {
    let captured = capture_pair("quotes");
    let failing = case_table(&captured.failing());
    let waited = &failing["messages"][0]["waited"];
    assert_eq!(waited["how"].as_str(), Some("AsyncResult.get"), "{failing}");
    assert!(
        waited["backend"]
            .as_str()
            .is_some_and(|b| b.starts_with("redis://") && b.ends_with("/1")),
        "{waited}"
    );
    let json = check_pair(&captured, &[]);
    let stall = json["outcome"]["stall"].as_str().unwrap_or_default();
    assert!(
        stall.contains("stored its results in nowhere")
            && stall.contains("redis://127.0.0.1:6379/1"),
        "{stall}"
    );
}

#[test]
fn dramatiqs_queues_flag_leaving_out_the_actors_queue() {
    let captured = capture_pair("mailroom");
    // The attachment's launcher replays the test's messages too, with pika (Dramatiq's).
    let out = tempfile::tempdir().unwrap();
    let json = check_pair(&captured, &["--out", out.path().to_str().unwrap()]);
    assert_eq!(json["attachment_verified"], true, "{json}");
    let replay = &json["outcome"]["replay"];
    assert_eq!(replay["waiting"][0]["queue"], "digests", "{replay}");
}

#[test]
fn dramatiqs_cli_given_the_broker_module_without_the_actors() {
    let captured = capture_pair("alerts");
    let failing = case_table(&captured.failing());
    assert_eq!(failing["imports"].as_array().unwrap().len(), 1, "{failing}");
    let json = check_pair(&captured, &[]);
    assert!(
        json["outcome"]["words"]
            .as_str()
            .is_some_and(|w| w.contains("undefined actor 'page_on_call'")),
        "{}",
        json["outcome"]
    );
}

#[test]
fn an_rq_1_worker_on_another_queue_name() {
    let captured = capture_pair("exports");
    let failing = case_table(&captured.failing());
    // RQ 1's CLI (rq.cli.cli:worker) read as a command line, not an in-process worker.
    assert_eq!(
        failing["options"]["launcher"].as_str(),
        Some("console-script"),
        "{failing}"
    );
    assert_eq!(
        failing["options"]["queues"].as_array().unwrap()[0].as_str(),
        Some("exports-test")
    );
    let json = check_pair(&captured, &[]);
    let replay = &json["outcome"]["replay"];
    assert_eq!(replay["waiting"][0]["queue"], "exports", "{replay}");
    assert_eq!(replay["consumed"]["queues"][0], "exports-test", "{replay}");
}

#[test]
fn a_worker_that_leaves_before_its_messages_come() {
    let captured = capture_pair("archiver");
    let failing = case_table(&captured.failing());
    // The test enqueued after the worker had started: the messages keep their time.
    let at = failing["messages"][0]["at"].as_float().unwrap();
    assert!(at > 0.5, "{failing}");
    let json = check_pair(&captured, &[]);
    assert!(
        json["outcome"]["stall"]
            .as_str()
            .is_some_and(|s| s.contains("exited on its own (exit status 0)")),
        "{}",
        json["outcome"]
    );
}

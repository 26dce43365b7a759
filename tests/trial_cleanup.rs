//! Every trial leaves nothing behind: no worker process (even one that ignores SIGTERM or
//! left the process group) and none of the trial's queues.

mod common;

use common::*;

fn assert_nothing_left(marker: &str, queue: &str) {
    let survivors = processes_mentioning(marker);
    assert!(
        survivors.is_empty(),
        "processes survived the trial: {survivors:#?}"
    );
    for name in [
        queue.to_string(),
        format!("{queue}.DQ"),
        format!("{queue}.XQ"),
    ] {
        assert!(!queue_exists(&name), "queue {name} is still on the broker");
    }
}

fn stubborn_case(marker: &str, hang: bool, launcher: &str) -> tempfile::TempDir {
    let env = format!(
        "STUBBORN_MARKER = \"{marker}\"\nSTUBBORN_HANG = \"{}\"",
        if hang { 1 } else { 0 }
    );
    copy_case(
        "tests/cases/stubborn",
        &[
            ("STUBBORN_MARKER = \"replaced-by-the-test\"", &env),
            (
                "[env]",
                &format!("[options]\nlauncher = \"{launcher}\"\n\n[env]"),
            ),
        ],
    )
}

#[test]
fn a_processed_trial_kills_children_that_ignore_sigterm_or_left_the_group() {
    let marker = unique_marker("stubborn-processed");
    let dir = stubborn_case(&marker, false, "script");
    let output = minrepro(&["run", path_str(dir.path()), "--json"]);
    let json = output.json();
    assert_eq!(json["kind"], "processed", "{}", output.stderr);
    assert_nothing_left(&marker, json["trial"]["queue"].as_str().unwrap());
}

#[test]
fn a_pending_trial_kills_everything_too() {
    let marker = unique_marker("stubborn-pending");
    let dir = stubborn_case(&marker, true, "script");
    let output = minrepro(&["run", path_str(dir.path()), "--json", "--timeout", "1s"]);
    let json = output.json();
    assert_eq!(json["kind"], "pending", "{}", output.stderr);
    assert_nothing_left(&marker, json["trial"]["queue"].as_str().unwrap());
}

#[test]
fn a_forking_cli_worker_is_stopped_with_all_its_processes() {
    let marker = unique_marker("stubborn-cli");
    let dir = stubborn_case(&marker, true, "cli");
    let output = minrepro(&["run", path_str(dir.path()), "--json", "--timeout", "1s"]);
    let json = output.json();
    assert_eq!(json["kind"], "pending", "{}", output.stderr);
    assert_nothing_left(&marker, json["trial"]["queue"].as_str().unwrap());
}

#[test]
fn application_queues_declared_on_our_broker_are_removed() {
    let queue = unique_marker("minrepro-test-app-queue");
    let dir = copy_case(
        "tests/cases/app-queue",
        &[(
            "APP_QUEUE = \"replaced-by-the-test\"",
            &format!("APP_QUEUE = \"{queue}\""),
        )],
    );
    let output = minrepro(&["run", path_str(dir.path()), "--json"]);
    assert_eq!(output.json()["kind"], "processed", "{}", output.stderr);
    for name in [queue.clone(), format!("{queue}.DQ"), format!("{queue}.XQ")] {
        assert!(
            !queue_exists(&name),
            "the worker's queue {name} is still on the broker"
        );
    }
}

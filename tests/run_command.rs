//! `minrepro run` against the real broker with real workers: every outcome kind, each
//! corpus case's full and empty configuration, and what reaches the worker.

mod common;

use common::*;

/// The failure kind a corpus case expects, and whether it is flaky (`runs = "auto"`).
fn expectation(case_dir: &std::path::Path) -> (String, bool) {
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(case_dir.join("case.toml")).unwrap()).unwrap();
    let oracle = table.get("oracle").and_then(|o| o.as_table());
    let kind = oracle
        .and_then(|o| o.get("expect"))
        .and_then(|e| e.as_str())
        .unwrap_or("pending")
        .to_string();
    let flaky = oracle.and_then(|o| o.get("runs")).and_then(|r| r.as_str()) == Some("auto");
    (kind, flaky)
}

#[test]
fn each_corpus_case_fails_as_expected_when_full_and_passes_when_empty() {
    for case in corpus_cases() {
        let path = repo(&format!("corpus/{case}"));
        let (kind, flaky) = expectation(&path);
        // A flaky case fails about one run in two: it gets ten tries to show it.
        let tries = if flaky { 10 } else { 1 };
        let mut shown = None;
        for _ in 0..tries {
            let full = minrepro(&["run", path_str(&path), "--json", "--timeout", "3s"]);
            let json = full.json();
            if json["kind"] == kind.as_str() {
                assert_eq!(json["reproduces"], true, "{case}");
                assert_eq!(
                    full.code, 0,
                    "{case}: the failure reproduces, so exit 0\n{}",
                    full.stderr
                );
                shown = Some(json);
                break;
            }
            assert!(flaky, "{case} full: {}", full.stdout);
        }
        assert!(shown.is_some(), "{case}: no {kind} in {tries} runs");

        let empty = minrepro(&["run", path_str(&path), "--empty", "--json"]);
        let json = empty.json();
        assert_eq!(json["kind"], "processed", "{case} empty: {}", empty.stdout);
        assert!(json["latency_s"].as_f64().unwrap() > 0.0);
        assert_eq!(
            empty.code, 1,
            "{case}: no failure in the empty configuration, so exit 1"
        );
    }
}

#[test]
fn a_pending_outcome_names_its_stage_and_dumps_every_thread() {
    let output = minrepro(&[
        "run",
        path_str(&repo("corpus/stub-broker-leak")),
        "--json",
        "--timeout",
        "2s",
    ]);
    let json = output.json();
    assert_eq!(json["kind"], "pending");
    assert_eq!(json["stage"], "worker:started");
    assert!(
        json["consumers"].is_null(),
        "a StubBroker never declares the probe queue on RabbitMQ: {json}"
    );
    let dump = json["stack_dump"].as_str().unwrap();
    assert!(dump.contains("Thread 0x"), "{dump}");
    assert!(
        dump.contains("minrepro_worker.py"),
        "the main thread is in the worker: {dump}"
    );
    let stages: Vec<&str> = json["trial"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    let settings = stages
        .iter()
        .position(|s| *s == "import:app.settings")
        .unwrap();
    let tasks = stages
        .iter()
        .position(|s| *s == "import:app.tasks")
        .unwrap();
    assert!(
        settings < tasks,
        "imports are made in the listed order: {stages:?}"
    );
}

#[test]
fn the_pipe_deadlock_needs_an_unread_pipe() {
    let drained = copy_case(
        "corpus/pipe-deadlock",
        &[("stderr = \"pipe\"", "stderr = \"drain\"")],
    );
    let output = minrepro(&["run", path_str(drained.path()), "--json", "--timeout", "5s"]);
    assert_eq!(output.json()["kind"], "processed", "{}", output.stdout);

    let piped = copy_case(
        "corpus/pipe-deadlock",
        &[("stdout = \"pipe\"", "stdout = \"drain\"")],
    );
    let output = minrepro(&["run", path_str(piped.path()), "--json", "--timeout", "3s"]);
    let json = output.json();
    assert_eq!(json["kind"], "pending", "{}", output.stdout);
    let dump = json["stack_dump"].as_str().unwrap();
    assert!(
        dump.contains("logging/__init__.py"),
        "some thread is stuck in logging, writing to the full pipe: {dump}"
    );
    // The tail of what waited in the unread pipe is kept: pika's debug log.
    assert!(
        json["trial"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("pika")
    );
}

#[test]
fn crashes_carry_exit_status_or_signal_and_a_normalized_signature() {
    let case = repo("tests/cases/crasher");
    let crash = |mode: &str| {
        let dir = copy_case(
            "tests/cases/crasher",
            &[(
                "CRASH_MODE = \"exception\"",
                &format!("CRASH_MODE = \"{mode}\""),
            )],
        );
        let _ = &case;
        let output = minrepro(&["run", path_str(dir.path()), "--json"]);
        let json = output.json();
        assert_eq!(json["kind"], "crash", "{mode}: {}", output.stdout);
        assert_eq!(json["stage"], "import:crasher", "{mode}");
        assert_eq!(output.code, 0, "expect = crash, so a crash reproduces");
        json
    };
    let json = crash("exception");
    assert_eq!(json["exit_code"], 1);
    assert_eq!(
        json["signature"], "RuntimeError: cannot open <path> at 0x?",
        "paths and addresses are removed from the signature"
    );
    let json = crash("exit");
    assert_eq!(json["exit_code"], 3);
    assert_eq!(json["signature"], "exit status 3");
    let json = crash("signal");
    assert_eq!(json["signal"], "SIGKILL");
    assert!(json["exit_code"].is_null());
}

#[test]
fn an_env_value_reaches_the_worker_byte_for_byte_and_nothing_else_does() {
    let tricky = "double \" single ' newline\nsecond line $HOME ${NOT_EXPANDED} back\\slash \\n tab\t ünïcödé 日本語 🙂";
    let out_dir = tempfile::tempdir().unwrap();
    let echo_path = out_dir.path().join("environ");
    let mut env = toml::Table::new();
    env.insert(
        "PYTHONPATH".into(),
        path_str(&repo("tests/cases/env-echo/pkg")).into(),
    );
    env.insert("ENV_ECHO_PATH".into(), path_str(&echo_path).into());
    env.insert("TRICKY".into(), tricky.into());
    let mut case = toml::Table::new();
    case.insert("name".into(), "env-echo".into());
    case.insert(
        "imports".into(),
        toml::Value::Array(vec!["env_echo".into()]),
    );
    case.insert("env".into(), toml::Value::Table(env));
    let dir = write_case(&toml::to_string(&case).unwrap());

    // minrepro's own environment must not leak into the worker's.
    let output = minrepro_with_env(
        &["run", path_str(dir.path()), "--json"],
        &[("LEAK_CANARY", "from-the-tool"), ("PYTHONPATH", "/leaked")],
    );
    assert_eq!(output.json()["kind"], "processed", "{}", output.stderr);
    let environ = std::fs::read(&echo_path).unwrap();
    let mut entries: Vec<&[u8]> = environ
        .split(|b| *b == 0)
        .filter(|e| !e.is_empty())
        .collect();
    entries.sort();
    let mut expected = [
        format!("ENV_ECHO_PATH={}", echo_path.display()).into_bytes(),
        format!("PYTHONPATH={}", repo("tests/cases/env-echo/pkg").display()).into_bytes(),
        format!("TRICKY={tricky}").into_bytes(),
    ];
    expected.sort();
    assert_eq!(
        entries,
        expected.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
}

#[test]
fn the_cli_launcher_forks_workers_that_process_the_probe() {
    let dir = copy_case(
        "corpus/stub-broker-leak",
        &[
            (
                "[options]",
                "[options]\nlauncher = \"module\"\nprocesses = 2",
            ),
            // The CLI sets up its own logging: the in-process option does not apply.
            ("log_level = \"INFO\"\n", ""),
            ("DRAMATIQ_TESTING = \"1\"", "DRAMATIQ_TESTING = \"0\""),
        ],
    );
    let output = minrepro(&["run", path_str(dir.path()), "--json"]);
    let json = output.json();
    assert_eq!(json["kind"], "processed", "{}", output.stderr);
    let pids: std::collections::HashSet<u64> = json["trial"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stage"] == "python:forked")
        .map(|s| s["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 2, "two forked worker processes reported in");
    // The CLI imported the application in them, not in its main process.
    let imported_in: std::collections::HashSet<u64> = json["trial"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["stage"] == "import:app.settings")
        .map(|s| s["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(imported_in, pids, "{}", output.stderr);
}

#[test]
fn the_human_summary_goes_to_stderr_and_json_alone_to_stdout() {
    let output = minrepro(&["run", path_str(&repo("corpus/import-crash"))]);
    assert!(output.stdout.is_empty(), "{}", output.stdout);
    assert!(output.stderr.contains("CRASH"), "{}", output.stderr);
    assert!(
        output.stderr.contains("import:dramatiq"),
        "{}",
        output.stderr
    );
    assert!(
        output
            .stderr
            .contains("ValueError: invalid literal for int() with base 10: ''")
    );
}

#[test]
fn the_probe_joins_the_broker_the_cli_was_given_when_no_global_broker_is_set() {
    let output = minrepro(&[
        "run",
        path_str(&repo("tests/cases/attribute-broker")),
        "--json",
    ]);
    let json = output.json();
    assert_eq!(json["kind"], "processed", "{}", output.stderr);
    let ready = stage_of(&json, "broker:ready");
    assert!(
        ready["detail"]
            .as_str()
            .unwrap()
            .contains("the CLI's broker argument"),
        "{ready}"
    );
}

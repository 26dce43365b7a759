//! Early stall verdicts (`src/trial/stall.rs`): each rule fires on its mechanism, with its
//! proof in the outcome and long before the timeout, and a slow but healthy worker is
//! never called stuck by it.

mod common;

use common::*;

/// One run of the case in `dir` with `args`, which shows the case's failure (exit 0): the
/// outcome's JSON.
fn run_failing(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let output = minrepro(&[&["run", path_str(dir), "--json"], args].concat());
    assert_eq!(output.code, 0, "{}", output.stderr);
    output.json()
}

/// One run of a case's full configuration with a long timeout: the outcome's JSON.
fn run_with_long_timeout(case: &str) -> serde_json::Value {
    run_failing(copy_case(case, &[]).path(), &["--timeout", "40s"])
}

/// Waited at most this long for a stall a rule proves (the timeout is 40 s).
const EARLY: f64 = 15.0;

#[test]
fn a_worker_blocked_on_a_pipe_nobody_services_is_stuck_before_the_timeout() {
    for (case, mechanism) in [
        ("corpus/pipe-deadlock", "blocked writing to its stderr"),
        ("corpus/stdout-banner", "blocked writing to its stdout"),
        (
            "corpus/stdin-prompt",
            "blocked reading its stdin, a pipe nothing writes to",
        ),
    ] {
        let json = run_with_long_timeout(case);
        assert_eq!(json["kind"], "pending", "{case}: {}", json["stage"]);
        let proof = json["stall"].as_str().unwrap_or_default();
        assert!(proof.contains(mechanism), "{case}: {proof}");
        let waited = json["trial"]["wall_s"].as_f64().unwrap();
        assert!(waited < EARLY, "{case}: waited {waited}s");
    }
}

#[test]
fn a_worker_consuming_another_broker_is_stuck_before_the_timeout() {
    for (case, theirs) in [
        // Another RabbitMQ vhost, another Redis database, another Dramatiq namespace.
        ("corpus/foreign-broker", "(ci-staging)"),
        ("corpus/rq-redis-url-db", "6379 (2)"),
        ("corpus/dramatiq-redis-namespace", "(0:ledger-gw0)"),
        // Dramatiq's StubBroker, which the app's test settings installed.
        (
            "corpus/stub-broker-leak",
            "an in-memory broker (StubBroker)",
        ),
    ] {
        let json = run_with_long_timeout(case);
        assert_eq!(json["kind"], "pending", "{case}: {json}");
        let proof = json["stall"].as_str().unwrap_or_default();
        assert!(
            proof.contains("the worker consumes from") && proof.contains(theirs),
            "{case}: {json}"
        );
        let waited = json["trial"]["wall_s"].as_f64().unwrap();
        assert!(waited < EARLY, "{case}: waited {waited}s");
    }
}

/// A worker that writes to a pipe nobody reads and then imports for 5 seconds, idle: no
/// rule may call it stuck, and the automatic timeout of a case without passes of its own
/// must not either.
#[test]
fn a_slow_but_healthy_worker_is_never_called_stuck() {
    let dir = copy_case(
        "corpus/stub-broker-leak",
        &[
            (
                r#"imports = ["app.monitoring", "app.settings", "app.tasks"]"#,
                r#"imports = ["app.monitoring", "app.settings", "app.slow_start", "app.tasks"]"#,
            ),
            ("stdout = \"drain\"", "stdout = \"pipe\""),
            (
                r#"keep = ["env:PYTHONPATH"]"#,
                r#"keep = ["env:PYTHONPATH", "import:app.slow_start", "option:stdout"]"#,
            ),
            // Each copy is a new case: no passes of its own yet.
            (
                "USER = \"dev\"",
                &format!("USER = \"{}\"", unique_marker("slow")),
            ),
        ],
    );
    std::fs::write(
        dir.path().join("pkg/app/slow_start.py"),
        "import sys, time\n\
         # Half of a pipe's 64 KiB: written, never read, not full.\n\
         sys.stdout.write('loading the model ' * 1800 + '\\n')\n\
         sys.stdout.flush()\n\
         time.sleep(5)\n",
    )
    .unwrap();
    let output = minrepro(&["run", path_str(dir.path()), "--empty", "--json"]);
    let json = output.json();
    let seen = format!("{} {} {}", json["kind"], json["stall"], json["stage"]);
    assert_eq!(json["kind"], "processed", "{seen}\n{}", output.stderr);
    assert!(json["latency_s"].as_f64().unwrap() >= 5.0, "{seen}");

    // Failing for its real reason, it is stuck for that reason: the StubBroker, not the
    // pipe or the slow import.
    let output = minrepro(&["run", path_str(dir.path()), "--json"]);
    let json = output.json();
    assert_eq!(json["kind"], "pending", "{}", json["stage"]);
    let proof = json["stall"].as_str().unwrap_or_default();
    assert!(proof.contains("in-memory broker (StubBroker)"), "{proof}");
}

/// A middleware that skips every message (a kill switch left on): the probe is
/// acknowledged and gone, so the worker is stuck for good as soon as it says so.
#[test]
fn a_worker_that_discards_the_probe_is_stuck_at_once() {
    let dir = copy_case(
        "corpus/stub-broker-leak",
        &[
            (
                r#"imports = ["app.monitoring", "app.settings", "app.tasks"]"#,
                r#"imports = ["app.monitoring", "app.settings", "app.paused", "app.tasks"]"#,
            ),
            (
                r#"keep = ["env:PYTHONPATH"]"#,
                r#"keep = ["env:PYTHONPATH", "import:app.paused"]"#,
            ),
        ],
    );
    std::fs::write(
        dir.path().join("pkg/app/paused.py"),
        "import dramatiq\n\
         from dramatiq.middleware import SkipMessage\n\
         \n\
         class KillSwitch(dramatiq.Middleware):\n\
         \x20   def before_process_message(self, broker, message):\n\
         \x20       raise SkipMessage('jobs are paused')\n\
         \n\
         dramatiq.get_broker().add_middleware(KillSwitch())\n",
    )
    .unwrap();
    let json = run_failing(dir.path(), &["--empty", "--timeout", "40s"]);
    assert_eq!(json["kind"], "pending", "{json}");
    let proof = json["stall"].as_str().unwrap_or_default();
    assert!(
        proof.contains("discarded the probe unprocessed: skipped"),
        "{proof}"
    );
    let waited = json["trial"]["wall_s"].as_f64().unwrap();
    assert!(waited < EARLY, "waited {waited}s");
}

/// `--no-early-verdicts` waits the timeout out even where a rule would prove the stall.
#[test]
fn without_early_verdicts_a_stuck_worker_waits_out_its_timeout() {
    let dir = copy_case("corpus/pipe-deadlock", &[]);
    let json = run_failing(dir.path(), &["--timeout", "5s", "--no-early-verdicts"]);
    assert_eq!(json["kind"], "pending", "{json}");
    assert!(json["stall"].is_null(), "{json}");
    let waited = json["trial"]["wall_s"].as_f64().unwrap();
    assert!(waited >= 5.0, "waited {waited}s");
}

//! `minrepro bisect` end to end: real workers, real broker, every corpus case.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn the_json_finding_has_the_fields_of_the_spec() {
    let dir = copy_case("corpus/import-crash", &[]);
    let output = minrepro(&["bisect", path_str(dir.path()), "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    for field in [
        "case",
        "mode",
        "reproduces",
        "minimal",
        "kept",
        "elements_total",
        "outcome",
        "trials",
        "cache_hits",
        "recorded",
        "one_minimal",
        "reproduction_rate",
        "wall_s",
    ] {
        assert!(json.get(field).is_some(), "missing {field}: {json}");
    }
    assert_eq!(json["mode"], "minimize");
    assert_eq!(json["kept"], serde_json::json!(["env:PYTHONPATH"]));
    assert_eq!(json["outcome"]["kind"], "crash");
    assert_eq!(json["outcome"]["stage"], "import:dramatiq");
    assert_eq!(json["reproduction_rate"], "3/3");
    assert_eq!(json["values"]["env:dramatiq_queue_prefetch"], "");
    assert!(
        output.stderr.contains("reproduce the failure"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_case_whose_full_configuration_passes_does_not_reproduce() {
    let dir = copy_case(
        "corpus/import-crash",
        &[(
            "dramatiq_queue_prefetch = \"\"",
            "dramatiq_queue_prefetch = \"4\"",
        )],
    );
    let output = minrepro(&["bisect", path_str(dir.path()), "--json"]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let json = output.json();
    assert_eq!(json["reproduces"], false);
    assert!(
        json["reason"].as_str().unwrap().contains("processed"),
        "{json}"
    );
    assert_eq!(
        json["trials"], 1,
        "nothing is reduced once the full configuration passes"
    );
}

#[test]
fn isolating_against_a_good_configuration_that_crashes_stops_and_says_why() {
    let bad = copy_case("corpus/import-crash", &[]);
    let good = copy_case(
        "corpus/import-crash",
        &[(
            "TOX_ENV_NAME = \"py311-worker\"",
            "TOX_ENV_NAME = \"other\"",
        )],
    );
    let output = minrepro(&[
        "bisect",
        path_str(bad.path()),
        "--good",
        path_str(good.path()),
        "--json",
    ]);
    assert_eq!(output.code, 1, "{}", output.stderr);
    let reason = output.json()["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains("good configuration does not work"),
        "{reason}"
    );
    assert!(reason.contains("crash"), "{reason}");
    assert!(reason.contains("ValueError"), "{reason}");
    // Nothing was run against it but the good configuration itself.
    assert_eq!(output.json()["trials"], 1, "{}", output.stderr);
}

#[test]
fn a_prerequisite_is_told_apart_from_a_cause() {
    // Without PYTHONPATH the worker cannot import the app: it crashes, another failure.
    let dir = copy_case(
        "corpus/stub-broker-leak",
        &[("keep = [\"env:PYTHONPATH\"]", "keep = []")],
    );
    let output = minrepro(&["bisect", path_str(dir.path()), "--json", "--jobs", "4"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(
        sorted_names(&json["minimal"]),
        [
            "env:DRAMATIQ_TESTING",
            "env:PYTHONPATH",
            "import:app.settings"
        ]
    );
    assert_eq!(sorted_names(&json["prerequisites"]), ["env:PYTHONPATH"]);
    assert_eq!(json["one_minimal"], true);
    for evidence in json["causes"][0]["evidence"].as_array().unwrap() {
        let without = &evidence["without"];
        let expected = if evidence["element"] == "env:PYTHONPATH" {
            "unresolved"
        } else {
            "pass"
        };
        assert_eq!(without["verdict"], expected, "{evidence}");
        // A cause's evidence is a worker that works; never a crash.
        if expected == "pass" {
            assert!(
                without["outcome"]
                    .as_str()
                    .unwrap()
                    .starts_with("processed"),
                "{evidence}"
            );
        }
    }
    assert!(
        output.stderr.contains("prerequisites: without them"),
        "{}",
        output.stderr
    );
}

#[test]
fn an_interrupted_bisect_stops_fast_kills_its_workers_and_resumes_where_it_was() {
    // How many trials a whole run takes (in a folder of its own: nothing recorded).
    let whole = copy_case("corpus/stub-broker-leak", &[]);
    let output = minrepro(&["bisect", path_str(whole.path()), "--json", "--jobs", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let total = output.json()["trials"].as_u64().unwrap() as usize;

    // The same case elsewhere, interrupted while its last trial (a hang) runs.
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let (code, json, took) = bisect_interrupted(dir.path(), total - 1, &[]);
    assert_eq!(code, 130, "{json}");
    assert!(took < Duration::from_secs(2), "stopping took {took:?}");
    assert_eq!(json["reproduces"], false);
    let survivors = processes_with_env_mentioning(path_str(dir.path()));
    assert!(
        survivors.is_empty(),
        "workers survived Ctrl-C: {survivors:#?}"
    );

    // Run again: what was recorded is not run again; only the confirmation runs of the
    // result are, which are always new trials (3 for a case that fails every time).
    let output = minrepro(&["bisect", path_str(dir.path()), "--json", "--jobs", "1"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let resumed = output.json();
    assert_eq!(
        sorted_names(&resumed["minimal"]),
        ["env:DRAMATIQ_TESTING", "import:app.settings"]
    );
    let trials = resumed["trials"].as_u64().unwrap() as usize;
    assert!(
        trials <= 3 + total / 10,
        "the resumed run took {trials} trials, the whole run {total}:\n{}",
        output.stderr
    );
    assert!(resumed["recorded"].as_u64().unwrap() > 0);
    assert_eq!(resumed["reproduction_rate"], "3/3");
}

/// The lines of an attachment's trials.jsonl.
fn trial_log(attachment: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(attachment.join("trials.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Bisects a copy of `case` in `dir` with `timeout`, its attachment in `out`: the finding,
/// and the trial log.
fn bisect_with_timeout(
    case: &str,
    dir: &std::path::Path,
    out: &std::path::Path,
    timeout: &str,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let output = minrepro(&[
        "bisect",
        path_str(dir),
        "--timeout",
        timeout,
        "--jobs",
        "4",
        "--json",
        "--out",
        path_str(out),
        // The confirmation runs are then the log's last trials.
        "--no-lines",
    ]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    (output.json(), trial_log(&out.join(case)))
}

/// Pendings answered from the record, those waited out and those proven stuck for good.
fn recorded_pendings(log: &[serde_json::Value]) -> (usize, usize) {
    let recorded: Vec<_> = log
        .iter()
        .filter(|t| t["cache_hit"] == true && t["outcome"]["kind"] == "pending")
        .collect();
    let proven = recorded
        .iter()
        .filter(|t| t["outcome"]["stall"].is_string())
        .count();
    (recorded.len() - proven, proven)
}

#[test]
fn a_recorded_pending_is_not_reused_under_a_longer_timeout() {
    // A hang no stall rule proves: the worker is still importing (sleeping) at the timeout.
    let dir = copy_case("corpus/slow-import", &[]);
    let out = tempfile::tempdir().unwrap();
    let bisect = |timeout| bisect_with_timeout("slow-import", dir.path(), out.path(), timeout);
    let (_, first) = bisect("3s");
    assert!(first.iter().any(|t| t["outcome"]["kind"] == "pending"));

    // Waited 3 s: a pending says nothing about 6 s. Passes still hold.
    let (longer, log) = bisect("6s");
    assert_eq!(recorded_pendings(&log).0, 0, "{log:#?}");
    assert!(longer["recorded"].as_u64().unwrap() > 0, "{longer}");
    // The confirmation runs are new trials, whatever is on record.
    let confirmations = log
        .iter()
        .rev()
        .take(3)
        .filter(|t| t["cache_hit"] == false)
        .count();
    assert_eq!(confirmations, 3, "{log:#?}");

    // Waited 6 s: it holds for 6 s again, and for less.
    let (_, log) = bisect("6s");
    assert!(recorded_pendings(&log).0 > 0, "{log:#?}");
    let (_, log) = bisect("4s");
    assert!(recorded_pendings(&log).0 > 0, "{log:#?}");
}

#[test]
fn a_pending_proven_stuck_for_good_is_reused_under_any_timeout() {
    // The worker consumes from Dramatiq's StubBroker: stuck for good, whatever the wait.
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let out = tempfile::tempdir().unwrap();
    let bisect = |timeout| bisect_with_timeout("stub-broker-leak", dir.path(), out.path(), timeout);
    let (_, first) = bisect("3s");
    assert!(first.iter().any(|t| t["outcome"]["stall"].is_string()));
    let (_, log) = bisect("8s");
    assert!(recorded_pendings(&log).1 > 0, "{log:#?}");
}

#[test]
fn twenty_parallel_bisections_of_an_app_with_queues_of_its_own_meet_no_broker_error() {
    let dir = copy_case("tests/cases/app-queues", &[]);
    let expected = expected_of(dir.path()).minimal.unwrap();
    // Four bisections at a time, each with four trials at once: the app's queues are
    // declared and deleted by many workers and trials together.
    let results: Vec<Output> = (0..5)
        .flat_map(|_| {
            std::thread::scope(|scope| {
                let runs: Vec<_> = (0..4)
                    .map(|_| {
                        scope.spawn(|| {
                            minrepro(&[
                                "bisect",
                                path_str(dir.path()),
                                "--json",
                                "--jobs",
                                "4",
                                "--fresh",
                            ])
                        })
                    })
                    .collect();
                runs.into_iter()
                    .map(|r| r.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    assert_eq!(results.len(), 20);
    for output in &results {
        assert_ne!(
            output.code, 3,
            "an infrastructure error:\n{}",
            output.stderr
        );
        assert_eq!(output.code, 0, "{}", output.stderr);
        assert_eq!(
            sorted_names(&output.json()["minimal"]),
            expected,
            "{}",
            output.stderr
        );
    }
}

#[test]
fn minrepro_killed_mid_run_leaves_no_worker_and_resumes() {
    // A CLI launch: the worker process minrepro starts forks one of its own.
    let dir = copy_case(
        "corpus/stub-broker-leak",
        &[
            (
                "[options]",
                "[options]\nlauncher = \"module\"\nprocesses = 1",
            ),
            ("log_level = \"INFO\"\n", ""),
        ],
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir.path()), "--json", "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The probe queues of trials in flight, as written down before their workers started.
    let owner = child.id().to_string();
    let in_flight = || -> Vec<String> {
        walkdir::WalkDir::new(cache_root().join("probe-queues"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            // The owner's pid, then what the trial will make: "queue NAME" lines.
            .filter(|record| record.lines().next() == Some(owner.as_str()))
            .flat_map(|record| {
                record
                    .lines()
                    .filter_map(|line| line.strip_prefix("queue ").map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    // Once the first trial has failed, and trials are in flight: kill -9, no time to clean up.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines().map_while(Result::ok) {
        if line.contains(" trial ") && line.contains("FAILS") {
            break;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while in_flight().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    let orphaned = in_flight();
    assert!(
        !orphaned.is_empty(),
        "the killed run's trials were written down"
    );
    std::thread::sleep(Duration::from_millis(500));
    let survivors = processes_with_env_mentioning(path_str(dir.path()));
    assert!(
        survivors.is_empty(),
        "workers outlived minrepro: {survivors:#?}"
    );

    let output = minrepro(&["bisect", path_str(dir.path()), "--json"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(
        sorted_names(&json["minimal"]),
        ["env:DRAMATIQ_TESTING", "import:app.settings"]
    );
    assert!(json["recorded"].as_u64().unwrap() > 0, "{json}");
    // The next run deleted the queues the killed one left.
    for queue in &orphaned {
        assert!(!queue_exists(queue), "{queue} was left on the broker");
    }
}

/// A culprit statement inside an `if` inside a function, in a module three imports away
/// from the one the configuration names, among twenty task modules: the statement level
/// follows the kept imports and names the lines in each module on the way.
#[test]
fn the_statement_level_follows_kept_imports_down_to_a_nested_culprit() {
    let dir = copy_case("tests/cases/shop-wiring", &[]);
    let output = minrepro(&[
        "bisect",
        path_str(dir.path()),
        "--lines",
        "--jobs",
        "4",
        "--json",
    ]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    let expected = expected_of(dir.path());
    assert_eq!(
        sorted_names(&json["minimal"]),
        expected.minimal.unwrap(),
        "{}",
        output.stderr
    );
    assert_eq!(
        kept_lines(&json),
        expected.lines.unwrap(),
        "{}",
        output.stderr
    );
    for module in json["causes"][0]["lines"]["modules"].as_array().unwrap() {
        assert_eq!(module["one_minimal"], true, "{module}");
    }
    assert!(
        output
            .stderr
            .contains("pkg/shop/config/setup.py:24             dramatiq.set_broker(StubBroker())"),
        "{}",
        output.stderr
    );
}

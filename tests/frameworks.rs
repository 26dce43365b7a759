//! The same end-to-end checks for every framework and broker: Dramatiq, Celery and RQ, on
//! RabbitMQ and Redis. A bisection finds the case's culprits, its attachment's launcher
//! reproduces with plain Python outside the project, and nothing a trial made is left: no
//! worker process, no queue, no Redis key, also after Ctrl-C.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// One corpus case per framework and broker.
const CASES: &[&str] = &[
    "dramatiq-redis-namespace", // Dramatiq, Redis
    "celery-eager-settings",    // Celery, RabbitMQ, in-process worker
    "celery-env-broker",        // Celery, Redis, the celery CLI
    "rq-redis-url-db",          // RQ, Redis
];

/// Redis keys of database 0 whose names hold `text`.
fn redis_keys_with(text: &str) -> Vec<String> {
    let output = Command::new("redis-cli")
        .args(["--scan", "--pattern", &format!("*{text}*")])
        .output()
        .expect("redis-cli runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The interpreter the trials of `case` run on.
fn interpreter_of(case: &Path) -> std::path::PathBuf {
    let output = minrepro(&["run", path_str(case), "--empty", "--json"]);
    std::path::PathBuf::from(
        output.json()["trial"]["interpreter"]
            .as_str()
            .expect("the run names its interpreter"),
    )
}

/// Bisects `case` with an attachment; a problem found, if any.
fn check(case: &str) -> Option<String> {
    let dir = copy_case(&format!("corpus/{case}"), &[]);
    let out = tempfile::tempdir().unwrap();
    let output = minrepro(&[
        "bisect",
        path_str(dir.path()),
        "--out",
        path_str(out.path()),
        "--no-lines",
        "--jobs",
        "2",
        "--json",
    ]);
    if output.code != 0 {
        return Some(format!("exit {}:\n{}", output.code, output.stderr));
    }
    let json = output.json();
    let expected = expected_of(dir.path()).minimal.unwrap();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    if sorted_names(&json["minimal"]) != expected_sorted {
        return Some(format!("found {} instead of {expected:?}", json["minimal"]));
    }
    if json["attachment_verified"] != true {
        return Some(format!(
            "the attachment was not verified:\n{}",
            output.stderr
        ));
    }
    // The launcher alone, with plain Python outside the project.
    let attachment = out.path().join(case);
    let (code, printed) = run_python_file_with(
        &interpreter_of(dir.path()),
        &attachment.join("reproduce.py"),
    );
    if code != 1 || !printed.contains("REPRODUCED") {
        return Some(format!("reproduce.py exited {code}:\n{printed}"));
    }
    // Every trial's queue (and the keys named after its token) is gone.
    let log = std::fs::read_to_string(attachment.join("trials.jsonl")).unwrap();
    let queues: Vec<String> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|t| Some(t["record"]["queue"].as_str()?.to_string()))
        .collect();
    if queues.is_empty() {
        return Some("trials.jsonl records no trial".into());
    }
    for queue in &queues {
        // minrepro_<trial>_probe: every name and key of the trial holds its id.
        let token = queue.split('_').nth(1).unwrap();
        let keys = redis_keys_with(token);
        if !keys.is_empty() || queue_exists(queue) {
            return Some(format!("trial {queue} left {keys:?} (or its queue)"));
        }
    }
    None
}

#[test]
fn every_framework_finds_its_culprits_and_its_attachment_reproduces_with_plain_python() {
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for case in CASES {
            let problems = &problems;
            scope.spawn(move || {
                if let Some(problem) = check(case) {
                    problems.lock().unwrap().push(format!("{case}: {problem}"));
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Ctrl-C in the middle of a bisection: every worker process is gone, and what every
/// trial wrote down it would make on the broker was deleted (nothing is left on record for
/// the next minrepro to clean up).
fn interrupted_leaves_nothing(case: &str) {
    let dir = copy_case(&format!("corpus/{case}"), &[]);
    let cache = tempfile::tempdir().unwrap();
    // Shares the interpreters already provisioned, not the records of what trials made.
    let python = interpreter_of(dir.path());
    let env = [
        ("MINREPRO_CACHE_DIR", path_str(cache.path())),
        ("MINREPRO_PYTHON", path_str(&python)),
    ];
    let (code, json, _) = bisect_interrupted(dir.path(), 4, &env);
    assert_eq!(code, 130, "{json}");
    let survivors = processes_with_env_mentioning(path_str(dir.path()));
    assert!(
        survivors.is_empty(),
        "workers survived Ctrl-C: {survivors:#?}"
    );
    let left: Vec<_> = walkdir::WalkDir::new(cache.path().join("probe-queues"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    assert!(left.is_empty(), "trials left on the broker: {left:#?}");
}

#[test]
fn an_interrupted_rq_bisection_leaves_no_worker_and_no_key() {
    interrupted_leaves_nothing("rq-redis-url-db");
}

#[test]
fn an_interrupted_celery_prefork_bisection_leaves_no_worker_and_no_queue() {
    interrupted_leaves_nothing("celery-banner-tasks");
}

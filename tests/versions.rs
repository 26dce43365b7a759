//! The framework versions people run: capture reads the worker's whole command line on the
//! oldest and the newest supported version of each framework's CLI — Dramatiq 1.3 (whose
//! CLI is its `__main__`) and 2.2, Celery 4.4 (argparse; on the Python it supports) and
//! 5.7 (click), RQ 1.0 (`rq.cli.cli`) and 2.12 (`rq.cli.workers`) — and the captured case
//! runs on that version.

mod common;

use std::path::{Path, PathBuf};

use std::process::Command;

use common::*;

/// A virtual environment of `python` with `packages`, made once under target/test-tools.
fn environment(name: &str, python: &str, packages: &[&str]) -> PathBuf {
    let root = repo(&format!("target/test-tools/versions/{name}"));
    let _lock = lock_file(&repo(&format!("target/test-tools/versions-{name}.lock")));
    let ready = root.join("ready");
    if !ready.is_file() {
        let _ = std::fs::remove_dir_all(&root);
        let made = Command::new(python)
            .args(["-m", "venv"])
            .arg(&root)
            .output()
            .unwrap_or_else(|err| panic!("{python}: {err}"));
        assert!(made.status.success(), "{made:?}");
        let installed = Command::new(root.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(packages)
            .output()
            .unwrap();
        assert!(
            installed.status.success(),
            "pip install {packages:?}: {installed:?}"
        );
        std::fs::write(&ready, "").unwrap();
    }
    root
}

/// A Python of the time of the oldest versions (3.9): Celery 4.4's vine and Dramatiq 1.3's
/// pika import what Python 3.10 and 3.11 removed.
fn old_python() -> String {
    let pyenv = std::env::var("HOME").unwrap_or_default() + "/.pyenv/versions";
    let candidates = std::fs::read_dir(&pyenv)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("3.9."))
        .map(|e| e.path().join("bin/python3").display().to_string())
        .chain(["python3.9".to_string()]);
    for python in candidates {
        let runs = Command::new(&python).args(["-c", "import venv"]).output();
        if runs.is_ok_and(|o| o.status.success()) {
            return python;
        }
    }
    panic!("no Python 3.9 for the oldest framework versions (pyenv install 3.9)");
}

/// A project with `app/` holding `files`; captures `command` (run from the project, the
/// environment's bin first on PATH) for a few seconds; the case, after checking that it runs
/// to `processed`.
fn capture(venv: &Path, files: &[(&str, &str)], command: &[&str]) -> toml::Table {
    let project = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.path().join("app")).unwrap();
    std::fs::write(project.path().join("app/__init__.py"), "").unwrap();
    for (name, text) in files {
        std::fs::write(project.path().join("app").join(name), text).unwrap();
    }
    let out = project.path().join("case.toml");
    let mut args = vec![
        "capture".to_string(),
        "--out".into(),
        out.display().to_string(),
        "--duration".into(),
        "6s".into(),
        "--python-env".into(),
        venv.display().to_string(),
        "--".into(),
        venv.join("bin").join(command[0]).display().to_string(),
    ];
    args.extend(command[1..].iter().map(|w| w.to_string()));
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(&args)
        .env("PATH", &path)
        .env("PYTHONPATH", project.path())
        .current_dir(project.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "capture of {command:?}:\n{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    let case: toml::Table = toml::from_str(&text).unwrap();
    let run = minrepro(&["run", path_str(&out), "--json"]);
    assert_eq!(run.json()["kind"], "processed", "{text}\n{}", run.stderr);
    case
}

const DRAMATIQ_APP: &str = r#"import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

dramatiq.set_broker(RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f"))


@dramatiq.actor
def handle(number):
    return number
"#;

fn dramatiq_command_line(venv: &Path) {
    let case = capture(
        venv,
        &[("tasks.py", DRAMATIQ_APP)],
        &[
            "dramatiq",
            "app.tasks",
            "--processes",
            "1",
            "--threads",
            "2",
            "--path",
            ".",
            "--queues",
            DRAMATIQ_QUEUE,
            "-v",
            "--pid-file",
            "worker.pid",
        ],
    );
    let options = &case["options"];
    assert_eq!(case["imports"][0].as_str(), Some("app.tasks"), "{case}");
    assert_eq!(
        options["launcher"].as_str(),
        Some("console-script"),
        "{case}"
    );
    assert_eq!(options["processes"].as_integer(), Some(1), "{case}");
    assert_eq!(options["worker_threads"].as_integer(), Some(2), "{case}");
    assert_eq!(options["path"][0].as_str(), Some("."), "{case}");
    assert_eq!(
        options["queues"][0].as_str(),
        Some(DRAMATIQ_QUEUE),
        "{case}"
    );
    assert_eq!(options["verbose"].as_integer(), Some(1), "{case}");
    assert_eq!(options["--pid-file"].as_str(), Some("worker.pid"), "{case}");
}

#[test]
fn dramatiq_1_3_whose_cli_is_its_main_module() {
    let venv = environment(
        "dramatiq-1.3",
        &old_python(),
        &["dramatiq==1.3.0", "pika==0.12.0"],
    );
    dramatiq_command_line(&venv);
}

#[test]
fn dramatiq_2_2() {
    let venv = environment(
        "dramatiq-2.2",
        "python3",
        &["dramatiq==2.2.1", "pika==1.4.4"],
    );
    dramatiq_command_line(&venv);
}

/// The queues the workers are given: names of their own, each always declared by one
/// framework. Queues are the broker's and outlive a test: Dramatiq and Celery declaring one
/// name with other arguments (a dead-letter exchange or none) refuse each other's, and the
/// corpus's projects use names like `default` too.
const DRAMATIQ_QUEUE: &str = "versions-dramatiq";
const CELERY_QUEUE: &str = "versions-celery";

const CELERY_APP: &str = r#"from celery import Celery

app = Celery("app", broker="amqp://guest:guest@127.0.0.1:5672//")
app.conf.task_default_queue = "versions-celery"


@app.task
def handle(number):
    return number
"#;

fn celery_command_line(venv: &Path) {
    let case = capture(
        venv,
        &[("celery.py", CELERY_APP)],
        &[
            "celery",
            "-A",
            "app.celery",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "-Q",
            CELERY_QUEUE,
            "--without-gossip",
            "-n",
            "w1@%h",
        ],
    );
    let options = &case["options"];
    assert_eq!(case["template"].as_str(), Some("celery"), "{case}");
    assert_eq!(case["imports"][0].as_str(), Some("app.celery"), "{case}");
    assert_eq!(
        options["launcher"].as_str(),
        Some("console-script"),
        "{case}"
    );
    assert_eq!(options["worker_threads"].as_integer(), Some(1), "{case}");
    assert_eq!(options["log_level"].as_str(), Some("INFO"), "{case}");
    assert_eq!(options["queues"][0].as_str(), Some(CELERY_QUEUE), "{case}");
    assert_eq!(options["--pool"].as_str(), Some("solo"), "{case}");
    assert_eq!(options["--without-gossip"].as_bool(), Some(true), "{case}");
    assert_eq!(options["--hostname"].as_str(), Some("w1@%h"), "{case}");
}

#[test]
fn celery_4_4_whose_cli_is_argparse() {
    let venv = environment("celery-4.4", &old_python(), &["celery==4.4.7"]);
    celery_command_line(&venv);
}

#[test]
fn celery_5_7() {
    let venv = environment("celery-5.7", "python3", &["celery==5.7.0", "kombu==5.7.0"]);
    celery_command_line(&venv);
}

fn rq_command_line(venv: &Path) {
    let case = capture(
        venv,
        &[("jobs.py", "def handle(number):\n    return number\n")],
        &[
            "rq",
            "worker",
            "--url",
            "redis://127.0.0.1:6379/0",
            "--name",
            "w1",
            "--logging_level",
            "INFO",
            "default",
            "high",
        ],
    );
    let options = &case["options"];
    assert_eq!(case["template"].as_str(), Some("rq"), "{case}");
    assert_eq!(
        options["launcher"].as_str(),
        Some("console-script"),
        "{case}"
    );
    assert_eq!(options["queues"][0].as_str(), Some("default"), "{case}");
    assert_eq!(options["queues"][1].as_str(), Some("high"), "{case}");
    assert_eq!(options["log_level"].as_str(), Some("INFO"), "{case}");
    assert_eq!(
        options["--url"].as_str(),
        Some("redis://127.0.0.1:6379/0"),
        "{case}"
    );
    assert_eq!(options["--name"].as_str(), Some("w1"), "{case}");
}

#[test]
fn rq_1_0_whose_cli_is_rq_cli_cli() {
    let venv = environment(
        "rq-1.0",
        "python3",
        &["rq==1.0", "redis==3.5.3", "click==7.1.2"],
    );
    rq_command_line(&venv);
}

#[test]
fn rq_2_12() {
    let venv = environment(
        "rq-2.12",
        "python3",
        &["rq==2.12.0", "redis==8.1.0", "click==8.5.1"],
    );
    rq_command_line(&venv);
}

//! Trials on agents: `minrepro agent` processes, each with its own scratch and cache
//! folders, consuming one work queue on a vhost of the test's own; `bisect --agents`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const KEY: &str = "test-key-0123456789abcdef";

/// A vhost of the test's own, removed when dropped: agents of other tests never see its
/// requests.
struct Vhost(String);

impl Vhost {
    fn new(marker: &str) -> Vhost {
        let name = format!("minrepro-agents-{marker}");
        rabbitmqctl(&["add_vhost", &name]);
        rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        Vhost(name)
    }

    fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.0)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        rabbitmqctl(&["delete_vhost", &self.0]);
    }
}

fn rabbitmqctl(args: &[&str]) {
    let output = Command::new("rabbitmqctl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One agent process and the lines it printed so far.
struct Agent {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    _cache: tempfile::TempDir,
}

/// Trials each agent runs at once.
const SLOTS: usize = 2;

impl Agent {
    /// An agent that runs every trial on the workers' interpreter.
    fn start(work_url: &str, key: &str) -> Agent {
        Agent::spawn(work_url, key, Some(&worker_python()))
    }

    /// An agent that provisions the interpreter each request asks for, in its own cache.
    fn start_provisioning(work_url: &str, key: &str) -> Agent {
        Agent::spawn(work_url, key, None)
    }

    fn spawn(work_url: &str, key: &str, python: Option<&std::path::Path>) -> Agent {
        let cache = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_minrepro"));
        command
            .args(["agent", "--broker", work_url, "--slots"])
            .arg(SLOTS.to_string());
        if let Some(python) = python {
            command.arg("--python").arg(python);
        }
        let mut child = command
            .env("MINREPRO_AGENT_KEY", key)
            .env("MINREPRO_CACHE_DIR", cache.path())
            .env("TMPDIR", cache.path())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let agent = Agent {
            child,
            lines,
            _cache: cache,
        };
        agent.wait_for(|lines| lines.iter().any(|l| l.contains("slots on")));
        agent
    }

    fn trials(&self) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(": trial ") && !l.contains("asking for"))
            .count()
    }

    /// How many times it asked for a case's files (it keeps them once it has them).
    fn asked_for_files(&self) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains("asking for the case's files"))
            .count()
    }

    fn wait_for(&self, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done(&self.lines.lock().unwrap()) {
            assert!(
                Instant::now() < deadline,
                "{:#?}",
                self.lines.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

fn bisect_with_agents(dir: &std::path::Path, work_url: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir), "--json", "--fresh", "--jobs", "3"])
        .args(["--agents", work_url])
        .env("MINREPRO_AGENT_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finding(child: std::process::Child) -> serde_json::Value {
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn a_bisection_on_three_agents_finds_what_a_local_one_finds_and_survives_a_killed_agent() {
    let vhost = Vhost::new(&unique_marker("bisect"));
    let mut agents: Vec<Agent> = (0..3).map(|_| Agent::start(&vhost.url(), KEY)).collect();

    // All three alive.
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let json = finding(bisect_with_agents(dir.path(), &vhost.url()));
    assert_eq!(
        sorted_names(&json["minimal"]),
        ["env:DRAMATIQ_TESTING", "import:app.settings"]
    );
    assert_eq!(json["reproduction_rate"], "3/3");
    let ran: usize = agents.iter().map(Agent::trials).sum();
    assert!(
        ran >= json["trials"].as_u64().unwrap() as usize,
        "the agents ran {ran} trials"
    );
    assert!(
        agents.iter().filter(|a| a.trials() > 0).count() >= 2,
        "the trials were spread over the agents"
    );
    for agent in &agents {
        assert!(
            agent.asked_for_files() <= 1,
            "an agent asks for the case's files once, not per trial or slot: {:#?}",
            agent.lines.lock().unwrap()
        );
    }

    // One agent killed with SIGKILL in the middle: its requests go to the others.
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let done_before = agents[0].trials();
    let child = bisect_with_agents(dir.path(), &vhost.url());
    agents[0]
        .wait_for(|lines| lines.iter().filter(|l| l.contains(": trial ")).count() > done_before);
    agents[0].kill();
    let json = finding(child);
    assert_eq!(
        sorted_names(&json["minimal"]),
        ["env:DRAMATIQ_TESTING", "import:app.settings"]
    );
    assert_eq!(json["reproduction_rate"], "3/3");
    assert!(
        agents[1..].iter().all(|a| a.asked_for_files() <= 1),
        "the same files are not asked for again by an agent that has them"
    );
    let survivors = processes_with_env_mentioning(path_str(dir.path()));
    assert!(survivors.is_empty(), "workers survived: {survivors:#?}");
}

#[test]
fn a_request_without_the_right_signature_is_never_run() {
    let vhost = Vhost::new(&unique_marker("unsigned"));
    let agent = Agent::start(&vhost.url(), KEY);
    // A requester with another key: its requests are signed, but not with the agents' key.
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir.path()), "--json", "--fresh"])
        .args(["--agents", &vhost.url()])
        .env("MINREPRO_AGENT_KEY", "another-key-0123456789")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    agent.wait_for(|lines| lines.iter().any(|l| l.contains("REJECTED")));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(agent.trials(), 0, "{:#?}", agent.lines.lock().unwrap());
    let survivors = processes_with_env_mentioning(path_str(dir.path()));
    assert!(survivors.is_empty(), "a worker ran: {survivors:#?}");
}

#[test]
fn a_nightly_on_agents_loses_no_case_when_an_agent_is_killed() {
    let vhost = Vhost::new(&unique_marker("nightly"));
    let mut agents: Vec<Agent> = (0..3).map(|_| Agent::start(&vhost.url(), KEY)).collect();
    let corpus = tempfile::tempdir().unwrap();
    for case in ["import-crash", "stub-broker-leak"] {
        let copy = copy_case(&format!("corpus/{case}"), &[]);
        std::fs::rename(copy.path(), corpus.path().join(case)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args([
            "nightly",
            path_str(corpus.path()),
            "--out",
            path_str(out.path()),
        ])
        .args([
            "--json",
            "--no-lines",
            "--jobs",
            "4",
            "--agents",
            &vhost.url(),
        ])
        .env("MINREPRO_AGENT_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    agents[1].wait_for(|lines| lines.iter().any(|l| l.contains(": trial ")));
    agents[1].kill();
    let summary = finding(child);
    let cases = summary["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{summary}");
    for case in cases {
        assert_eq!(case["status"], "reduced", "{case}");
    }
    // Isolated against its good.toml, as a nightly does.
    assert_eq!(sorted_names(&cases[1]["minimal"]), ["env:DRAMATIQ_TESTING"]);
    assert!(agents.iter().map(Agent::trials).sum::<usize>() > 0);
}

/// An interpreter of the requester's own that says it has `packages` installed (their
/// metadata only: the requester never runs a worker when agents do).
fn interpreter_with(packages: &[(&str, &str)]) -> tempfile::TempDir {
    let venv = tempfile::tempdir().unwrap();
    let created = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(venv.path())
        .status()
        .unwrap();
    assert!(created.success());
    let site = std::fs::read_dir(venv.path().join("lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages");
    for (name, version) in packages {
        let info = site.join(format!("{name}-{version}.dist-info"));
        std::fs::create_dir_all(&info).unwrap();
        std::fs::write(
            info.join("METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        )
        .unwrap();
    }
    venv
}

fn bisect_on(
    dir: &std::path::Path,
    work_url: &str,
    python: &std::path::Path,
) -> std::process::Output {
    let cache = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir), "--json", "--fresh", "--jobs", "2"])
        .args(["--agents", work_url, "--python"])
        .arg(python)
        .env("MINREPRO_AGENT_KEY", KEY)
        // Not the requester's provisioned interpreter: its packages go to the agents.
        .env("MINREPRO_CACHE_DIR", cache.path())
        .output()
        .unwrap()
}

#[test]
fn an_agent_provisions_the_packages_of_the_cases_interpreter_and_says_when_it_cannot() {
    let vhost = Vhost::new(&unique_marker("provision"));
    let agent = Agent::start_provisioning(&vhost.url(), KEY);

    // The case runs on an interpreter with these packages: the agent installs the same.
    let python = interpreter_with(&[("dramatiq", "2.2.1"), ("pika", "1.4.4"), ("redis", "8.1.0")]);
    let dir = copy_case("corpus/import-crash", &[]);
    let output = bisect_on(dir.path(), &vhost.url(), &python.path().join("bin/python"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["reproduces"], true, "{json}");
    let provisioned = agent
        .lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("first use of `case`"))
        .count();
    assert_eq!(
        provisioned,
        1,
        "provisioned once: {:#?}",
        agent.lines.lock().unwrap()
    );

    // Packages no index has: the agent says it cannot, and no verdict is made of it.
    let python = interpreter_with(&[("minrepro-no-such-package", "0.0.1")]);
    let dir = copy_case("corpus/import-crash", &[]);
    let output = bisect_on(dir.path(), &vhost.url(), &python.path().join("bin/python"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("could not run the trial") && stderr.contains("install"),
        "{stderr}"
    );
}

#[test]
fn a_requester_killed_mid_bisection_resumes_from_its_records() {
    let vhost = Vhost::new(&unique_marker("resume"));
    let agents: Vec<Agent> = (0..2).map(|_| Agent::start(&vhost.url(), KEY)).collect();
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let bisect = || {
        Command::new(env!("CARGO_BIN_EXE_minrepro"))
            .args(["bisect", path_str(dir.path()), "--json", "--jobs", "3"])
            .args(["--agents", &vhost.url()])
            .env("MINREPRO_AGENT_KEY", KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };

    // Killed with SIGKILL once a few trials came back: the agents finish what they hold,
    // and their replies to the dead requester expire.
    let mut first = bisect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while agents.iter().map(Agent::trials).sum::<usize>() < 4 {
        assert!(Instant::now() < deadline, "the agents ran no trial");
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap();
    first.wait().unwrap();

    // Run again on the same agents: what the first run recorded is not run again.
    let json = finding(bisect());
    assert_eq!(
        sorted_names(&json["minimal"]),
        ["env:DRAMATIQ_TESTING", "import:app.settings"]
    );
    assert_eq!(json["reproduction_rate"], "3/3");
    assert!(
        json["recorded"].as_u64().unwrap() > 0,
        "nothing of the killed run was reused: {json}"
    );
}

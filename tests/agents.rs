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

impl Agent {
    fn start(work_url: &str, key: &str) -> Agent {
        let cache = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
            .args(["agent", "--broker", work_url, "--slots", "2", "--python"])
            .arg(worker_python())
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
            .filter(|l| l.contains(": trial "))
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

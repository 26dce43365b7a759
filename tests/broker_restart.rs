//! Broker trouble told apart from the configuration's: a RabbitMQ restart in the middle of
//! a bisection changes nothing of its finding, and a broker that stays away ends it with
//! exit 3 and the smallest failing configuration found so far. These tests stop the
//! broker itself, so they run alone (.config/nextest.toml).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn rabbitmqctl(args: &[&str]) {
    let status = Command::new("rabbitmqctl")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("rabbitmqctl runs");
    assert!(status.success(), "rabbitmqctl {args:?}");
}

/// Brings the broker back whatever happens to the test.
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let _ = Command::new("rabbitmqctl").arg("start_app").status();
        let _ = Command::new("rabbitmqctl").args(["await_startup"]).status();
    }
}

#[test]
fn a_bisection_ends_with_the_same_finding_through_a_broker_restart() {
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let bisect = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir.path()), "--json", "--jobs", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let restart = Restart;
    rabbitmqctl(&["stop_app"]);
    std::thread::sleep(Duration::from_secs(3));
    drop(restart);

    let output = bisect.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        sorted_names(&json["minimal"]),
        expected_of(dir.path()).minimal.unwrap(),
        "{stderr}"
    );
    assert_eq!(json["one_minimal"], true, "{stderr}");
    assert_eq!(json["reproduction_rate"], "3/3", "{stderr}");
    assert!(stderr.contains("the broker went away"), "{stderr}");
}

/// The queues of minrepro's trials on the broker now (named `minrepro.<trial>.…`, or
/// `minrepro_<trial>_probe`).
fn probe_queues() -> std::collections::BTreeSet<String> {
    let listed = Command::new("rabbitmqctl")
        .args(["list_queues", "--quiet", "name"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|q| {
            (q.starts_with("minrepro.") || q.starts_with("minrepro_")) && *q != "minrepro.trials"
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn a_broker_that_stays_away_ends_the_bisection_with_what_was_found_so_far() {
    let dir = copy_case("corpus/stub-broker-leak", &[]);
    let before = probe_queues();
    let bisect = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args(["bisect", path_str(dir.path()), "--json", "--jobs", "2"])
        .env("MINREPRO_BROKER_PATIENCE", "4s")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let restart = Restart;
    rabbitmqctl(&["stop_app"]);
    let output = bisect.wait_with_output().unwrap();
    drop(restart);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("stayed away for 4s"), "{stderr}");
    assert!(
        stderr.contains("smallest failing configuration so far"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["reproduces"], false);
    assert!(
        json["reason"]
            .as_str()
            .unwrap()
            .contains("run again to resume")
    );
    // Nothing of it runs on; the probe queues it could not delete while the broker was away
    // are deleted by the next minrepro that connects to it.
    assert!(processes_with_env_mentioning(path_str(dir.path())).is_empty());
    let next = minrepro(&["run", path_str(&repo("corpus/import-crash")), "--empty"]);
    assert_eq!(next.code, 1, "{}", next.stderr);
    let left: Vec<String> = probe_queues().difference(&before).cloned().collect();
    assert!(left.is_empty(), "probe queues left behind: {left:?}");
}

//! Trials stay apart, and the user's broker stays theirs. Twenty bisections at once, each
//! with four trials in flight, of cases whose launches all sent their messages to one
//! application queue on one broker (two of them Celery workers with one node name), each
//! find their own cause; the user's own messages waiting in that queue are all there after,
//! unconsumed; and nothing of minrepro's is left on the broker, in any vhost or database,
//! also after a Ctrl-C and after a worker was killed with SIGKILL.
//!
//! This test lists every queue of the broker: it runs alone (see .config/nextest.toml).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The application queue every case's launch sent to.
const SHARED: &str = "minrepro-isolation-shared-app";
const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A Dramatiq application whose actor's queue an env var can move elsewhere.
const DRAMATIQ_APP: &str = r#"import os

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker

dramatiq.set_broker(RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:5672/%2f"))


@dramatiq.actor(queue_name=os.environ.get("APP_QUEUE", "minrepro-isolation-shared-app"))
def handle(number):
    return number
"#;

/// A Celery application whose default queue an env var can move elsewhere.
const CELERY_APP: &str = r#"import os

from celery import Celery

app = Celery("capp", broker="amqp://guest:guest@127.0.0.1:5672//")
app.conf.task_default_queue = os.environ.get("APP_QUEUE", "minrepro-isolation-shared-app")


@app.task(name="capp.handle")
def handle(number):
    return number
"#;

/// A case folder: its package, and its case file with the launch's three messages to the
/// shared queue and a culprit (`APP_QUEUE`) among noise.
fn case(dir: &Path, index: usize, celery: bool) {
    let package = dir.join("pkg/app");
    std::fs::create_dir_all(&package).unwrap();
    std::fs::write(package.join("__init__.py"), "").unwrap();
    std::fs::write(
        package.join("tasks.py"),
        if celery { CELERY_APP } else { DRAMATIQ_APP },
    )
    .unwrap();
    let message = if celery {
        format!(
            r#"task = "capp.handle"
count = 3
broker = "{BROKER}"
exchange = ""
routing_key = "{SHARED}"
headers = '{{"lang": "py", "task": "capp.handle", "id": "6a1b9d3e-0000-4000-8000-000000000001", "root_id": "6a1b9d3e-0000-4000-8000-000000000001", "parent_id": null, "group": null, "retries": 0, "eta": null, "expires": null, "timelimit": [null, null], "argsrepr": "(1,)", "kwargsrepr": "{{}}", "origin": "gen1@ci"}}'
body = '[[1], {{}}, {{"callbacks": null, "errbacks": null, "chain": null, "chord": null}}]'
declare = '[{{"declare": "exchange", "name": "{SHARED}", "type": "direct", "durable": true}}, {{"declare": "queue", "name": "{SHARED}", "durable": true}}, {{"declare": "binding", "queue": "{SHARED}", "exchange": "{SHARED}", "routing_key": "{SHARED}"}}]'
[messages.properties]
content_type = "application/json"
content_encoding = "utf-8"
delivery_mode = 2
priority = 0
"#
        )
    } else {
        format!(
            r#"task = "handle"
count = 3
broker = "{BROKER}"
exchange = ""
routing_key = "{SHARED}"
body = '{{"queue_name": "{SHARED}", "actor_name": "handle", "args": [1], "kwargs": {{}}, "options": {{}}, "message_id": "x", "message_timestamp": 0}}'
declare = '[{{"declare": "queue", "name": "{SHARED}", "durable": true, "arguments": {{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "{SHARED}.XQ"}}}}]'
[messages.properties]
delivery_mode = 2
"#
        )
    };
    let text = format!(
        r#"name = "shared-{index}"
template = "{template}"
imports = ["app.tasks"]

[env]
PYTHONPATH = "${{CASE_DIR}}/pkg"
FEATURE_A = "on"
REGION = "eu-{index}"
APP_QUEUE = "ci-{index}"
LOG_FORMAT = "json"

[reduce]
keep = ["env:PYTHONPATH", "import:app.tasks"]

[expected]
minimal = ["env:APP_QUEUE"]

[[messages]]
{message}"#,
        template = if celery { "celery" } else { "dramatiq" },
    );
    std::fs::write(dir.join("case.toml"), text).unwrap();
}

fn rabbitmqctl(args: &[&str]) -> String {
    let output = Command::new("rabbitmqctl").args(args).output().unwrap();
    assert!(output.status.success(), "rabbitmqctl {args:?}: {output:?}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every queue and exchange of minrepro's trials, in every vhost, and every Redis key
/// named for one, in every database; less what was there before (`earlier`: this machine's
/// broker is shared with other runs).
fn leftovers_since(earlier: &[String]) -> Vec<String> {
    leftovers()
        .into_iter()
        .filter(|item| !earlier.contains(item))
        .collect()
}

fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    for vhost in rabbitmqctl(&["list_vhosts", "--quiet", "--no-table-headers"]).lines() {
        for what in ["list_queues", "list_exchanges"] {
            for name in
                rabbitmqctl(&[what, "-p", vhost, "--quiet", "--no-table-headers", "name"]).lines()
            {
                let name = name.trim();
                let ours = name.starts_with("minrepro.") || name.starts_with("minrepro_");
                if ours && name != "minrepro.trials" {
                    found.push(format!("{vhost}: {what} {name}"));
                }
            }
        }
    }
    for db in 0..16 {
        let keys = Command::new("redis-cli")
            .args([
                "-n",
                &db.to_string(),
                "--scan",
                "--pattern",
                "*minrepro[._]*",
            ])
            .output()
            .unwrap();
        for key in String::from_utf8_lossy(&keys.stdout).lines() {
            found.push(format!("redis db {db}: {key}"));
        }
    }
    found
}

/// The shared queue's messages and consumers (the user's).
fn shared_queue() -> (u32, u32) {
    for line in rabbitmqctl(&[
        "list_queues",
        "--quiet",
        "--no-table-headers",
        "name",
        "messages",
        "consumers",
    ])
    .lines()
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&SHARED) {
            return (words[1].parse().unwrap(), words[2].parse().unwrap());
        }
    }
    panic!("the user's queue {SHARED} is gone");
}

/// The user's own 50 messages, waiting in the shared queue before minrepro runs.
fn put_the_users_messages() {
    let script = format!(
        r#"
import pika
connection = pika.BlockingConnection(pika.URLParameters("{BROKER}"))
channel = connection.channel()
channel.queue_delete("{SHARED}")
channel.queue_declare("{SHARED}", durable=True)
for n in range(50):
    channel.basic_publish("", "{SHARED}", b"the user's own message %d" % n, pika.BasicProperties(delivery_mode=2))
connection.close()
"#
    );
    let output = Command::new(worker_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn delete_the_users_queue() {
    let script = format!(
        "import pika\nc = pika.BlockingConnection(pika.URLParameters('{BROKER}'))\nc.channel().queue_delete('{SHARED}')\nc.close()\n"
    );
    let _ = Command::new(worker_python()).args(["-c", &script]).output();
}

#[test]
fn twenty_bisections_at_once_keep_apart_and_leave_the_users_queue_alone() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..20)
        .map(|index| {
            let dir = root.path().join(format!("shared-{index}"));
            // Two of them Celery workers, with the same (default) node name.
            case(&dir, index, index < 2);
            dir
        })
        .collect();
    // The managed interpreters exist before twenty bisections want them at once.
    for dir in [&dirs[0], &dirs[2]] {
        let run = minrepro(&["run", path_str(dir), "--empty", "--json"]);
        assert_eq!(run.json()["kind"], "processed", "{}", run.stderr);
    }
    put_the_users_messages();
    assert_eq!(shared_queue(), (50, 0));
    let earlier = leftovers();

    let started = Instant::now();
    let children: Vec<_> = dirs
        .iter()
        .map(|dir| {
            Command::new(env!("CARGO_BIN_EXE_minrepro"))
                .args(["bisect", path_str(dir), "--jobs", "4", "--fresh", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut problems = Vec::new();
    for (index, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let json: serde_json::Value = match serde_json::from_slice(&output.stdout) {
            Ok(json) => json,
            Err(_) => {
                problems.push(format!("shared-{index}: no finding\n{stderr}"));
                continue;
            }
        };
        if sorted_names(&json["minimal"]) != ["env:APP_QUEUE"] || json["one_minimal"] != true {
            problems.push(format!(
                "shared-{index}: found {} (1-minimal: {})\n{stderr}",
                json["minimal"], json["one_minimal"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    eprintln!("twenty bisections at once: {:?}", started.elapsed());

    // The user's 50 messages, all there, and nobody consuming them.
    assert_eq!(shared_queue(), (50, 0));
    assert_eq!(leftovers_since(&earlier), Vec::<String>::new());
    delete_the_users_queue();
}

#[test]
fn a_ctrl_c_and_a_killed_worker_leave_nothing_behind() {
    let root = tempfile::tempdir().unwrap();
    let celery = root.path().join("celery");
    case(&celery, 0, true);
    let dramatiq = root.path().join("dramatiq");
    case(&dramatiq, 1, false);

    let earlier = leftovers();
    // Ctrl-C in the middle of a bisection of the Celery case.
    let (code, _, _) = bisect_interrupted(&celery, 3, &[]);
    assert_eq!(code, 130);
    assert_eq!(
        leftovers_since(&earlier),
        Vec::<String>::new(),
        "after Ctrl-C"
    );

    // A worker killed with SIGKILL in the middle of a bisection (once the full
    // configuration's failure is known): its trial ends as another failure, the bisection
    // goes on, and what the trial made is deleted all the same.
    let mut child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        .args([
            "bisect",
            path_str(&dramatiq),
            "--jobs",
            "2",
            "--fresh",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut finished = 0;
    let mut killed = false;
    let mut log = String::new();
    for line in std::io::BufRead::lines(stderr).map_while(Result::ok) {
        log.push_str(&line);
        log.push('\n');
        if line.contains(" trial ") && (line.contains("FAILS") || line.contains("passes")) {
            finished += 1;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while finished >= 2 && !killed && Instant::now() < deadline {
            if let Some(process) = processes_mentioning("minrepro_worker.py").first() {
                let pid = process.split(':').next().unwrap_or_default();
                killed = Command::new("kill")
                    .args(["-9", pid])
                    .status()
                    .is_ok_and(|s| s.success());
            } else {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let output = child.wait_with_output().unwrap();
    assert!(killed, "no worker to kill:\n{log}");
    let json: serde_json::Value =
        serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{log}"));
    assert_eq!(sorted_names(&json["minimal"]), ["env:APP_QUEUE"], "{log}");
    assert_eq!(
        leftovers_since(&earlier),
        Vec::<String>::new(),
        "after a worker was killed"
    );
}

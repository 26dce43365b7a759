//! What the hook wrote in the capture session's folder (see `hook.py`, `hook_messages.py`):
//! the processes of the command, the workers they started, their imports, the messages
//! published and what became of them, the results waited on, the tests that failed. Lines are appended by processes that may be killed at any moment: one that
//! does not parse is skipped.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A process of the command, when it started (or was forked).
#[derive(Debug, Clone, Deserialize)]
pub struct ProcessEvent {
    pub event: String,
    pub pid: u32,
    #[serde(default)]
    pub ppid: u32,
    #[serde(default)]
    pub argv: Vec<String>,
}

pub use crate::framework::CliArgs;

fn dramatiq() -> String {
    "dramatiq".into()
}

/// A process that started a worker (a dramatiq.Worker, a Celery WorkController, an RQ work
/// loop), or imported the `--match` module.
#[derive(Debug, Clone, Deserialize)]
pub struct Candidate {
    /// "worker", "cli-fork" (a worker process of Dramatiq's CLI, before its first import)
    /// or "match".
    pub event: String,
    /// When it was said (Unix seconds): for a worker, once it was started.
    #[serde(default)]
    pub t: f64,
    /// The framework of the worker: the case's template.
    #[serde(default = "dramatiq")]
    pub framework: String,
    pub pid: u32,
    /// The process whose launch is replayed: the CLI's main process for a worker it
    /// forked (Dramatiq's), the worker's own otherwise (also Celery's and RQ's CLI, whose
    /// main process runs the worker).
    pub launch_pid: u32,
    /// The interpreter as launched (a virtual environment's `bin/python`, not resolved).
    pub executable: PathBuf,
    pub main_module: Option<String>,
    pub main_file: Option<String>,
    pub path0: Option<String>,
    #[serde(default)]
    pub cli: bool,
    /// The framework CLI's arguments, split by its own parser.
    pub cli_args: Option<CliArgs>,
    pub cli_error: Option<String>,
    /// What could not be read of the worker itself (an unknown version).
    pub worker_error: Option<String>,
    pub worker_threads: Option<u32>,
    #[serde(default)]
    pub queues: Vec<String>,
    /// The broker's kind: Dramatiq's broker class, kombu's transport, "Redis" for RQ.
    pub broker: Option<String>,
    /// The URL of the broker the worker consumes from (Celery, RQ).
    pub broker_url: Option<String>,
    /// The log level the worker itself was given (Celery's `loglevel`, RQ's
    /// `logging_level`); `log_level` is the root logger's.
    pub worker_log_level: Option<String>,
    pub log_level: Option<String>,
    #[serde(default)]
    pub log_handlers: usize,
    pub django_settings: Option<String>,
}

impl Candidate {
    /// A worker on Dramatiq's StubBroker: a unit test's in-process worker, most likely not
    /// the one the launch is about.
    pub fn on_stub_broker(&self) -> bool {
        self.broker.as_deref() == Some("StubBroker")
    }
}

/// An application module imported by a process.
#[derive(Debug, Clone, Deserialize)]
pub struct ImportEvent {
    #[serde(default)]
    pub order: u64,
    pub module: String,
    #[serde(default)]
    pub origin: String,
    pub file: Option<String>,
    #[serde(default)]
    pub duration_s: f64,
}

/// A message a client published (see `hook_messages.py`): on RabbitMQ as it went on the
/// wire, on Redis as the framework enqueued it.
#[derive(Debug, Clone, Deserialize)]
pub struct Published {
    pub pid: u32,
    pub t: f64,
    /// "amqp" (the wire), "kombu" (a virtual transport's envelope), "rq", "dramatiq-redis".
    pub kind: String,
    /// The broker's URL, credentials included.
    pub broker: String,
    #[serde(default)]
    pub exchange: String,
    #[serde(default)]
    pub routing_key: String,
    /// Redis: the queue (RQ's, Dramatiq's); kombu: the queues its exchange routed it to.
    pub queue: Option<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// kombu's envelope (body, headers, properties).
    pub envelope: Option<serde_json::Value>,
    pub body: Option<String>,
    pub body_base64: Option<String>,
    /// The message's id and task, when the hook could read them (RQ, Dramatiq on Redis).
    pub id: Option<String>,
    pub task: Option<String>,
    #[serde(default)]
    pub at_front: bool,
}

/// A queue, exchange or binding a process declared on RabbitMQ.
#[derive(Debug, Clone, Deserialize)]
pub struct DeclaredEvent {
    pub pid: u32,
    pub broker: String,
    pub declaration: serde_json::Value,
}

/// A result a process read or waited on, and the backend it read it from (`None`: it has
/// no result backend).
#[derive(Debug, Clone, Deserialize)]
pub struct Waited {
    pub id: Option<String>,
    pub backend: Option<String>,
    pub how: String,
}

/// What a worker did with a message.
#[derive(Debug, Clone, Deserialize)]
pub struct Fate {
    /// The process that started the worker (also for its pool processes, work horses).
    pub worker: u32,
    pub id: Option<String>,
    /// "executed" or "discarded".
    pub state: String,
    pub words: Option<String>,
    /// Where it stored the result (`None`: nowhere).
    pub result: Option<String>,
}

/// When a worker was ready to consume.
#[derive(Debug, Clone, Deserialize)]
pub struct Ready {
    pub pid: u32,
    pub t: f64,
}

/// A test of the command that failed, and its assertion's words.
#[derive(Debug, Clone, Deserialize)]
pub struct TestFailure {
    pub test: String,
    pub words: String,
}

pub struct Session<'a> {
    pub dir: &'a Path,
}

fn lines<T: DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

impl Session<'_> {
    pub fn candidates(&self) -> Vec<Candidate> {
        lines(&self.dir.join("candidates.jsonl"))
    }

    pub fn processes(&self) -> Vec<ProcessEvent> {
        lines(&self.dir.join("processes.jsonl"))
    }

    /// The modules `pid` imported, in the order their imports started.
    pub fn imports(&self, pid: u32) -> Vec<ImportEvent> {
        let mut events: Vec<ImportEvent> = lines(&self.dir.join(format!("imports-{pid}.jsonl")));
        events.sort_by_key(|e| e.order);
        events
    }

    pub fn published(&self) -> Vec<Published> {
        lines(&self.dir.join("published.jsonl"))
    }

    pub fn declared(&self) -> Vec<DeclaredEvent> {
        lines(&self.dir.join("declared.jsonl"))
    }

    pub fn waited(&self) -> Vec<Waited> {
        lines(&self.dir.join("waited.jsonl"))
    }

    pub fn fates(&self) -> Vec<Fate> {
        lines(&self.dir.join("fates.jsonl"))
    }

    pub fn ready(&self) -> Vec<Ready> {
        lines(&self.dir.join("ready.jsonl"))
    }

    pub fn failures(&self) -> Vec<TestFailure> {
        lines(&self.dir.join("failures.jsonl"))
    }

    /// What a capture that found no worker saw: each process, what it ran, and whether it
    /// imported a framework and application modules.
    pub fn seen(&self) -> Vec<String> {
        self.processes()
            .iter()
            .filter(|p| p.event == "started")
            .map(|p| {
                let imports = self.imports(p.pid);
                let framework = crate::framework::names()
                    .into_iter()
                    .find(|name| imports.iter().any(|i| i.module == *name));
                let application = imports.iter().filter(|i| i.origin == "application").count();
                let mut argv = p.argv.join(" ");
                if argv.chars().count() > 100 {
                    argv = argv.chars().take(100).collect::<String>() + "…";
                }
                format!(
                    "process {} ({argv}): {}, {application} application module{}",
                    p.pid,
                    match framework {
                        Some(name) => format!("imported {name}"),
                        None => "no task framework".to_string(),
                    },
                    if application == 1 { "" } else { "s" }
                )
            })
            .collect()
    }
}

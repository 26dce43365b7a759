//! What a trial made on the brokers under its names, and its deletion. The worker writes
//! each queue and exchange it declares (and each Redis server it talks to) to its report
//! before the broker sees it; the replay writes what it declares for the sender to
//! `replay.json` before it declares it. From those, everything the trial made is deleted when
//! it ends, in every vhost and database: on RabbitMQ the queues and exchanges named for the
//! trial, on Redis every key holding the trial's id and the members holding it in the
//! frameworks' shared collections (RQ's set of queues, kombu's unacknowledged messages).
//!
//! A trial is written down (its scratch folder, with the pid of the minrepro that runs it)
//! before its worker starts; a minrepro that finds one whose owner is gone (killed with
//! SIGKILL) deletes what it left, from the same files, and then the folder.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::worker_log::WorkerLog;
use crate::broker::Declaration;
use crate::broker::{Brokers, Kind};
use crate::error::Error;

/// The file in a trial's scratch folder listing what the replay declares for the sender.
const REPLAY_DECLARED: &str = "replay.json";

/// What one trial made, by broker URL.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sweep {
    pub trial: String,
    /// Shared collections of the trial's framework whose members may hold the trial's id.
    pub shared: Vec<String>,
    /// RabbitMQ: queues and exchanges, by the URL of the vhost they are on.
    pub amqp: IndexMap<String, (Vec<String>, Vec<String>)>,
    /// Redis servers (URL with database) the trial's worker or replay used.
    pub redis: Vec<String>,
}

impl Sweep {
    pub fn new(trial: &str, shared: &[&str]) -> Sweep {
        Sweep {
            trial: trial.to_string(),
            shared: shared.iter().map(|s| s.to_string()).collect(),
            ..Sweep::default()
        }
    }

    fn add(&mut self, broker: &str, kind: &str, name: &str) {
        let (queues, exchanges) = self.amqp.entry(broker.to_string()).or_default();
        let list = if kind == "exchange" {
            exchanges
        } else {
            queues
        };
        if !list.iter().any(|n| n == name) {
            list.push(name.to_string());
        }
    }

    /// What the worker declared, and the Redis servers it used, from its report.
    pub fn add_worker(&mut self, log: &WorkerLog) {
        for declared in log.declared() {
            self.add(&declared.broker, &declared.kind, &declared.name);
        }
        for url in log.redis_servers() {
            self.add_redis(&url);
        }
    }

    /// What the replay declared (under the trial's names) on the sender's broker, and a
    /// sender's Redis.
    pub fn add_sender(&mut self, broker: &str, declarations: &[Declaration]) {
        if Kind::of(broker) == Some(Kind::Redis) {
            self.add_redis(broker);
            return;
        }
        for declaration in declarations {
            match declaration {
                Declaration::Queue { name, .. } => self.add(broker, "queue", name),
                Declaration::Exchange { name, .. } => self.add(broker, "exchange", name),
                Declaration::Binding { .. } => {}
            }
        }
    }

    pub fn add_redis(&mut self, url: &str) {
        if !self.redis.iter().any(|u| u == url) {
            self.redis.push(url.to_string());
        }
    }

    /// Deletes all of it. A broker that cannot be reached is no reason to stop: the rest is
    /// deleted, and the first trouble is returned.
    pub async fn run(&self, brokers: &Brokers) -> Result<(), Error> {
        let shared: Vec<&str> = self.shared.iter().map(String::as_str).collect();
        let mut trouble = None;
        let targets = self
            .amqp
            .iter()
            .map(|(url, (queues, exchanges))| {
                (url.as_str(), queues.as_slice(), exchanges.as_slice())
            })
            .chain(
                self.redis
                    .iter()
                    .map(|url| (url.as_str(), &[][..], &[][..])),
            );
        for (url, queues, exchanges) in targets {
            let swept = match brokers.get(url).await {
                Ok(broker) => broker.sweep(&self.trial, queues, exchanges, &shared).await,
                Err(err) => Err(err),
            };
            if let Err(err) = swept {
                trouble.get_or_insert(err);
            }
        }
        trouble.map_or(Ok(()), Err)
    }
}

/// The replay's declarations, written before they are made.
pub fn write_replay_declared(
    scratch: &Path,
    declared: &[(String, Declaration)],
) -> Result<(), Error> {
    let text = serde_json::to_string(declared)
        .map_err(|err| Error::infra(format!("cannot record the replay's declarations: {err}")))?;
    std::fs::write(scratch.join(REPLAY_DECLARED), text).map_err(|err| {
        Error::infra(format!(
            "cannot write {}: {err}",
            scratch.join(REPLAY_DECLARED).display()
        ))
    })
}

/// What a trial's scratch folder says it made: its worker's report and its replay's
/// declarations.
fn sweep_of(trial: &str, shared: &[String], scratch: &Path) -> Sweep {
    let mut sweep = Sweep {
        trial: trial.to_string(),
        shared: shared.to_vec(),
        ..Sweep::default()
    };
    let mut log = WorkerLog::new(scratch.join("report.jsonl"));
    log.poll();
    sweep.add_worker(&log);
    let declared: Vec<(String, Declaration)> =
        std::fs::read_to_string(scratch.join(REPLAY_DECLARED))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
    for (broker, declaration) in &declared {
        sweep.add_sender(broker, std::slice::from_ref(declaration));
    }
    sweep
}

/// The record of trials in flight: one file per trial, holding the pid of the minrepro
/// that runs it, its scratch folder and its framework's shared collections.
fn records(cache: &Path) -> PathBuf {
    cache.join("trials-in-flight")
}

#[derive(Serialize, Deserialize)]
struct Record {
    owner: u32,
    scratch: PathBuf,
    shared: Vec<String>,
}

/// Writes the trial down before its worker starts.
pub fn claim(cache: &Path, trial: &str, scratch: &Path, shared: &[&str]) {
    let dir = records(cache);
    let record = Record {
        owner: std::process::id(),
        scratch: scratch.to_path_buf(),
        shared: shared.iter().map(|s| s.to_string()).collect(),
    };
    if std::fs::create_dir_all(&dir).is_ok()
        && let Ok(text) = serde_json::to_string(&record)
    {
        let _ = std::fs::write(dir.join(trial), text);
    }
}

/// The trial is swept: its record goes.
pub fn release(cache: &Path, trial: &str) {
    let _ = std::fs::remove_file(records(cache).join(trial));
}

/// Whether `pid` is a minrepro still running.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "minrepro")
}

/// Sweeps what trials of minrepros that died left, and their scratch folders.
pub async fn sweep_orphans(cache: &Path, brokers: &Brokers) {
    let Ok(entries) = std::fs::read_dir(records(cache)) else {
        return;
    };
    for entry in entries.flatten() {
        let Some(record) = std::fs::read_to_string(entry.path())
            .ok()
            .and_then(|text| serde_json::from_str::<Record>(&text).ok())
        else {
            continue;
        };
        if alive(record.owner) {
            continue;
        }
        let trial = entry.file_name().to_string_lossy().into_owned();
        let sweep = sweep_of(&trial, &record.shared, &record.scratch);
        if sweep.run(brokers).await.is_ok() {
            let _ = std::fs::remove_dir_all(&record.scratch);
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_trial_is_known_from_its_scratch_folder() {
        let scratch = tempfile::tempdir().unwrap();
        std::fs::write(
            scratch.path().join("report.jsonl"),
            concat!(
                r#"{"t": 1.0, "pid": 7, "info": "declared", "what": "queue", "name": "minrepro.abc.celery", "broker": "amqp://u:p@h:5672/proj-ci"}"#,
                "\n",
                r#"{"t": 1.1, "pid": 7, "info": "declared", "what": "exchange", "name": "minrepro.abc.celery", "broker": "amqp://u:p@h:5672/proj-ci"}"#,
                "\n",
                r#"{"t": 1.2, "pid": 7, "info": "redis", "url": "redis://h:6379/1"}"#,
                "\n",
            ),
        )
        .unwrap();
        let declared = vec![(
            "amqp://u:p@h:5672/proj-dev".to_string(),
            Declaration::Queue {
                name: "minrepro.abc.celery".into(),
                durable: true,
                exclusive: false,
                auto_delete: false,
                arguments: Default::default(),
            },
        )];
        write_replay_declared(scratch.path(), &declared).unwrap();
        let sweep = sweep_of("abc", &["unacked".into()], scratch.path());
        assert_eq!(
            sweep.amqp["amqp://u:p@h:5672/proj-ci"],
            (
                vec!["minrepro.abc.celery".to_string()],
                vec!["minrepro.abc.celery".to_string()]
            )
        );
        assert_eq!(
            sweep.amqp["amqp://u:p@h:5672/proj-dev"].0,
            ["minrepro.abc.celery"]
        );
        assert_eq!(sweep.redis, ["redis://h:6379/1"]);
        assert_eq!(sweep.shared, ["unacked"]);
    }

    #[test]
    fn a_live_owner_keeps_its_record() {
        let cache = tempfile::tempdir().unwrap();
        claim(cache.path(), "t1", Path::new("/nonexistent"), &[]);
        let text = std::fs::read_to_string(records(cache.path()).join("t1")).unwrap();
        let record: Record = serde_json::from_str(&text).unwrap();
        assert_eq!(record.owner, std::process::id());
        release(cache.path(), "t1");
        assert!(!records(cache.path()).join("t1").exists());
    }
}

//! What the generated worker reports about itself in report.jsonl: the start-up stages it
//! reached (each import with its duration, broker ready, worker started, probe processed)
//! and facts that are not stages (versions, the exception it died of).

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of report.jsonl.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// Seconds since the epoch, from the worker's clock.
    pub t: f64,
    pub pid: u32,
    /// A start-up stage, with `event` "begin", "end" or "point"...
    pub stage: Option<String>,
    pub event: Option<String>,
    /// ...or a fact that is not a stage.
    pub info: Option<String>,
    #[serde(flatten)]
    pub fields: serde_json::Map<String, Value>,
}

impl Event {
    fn field_str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }
}

/// A stage in a trial's timeline, as the JSON output and the trial log show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    /// Seconds from the worker's spawn.
    pub at_s: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_s: Option<f64>,
    pub pid: u32,
    /// What the stage found, where it says more than its name (the broker's class).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
}

/// Versions the worker saw: Python's, and the framework's packages (its broker clients,
/// Django) by distribution name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    pub python: Option<String>,
    #[serde(flatten)]
    pub packages: std::collections::BTreeMap<String, String>,
}

impl Versions {
    /// "Python 3.11.7, dramatiq 2.2.1, pika 1.4.4".
    pub fn sentence(&self) -> String {
        std::iter::once(format!("Python {}", self.python.as_deref().unwrap_or("?")))
            .chain(self.packages.iter().map(|(name, v)| format!("{name} {v}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The broker the worker ended up with, as it reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerBroker {
    pub class: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub vhost: Option<String>,
    /// An in-memory broker (a test double): nothing outside the worker reaches it.
    pub in_memory: bool,
}

/// A queue or exchange the worker declared on RabbitMQ under the trial's names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Declared {
    /// "queue" or "exchange".
    pub kind: String,
    pub name: String,
    /// The worker's broker URL (credentials included: never shown).
    pub broker: String,
}

/// What the worker did with one replayed message, as far as it reported.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageState {
    Received,
    /// Executed (its outcome: SUCCESS, FAILURE, finished…), the result stored at `result`
    /// (`None`: nowhere), at `at` (worker's clock).
    Executed {
        outcome: Option<String>,
        result: Option<String>,
        at: f64,
    },
    Discarded {
        how: String,
        words: String,
    },
}

/// Follows report.jsonl as the worker appends to it.
pub struct WorkerLog {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    events: Vec<Event>,
    /// When the last stage arrived: a worker still making progress is not stuck.
    last_progress: Option<Instant>,
}

impl WorkerLog {
    pub fn new(path: PathBuf) -> WorkerLog {
        WorkerLog {
            path,
            offset: 0,
            partial: Vec::new(),
            events: Vec::new(),
            last_progress: None,
        }
    }

    /// Reads what the worker appended since the last call.
    pub fn poll(&mut self) {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return;
        };
        if file.seek(SeekFrom::Start(self.offset)).is_err() {
            return;
        }
        let mut bytes = Vec::new();
        let Ok(read) = file.read_to_end(&mut bytes) else {
            return;
        };
        self.offset += read as u64;
        self.partial.extend_from_slice(&bytes);
        while let Some(newline) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=newline).collect();
            // A line that does not parse is not ours (the file is only written by the
            // template); skipping it keeps one odd line from hiding the others.
            if let Ok(event) = serde_json::from_slice::<Event>(&line) {
                if event.stage.is_some() {
                    self.last_progress = Some(Instant::now());
                }
                self.events.push(event);
            }
        }
    }

    /// Records a stage observed from outside the worker (on the broker).
    pub fn observe(&mut self, stage: &str, pid: u32) {
        self.last_progress = Some(Instant::now());
        self.events.push(Event {
            t: unix_now(),
            pid,
            stage: Some(stage.to_string()),
            event: Some("point".into()),
            info: None,
            fields: Default::default(),
        });
    }

    pub fn last_progress(&self) -> Option<Instant> {
        self.last_progress
    }

    fn stages(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| e.stage.is_some())
    }

    fn infos<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.events
            .iter()
            .filter(move |e| e.info.as_deref() == Some(kind))
    }

    fn stage_events<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.stages()
            .filter(move |e| e.stage.as_deref() == Some(name))
    }

    /// How many distinct probe messages with `token` were processed, and when the last of
    /// them was (worker's clock).
    pub fn processed(&self, token: &str) -> (u32, Option<f64>) {
        let mut seen = std::collections::HashSet::new();
        let mut last = None;
        for e in self.stage_events("probe:processed") {
            if e.field_str("token") != Some(token) {
                continue;
            }
            let index = e.fields.get("index").and_then(Value::as_u64).unwrap_or(0);
            if seen.insert(index) {
                last = Some(last.map_or(e.t, |l: f64| l.max(e.t)));
            }
        }
        (seen.len() as u32, last)
    }

    /// What the worker did with each replayed message, by id: the furthest it got (executed
    /// or discarded over received).
    pub fn messages(&self) -> std::collections::HashMap<String, MessageState> {
        let mut states = std::collections::HashMap::new();
        for e in self.infos("message") {
            let Some(id) = e.field_str("id") else {
                continue;
            };
            let state = match e.field_str("state") {
                Some("executed") => MessageState::Executed {
                    outcome: e.field_str("outcome").map(str::to_string),
                    result: e.field_str("result").map(str::to_string),
                    at: e.t,
                },
                Some("discarded") => MessageState::Discarded {
                    how: e.field_str("how").unwrap_or("discarded").to_string(),
                    words: e.field_str("words").unwrap_or_default().to_string(),
                },
                _ => MessageState::Received,
            };
            // The first word of it that went past "received" stands.
            let keep = matches!(states.get(id), None | Some(MessageState::Received));
            if keep {
                states.insert(id.to_string(), state);
            }
        }
        states
    }

    /// The queues and exchanges the worker declared under the trial's names, each once.
    pub fn declared(&self) -> Vec<Declared> {
        let mut declared: Vec<Declared> = Vec::new();
        for e in self.infos("declared") {
            let (Some(kind), Some(name), Some(broker)) = (
                e.field_str("what"),
                e.field_str("name"),
                e.field_str("broker"),
            ) else {
                continue;
            };
            let item = Declared {
                kind: kind.to_string(),
                name: name.to_string(),
                broker: broker.to_string(),
            };
            if !declared.contains(&item) {
                declared.push(item);
            }
        }
        declared
    }

    /// The Redis servers (URL with database, credentials included) the worker connected to.
    pub fn redis_servers(&self) -> Vec<String> {
        let mut urls: Vec<String> = self
            .infos("redis")
            .filter_map(|e| e.field_str("url").map(str::to_string))
            .collect();
        urls.sort();
        urls.dedup();
        urls
    }

    /// How the worker discarded a probe message with `token` unprocessed (skipped,
    /// rejected, an unknown task), if it did: that message is gone from its queue.
    pub fn dropped(&self, token: &str) -> Option<String> {
        self.infos("probe_dropped")
            .find(|e| e.field_str("token") == Some(token))
            .map(|e| e.field_str("how").unwrap_or("discarded").to_string())
    }

    /// Whether the worker reported reaching `stage`.
    pub fn reached(&self, stage: &str) -> bool {
        self.stage_events(stage).next().is_some()
    }

    /// The last stage the worker reached.
    pub fn last_stage(&self) -> Option<String> {
        self.stages().last().and_then(|e| e.stage.clone())
    }

    /// `Type: message` of the exception the worker died of, as it reported it.
    pub fn exception(&self) -> Option<String> {
        self.infos("exception").last().map(|e| {
            let kind = e.field_str("type").unwrap_or("Exception");
            match e.field_str("message") {
                Some(message) if !message.is_empty() => format!("{kind}: {message}"),
                _ => kind.to_string(),
            }
        })
    }

    /// The module (dramatiq or pika) the interpreter lacks, if that is why the worker died.
    pub fn missing_module(&self) -> Option<(String, String)> {
        self.infos("missing-module").last().map(|e| {
            (
                e.field_str("module").unwrap_or("dramatiq").to_string(),
                e.field_str("executable").unwrap_or("python").to_string(),
            )
        })
    }

    /// Each worker process with the signal that makes it dump its threads' stacks: the
    /// processes the plumbing started in, and those forked from them.
    pub fn dump_targets(&self) -> Vec<(u32, i32)> {
        self.stages()
            .filter(|e| matches!(e.stage.as_deref(), Some("python:started" | "python:forked")))
            .filter_map(|e| Some((e.pid, e.fields.get("dump_signal")?.as_i64()? as i32)))
            .collect()
    }

    /// What a process of the worker is, in a few words: "the launch" for the first one,
    /// "a forked worker process" for those forked from it.
    pub fn role_of(&self, pid: u32) -> &'static str {
        let forked = self.stage_events("python:forked").any(|e| e.pid == pid);
        if forked {
            "a forked worker process"
        } else {
            "the launched process"
        }
    }

    /// The file each module imported as a stage was loaded from, as the worker found it
    /// (module → file): where statement-level reduction reads it.
    pub fn module_origins(&self) -> BTreeMap<String, String> {
        self.stages()
            .filter(|e| e.event.as_deref() == Some("begin"))
            .filter_map(|e| {
                let module = e.stage.as_deref()?.strip_prefix("import:")?;
                Some((module.to_string(), e.field_str("origin")?.to_string()))
            })
            .collect()
    }

    /// The top-level modules the worker had imported when it started.
    pub fn top_level_modules(&self) -> Vec<String> {
        self.infos("modules")
            .last()
            .and_then(|e| e.fields.get("top_level")?.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| m.as_str().map(str::to_string))
            .collect()
    }

    /// The queues the worker's broker declared (the application's and the probe's).
    /// What each worker process said when it started (its queues, its name, its broker).
    pub fn started_reports(&self) -> Vec<&serde_json::Map<String, Value>> {
        self.stage_events("worker:started")
            .map(|e| &e.fields)
            .collect()
    }

    /// The queues the worker consumes: those it declared, narrowed by what it was told to
    /// consume (Dramatiq's `--queues`) where it said so.
    pub fn consumed_queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self
            .stage_events("worker:started")
            .flat_map(|e| {
                let list = |name: &str| -> Option<Vec<String>> {
                    Some(
                        e.fields
                            .get(name)?
                            .as_array()?
                            .iter()
                            .filter_map(|q| q.as_str().map(str::to_string))
                            .collect(),
                    )
                };
                let declared = list("queues").unwrap_or_default();
                match list("consumes") {
                    Some(only) => declared.into_iter().filter(|q| only.contains(q)).collect(),
                    None => declared,
                }
            })
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }

    pub fn declared_queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self
            .stage_events("worker:started")
            .filter_map(|e| e.fields.get("queues")?.as_array().cloned())
            .flatten()
            .filter_map(|q| q.as_str().map(str::to_string))
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }

    pub fn broker(&self) -> Option<WorkerBroker> {
        self.stage_events("broker:ready")
            .last()
            .map(|e| WorkerBroker {
                class: e.field_str("broker").unwrap_or_default().to_string(),
                host: e.field_str("host").map(str::to_string),
                port: e
                    .fields
                    .get("port")
                    .and_then(Value::as_u64)
                    .map(|p| p as u16),
                vhost: e.field_str("vhost").map(str::to_string),
                in_memory: e.fields.get("in_memory").and_then(Value::as_bool) == Some(true),
            })
    }

    pub fn versions(&self) -> Versions {
        let mut versions = Versions {
            python: self
                .stage_events("python:started")
                .find_map(|e| e.field_str("python").map(str::to_string)),
            ..Versions::default()
        };
        if let Some(e) = self.infos("versions").next() {
            versions.packages = e
                .fields
                .iter()
                .filter_map(|(name, v)| Some((name.clone(), v.as_str()?.to_string())))
                .collect();
        }
        versions
    }

    /// The stages in order, relative to `origin` (the spawn, on the same clock as `t`):
    /// a begin and its end become one entry with a duration.
    /// Under load the probe stages repeat once per message: each one's first and last
    /// occurrence per process stay, with their counts.
    pub fn timeline(&self, origin: f64) -> Vec<StageTime> {
        let mut timeline: Vec<StageTime> = Vec::new();
        let mut repeats: std::collections::HashMap<(String, u32), (usize, u32)> =
            std::collections::HashMap::new();
        for e in self.stages() {
            let stage = e.stage.clone().unwrap_or_default();
            if stage.starts_with("probe:") {
                let key = (stage.clone(), e.pid);
                if let Some((last, count)) = repeats.get_mut(&key) {
                    *count += 1;
                    let entry = StageTime {
                        stage,
                        at_s: round_ms(e.t - origin),
                        duration_s: None,
                        pid: e.pid,
                        detail: Some(format!("{count} messages so far")),
                    };
                    if *count == 2 {
                        timeline.push(entry);
                        *last = timeline.len() - 1;
                    } else {
                        timeline[*last] = entry;
                    }
                    continue;
                }
                repeats.insert(key, (0, 1));
            }
            if e.event.as_deref() == Some("end")
                && let Some(open) = timeline
                    .iter_mut()
                    .rev()
                    .find(|s| s.stage == stage && s.pid == e.pid && s.duration_s.is_none())
            {
                let measured = e.fields.get("duration_s").and_then(Value::as_f64);
                open.duration_s = Some(round_ms(measured.unwrap_or(e.t - origin - open.at_s)));
                continue;
            }
            let detail = (stage == "broker:ready").then(|| {
                let set_by = match e.field_str("set_by") {
                    Some("imports") => "set during the imports",
                    Some("minrepro") | None => "minrepro's default, no import set one",
                    Some(other) => other,
                };
                format!("{} ({set_by})", e.field_str("broker").unwrap_or("?"))
            });
            timeline.push(StageTime {
                stage,
                at_s: round_ms(e.t - origin),
                duration_s: None,
                pid: e.pid,
                detail,
            });
        }
        timeline.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        timeline
    }
}

pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

pub fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(lines: &str) -> (tempfile::TempDir, WorkerLog) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        std::fs::write(&path, lines).unwrap();
        let mut log = WorkerLog::new(path);
        log.poll();
        (dir, log)
    }

    #[test]
    fn stages_timeline_and_facts() {
        let (_dir, log) = log_of(concat!(
            r#"{"t": 10.0, "pid": 7, "stage": "python:started", "event": "point", "dump_signal": 39, "python": "3.11.7"}"#,
            "\n",
            r#"{"t": 10.1, "pid": 7, "stage": "import:app.engine", "event": "begin"}"#,
            "\n",
            r#"{"t": 10.4, "pid": 7, "stage": "import:app.engine", "event": "end", "duration_s": 0.3}"#,
            "\n",
            r#"{"t": 10.5, "pid": 7, "info": "exception", "type": "ValueError", "message": "bad"}"#,
            "\n",
            r#"{"t": 10.6, "pid": 7, "stage": "probe:processed", "event": "point", "token": "abc"}"#,
            "\n",
            r#"{"t": 10.7, "pid": 7, "stage": "half a li"#,
        ));
        assert_eq!(log.last_stage().as_deref(), Some("probe:processed"));
        assert_eq!(log.processed("abc"), (1, Some(10.6)));
        assert_eq!(log.processed("other"), (0, None));
        assert_eq!(log.exception().as_deref(), Some("ValueError: bad"));
        assert_eq!(log.dump_targets(), [(7, 39)]);
        assert_eq!(log.versions().python.as_deref(), Some("3.11.7"));
        let timeline = log.timeline(10.0);
        assert_eq!(timeline.len(), 3);
        assert_eq!(timeline[1].stage, "import:app.engine");
        assert_eq!(timeline[1].duration_s, Some(0.3));
    }

    #[test]
    fn a_dropped_probe_counts_only_for_its_own_token() {
        let (_dir, log) = log_of(concat!(
            r#"{"t": 1.0, "pid": 7, "info": "probe_dropped", "token": "other", "index": 0, "how": "skipped"}"#,
            "\n",
        ));
        assert_eq!(log.dropped("abc"), None);
        assert_eq!(log.dropped("other").as_deref(), Some("skipped"));
        // A drop is a fact, not a stage: the stage a pending is compared on stays put.
        assert_eq!(log.last_stage(), None);
    }

    #[test]
    fn a_line_is_read_once_it_is_complete() {
        let (dir, mut log) = log_of(r#"{"t": 1.0, "pid": 1, "stage": "import:a", "#);
        assert_eq!(log.last_stage(), None);
        let path = dir.path().join("report.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\"event\": \"begin\"}\n");
        std::fs::write(&path, text).unwrap();
        log.poll();
        assert_eq!(log.last_stage().as_deref(), Some("import:a"));
    }
}

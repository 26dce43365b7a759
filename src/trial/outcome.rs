//! How one trial ended (docs/SPEC.md §3), and the normalized signature that tells one crash
//! from another across trials. A trial that replayed the launch's own messages says what
//! became of them ([`Replayed`]): where the ones left sit, what the worker consumed, how it
//! discarded them.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Exactly one of the outcomes of docs/SPEC.md §3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "OutcomeJson", try_from = "OutcomeJson")]
pub enum Outcome {
    /// Every probe message was processed; every replayed message executed (and its result
    /// stored where its sender reads it, when the sender waited on one).
    Processed { latency: Duration },
    /// The worker stayed alive but did not process the probe within the timeout.
    Pending {
        /// The last start-up stage it reached.
        stage: Option<String>,
        timeout: Duration,
        /// Proven stuck for good before the timeout: the proof (`trial::stall`).
        stall: Option<String>,
        /// Consumers on the probe queue when it was stopped (`None`: not known).
        consumers: Option<u32>,
        /// Every Python thread's stack, taken just before it was stopped.
        stack_dump: String,
        /// Probe messages published, and how many of them were processed.
        messages: u32,
        processed: u32,
        /// What became of the launch's own messages, when the trial replayed them.
        replay: Option<Box<Replayed>>,
    },
    /// The worker took replayed messages off their queue and dropped them unprocessed: a
    /// task it does not know, a content type it refuses, a body it cannot decode (the
    /// framework's own signal said so).
    Discarded {
        stage: Option<String>,
        how: Discard,
        /// The framework's own words about the first one.
        words: String,
        replay: Box<Replayed>,
    },
    /// The worker exited before processing.
    Crash {
        stage: Option<String>,
        exit_code: Option<i32>,
        signal: Option<String>,
        /// The exception type and message, paths and addresses removed.
        signature: String,
    },
    /// The trial itself could not be run.
    Error { message: String },
}

/// The failure a configuration shows, compared across trials: its kind; for a crash its
/// signature; for replayed messages left unprocessed, where they were left; for discarded
/// ones, how.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Failure {
    Pending { stranded: Option<Stranded> },
    Crash { signature: String },
    Discarded { how: Discard },
}

/// Where replayed messages were left unprocessed, as their sender would find them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stranded {
    /// In a queue (or a vhost, a database) that no consumer of the worker reads, while the
    /// worker consumes elsewhere.
    Unread,
    /// The worker exited on its own before it processed them.
    WorkerExited,
    /// Executed, but their results are not where the sender reads them.
    ResultElsewhere,
    /// With the worker, or waiting for a worker that never started consuming.
    Stuck,
}

impl Stranded {
    pub fn words(self) -> &'static str {
        match self {
            Stranded::Unread => "in a queue no consumer of the worker reads",
            Stranded::WorkerExited => "the worker exited before it processed them",
            Stranded::ResultElsewhere => "executed, their results not where the sender reads",
            Stranded::Stuck => "not processed by the worker",
        }
    }
}

/// How a worker dropped a message unprocessed, by the framework's own signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Discard {
    /// A task (actor, function) the worker does not know.
    UnknownTask,
    /// A content type (serializer) the worker does not accept.
    Refused,
    /// A body the worker cannot decode.
    Undecodable,
    /// Skipped by a middleware (a kill switch, an age limit).
    Skipped,
    /// Failed and sent to the dead-letter queue without running.
    DeadLettered,
}

impl Discard {
    pub fn words(self) -> &'static str {
        match self {
            Discard::UnknownTask => "a task the worker does not know",
            Discard::Refused => "a content type the worker does not accept",
            Discard::Undecodable => "a message the worker cannot decode",
            Discard::Skipped => "skipped by a middleware",
            Discard::DeadLettered => "dead-lettered without running",
        }
    }
}

/// What became of the launch's messages replayed in a trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Replayed {
    /// Messages sent, and of them: executed, discarded.
    pub sent: u32,
    pub executed: u32,
    #[serde(skip_serializing_if = "is_zero", default)]
    pub discarded: u32,
    /// Where the unprocessed ones sit, per destination queue.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub waiting: Vec<Waiting>,
    /// The broker and queues the worker consumed, as it reported them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumed: Option<Consumed>,
    /// The worker exited on its own first: how.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exited: Option<String>,
    /// Executed, but stored where the sender does not read: where they went, and where it reads.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub results: Option<String>,
    /// Where they were left, for a pending trial.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stranded: Option<Stranded>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A destination queue of replayed messages at the end of a trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// host:port/vhost (or /database), never credentials.
    pub broker: String,
    /// The queue as the launch named it.
    pub queue: String,
    /// Messages in it (`None`: it does not exist, or it cannot be told).
    pub depth: Option<u32>,
    pub consumers: Option<u32>,
    /// How many of the trial's messages went there.
    pub sent: u32,
}

/// What the worker consumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumed {
    /// host:port/vhost, or the in-memory broker's name.
    pub broker: String,
    /// The queues, as the launch names them.
    pub queues: Vec<String>,
}

impl Replayed {
    /// "20 messages in `celery` on 127.0.0.1:5672/proj-dev (depth 20, no consumer); the
    /// worker consumed `celery` on 127.0.0.1:5672/proj-ci".
    pub fn sentence(&self) -> String {
        let mut parts = Vec::new();
        if let Some(results) = &self.results {
            parts.push(format!(
                "{} of {} messages executed, {results}",
                self.executed, self.sent
            ));
        }
        for waiting in &self.waiting {
            let state = match (waiting.depth, waiting.consumers) {
                (None, _) => "no such queue".to_string(),
                (Some(depth), Some(0)) => format!("depth {depth}, no consumer"),
                (Some(depth), Some(n)) => format!("depth {depth}, {n} consumer{}", plural(n)),
                (Some(depth), None) => format!("depth {depth}"),
            };
            parts.push(format!(
                "{} message{} in `{}` on {} ({state})",
                waiting.sent,
                plural(waiting.sent),
                waiting.queue,
                waiting.broker
            ));
        }
        if let Some(exited) = &self.exited {
            parts.push(format!("the worker exited first ({exited})"));
        }
        if let Some(consumed) = &self.consumed {
            let queues = if consumed.queues.is_empty() {
                "no queue".to_string()
            } else {
                consumed
                    .queues
                    .iter()
                    .map(|q| format!("`{q}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            parts.push(format!(
                "the worker consumed {queues} on {}",
                consumed.broker
            ));
        }
        parts.join("; ")
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

impl Outcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Processed { .. } => "processed",
            Outcome::Pending { .. } => "pending",
            Outcome::Crash { .. } => "crash",
            Outcome::Discarded { .. } => "discarded",
            Outcome::Error { .. } => "error",
        }
    }

    pub fn stage(&self) -> Option<&str> {
        match self {
            Outcome::Processed { .. } => Some("probe:processed"),
            Outcome::Pending { stage, .. }
            | Outcome::Crash { stage, .. }
            | Outcome::Discarded { stage, .. } => stage.as_deref(),
            Outcome::Error { .. } => None,
        }
    }

    /// The failure this outcome shows, if it is one.
    pub fn failure(&self) -> Option<Failure> {
        match self {
            Outcome::Pending { replay, .. } => Some(Failure::Pending {
                stranded: replay.as_ref().and_then(|r| r.stranded),
            }),
            Outcome::Crash { signature, .. } => Some(Failure::Crash {
                signature: signature.clone(),
            }),
            Outcome::Discarded { how, .. } => Some(Failure::Discarded { how: *how }),
            Outcome::Processed { .. } | Outcome::Error { .. } => None,
        }
    }

    /// A few words: "pending at worker:started", "processed in 0.11s".
    pub fn brief(&self) -> String {
        match self {
            Outcome::Processed { latency } => format!("processed in {:.2}s", latency.as_secs_f64()),
            Outcome::Pending {
                replay: Some(replay),
                ..
            } if replay.stranded.is_some() => format!(
                "pending: {}",
                replay.stranded.map(Stranded::words).unwrap_or_default()
            ),
            Outcome::Pending { stage, .. } => {
                format!("pending at {}", stage.as_deref().unwrap_or("start-up"))
            }
            Outcome::Discarded { how, .. } => format!("discarded: {}", how.words()),
            Outcome::Crash {
                stage, signature, ..
            } => format!(
                "crash at {}: {signature}",
                stage.as_deref().unwrap_or("start-up")
            ),
            Outcome::Error { message } => format!("error: {message}"),
        }
    }

    /// One line for people, after the kind: "not processed within 3.0s, last stage …".
    pub fn summary(&self) -> String {
        match self {
            Outcome::Processed { latency } => {
                format!("in {:.2}s", latency.as_secs_f64())
            }
            Outcome::Pending {
                stage,
                timeout,
                stall,
                consumers,
                messages,
                processed,
                replay,
                ..
            } => {
                if let Some(replay) = replay {
                    // The proof says where the messages are; without one, the state does.
                    let what = match stall {
                        Some(proof) => format!("stuck for good: {proof}"),
                        None => format!(
                            "within {:.1}s, last stage {}; {}",
                            timeout.as_secs_f64(),
                            stage.as_deref().unwrap_or("(none: Python never started)"),
                            replay.sentence()
                        ),
                    };
                    return format!(
                        "{} of {} messages executed, {what}",
                        replay.executed, replay.sent
                    );
                }
                let what = if *messages > 1 {
                    format!("{processed} of {messages} messages processed")
                } else {
                    "not processed".to_string()
                };
                if let Some(proof) = stall {
                    return format!(
                        "{what}, stuck for good at {}: {proof}",
                        stage.as_deref().unwrap_or("start-up")
                    );
                }
                let consumer_note = match consumers {
                    Some(0) => ", no consumer on the probe queue",
                    Some(_) => ", consuming the probe queue",
                    None => ", the probe queue never declared",
                };
                format!(
                    "{what} within {:.1}s, last stage {}{consumer_note}",
                    timeout.as_secs_f64(),
                    stage.as_deref().unwrap_or("(none: Python never started)")
                )
            }
            Outcome::Crash {
                stage,
                exit_code,
                signal,
                signature,
            } => {
                let status = match (exit_code, signal) {
                    (_, Some(signal)) => format!("killed by {signal}"),
                    (Some(code), None) => format!("exit status {code}"),
                    (None, None) => "exited".to_string(),
                };
                format!(
                    "{status} at {}: {signature}",
                    stage.as_deref().unwrap_or("start-up")
                )
            }
            Outcome::Discarded {
                how, words, replay, ..
            } => format!(
                "{} of {} messages discarded unprocessed, {}: {words}",
                replay.discarded,
                replay.sent,
                how.words()
            ),
            Outcome::Error { message } => message.clone(),
        }
    }
}

/// The outcome object of docs/SPEC.md §3 and §5: `kind`, `stage` and `latency_s` always,
/// the rest as the kind has them.
#[derive(Serialize, Deserialize)]
struct OutcomeJson {
    kind: String,
    stage: Option<String>,
    latency_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    timeout_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    stall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    consumers: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    stack_dump: Option<String>,
    /// Pending under load: messages published and processed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    messages: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    processed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    signature: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    message: Option<String>,
    /// Discarded: how, and the framework's words.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    how: Option<Discard>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    words: Option<String>,
    /// What became of the launch's replayed messages.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    replay: Option<Box<Replayed>>,
}

impl From<Outcome> for OutcomeJson {
    fn from(outcome: Outcome) -> Self {
        let mut json = OutcomeJson {
            kind: outcome.kind().to_string(),
            stage: outcome.stage().map(str::to_string),
            latency_s: None,
            timeout_s: None,
            stall: None,
            consumers: None,
            stack_dump: None,
            messages: None,
            processed: None,
            exit_code: None,
            signal: None,
            signature: None,
            message: None,
            how: None,
            words: None,
            replay: None,
        };
        match outcome {
            Outcome::Processed { latency } => json.latency_s = Some(seconds(latency)),
            Outcome::Pending {
                timeout,
                stall,
                consumers,
                stack_dump,
                messages,
                processed,
                replay,
                ..
            } => {
                json.replay = replay;
                json.timeout_s = Some(seconds(timeout));
                json.stall = stall;
                json.consumers = consumers;
                json.stack_dump = Some(stack_dump);
                if messages > 1 {
                    json.messages = Some(messages);
                    json.processed = Some(processed);
                }
            }
            Outcome::Crash {
                exit_code,
                signal,
                signature,
                ..
            } => {
                json.exit_code = exit_code;
                json.signal = signal;
                json.signature = Some(signature);
            }
            Outcome::Discarded {
                how, words, replay, ..
            } => {
                json.how = Some(how);
                json.words = Some(words);
                json.replay = Some(replay);
            }
            Outcome::Error { message } => json.message = Some(message),
        }
        json
    }
}

impl TryFrom<OutcomeJson> for Outcome {
    type Error = String;

    fn try_from(json: OutcomeJson) -> Result<Self, String> {
        let duration = |s: Option<f64>| Duration::from_secs_f64(s.unwrap_or_default().max(0.0));
        Ok(match json.kind.as_str() {
            "processed" => Outcome::Processed {
                latency: duration(json.latency_s),
            },
            "pending" => Outcome::Pending {
                stage: json.stage,
                timeout: duration(json.timeout_s),
                stall: json.stall,
                consumers: json.consumers,
                stack_dump: json.stack_dump.unwrap_or_default(),
                messages: json.messages.unwrap_or(1),
                processed: json.processed.unwrap_or(0),
                replay: json.replay,
            },
            "discarded" => Outcome::Discarded {
                stage: json.stage,
                how: json.how.ok_or("a discarded outcome without `how`")?,
                words: json.words.unwrap_or_default(),
                replay: json.replay.unwrap_or_default(),
            },
            "crash" => Outcome::Crash {
                stage: json.stage,
                exit_code: json.exit_code,
                signal: json.signal,
                signature: json.signature.unwrap_or_default(),
            },
            "error" => Outcome::Error {
                message: json.message.unwrap_or_default(),
            },
            other => return Err(format!("unknown outcome kind `{other}`")),
        })
    }
}

pub fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

static ABSOLUTE_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(^|[\s'"(=:\[,])/[^\s'"),:\]]*"#).unwrap());
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]+").unwrap());
/// A trial's names (`minrepro.<trial>.…`, `minrepro_<trial>_probe`) and its fresh message ids
/// (`…-4000-8000-<trial>`).
static TRIAL_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"minrepro([._])[0-9a-f]{12}([._])").unwrap());
static MESSAGE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-4000-8000-[0-9a-f]{12}").unwrap());
/// The last line of a Python traceback: `package.ErrorType: message` or a bare type.
static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failure|Fault)|[A-Z]\w*Error)(?::\s.*)?$").unwrap()
});

/// Removes what differs between two runs of the same crash: paths, addresses, trial ids.
pub fn normalize_signature(text: &str) -> String {
    let text = text.trim();
    let text = ABSOLUTE_PATH.replace_all(text, "$1<path>");
    let text = ADDRESS.replace_all(&text, "0x?");
    let text = TRIAL_ID.replace_all(&text, "minrepro${1}<trial>${2}");
    let text = MESSAGE_ID.replace_all(&text, "<message id>");
    let mut text = text.into_owned();
    if text.chars().count() > 300 {
        text = text.chars().take(300).collect::<String>() + "…";
    }
    text
}

/// The exception at the end of a Python traceback in `stderr`, if there is one.
pub fn exception_from_stderr(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().collect();
    let traceback = lines
        .iter()
        .rposition(|l| l.starts_with("Traceback (most recent call last)"))?;
    lines[traceback + 1..]
        .iter()
        .rev()
        .find(|l| !l.starts_with(' ') && EXCEPTION_LINE.is_match(l.trim_end()))
        .map(|l| l.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_lose_paths_addresses_and_ids() {
        assert_eq!(
            normalize_signature(
                "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/minrepro-trial-x1/settings.ini'"
            ),
            "FileNotFoundError: [Errno 2] No such file or directory: '<path>'"
        );
        assert_eq!(
            normalize_signature(
                "RuntimeError: <object at 0x7f3a2b> in minrepro_3fa9c1d0e9ab_probe, minrepro.3fa9c1d0e9ab.celery for 00000001-0000-4000-8000-3fa9c1d0e9ab"
            ),
            "RuntimeError: <object at 0x?> in minrepro_<trial>_probe, minrepro.<trial>.celery for <message id>"
        );
        assert_eq!(
            normalize_signature("ValueError: invalid literal for int() with base 10: ''"),
            "ValueError: invalid literal for int() with base 10: ''"
        );
    }

    #[test]
    fn the_exception_is_found_at_the_end_of_a_traceback() {
        let stderr = "noise\nTraceback (most recent call last):\n  File \"/x.py\", line 1, in <module>\n    import app\nValueError: invalid literal for int() with base 10: ''\nshutting down\n";
        assert_eq!(
            exception_from_stderr(stderr).as_deref(),
            Some("ValueError: invalid literal for int() with base 10: ''")
        );
        assert_eq!(exception_from_stderr("all good\n"), None);
    }

    #[test]
    fn outcomes_serialize_with_kind_stage_and_latency() {
        let pending = Outcome::Pending {
            stage: Some("worker:started".into()),
            timeout: Duration::from_secs(4),
            stall: None,
            consumers: Some(0),
            stack_dump: "Thread 0x1".into(),
            messages: 300,
            processed: 156,
            replay: None,
        };
        let json = serde_json::to_value(&pending).unwrap();
        assert_eq!(json["kind"], "pending");
        assert_eq!(json["stage"], "worker:started");
        assert!(json["latency_s"].is_null());
        assert_eq!(json["processed"], 156);
        assert!(
            pending
                .summary()
                .starts_with("156 of 300 messages processed within 4.0s")
        );
        let back: Outcome = serde_json::from_value(json).unwrap();
        assert_eq!(back, pending);
        // Stuck for good before the timeout: the proof travels with the outcome.
        let mut stalled = pending.clone();
        if let Outcome::Pending { stall, .. } = &mut stalled {
            *stall = Some("process 7 (thread 7) is blocked writing to its stderr".into());
        }
        let json = serde_json::to_value(&stalled).unwrap();
        assert_eq!(
            json["stall"],
            "process 7 (thread 7) is blocked writing to its stderr"
        );
        assert!(
            stalled
                .summary()
                .contains("stuck for good at worker:started: process 7")
        );
        assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), stalled);
        let processed = serde_json::to_value(Outcome::Processed {
            latency: Duration::from_millis(620),
        })
        .unwrap();
        assert_eq!(processed["latency_s"], 0.62);
    }
}

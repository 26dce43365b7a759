//! The launch's own messages in a trial: sent at their time to where the sender sent them
//! (under the trial's names), then judged as the sender judges. Each one must be executed;
//! where the sender waited on a result, the result must be where the sender reads it. The
//! worker may drop them (a task it does not know, a format it refuses), leave them in a queue
//! it does not read, or leave before they come: each of those is told apart, with where the
//! messages are left.
//!
//! What is decided from the worker's reports alone is pure ([`decide`]), so that it is
//! unit-tested without a worker; what needs the broker (where messages sit) is asked of it.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::outcome::{Consumed, Discard, Replayed, Stranded, Waiting};
use super::worker_log::{MessageState, WorkerLog};
use crate::broker::Brokers;
use crate::error::Error;
use crate::messages::names::TrialNames;
use crate::messages::replay::{Landing, ReplayPlan};
use crate::messages::results::{location_words, readable};
use crate::messages::{LaunchMessage, ResultWait, address, same_host};

/// The replay of one trial, as it goes.
pub struct ReplayLoad {
    plan: ReplayPlan,
    names: TrialNames,
    /// Per shape: where its sender read the result, if it waited on one.
    waited: Vec<Option<(ResultWait, String)>>,
    /// Per message of the plan: sent yet.
    sent: Vec<bool>,
    /// Sender's brokers whose declarations were made.
    declared: HashSet<String>,
    /// What the broker refused to declare, in the sender's words.
    refused: Vec<String>,
    /// When the worker reported `worker:started`.
    started: Option<Instant>,
}

/// What the worker's reports settle, before any timeout.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided {
    /// Every message executed (and stored its result where its sender reads): the last at
    /// `at` (worker's clock).
    Processed { at: f64 },
    /// The worker dropped one unprocessed.
    Discarded { how: Discard, words: String },
    /// Every message executed, but a result the sender waits on is not where it reads.
    ResultElsewhere { proof: String },
}

impl ReplayLoad {
    pub fn new(plan: ReplayPlan, names: TrialNames, shapes: &[LaunchMessage]) -> ReplayLoad {
        let sent = vec![false; plan.messages.len()];
        ReplayLoad {
            waited: shapes
                .iter()
                .map(|s| s.waited.clone().map(|w| (w, s.broker.clone())))
                .collect(),
            plan,
            names,
            sent,
            declared: HashSet::new(),
            refused: Vec::new(),
            started: None,
        }
    }

    pub fn plan(&self) -> &ReplayPlan {
        &self.plan
    }

    pub fn all_sent(&self) -> bool {
        self.sent.iter().all(|s| *s)
    }

    /// Sends every message that is due: those sent before the worker started go at once,
    /// the others their time after it started (`worker:started`); all of them once the
    /// worker is gone (`exited`), so that where they are left can be shown. A message that
    /// nothing on its broker can take yet (no queue bound) is tried again next time.
    pub async fn send_due(
        &mut self,
        brokers: &Brokers,
        log: &WorkerLog,
        exited: bool,
    ) -> Result<(), Error> {
        if self.started.is_none() && log.reached("worker:started") {
            self.started = Some(Instant::now());
        }
        let now = Instant::now();
        for index in 0..self.plan.messages.len() {
            if self.sent[index] {
                continue;
            }
            let message = &self.plan.messages[index];
            let due = exited
                || match (message.at, self.started) {
                    (Some(at), _) if at <= 0.0 => true,
                    (Some(at), Some(started)) => now.duration_since(started).as_secs_f64() >= at,
                    (None, Some(_)) => true,
                    (_, None) => false,
                };
            if !due {
                continue;
            }
            let broker = brokers.get(&message.broker).await?;
            if !self.declared.contains(&message.broker) {
                for (url, declaration) in &self.plan.declarations {
                    if *url == message.broker
                        && let Err(refusal) = broker.declare(declaration).await?
                    {
                        self.refused.push(refusal);
                    }
                }
                self.declared.insert(message.broker.clone());
            }
            self.sent[index] = broker.deliver_routed(&message.delivery).await?;
        }
        Ok(())
    }

    /// What the worker's reports settle about the messages sent so far.
    pub fn decide(&self, log: &WorkerLog) -> Option<Decided> {
        if !self.all_sent() {
            return None;
        }
        let states = log.messages();
        decide(&self.plan, &self.waited, &states)
    }

    /// The messages wait where no consumer of the worker reads them: the worker has started
    /// consuming, every message was sent, and a queue they landed in holds messages and has
    /// no consumer (RabbitMQ) or is not among the queues the worker consumes on its broker
    /// (Redis), or they could not be routed at all. The proof, in words.
    pub async fn unread(
        &self,
        brokers: &Brokers,
        log: &WorkerLog,
    ) -> Result<Option<String>, Error> {
        if self.started.is_none() || !log.reached("worker:started") {
            return Ok(None);
        }
        if !self.all_sent() {
            let pending: Vec<&str> = self
                .plan
                .messages
                .iter()
                .zip(&self.sent)
                .filter(|(m, sent)| !**sent && m.at.is_none_or(|at| at <= self.since_started()))
                .map(|(m, _)| m.broker.as_str())
                .collect();
            return Ok(pending.first().map(|broker| {
                format!(
                    "{} of the launch's messages cannot be routed on {}: no queue is bound where they go; {}",
                    pending.len(),
                    address(broker),
                    self.consumed_words(log)
                )
            }));
        }
        let waiting = self.waiting(brokers, log).await?;
        let unread: Vec<&Waiting> = waiting
            .iter()
            .filter(|w| is_unread(w, log, &self.names))
            .collect();
        if unread.is_empty() {
            return Ok(None);
        }
        Ok(Some(format!(
            "{}; {}",
            unread
                .iter()
                .map(|w| format!(
                    "{} message{} wait in `{}` on {} (depth {}) and no consumer of the worker reads it",
                    w.sent,
                    if w.sent == 1 { "" } else { "s" },
                    w.queue,
                    w.broker,
                    w.depth.unwrap_or(0)
                ))
                .collect::<Vec<_>>()
                .join("; "),
            self.consumed_words(log)
        )))
    }

    fn since_started(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    /// Where each shape's messages are, on their brokers.
    async fn waiting(&self, brokers: &Brokers, log: &WorkerLog) -> Result<Vec<Waiting>, Error> {
        let states = log.messages();
        let mut waiting = Vec::new();
        for landing in &self.plan.landings {
            let left = self
                .plan
                .messages
                .iter()
                .filter(|m| m.shape == landing.shape)
                .filter(|m| !matches!(states.get(&m.id), Some(MessageState::Executed { .. })))
                .count() as u32;
            if left == 0 {
                continue;
            }
            waiting.push(state_of(brokers, landing, left).await?);
        }
        Ok(waiting)
    }

    fn consumed_words(&self, log: &WorkerLog) -> String {
        match consumed(log, &self.names) {
            Some(consumed) if consumed.queues.is_empty() => {
                format!("the worker consumes no queue on {}", consumed.broker)
            }
            Some(consumed) => format!(
                "the worker consumes {} on {}",
                consumed
                    .queues
                    .iter()
                    .map(|q| format!("`{q}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                consumed.broker
            ),
            None => "the worker said nothing of what it consumes".to_string(),
        }
    }

    /// What became of the messages, for the outcome: counts, where the ones left sit, what
    /// the worker consumed, and why they were left (`stranded`, for a pending trial).
    pub async fn replayed(
        &self,
        brokers: &Brokers,
        log: &WorkerLog,
        exited: Option<String>,
        pending: bool,
    ) -> Result<Replayed, Error> {
        let states = log.messages();
        let ids: HashSet<&str> = self.plan.ids().collect();
        let count = |want: fn(&MessageState) -> bool| {
            states
                .iter()
                .filter(|(id, s)| ids.contains(id.as_str()) && want(s))
                .count() as u32
        };
        let executed = count(|s| matches!(s, MessageState::Executed { .. }));
        let discarded = count(|s| matches!(s, MessageState::Discarded { .. }));
        let results = match decide(&self.plan, &self.waited, &states) {
            Some(Decided::ResultElsewhere { proof }) => Some(proof),
            _ => None,
        };
        let waiting = self.waiting(brokers, log).await?;
        let stranded = pending.then(|| {
            if results.is_some() {
                Stranded::ResultElsewhere
            } else if exited.is_some() {
                Stranded::WorkerExited
            } else if log.reached("worker:started")
                && (!self.all_sent() || waiting.iter().any(|w| is_unread(w, log, &self.names)))
            {
                Stranded::Unread
            } else {
                Stranded::Stuck
            }
        });
        Ok(Replayed {
            sent: self.plan.messages.len() as u32,
            executed,
            discarded,
            waiting,
            consumed: consumed(log, &self.names),
            exited,
            results,
            stranded,
        })
    }
}

/// A landing queue's state: its depth and consumers on its broker.
async fn state_of(brokers: &Brokers, landing: &Landing, left: u32) -> Result<Waiting, Error> {
    let broker = brokers.get(&landing.broker).await?;
    let state = broker.queue_state(&landing.key).await?;
    Ok(Waiting {
        broker: address(&landing.broker),
        queue: landing.queue.clone(),
        depth: state.map(|(depth, _)| depth),
        consumers: state.and_then(|(_, consumers)| consumers),
        sent: left,
    })
}

/// Messages wait unread in `waiting`: it holds some, and no consumer of the worker reads it:
/// RabbitMQ counts none, or (Redis, which cannot count them) the worker consumes other queues
/// or on another server or database.
fn is_unread(waiting: &Waiting, log: &WorkerLog, names: &TrialNames) -> bool {
    if waiting.depth == Some(0) {
        return false;
    }
    match waiting.consumers {
        Some(consumers) => consumers == 0,
        None => match consumed(log, names) {
            Some(consumed) => {
                !(consumed.queues.contains(&waiting.queue)
                    && same_address(&consumed.broker, &waiting.broker))
            }
            None => false,
        },
    }
}

/// Two host:port/vhost addresses of the same broker (the host resolved).
fn same_address(a: &str, b: &str) -> bool {
    // host, and the rest (port, vhost or database).
    let split = |text: &str| {
        let (authority, path) = text.split_once('/').unwrap_or((text, ""));
        let (host, port) = authority.rsplit_once(':').unwrap_or((authority, ""));
        (host.to_string(), format!("{port}/{path}"))
    };
    let ((host_a, rest_a), (host_b, rest_b)) = (split(a), split(b));
    rest_a == rest_b && same_host(&host_a, &host_b).unwrap_or(host_a == host_b)
}

/// What the worker consumed, as it reported when it started: its broker's address and its
/// queues, as the launch names them.
fn consumed(log: &WorkerLog, names: &TrialNames) -> Option<Consumed> {
    let broker = log.broker()?;
    let probe = names.probe_queue();
    let queues: Vec<String> = log
        .consumed_queues()
        .iter()
        .filter(|q| **q != probe)
        .map(|q| names.original(q).to_string())
        .collect();
    let broker = if broker.in_memory {
        format!("an in-memory broker ({})", broker.class)
    } else {
        let vhost = broker.vhost.unwrap_or_default();
        format!(
            "{}:{}/{}",
            broker.host.unwrap_or_else(|| "?".into()),
            broker.port.map_or("?".into(), |p| p.to_string()),
            if vhost == "/" { String::new() } else { vhost }
        )
    };
    log.reached("worker:started")
        .then_some(Consumed { broker, queues })
}

/// What the worker's reports settle about the replay: a discard ends it at once; with every
/// message executed, it is processed if each result the sender waits on is where the sender
/// reads it, and left elsewhere if not.
pub fn decide(
    plan: &ReplayPlan,
    waited: &[Option<(ResultWait, String)>],
    states: &HashMap<String, MessageState>,
) -> Option<Decided> {
    let mut last = 0.0f64;
    let mut misplaced: Vec<String> = Vec::new();
    let mut executed = 0;
    for message in &plan.messages {
        match states.get(&message.id) {
            Some(MessageState::Discarded { how, words }) => {
                return Some(Decided::Discarded {
                    how: discard_kind(how),
                    words: words.clone(),
                });
            }
            Some(MessageState::Executed { result, at, .. }) => {
                executed += 1;
                last = last.max(*at);
                if let Some(Some((wait, broker))) = waited.get(message.shape)
                    && !readable(wait, broker, result.as_deref())
                {
                    let stored = result.as_deref().unwrap_or("nowhere (no result backend)");
                    let line = format!(
                        "stored its results in {stored}; the sender reads them from {} ({})",
                        location_words(&wait.backend, broker),
                        wait.how
                    );
                    if !misplaced.contains(&line) {
                        misplaced.push(line);
                    }
                }
            }
            _ => {}
        }
    }
    if executed < plan.messages.len() {
        return None;
    }
    if misplaced.is_empty() {
        Some(Decided::Processed { at: last })
    } else {
        Some(Decided::ResultElsewhere {
            proof: format!(
                "the worker executed all {executed} messages and {}",
                misplaced.join("; ")
            ),
        })
    }
}

fn discard_kind(how: &str) -> Discard {
    match how {
        "unknown-task" => Discard::UnknownTask,
        "refused" => Discard::Refused,
        "skipped" => Discard::Skipped,
        "dead-lettered" => Discard::DeadLettered,
        _ => Discard::Undecodable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::{AmqpMessage, Delivery};
    use crate::messages::replay::Replay;

    fn plan(shapes: &[u32]) -> ReplayPlan {
        let mut plan = ReplayPlan::default();
        for (shape, count) in shapes.iter().enumerate() {
            for n in 0..*count {
                plan.messages.push(Replay {
                    shape,
                    id: format!("{shape}-{n}"),
                    at: None,
                    broker: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
                    delivery: Delivery::Amqp(Box::new(AmqpMessage::to_queue("q", Vec::new()))),
                });
            }
        }
        plan
    }

    fn executed(result: Option<&str>, at: f64) -> MessageState {
        MessageState::Executed {
            outcome: Some("SUCCESS".into()),
            result: result.map(str::to_string),
            at,
        }
    }

    fn wait(backend: &str) -> Option<(ResultWait, String)> {
        Some((
            ResultWait {
                backend: backend.into(),
                how: "AsyncResult.get".into(),
            },
            "amqp://guest:guest@localhost:5672/proj-ci".into(),
        ))
    }

    #[test]
    fn processed_once_every_message_executed_and_no_earlier() {
        let plan = plan(&[2]);
        let mut states = HashMap::new();
        states.insert("0-0".to_string(), executed(None, 5.0));
        states.insert("0-1".to_string(), MessageState::Received);
        assert_eq!(decide(&plan, &[None], &states), None);
        states.insert("0-1".to_string(), executed(None, 7.5));
        assert_eq!(
            decide(&plan, &[None], &states),
            Some(Decided::Processed { at: 7.5 })
        );
    }

    #[test]
    fn a_discard_decides_at_once() {
        let plan = plan(&[3]);
        let mut states = HashMap::new();
        states.insert(
            "0-1".to_string(),
            MessageState::Discarded {
                how: "unknown-task".into(),
                words: "Received unregistered task of type 'shop.ship'".into(),
            },
        );
        assert_eq!(
            decide(&plan, &[None], &states),
            Some(Decided::Discarded {
                how: Discard::UnknownTask,
                words: "Received unregistered task of type 'shop.ship'".into()
            })
        );
    }

    #[test]
    fn a_result_counts_only_where_the_sender_reads_it() {
        let plan = plan(&[1]);
        let waited = [wait("redis://:secret@localhost:6379/1")];
        let mut states = HashMap::new();
        // The same Redis database, spelled another way: readable.
        states.insert(
            "0-0".to_string(),
            executed(Some("redis://127.0.0.1:6379/1"), 1.0),
        );
        assert_eq!(
            decide(&plan, &waited, &states),
            Some(Decided::Processed { at: 1.0 })
        );
        // No result backend in the worker: the sender waits for ever.
        states.insert("0-0".to_string(), executed(None, 1.0));
        let Some(Decided::ResultElsewhere { proof }) = decide(&plan, &waited, &states) else {
            panic!("not decided")
        };
        assert_eq!(
            proof,
            "the worker executed all 1 messages and stored its results in nowhere (no result backend); the sender reads them from redis://localhost:6379/1 (AsyncResult.get)"
        );
        assert!(!proof.contains("secret"));
        // Another database.
        states.insert(
            "0-0".to_string(),
            executed(Some("redis://127.0.0.1:6379/2"), 1.0),
        );
        assert!(matches!(
            decide(&plan, &waited, &states),
            Some(Decided::ResultElsewhere { .. })
        ));
        // Celery's rpc:// keeps results on the sender's own broker: the worker's rpc on it
        // is readable, on another vhost it is not.
        let rpc = [wait("rpc://")];
        states.insert(
            "0-0".to_string(),
            executed(Some("rpc://127.0.0.1:5672/proj-ci"), 1.0),
        );
        assert!(matches!(
            decide(&plan, &rpc, &states),
            Some(Decided::Processed { .. })
        ));
        states.insert(
            "0-0".to_string(),
            executed(Some("rpc://127.0.0.1:5672/proj-dev"), 1.0),
        );
        assert!(matches!(
            decide(&plan, &rpc, &states),
            Some(Decided::ResultElsewhere { .. })
        ));
    }

    #[test]
    fn addresses_match_by_resolved_host() {
        assert!(same_address("localhost:5672/proj", "127.0.0.1:5672/proj"));
        assert!(!same_address("localhost:5672/proj", "127.0.0.1:5672/other"));
        assert!(!same_address("127.0.0.1:6379/0", "127.0.0.1:6379/3"));
    }
}

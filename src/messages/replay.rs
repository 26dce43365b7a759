//! A trial's replay of the launch's messages: each message of each shape with a fresh id,
//! under the trial's names, at its time; the declarations the sender made, made again under
//! the trial's names first; and the queues where the messages land, to look at. The wire
//! format of each framework (where its ids and timestamps live) is the framework's
//! ([`crate::framework::Framework::replay_message`], with what the frameworks share in
//! [`crate::framework::replay`]); the rest is here.

use std::time::{Duration, SystemTime};

use super::names::TrialNames;
use super::{Destination, LaunchMessage};
use crate::broker::{Declaration, Delivery};
use crate::error::Error;
use crate::framework::Framework;
use crate::framework::replay::Fresh;

/// One message of the replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// Its shape: the index of its `[[messages]]` entry.
    pub shape: usize,
    pub id: String,
    /// When it is due, in seconds from the worker's start (negative or zero: as soon as the
    /// worker is spawned); `None`: once the worker has started.
    pub at: Option<f64>,
    /// The sender's broker.
    pub broker: String,
    pub delivery: Delivery,
}

/// Where a shape's messages land, to be looked at during and after the trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landing {
    pub shape: usize,
    pub broker: String,
    /// The queue as the launch named it.
    pub queue: String,
    /// What to ask the broker about: the renamed AMQP queue, or the Redis list's key.
    pub key: String,
    pub sent: u32,
}

/// Everything one trial sends, and where to look.
#[derive(Debug, Clone, Default)]
pub struct ReplayPlan {
    pub messages: Vec<Replay>,
    /// Made before the first message, per sender's broker, under the trial's names.
    pub declarations: Vec<(String, Declaration)>,
    pub landings: Vec<Landing>,
}

impl ReplayPlan {
    /// The plan for `messages` in the trial `names`, `now` being when it starts.
    pub fn new(
        framework: &dyn Framework,
        messages: &[LaunchMessage],
        names: &TrialNames,
        now: SystemTime,
    ) -> Result<ReplayPlan, Error> {
        let mut plan = ReplayPlan::default();
        for (shape, message) in messages.iter().enumerate() {
            let kind = message.kind().ok_or_else(|| {
                Error::input(format!(
                    "a message's broker is not a broker URL: {}",
                    crate::redact::redact_url(&message.broker)
                ))
            })?;
            for declaration in &message.declare {
                let renamed = rename_declaration(declaration, names);
                if !plan
                    .declarations
                    .iter()
                    .any(|(url, d)| *url == message.broker && *d == renamed)
                {
                    plan.declarations.push((message.broker.clone(), renamed));
                }
            }
            let shifted = shift_since(message.sent, now);
            for number in 0..message.count {
                let id = names.message_id(shape, number);
                let delivery = framework.replay_message(
                    kind,
                    message,
                    &Fresh {
                        names,
                        id: &id,
                        now,
                        shift: shifted,
                    },
                )?;
                plan.messages.push(Replay {
                    shape,
                    id,
                    at: spread(message, number),
                    broker: message.broker.clone(),
                    delivery,
                });
            }
            if let Some(queue) = landing_queue(message) {
                plan.landings.push(Landing {
                    shape,
                    broker: message.broker.clone(),
                    key: framework.queue_key(kind, message, queue, names),
                    queue: queue.to_string(),
                    sent: message.count,
                });
            }
        }
        Ok(plan)
    }

    /// Every id of the replay.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|m| m.id.as_str())
    }
}

/// How far a message's own timestamps move: from when the example was sent to now.
fn shift_since(sent: Option<f64>, now: SystemTime) -> Duration {
    let Some(sent) = sent else {
        return Duration::ZERO;
    };
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    Duration::from_secs_f64((now - sent).max(0.0))
}

/// When message `number` of a shape is due: the shape's messages spread evenly from its
/// first time to its last, as the sender spread them.
fn spread(message: &LaunchMessage, number: u32) -> Option<f64> {
    let first = message.at?;
    let last = message.until.unwrap_or(first).max(first);
    if message.count <= 1 {
        return Some(first);
    }
    Some(first + (last - first) * f64::from(number) / f64::from(message.count - 1))
}

/// The queue a shape's messages land in: its Redis queue, its routing key on the default
/// exchange, or the queue bound to its exchange with its routing key among the sender's
/// declarations.
fn landing_queue(message: &LaunchMessage) -> Option<&str> {
    if let Some(queue) = message.destination.queue() {
        return Some(queue);
    }
    let Destination::Exchange {
        exchange,
        routing_key,
    } = &message.destination
    else {
        return None;
    };
    message.declare.iter().find_map(|d| match d {
        Declaration::Binding {
            queue,
            exchange: bound,
            routing_key: key,
            ..
        } if bound == exchange && (key == routing_key || key == "#") => Some(queue.as_str()),
        _ => None,
    })
}

fn rename_declaration(declaration: &Declaration, names: &TrialNames) -> Declaration {
    match declaration.clone() {
        Declaration::Queue {
            name,
            durable,
            exclusive,
            auto_delete,
            arguments,
        } => Declaration::Queue {
            name: names.rename(&name),
            durable,
            exclusive,
            auto_delete,
            arguments: names.queue_arguments(&arguments),
        },
        Declaration::Exchange {
            name,
            kind,
            durable,
            auto_delete,
            arguments,
        } => Declaration::Exchange {
            name: names.rename(&name),
            kind,
            durable,
            auto_delete,
            arguments,
        },
        Declaration::Binding {
            queue,
            exchange,
            routing_key,
            arguments,
        } => Declaration::Binding {
            queue: names.rename(&queue),
            exchange: names.rename(&exchange),
            routing_key,
            arguments,
        },
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;

    use super::*;

    fn message(count: u32, at: Option<f64>, until: Option<f64>) -> LaunchMessage {
        LaunchMessage {
            task: "t".into(),
            count,
            at,
            until,
            sent: None,
            broker: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            destination: Destination::Exchange {
                exchange: "tasks".into(),
                routing_key: "high".into(),
            },
            properties: IndexMap::new(),
            body: Vec::new(),
            declare: vec![Declaration::Binding {
                queue: "high-priority".into(),
                exchange: "tasks".into(),
                routing_key: "high".into(),
                arguments: Default::default(),
            }],
            waited: None,
        }
    }

    #[test]
    fn messages_are_spread_as_the_sender_spread_them() {
        let spread_over = message(5, Some(-0.5), Some(1.5));
        let times: Vec<f64> = (0..5).filter_map(|n| spread(&spread_over, n)).collect();
        assert_eq!(times, [-0.5, 0.0, 0.5, 1.0, 1.5]);
        assert_eq!(spread(&message(3, None, None), 1), None);
        assert_eq!(spread(&message(1, Some(2.0), Some(9.0)), 0), Some(2.0));
    }

    #[test]
    fn a_named_exchange_lands_in_the_queue_bound_to_it() {
        assert_eq!(
            landing_queue(&message(1, None, None)),
            Some("high-priority")
        );
        let names = TrialNames::new("3fa2c1d0e9ab");
        let renamed = rename_declaration(&message(1, None, None).declare[0], &names);
        assert_eq!(
            renamed,
            Declaration::Binding {
                queue: "minrepro.3fa2c1d0e9ab.high-priority".into(),
                exchange: "minrepro.3fa2c1d0e9ab.tasks".into(),
                routing_key: "high".into(),
                arguments: Default::default(),
            }
        );
    }
}

//! A trial's replay of the launch's messages: each message of each shape with a fresh id,
//! under the trial's names, at its time; the declarations the sender made, made again under
//! the trial's names first; and the queues where the messages land, to look at. The wire
//! format of each framework (where its ids and timestamps live) is the framework's
//! ([`crate::framework::Framework::replay_message`]); the rest is here.

use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use serde_json::Value;

use super::names::TrialNames;
use super::{Declaration, Destination, LaunchMessage};
use crate::broker::{AmqpMessage, Delivery, Kind};
use crate::error::Error;
use crate::framework::Framework;

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

/// What a framework needs to make one message fresh: its new id, the trial's names, the
/// time now and how far its timestamps move (since the example was sent).
pub struct Fresh<'a> {
    pub names: &'a TrialNames,
    pub id: &'a str,
    pub now: SystemTime,
    pub shift: Duration,
}

impl Fresh<'_> {
    /// Milliseconds since the epoch, now.
    pub fn now_ms(&self) -> u64 {
        self.now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default()
    }

    /// An RFC 3339 UTC timestamp (`…T04:38:59.123456+00:00` or `…Z`) moved by the shift;
    /// any other form is kept as it is.
    pub fn shifted_timestamp(&self, text: &str) -> String {
        let (body, suffix) = if let Some(body) = text.strip_suffix("+00:00") {
            (body, "+00:00")
        } else if let Some(body) = text.strip_suffix('Z') {
            (body, "Z")
        } else {
            return text.to_string();
        };
        let Ok(time) = humantime::parse_rfc3339_weak(body) else {
            return text.to_string();
        };
        let moved = humantime::format_rfc3339_micros(time + self.shift).to_string();
        format!("{}{suffix}", moved.trim_end_matches('Z'))
    }

    /// Now, as RQ writes its job timestamps (`2026-12-06T04:38:59.123456Z`).
    pub fn now_rfc3339(&self) -> String {
        humantime::format_rfc3339_micros(self.now).to_string()
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

/// An AMQP message from a shape's recorded properties, to the shape's destination under
/// the trial's names; `headers` and `body` as the framework made them fresh.
pub fn amqp_message(
    message: &LaunchMessage,
    names: &TrialNames,
    headers: serde_json::Map<String, Value>,
    body: Vec<u8>,
    correlation_id: Option<String>,
) -> Result<Delivery, Error> {
    let Destination::Exchange {
        exchange,
        routing_key,
    } = &message.destination
    else {
        return Err(Error::input(format!(
            "a message for `{}` on RabbitMQ names a Redis queue, not an exchange and a routing key",
            message.task
        )));
    };
    let text = |name: &str| {
        message
            .properties
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let number = |name: &str| message.properties.get(name).and_then(Value::as_u64);
    Ok(Delivery::Amqp(Box::new(AmqpMessage {
        exchange: names.rename(exchange),
        routing_key: names.routing_key(exchange, routing_key),
        body,
        content_type: text("content_type"),
        content_encoding: text("content_encoding"),
        correlation_id,
        priority: number("priority").map(|p| p.min(255) as u8),
        delivery_mode: number("delivery_mode").map_or(2, |m| m as u8),
        reply_to: text("reply_to"),
        expiration: text("expiration"),
        kind: text("type"),
        app_id: text("app_id"),
        headers,
    })))
}

/// The recorded AMQP headers of a shape (empty when it had none).
pub fn headers(message: &LaunchMessage) -> serde_json::Map<String, Value> {
    match message.properties.get("headers") {
        Some(Value::Object(map)) => map.clone(),
        _ => serde_json::Map::new(),
    }
}

/// A shape's recorded properties that are plain text (RQ's job fields), by name.
pub fn text_fields(properties: &IndexMap<String, Value>) -> Vec<(String, String)> {
    properties
        .iter()
        .filter(|(name, _)| !name.starts_with('_'))
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

/// The kind a shape's broker is, for a framework that only knows one.
pub fn require_kind(message: &LaunchMessage, wanted: Kind) -> Result<(), Error> {
    if message.kind() == Some(wanted) {
        Ok(())
    } else {
        Err(Error::input(format!(
            "a message for `{}` was sent to {}, which is not {}",
            message.task,
            super::address(&message.broker),
            wanted.name()
        )))
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn timestamps_move_by_the_shift() {
        let names = TrialNames::new("3fa2c1d0e9ab");
        let fresh = Fresh {
            names: &names,
            id: "x",
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            shift: Duration::from_secs(90),
        };
        assert_eq!(
            fresh.shifted_timestamp("2026-12-06T04:38:59.123456+00:00"),
            "2026-12-06T04:40:29.123456+00:00"
        );
        assert_eq!(
            fresh.shifted_timestamp("2026-12-06T04:38:59Z"),
            "2026-12-06T04:40:29.000000Z"
        );
        assert_eq!(fresh.shifted_timestamp("tomorrow"), "tomorrow");
        assert_eq!(fresh.now_rfc3339(), "2027-01-15T08:00:00.000000Z");
    }
}

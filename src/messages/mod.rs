//! The launch's own messages: what the real sender (a test, a fixture, the application)
//! published, where, in which wire format, how many and when, and whether it then waited on
//! a result. `capture` records them; a case file keeps one example per distinct shape with
//! its count (`[[messages]]`); every trial replays them, with fresh ids and under the trial's
//! own names ([`names`]), to the broker, vhost or database the sender used ([`replay`]).

pub mod names;
pub mod replay;
pub mod results;

use std::net::{IpAddr, ToSocketAddrs};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::broker::{Declaration, Kind};
use crate::redact::redact_url;

/// One shape of message the launch sent, and how many of that shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchMessage {
    /// The task (actor, job function) it names, as the framework reads it.
    pub task: String,
    /// Messages of this shape the launch sent.
    pub count: u32,
    /// Seconds from the worker's start (`worker:started`) to the first and the last of
    /// them; negative: before it started. `None`: not known (sent once the worker is up).
    pub at: Option<f64>,
    pub until: Option<f64>,
    /// When the example was sent (Unix seconds): its eta and expiry are shifted by as much
    /// as it is replayed later.
    pub sent: Option<f64>,
    /// The sender's broker, credentials included (case files list it among their secrets).
    pub broker: String,
    pub destination: Destination,
    /// AMQP: the message's properties (`content_type`, `delivery_mode`, `priority`,
    /// `correlation_id`, `headers`…). RQ: the job's hash fields other than its data.
    pub properties: IndexMap<String, Value>,
    pub body: Vec<u8>,
    /// What the sender declared before publishing (queues, exchanges, bindings), in order.
    pub declare: Vec<Declaration>,
    /// Where the sender read the result from, when it waited on one.
    pub waited: Option<ResultWait>,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Destination {
    /// AMQP: an exchange (`""`: the default one, where the routing key is a queue's name).
    Exchange {
        exchange: String,
        routing_key: String,
    },
    /// Redis: a queue (RQ's, kombu's list, Dramatiq's in a namespace).
    Queue {
        queue: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        namespace: Option<String>,
    },
}

impl Destination {
    /// The queue the message lands in when the route is plain: the routing key on the
    /// default exchange, or the Redis queue. `None` for a named exchange (the bindings say).
    pub fn queue(&self) -> Option<&str> {
        match self {
            Destination::Exchange {
                exchange,
                routing_key,
            } if exchange.is_empty() => Some(routing_key),
            Destination::Exchange { .. } => None,
            Destination::Queue { queue, .. } => Some(queue),
        }
    }
}

/// Where the sender read a result from, and how (`AsyncResult.get`, `Message.get_result`,
/// `Job.get_status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultWait {
    /// The result backend's URL as the sender had it (`redis://…/1`, `rpc://`, `db+…`).
    pub backend: String,
    pub how: String,
}

impl LaunchMessage {
    /// The broker kind of the sender's broker.
    pub fn kind(&self) -> Option<Kind> {
        Kind::of(&self.broker)
    }

    /// "20 messages for `app.tasks.add` to `celery` on 127.0.0.1:5672/proj-dev".
    pub fn sentence(&self) -> String {
        let to = match &self.destination {
            Destination::Exchange {
                exchange,
                routing_key,
            } if exchange.is_empty() => format!("`{routing_key}`"),
            Destination::Exchange {
                exchange,
                routing_key,
            } => format!("exchange `{exchange}` (routing key `{routing_key}`)"),
            Destination::Queue { queue, .. } => format!("`{queue}`"),
        };
        format!(
            "{} message{} for `{}` to {to} on {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            self.task,
            address(&self.broker)
        )
    }
}

/// host:port/vhost (or /database) of a broker URL, never its credentials.
pub fn address(url: &str) -> String {
    let redacted = redact_url(url);
    let rest = redacted
        .split_once("://")
        .map_or(redacted.as_str(), |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split('?').next().unwrap_or_default();
    let vhost = match percent_decode(path).as_str() {
        "" => "/".to_string(),
        other => other.to_string(),
    };
    if vhost == "/" {
        format!("{authority}/")
    } else {
        format!("{authority}/{vhost}")
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether two host names are the same machine: equal, or resolving to a common address.
/// `None` when either does not resolve: unsure. Here beside [`address`], below both the
/// trial (its stall rules, its replay) and the result locations ([`results`]) that use it.
pub fn same_host(a: &str, b: &str) -> Option<bool> {
    if a.eq_ignore_ascii_case(b) {
        return Some(true);
    }
    let resolve = |host: &str| -> Option<Vec<IpAddr>> {
        Some((host, 0).to_socket_addrs().ok()?.map(|a| a.ip()).collect())
    };
    let (a, b) = (resolve(a)?, resolve(b)?);
    // Every loopback address is this machine.
    let local = |ips: &[IpAddr]| ips.iter().any(IpAddr::is_loopback);
    Some(a.iter().any(|ip| b.contains(ip)) || (local(&a) && local(&b)))
}

/// A `[[messages]]` entry as the case file writes it: plain TOML where TOML can say it, JSON
/// text where the wire holds what TOML cannot (AMQP headers with nulls, declarations).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageEntry {
    pub task: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent: Option<f64>,
    pub broker: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<toml::Table>,
    /// JSON: the AMQP headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<String>,
    /// The body as text, when it is UTF-8; else `body_base64`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// JSON: what the sender declared, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declare: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<ResultWait>,
}

fn one() -> u32 {
    1
}

impl MessageEntry {
    /// The entry as a message, or what is wrong with it (and what to write instead).
    pub fn parse(self) -> Result<LaunchMessage, (String, &'static str)> {
        if self.task.trim().is_empty() {
            return Err((
                "`task` is empty".into(),
                "name the task (actor, job function) the message is for",
            ));
        }
        if self.count == 0 {
            return Err((
                "`count` is 0".into(),
                "give how many messages of this shape the launch sent (1 or more)",
            ));
        }
        if Kind::of(&self.broker).is_none() {
            return Err((
                format!("`broker` {} is not a broker URL", redact_url(&self.broker)),
                "write the sender's broker: amqp://user:password@host:5672/vhost or redis://host:6379/0",
            ));
        }
        let destination = destination(self.exchange, self.routing_key, self.queue, self.namespace)?;
        let properties = properties(self.properties, self.headers)?;
        let body = body(self.body, self.body_base64)?;
        let declare = match self.declare {
            Some(text) => serde_json::from_str(&text).map_err(|err| {
                (
                    format!("`declare` is not a list of declarations: {err}"),
                    "write JSON such as '[{\"declare\": \"queue\", \"name\": \"celery\", \"durable\": true}]'",
                )
            })?,
            None => Vec::new(),
        };
        Ok(LaunchMessage {
            task: self.task,
            count: self.count,
            at: self.at,
            until: self.until,
            sent: self.sent,
            broker: self.broker,
            destination,
            properties,
            body,
            declare,
            waited: self.waited,
        })
    }
}

/// Where an entry's message goes: an exchange (a routing key alone means AMQP's default
/// exchange) or a Redis queue; an entry naming both, or neither, is refused rather than
/// guessed.
fn destination(
    exchange: Option<String>,
    routing_key: Option<String>,
    queue: Option<String>,
    namespace: Option<String>,
) -> Result<Destination, (String, &'static str)> {
    match (exchange, routing_key, queue) {
        (Some(exchange), routing_key, None) => Ok(Destination::Exchange {
            exchange,
            routing_key: routing_key.unwrap_or_default(),
        }),
        (None, Some(routing_key), None) => Ok(Destination::Exchange {
            exchange: String::new(),
            routing_key,
        }),
        (None, None, Some(queue)) => Ok(Destination::Queue { queue, namespace }),
        _ => Err((
            "the destination is unclear".into(),
            "give `exchange` and `routing_key` (RabbitMQ), or `queue` (Redis)",
        )),
    }
}

/// The message's properties: a case file writes the AMQP headers apart from the others,
/// as JSON text, and they join them here.
fn properties(
    table: Option<toml::Table>,
    headers: Option<String>,
) -> Result<IndexMap<String, Value>, (String, &'static str)> {
    let mut properties: IndexMap<String, Value> = match table {
        Some(table) => match serde_json::to_value(table) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => IndexMap::new(),
        },
        None => IndexMap::new(),
    };
    if let Some(headers) = headers {
        match serde_json::from_str::<Value>(&headers) {
            Ok(value @ Value::Object(_)) => {
                properties.insert("headers".into(), value);
            }
            _ => {
                return Err((
                    "`headers` is not a JSON object".into(),
                    "write the AMQP headers as JSON text, e.g. '{\"task\": \"app.add\"}'",
                ));
            }
        }
    }
    Ok(properties)
}

/// The body's bytes, from text or, for a body that is not UTF-8, from base64: one of the
/// two at most, since which is meant could not be told.
fn body(text: Option<String>, encoded: Option<String>) -> Result<Vec<u8>, (String, &'static str)> {
    use base64::Engine;
    match (text, encoded) {
        (Some(text), None) => Ok(text.into_bytes()),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| {
                (
                    "`body_base64` is not base64".to_string(),
                    "give the body as text (`body`) or base64 (`body_base64`)",
                )
            }),
        (None, None) => Ok(Vec::new()),
        (Some(_), Some(_)) => Err((
            "both `body` and `body_base64`".into(),
            "give the body once: as text, or as base64 when it is not UTF-8",
        )),
    }
}

impl From<&LaunchMessage> for MessageEntry {
    fn from(message: &LaunchMessage) -> MessageEntry {
        use base64::Engine;
        let mut properties = message.properties.clone();
        let headers = properties
            .shift_remove("headers")
            .map(|h| serde_json::to_string(&h).unwrap_or_default());
        // TOML has no null: a property without a value is left out.
        let table: toml::Table = properties
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .filter_map(|(k, v)| Some((k, toml::Value::try_from(v).ok()?)))
            .collect();
        let (body, body_base64) = match String::from_utf8(message.body.clone()) {
            Ok(text) => (Some(text), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(&message.body)),
            ),
        };
        let (exchange, routing_key, queue, namespace) = match &message.destination {
            Destination::Exchange {
                exchange,
                routing_key,
            } => (
                Some(exchange.clone()),
                Some(routing_key.clone()),
                None,
                None,
            ),
            Destination::Queue { queue, namespace } => {
                (None, None, Some(queue.clone()), namespace.clone())
            }
        };
        MessageEntry {
            task: message.task.clone(),
            count: message.count,
            at: message.at,
            until: message.until,
            sent: message.sent,
            broker: message.broker.clone(),
            exchange,
            routing_key,
            queue,
            namespace,
            properties: (!table.is_empty()).then_some(table),
            headers,
            body: body.filter(|b| !b.is_empty()),
            body_base64,
            declare: (!message.declare.is_empty())
                .then(|| serde_json::to_string(&message.declare).unwrap_or_default()),
            waited: message.waited.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn celery_message() -> LaunchMessage {
        let mut properties = IndexMap::new();
        properties.insert("content_type".into(), "application/json".into());
        properties.insert("delivery_mode".into(), 2.into());
        properties.insert(
            "headers".into(),
            serde_json::json!({"task": "shop.tasks.ship", "id": "abc", "eta": null}),
        );
        LaunchMessage {
            task: "shop.tasks.ship".into(),
            count: 20,
            at: Some(0.4),
            until: Some(1.2),
            sent: Some(1_765_000_000.5),
            broker: "amqp://guest:secret@127.0.0.1:5672/proj-dev".into(),
            destination: Destination::Exchange {
                exchange: String::new(),
                routing_key: "celery".into(),
            },
            properties,
            body: br#"[["order-7"], {}, {}]"#.to_vec(),
            declare: vec![Declaration::Queue {
                name: "celery".into(),
                durable: true,
                exclusive: false,
                auto_delete: false,
                arguments: Default::default(),
            }],
            waited: Some(ResultWait {
                backend: "redis://127.0.0.1:6379/1".into(),
                how: "AsyncResult.get".into(),
            }),
        }
    }

    #[test]
    fn a_message_goes_through_its_case_file_entry_unchanged() {
        let message = celery_message();
        let entry = MessageEntry::from(&message);
        let text = toml::to_string(&entry).unwrap();
        assert!(text.contains("routing_key = \"celery\""), "{text}");
        // Null header values survive, in the headers' JSON.
        assert!(
            text.contains("\\\"eta\\\":null") || text.contains("\"eta\":null"),
            "{text}"
        );
        let back: MessageEntry = toml::from_str(&text).unwrap();
        assert_eq!(back.parse().unwrap(), message);
        // A body that is not UTF-8 goes as base64.
        let mut binary = message.clone();
        binary.body = vec![0x78, 0x9c, 0xff, 0x00];
        let text = toml::to_string(&MessageEntry::from(&binary)).unwrap();
        assert!(text.contains("body_base64"), "{text}");
        let back: MessageEntry = toml::from_str(&text).unwrap();
        assert_eq!(back.parse().unwrap().body, binary.body);
    }

    #[test]
    fn a_bad_entry_says_what_to_write() {
        let entry = MessageEntry {
            task: "a.b".into(),
            count: 1,
            broker: "amqp://h/%2f".into(),
            exchange: Some("x".into()),
            queue: Some("q".into()),
            ..MessageEntry::default()
        };
        let (what, help) = entry.parse().unwrap_err();
        assert!(what.contains("destination"), "{what}");
        assert!(help.contains("routing_key"), "{help}");
    }

    #[test]
    fn a_broker_is_shown_by_its_address_alone() {
        assert_eq!(
            address("amqp://guest:secret@127.0.0.1:5672/proj-dev"),
            "127.0.0.1:5672/proj-dev"
        );
        assert_eq!(
            address("amqp://guest:guest@localhost:5672/%2f"),
            "localhost:5672/"
        );
        assert_eq!(address("redis://:pw@127.0.0.1:6379/3"), "127.0.0.1:6379/3");
        assert_eq!(
            celery_message().sentence(),
            "20 messages for `shop.tasks.ship` to `celery` on 127.0.0.1:5672/proj-dev"
        );
    }

    #[test]
    fn hosts_are_the_same_machine_by_address_not_by_spelling() {
        assert_eq!(same_host("localhost", "127.0.0.1"), Some(true));
        assert_eq!(same_host("127.0.0.1", "LOCALHOST"), Some(true));
        assert_eq!(same_host("127.0.0.1", "10.255.255.1"), Some(false));
        assert_eq!(same_host("no-such-host.invalid", "127.0.0.1"), None);
    }
}

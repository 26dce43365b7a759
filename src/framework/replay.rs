//! The frameworks' shared part of replaying one of the launch's messages in their own wire
//! format: what makes a message fresh for a trial ([`Fresh`]: its id, the trial's names,
//! its timestamps moved), an AMQP message from a shape's recorded properties, its headers
//! and text fields, the one broker kind a framework runs on. Here with the frameworks that
//! use them, below the replay's plan ([`crate::messages::replay`]), which asks a framework
//! for each message.

use std::time::{Duration, SystemTime};

use indexmap::IndexMap;
use serde_json::Value;

use crate::broker::{AmqpMessage, Delivery, Kind};
use crate::error::Error;
use crate::messages::names::TrialNames;
use crate::messages::{Destination, LaunchMessage, address};

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
            address(&message.broker),
            wanted.name()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

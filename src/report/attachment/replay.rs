//! The launch's own messages as the attachment's launcher replays them: made fresh once, when
//! the attachment is written, under names of the attachment's own (`minrepro.<token>.…`, the
//! names its worker's plumbing gives every queue), each with its sender's broker (the
//! password replaced like every secret), destination, properties and body; what the senders
//! declared first; and where each sender read the results it waited on. `reproduce.py` sends
//! them with the client the worker's interpreter has (pika, py-amqp, redis-py) and judges as
//! the trials did.

use std::time::SystemTime;

use base64::Engine;
use serde_json::{Value, json};

use crate::broker::Delivery;
use crate::case::Case;
use crate::error::Error;
use crate::messages::names::TrialNames;
use crate::messages::replay::ReplayPlan;
use crate::messages::results::comparable;
use crate::redact::{Redactor, redact_url};

/// The replay for the launcher (`null` when the case has no messages of the launch's: the
/// launcher sends the probe).
pub fn launcher_replay(
    case: &Case,
    good: Option<&Case>,
    redactor: &Redactor,
) -> Result<Value, Error> {
    let messages = crate::bisect::replayed_messages(case, good);
    if messages.is_empty() {
        return Ok(Value::Null);
    }
    let token = crate::trial::new_trial_id();
    let names = TrialNames::new(&token);
    let framework = crate::framework::of(&case.template)?;
    let plan = ReplayPlan::new(framework, &messages, &names, SystemTime::now())?;
    let broker = |url: &str| redactor.redact(&redact_url(url));
    // One example per shape (its first message), and each message's id and time: the
    // launcher makes the others by putting their ids in place of the example's.
    let shapes: Vec<Value> = messages
        .iter()
        .enumerate()
        .filter_map(|(index, shape)| {
            let of_shape: Vec<_> = plan.messages.iter().filter(|m| m.shape == index).collect();
            let first = of_shape.first()?;
            let mut entry = json!({
                "broker": broker(&shape.broker),
                "id": first.id,
                "ids": of_shape.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
                "at": of_shape.iter().map(|m| m.at).collect::<Vec<_>>(),
                "example": example(&first.delivery),
            });
            if let Some(wait) = &shape.waited {
                entry["waited"] = json!({
                    "backend": comparable(&wait.backend, &shape.broker),
                    "how": wait.how,
                });
            }
            Some(entry)
        })
        .collect();
    let declarations: Vec<Value> = plan
        .declarations
        .iter()
        .map(|(url, declaration)| json!({"broker": broker(url), "declaration": declaration}))
        .collect();
    Ok(json!({
        "token": token,
        "names": names.prefix(),
        "declarations": declarations,
        "shapes": shapes,
    }))
}

/// A delivery as the launcher reads it: its text where it is UTF-8 (so that an id can be put
/// in place), base64 where not.
fn example(delivery: &Delivery) -> Value {
    let bytes = |bytes: &[u8]| match std::str::from_utf8(bytes) {
        Ok(text) => json!({ "text": text }),
        Err(_) => json!({ "b64": base64::engine::general_purpose::STANDARD.encode(bytes) }),
    };
    match delivery {
        Delivery::Amqp(amqp) => json!({
            "kind": "amqp",
            "exchange": amqp.exchange,
            "routing_key": amqp.routing_key,
            "body": bytes(&amqp.body),
            "properties": {
                "content_type": amqp.content_type,
                "content_encoding": amqp.content_encoding,
                "correlation_id": amqp.correlation_id,
                "priority": amqp.priority,
                "delivery_mode": amqp.delivery_mode,
                "reply_to": amqp.reply_to,
                "expiration": amqp.expiration,
                "type": amqp.kind,
                "app_id": amqp.app_id,
            },
            "headers": amqp.headers,
        }),
        Delivery::Redis(commands) => json!({
            "kind": "redis",
            "commands": commands
                .iter()
                .map(|words| words.iter().map(|w| bytes(w)).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
        }),
    }
}

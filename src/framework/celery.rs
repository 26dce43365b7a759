//! Celery, on RabbitMQ and Redis (kombu's transports): `templates/celery/`.

use base64::Engine;

use super::replay::{self, Fresh};
use super::{
    CliArgs, Framework, ProbeMessage, comma_list, command, keep_verbatim, log_level_words,
    verbatim_flags,
};
use crate::broker::{AmqpMessage, Delivery, Kind, Leftovers};
use crate::error::Error;
use crate::launch::LaunchOptions;
use crate::messages::LaunchMessage;
use crate::messages::names::TrialNames;

/// What kombu's Redis transport puts between the parts of a binding, and between a queue's
/// name and its priority.
const KOMBU_SEPARATOR: &str = "\x06\x16";

pub struct Celery;

impl Framework for Celery {
    fn name(&self) -> &'static str {
        "celery"
    }

    fn title(&self) -> &'static str {
        "Celery"
    }

    fn package(&self) -> &'static str {
        "celery"
    }

    fn console_script(&self) -> &'static str {
        "celery"
    }

    fn cli_module(&self) -> &'static str {
        "celery"
    }

    /// `celery -A APP worker …`: the app is the first import, the `--include` modules the
    /// next ones; `--concurrency`, `--loglevel` and `--queues` become options, every other
    /// flag (of the worker or of `celery` itself, such as `--broker`) stays verbatim.
    fn captured_cli(&self, args: &CliArgs, options: &mut LaunchOptions) -> Vec<String> {
        let mut app = Vec::new();
        let mut included = Vec::new();
        let mut queues: Option<Vec<String>> = None;
        for (dest, flag, words) in &args.flags {
            let number = words.first().and_then(|w| w.parse().ok());
            match dest.as_deref() {
                Some("app") if !words.is_empty() => app = words.clone(),
                Some("include") => included.extend(comma_list(words)),
                Some("queues") => queues.get_or_insert_default().extend(comma_list(words)),
                Some("concurrency") if number.is_some() => options.worker_threads = number,
                Some("loglevel") if !words.is_empty() => {
                    options.log_level = Some(words[0].to_ascii_uppercase());
                }
                _ => keep_verbatim(options, flag, words),
            }
        }
        if queues.is_some() {
            options.queues = queues;
        }
        let mut imports = app;
        for module in included {
            if !imports.contains(&module) {
                imports.push(module);
            }
        }
        imports
    }

    /// `--concurrency` from `worker_threads`, `--loglevel` from `log_level`; every other
    /// flag (`--pool`, `--without-mingle`) as the launch gave it.
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = options.worker_threads {
            args.extend(["--concurrency".to_string(), n.to_string()]);
        }
        args.extend(log_level_words(self, options));
        args.extend(verbatim_flags(options));
        args
    }

    fn log_level_flag(&self) -> Option<&'static str> {
        Some("--loglevel")
    }

    /// The task is registered on the worker's own app under this name; the queue, unique
    /// to the trial, keeps trials apart.
    fn probe_task(&self, _token: &str) -> String {
        "minrepro.probe".to_string()
    }

    /// Celery's message protocol 2: the task's name and id in the headers, a JSON body of
    /// `[args, kwargs, embed]`. On Redis, kombu's envelope (the body base64-encoded) pushed
    /// on the queue's list, which the worker pops from the other end.
    fn probe_message(&self, kind: Kind, probe: ProbeMessage<'_>) -> Result<Delivery, Error> {
        let task_id = format!("minrepro-{}-{}", probe.token, probe.index);
        let headers = serde_json::json!({
            "lang": "py",
            "task": self.probe_task(probe.token),
            "id": task_id,
            "shadow": null,
            "eta": null,
            "expires": null,
            "group": null,
            "group_index": null,
            "retries": 0,
            "timelimit": [null, null],
            "root_id": task_id,
            "parent_id": null,
            "argsrepr": format!("('{}', {})", probe.token, probe.index),
            "kwargsrepr": "{}",
            "origin": "minrepro",
            "ignore_result": true,
            "replaced_task_nesting": 0,
            "stamped_headers": null,
            "stamps": {},
        });
        let body = serde_json::json!([
            [probe.token, probe.index],
            {},
            {"callbacks": null, "errbacks": null, "chain": null, "chord": null}
        ])
        .to_string();
        let serde_json::Value::Object(headers) = headers else {
            unreachable!("headers are an object")
        };
        Ok(match kind {
            Kind::Amqp => Delivery::Amqp(Box::new(AmqpMessage {
                content_type: Some("application/json".into()),
                content_encoding: Some("utf-8".into()),
                correlation_id: Some(task_id),
                priority: Some(0),
                headers,
                ..AmqpMessage::to_queue(probe.queue, body.into_bytes())
            })),
            Kind::Redis => {
                let envelope = serde_json::json!({
                    "body": base64::engine::general_purpose::STANDARD.encode(body),
                    "content-encoding": "utf-8",
                    "content-type": "application/json",
                    "headers": headers,
                    "properties": {
                        "correlation_id": task_id,
                        "reply_to": "",
                        "delivery_mode": 2,
                        "delivery_info": {"exchange": "", "routing_key": probe.queue},
                        "priority": 0,
                        "body_encoding": "base64",
                        "delivery_tag": task_id,
                    },
                })
                .to_string();
                Delivery::Redis(vec![command([
                    b"LPUSH",
                    probe.queue.as_bytes(),
                    envelope.as_bytes(),
                ])])
            }
        })
    }

    fn probe_leftovers(&self, kind: Kind, queue: &str, _token: &str) -> Leftovers {
        match kind {
            Kind::Amqp => Leftovers::Queues(vec![queue.to_string()]),
            // The list (and kombu's lists for other priorities), and the queue's binding in
            // the default exchange's shared sets, made when the worker began consuming it.
            Kind::Redis => {
                let binding = [queue, "", queue].join(KOMBU_SEPARATOR);
                Leftovers::Keys {
                    keys: vec![
                        queue.to_string(),
                        format!("_kombu.binding.{queue}"),
                        format!("_kombu.binding_permanent.{queue}"),
                    ],
                    patterns: vec![format!("{queue}{KOMBU_SEPARATOR}*")],
                    members: ["_kombu.binding.celery", "_kombu.binding_permanent.celery"]
                        .iter()
                        .map(|set| (set.to_string(), binding.clone()))
                        .collect(),
                }
            }
        }
    }

    fn queue_family(&self, queue: &str) -> Vec<String> {
        vec![queue.to_string()]
    }

    /// kombu's Redis transport: the unacknowledged messages of every worker, and the
    /// bindings of the default exchange.
    fn shared_collections(&self) -> &'static [&'static str] {
        &["unacked", "unacked_index", "_kombu.binding."]
    }

    /// Message protocol 2 keeps the task's id in the headers (`id`, `root_id` when the
    /// task was a root) and the correlation id; protocol 1 in the body. On Redis the whole
    /// of it is kombu's envelope, pushed on the queue's list (priority 0's, or the list of
    /// the priority step the message has).
    fn replay_message(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        fresh: &Fresh<'_>,
    ) -> Result<Delivery, Error> {
        match kind {
            Kind::Amqp => {
                let mut headers = replay::headers(message);
                let old = refresh_task(&mut headers, fresh);
                let body = match serde_json::from_slice::<serde_json::Value>(&message.body) {
                    // Protocol 1: the task's id (and eta, expires) in the body.
                    Ok(serde_json::Value::Object(mut body)) if body.contains_key("task") => {
                        refresh_task(&mut body, fresh);
                        serde_json::Value::Object(body).to_string().into_bytes()
                    }
                    _ => message.body.clone(),
                };
                let correlation = message
                    .properties
                    .get("correlation_id")
                    .and_then(|v| v.as_str())
                    .map(|c| match &old {
                        Some(old) if old == c => fresh.id.to_string(),
                        _ => c.to_string(),
                    });
                replay::amqp_message(message, fresh.names, headers, body, correlation)
            }
            Kind::Redis => {
                let mut envelope = super::json_body("kombu", message)?;
                let queue = fresh
                    .names
                    .rename(message.destination.queue().unwrap_or("celery"));
                if let Some(serde_json::Value::Object(headers)) = envelope.get_mut("headers") {
                    refresh_task(headers, fresh);
                }
                let priority = complete_envelope(&mut envelope, &queue, fresh.id);
                let list = redis_list(&queue, priority);
                let text = serde_json::Value::Object(envelope).to_string();
                Ok(Delivery::Redis(vec![command([
                    b"LPUSH",
                    list.as_bytes(),
                    text.as_bytes(),
                ])]))
            }
        }
    }

    fn queue_key(
        &self,
        _kind: Kind,
        _message: &LaunchMessage,
        queue: &str,
        names: &TrialNames,
    ) -> String {
        names.rename(queue)
    }
}

/// kombu's envelope as its virtual channel completes it before a Redis push
/// (`_inplace_augment_message`): the body base64-encoded unless the capture kept it so, a
/// delivery tag, and the delivery info kombu's Redis QoS reads when it holds the message
/// unacknowledged (without it the worker crashes on `KeyError: 'exchange'`). Capture records
/// the envelope as the sender built it, with a body readable in the case file. The fresh id
/// is the correlation id and the tag; the message's priority is returned (its list).
fn complete_envelope(
    envelope: &mut serde_json::Map<String, serde_json::Value>,
    queue: &str,
    fresh_id: &str,
) -> u64 {
    let properties = envelope
        .entry("properties")
        .or_insert_with(|| serde_json::json!({}));
    let serde_json::Value::Object(properties) = properties else {
        return 0;
    };
    let encode = !properties.contains_key("body_encoding");
    properties.insert("correlation_id".into(), fresh_id.into());
    properties.insert("delivery_tag".into(), fresh_id.into());
    properties.insert("body_encoding".into(), "base64".into());
    // Through the default exchange: were it redelivered, it goes straight back to its list.
    properties.insert(
        "delivery_info".into(),
        serde_json::json!({"exchange": "", "routing_key": queue}),
    );
    let priority = properties
        .get("priority")
        .and_then(|p| p.as_u64())
        .unwrap_or(0);
    if encode && let Some(serde_json::Value::String(body)) = envelope.get("body") {
        let encoded = base64::engine::general_purpose::STANDARD.encode(body.as_bytes());
        envelope.insert("body".into(), encoded.into());
    }
    priority
}

/// The task id in Celery's headers (or a protocol 1 body) made the trial's, with the root
/// id when the task was its own root, and its eta and expiry moved as far as the message
/// moved in time; the id it had.
fn refresh_task(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    fresh: &Fresh<'_>,
) -> Option<String> {
    let old = fields
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    fields.insert("id".into(), fresh.id.into());
    if old.is_some() && fields.get("root_id").and_then(|v| v.as_str()) == old.as_deref() {
        fields.insert("root_id".into(), fresh.id.into());
    }
    for time in ["eta", "expires"] {
        if let Some(serde_json::Value::String(text)) = fields.get(time) {
            let moved = fresh.shifted_timestamp(text);
            fields.insert(time.into(), moved.into());
        }
    }
    old
}

/// kombu's Redis list for a queue and a priority: the queue's own for 0, else the list of
/// the highest priority step (0, 3, 6, 9) not above it.
fn redis_list(queue: &str, priority: u64) -> String {
    let step = [0, 3, 6, 9]
        .into_iter()
        .rev()
        .find(|step| *step <= priority)
        .unwrap_or(0);
    if step == 0 {
        queue.to_string()
    } else {
        format!("{queue}{KOMBU_SEPARATOR}{step}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::FlagValue;

    fn args(positionals: &[&str], flags: &[(Option<&str>, &str, &[&str])]) -> CliArgs {
        CliArgs {
            positionals: positionals.iter().map(|s| s.to_string()).collect(),
            flags: flags
                .iter()
                .map(|(dest, flag, words)| {
                    (
                        dest.map(str::to_string),
                        flag.to_string(),
                        words.iter().map(|w| w.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn a_captured_celery_command_line_is_the_app_the_includes_and_options() {
        // celery -A proj.celery worker -P prefork -c 4 -l info -I proj.a,proj.b -I proj.c
        //   -Q high,low --without-mingle
        let captured = args(
            &[],
            &[
                (Some("app"), "--app", &["proj.celery"]),
                (Some("pool"), "--pool", &["prefork"]),
                (Some("concurrency"), "--concurrency", &["4"]),
                (Some("loglevel"), "--loglevel", &["info"]),
                (Some("include"), "--include", &["proj.a,proj.b"]),
                (Some("include"), "--include", &["proj.c"]),
                (Some("queues"), "--queues", &["high,low"]),
                (Some("without_mingle"), "--without-mingle", &[]),
            ],
        );
        let mut options = LaunchOptions::default();
        let imports = Celery.captured_cli(&captured, &mut options);
        assert_eq!(imports, ["proj.celery", "proj.a", "proj.b", "proj.c"]);
        assert_eq!(options.worker_threads, Some(4));
        assert_eq!(options.log_level.as_deref(), Some("INFO"));
        assert_eq!(
            options.queues,
            Some(vec!["high".to_string(), "low".to_string()])
        );
        assert_eq!(
            options.cli_flags.get("--pool"),
            Some(&FlagValue::One("prefork".into()))
        );
        assert_eq!(
            options.cli_flags.get("--without-mingle"),
            Some(&FlagValue::Switch)
        );
        // And back: the launch gives the same flags again (the app and includes are the
        // launch template's).
        assert_eq!(
            Celery.cli_arguments(&options),
            [
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
                "--pool",
                "prefork",
                "--without-mingle"
            ]
        );
    }

    /// A kombu envelope as capture records it (the sender's, before kombu's channel adds the
    /// body's encoding and the delivery info) is pushed as kombu itself would push it: a worker
    /// reading it must find `delivery_info.exchange`, or it crashes on a KeyError.
    #[test]
    fn a_captured_kombu_envelope_is_completed_before_its_redis_push() {
        let body = r#"[[3], {}, {"callbacks": null}]"#;
        let mut envelope = serde_json::json!({
            "body": body,
            "headers": {"id": "old", "task": "couriers.tasks.quote_delivery"},
            "properties": {"correlation_id": "old", "delivery_info": {}, "priority": 0},
        });
        let serde_json::Value::Object(envelope) = &mut envelope else {
            unreachable!()
        };
        let priority = complete_envelope(envelope, "minrepro.abc.celery", "fresh");
        assert_eq!(priority, 0);
        let properties = &envelope["properties"];
        assert_eq!(
            properties["delivery_info"],
            serde_json::json!({"exchange": "", "routing_key": "minrepro.abc.celery"})
        );
        assert_eq!(properties["body_encoding"], "base64");
        assert_eq!(properties["delivery_tag"], "fresh");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(envelope["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, body.as_bytes());

        // Already encoded (a binary serializer's body, base64 in the capture): left as it is.
        let encoded = envelope["body"].clone();
        complete_envelope(envelope, "minrepro.abc.celery", "fresher");
        assert_eq!(envelope["body"], encoded);
    }
}

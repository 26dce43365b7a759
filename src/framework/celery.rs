//! Celery, on RabbitMQ and Redis (kombu's transports): `templates/celery/`.

use base64::Engine;

use super::{Framework, ProbeMessage, command, verbatim_flags};
use crate::broker::{AmqpMessage, Delivery, Kind, Leftovers};
use crate::case::LaunchOptions;
use crate::case::options::{AppliesTo, LaunchOption};
use crate::error::Error;

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

    /// `--concurrency` from `worker_threads`, `--loglevel` from `log_level`; every other
    /// flag (`--pool`, `--without-mingle`) as the launch gave it.
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = options.worker_threads {
            args.extend(["--concurrency".to_string(), n.to_string()]);
        }
        if let Some(level) = &options.log_level {
            args.extend(["--loglevel".to_string(), level.clone()]);
        }
        args.extend(verbatim_flags(options));
        args
    }

    /// The task is registered on the worker's own app under this name; the queue, unique
    /// to the trial, keeps trials apart.
    /// `log_level` is the CLI's own log level flag too.
    fn applies_to(&self, option: &LaunchOption) -> AppliesTo {
        match option {
            LaunchOption::LogLevel(_) => AppliesTo::Any,
            _ => option.applies_to(),
        }
    }

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
            Kind::Amqp => Delivery::Amqp(AmqpMessage {
                body: body.into_bytes(),
                content_type: Some("application/json".into()),
                content_encoding: Some("utf-8".into()),
                correlation_id: Some(task_id),
                priority: Some(0),
                headers,
            }),
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
}

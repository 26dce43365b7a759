//! Dramatiq, on RabbitMQ (RabbitmqBroker) and Redis (RedisBroker): `templates/dramatiq/`.

use super::replay::{self, Fresh};
use super::{
    CliArgs, Framework, ProbeMessage, Report, command, keep_verbatim, text, verbatim_flags,
};
use crate::broker::{AmqpMessage, Delivery, Kind, Leftovers};
use crate::error::Error;
use crate::launch::LaunchOptions;
use crate::messages::names::TrialNames;
use crate::messages::{Destination, LaunchMessage};

/// The key prefix of RedisBroker's default namespace.
const REDIS_NAMESPACE: &str = "dramatiq";

pub struct Dramatiq;

impl Framework for Dramatiq {
    fn name(&self) -> &'static str {
        "dramatiq"
    }

    fn title(&self) -> &'static str {
        "Dramatiq"
    }

    fn package(&self) -> &'static str {
        "dramatiq"
    }

    fn console_script(&self) -> &'static str {
        "dramatiq"
    }

    fn cli_module(&self) -> &'static str {
        "dramatiq"
    }

    /// The modules become the imports (the first names the broker); `--processes`,
    /// `--threads`, `--path`, `--queues` and `-v` become options.
    fn captured_cli(&self, args: &CliArgs, options: &mut LaunchOptions) -> Vec<String> {
        for (dest, flag, words) in &args.flags {
            let number = words.first().and_then(|w| w.parse().ok());
            match dest.as_deref() {
                Some("processes") if number.is_some() => options.processes = number,
                Some("threads") if number.is_some() => options.worker_threads = number,
                Some("path") => options.path = Some(words.clone()),
                Some("queues") => options.queues = Some(words.clone()),
                Some("verbose") => options.verbose += 1,
                _ => keep_verbatim(options, flag, words),
            }
        }
        args.positionals.clone()
    }

    /// The options Dramatiq's CLI knows by name, then the verbatim flags.
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(n) = options.processes {
            args.extend(["--processes".to_string(), n.to_string()]);
        }
        if let Some(n) = options.worker_threads {
            args.extend(["--threads".to_string(), n.to_string()]);
        }
        if let Some(paths) = &options.path {
            args.push("--path".to_string());
            args.extend(paths.iter().cloned());
        }
        args.extend((0..options.verbose).map(|_| "-v".to_string()));
        args.extend(verbatim_flags(options));
        args
    }

    fn cli_sets_up(&self) -> &'static str {
        "the CLI sets up logging and Django itself: use verbose = 1 for DEBUG logging, a DJANGO_SETTINGS_MODULE env var and `django_dramatiq.setup` as the first import for Django"
    }

    fn probe_task(&self, token: &str) -> String {
        format!("minrepro_probe_{token}")
    }

    /// Exactly the keys Dramatiq decodes (a missing or extra key dead-letters the message);
    /// on Redis, RedisBroker's own enqueue: the message under a fresh id in the queue's
    /// `.msgs` hash, the id pushed on its list.
    fn probe_message(&self, kind: Kind, probe: ProbeMessage<'_>) -> Result<Delivery, Error> {
        let message_id = format!("minrepro-{}-{}", probe.token, probe.index);
        let mut message = serde_json::json!({
            "queue_name": probe.queue,
            "actor_name": self.probe_task(probe.token),
            "args": [probe.token, probe.index],
            "kwargs": {},
            "options": {},
            "message_id": message_id,
            "message_timestamp": probe.now_ms,
        });
        Ok(match kind {
            Kind::Amqp => Delivery::Amqp(Box::new(AmqpMessage::to_queue(
                probe.queue,
                message.to_string().into_bytes(),
            ))),
            Kind::Redis => {
                message["options"]["redis_message_id"] = message_id.clone().into();
                // RedisBroker's namespace is renamed in the trial (templates/isolation.py).
                let namespace = TrialNames::new(probe.token).rename(REDIS_NAMESPACE);
                let list = format!("{namespace}:{}", probe.queue);
                let hash = format!("{list}.msgs");
                let body = message.to_string();
                Delivery::Redis(vec![
                    command([
                        b"HSET",
                        hash.as_bytes(),
                        message_id.as_bytes(),
                        body.as_bytes(),
                    ]),
                    command([b"RPUSH", list.as_bytes(), message_id.as_bytes()]),
                ])
            }
        })
    }

    fn probe_leftovers(&self, kind: Kind, queue: &str, token: &str) -> Leftovers {
        match kind {
            Kind::Amqp => Leftovers::Queues(self.queue_family(queue)),
            Kind::Redis => {
                let namespace = TrialNames::new(token).rename(REDIS_NAMESPACE);
                let keys = self
                    .queue_family(queue)
                    .into_iter()
                    .flat_map(|q| {
                        let list = format!("{namespace}:{q}");
                        [format!("{list}.msgs"), list]
                    })
                    .collect();
                Leftovers::Keys {
                    keys,
                    // Messages a worker fetched and had not acknowledged, per worker id.
                    patterns: vec![format!("{namespace}:__acks__.*.{queue}*")],
                    members: Vec::new(),
                }
            }
        }
    }

    /// On Redis, each worker process's entry in its namespace's heartbeats.
    fn worker_leftovers(&self, kind: Kind, started: &[&Report]) -> Leftovers {
        if kind != Kind::Redis {
            return Leftovers::none();
        }
        let members = started
            .iter()
            .filter_map(|report| {
                let namespace = text(report, "namespace")?;
                let worker = text(report, "worker_id")?;
                Some((format!("{namespace}:__heartbeats__"), worker.to_string()))
            })
            .collect();
        Leftovers::Keys {
            keys: Vec::new(),
            patterns: Vec::new(),
            members,
        }
    }

    /// A queue and the delay and dead-letter queues Dramatiq pairs with it.
    fn queue_family(&self, queue: &str) -> Vec<String> {
        vec![
            queue.to_string(),
            format!("{queue}.DQ"),
            format!("{queue}.XQ"),
        ]
    }

    /// A fresh `message_id`, a `message_timestamp` of now, an `eta` moved as far as the
    /// message moved in time; the queue name in the body stays the launch's (the trial's
    /// names are the broker clients' business). On Redis, RedisBroker's own enqueue in the
    /// namespace under the trial's name.
    fn replay_message(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        fresh: &Fresh<'_>,
    ) -> Result<Delivery, Error> {
        let mut body = super::json_body(self.title(), message)?;
        body.insert("message_id".into(), fresh.id.into());
        body.insert("message_timestamp".into(), fresh.now_ms().into());
        if let Some(serde_json::Value::Object(options)) = body.get_mut("options") {
            if let Some(eta) = options.get("eta").and_then(|e| e.as_u64()) {
                let moved = eta + fresh.shift.as_millis() as u64;
                options.insert("eta".into(), moved.into());
            }
            if kind == Kind::Redis {
                options.insert("redis_message_id".into(), fresh.id.into());
            }
        }
        let text = serde_json::Value::Object(body).to_string();
        match kind {
            Kind::Amqp => replay::amqp_message(
                message,
                fresh.names,
                serde_json::Map::new(),
                text.into_bytes(),
                None,
            ),
            Kind::Redis => {
                let queue = message.destination.queue().unwrap_or("default");
                let list = self.queue_key(kind, message, queue, fresh.names);
                let hash = format!("{list}.msgs");
                Ok(Delivery::Redis(vec![
                    command([
                        b"HSET",
                        hash.as_bytes(),
                        fresh.id.as_bytes(),
                        text.as_bytes(),
                    ]),
                    command([b"RPUSH", list.as_bytes(), fresh.id.as_bytes()]),
                ]))
            }
        }
    }

    /// On RabbitMQ the queue under the trial's name; on Redis the queue's list in the
    /// namespace under the trial's name (RedisBroker's namespace is what the trial renames).
    fn queue_key(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        queue: &str,
        names: &TrialNames,
    ) -> String {
        match kind {
            Kind::Amqp => names.rename(queue),
            Kind::Redis => {
                let namespace = match &message.destination {
                    Destination::Queue {
                        namespace: Some(namespace),
                        ..
                    } => namespace.as_str(),
                    _ => REDIS_NAMESPACE,
                };
                format!("{}:{queue}", names.rename(namespace))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::{LaunchOption, Launcher};

    #[test]
    fn cli_arguments_are_the_command_line_a_launch_gave() {
        let mut options = LaunchOptions {
            launcher: Launcher::ConsoleScript,
            ..LaunchOptions::default()
        };
        for (name, text) in [
            ("processes", "2"),
            ("worker_threads", "4"),
            ("path", "[\".\"]"),
            ("verbose", "1"),
            ("--skip-logging", "true"),
            ("--worker-shutdown-timeout", "\"1000\""),
        ] {
            let value: toml::Table = toml::from_str(&format!("v = {text}")).unwrap();
            let parsed =
                LaunchOption::parse(name, &value["v"], std::path::Path::new("/"), |s| s.into());
            options.apply(&parsed.unwrap());
        }
        assert_eq!(
            Dramatiq.cli_arguments(&options),
            [
                "--processes",
                "2",
                "--threads",
                "4",
                "--path",
                ".",
                "-v",
                "--skip-logging",
                "--worker-shutdown-timeout",
                "1000"
            ]
        );
        // Stripped options are not passed at all: Dramatiq's own defaults apply.
        assert!(Dramatiq.cli_arguments(&LaunchOptions::default()).is_empty());
    }

    #[test]
    fn a_probe_message_has_exactly_the_keys_dramatiq_decodes() {
        let probe = ProbeMessage {
            queue: "minrepro.abc.probe",
            token: "abc",
            index: 1,
            now_ms: 5,
        };
        let Delivery::Amqp(message) = Dramatiq.probe_message(Kind::Amqp, probe).unwrap() else {
            panic!("not an AMQP message");
        };
        let body: serde_json::Value = serde_json::from_slice(&message.body).unwrap();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "actor_name",
                "args",
                "kwargs",
                "message_id",
                "message_timestamp",
                "options",
                "queue_name"
            ]
        );
        let Delivery::Redis(commands) = Dramatiq.probe_message(Kind::Redis, probe).unwrap() else {
            panic!("not Redis commands");
        };
        // In RedisBroker's namespace under the trial's name, as the trial's worker has it.
        assert_eq!(commands[1][1], b"minrepro.abc.dramatiq:minrepro.abc.probe");
        assert_eq!(
            commands[0][1],
            b"minrepro.abc.dramatiq:minrepro.abc.probe.msgs"
        );
    }
}

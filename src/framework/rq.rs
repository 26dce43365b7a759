//! RQ, on Redis: `templates/rq/`.

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use super::replay::{self, Fresh};
use super::{
    CliArgs, Framework, ProbeMessage, Report, command, keep_verbatim, log_level_words, text,
    unsupported, verbatim_flags,
};
use crate::broker::{Delivery, Kind, Leftovers};
use crate::error::Error;
use crate::launch::LaunchOptions;
use crate::messages::LaunchMessage;
use crate::messages::names::TrialNames;

/// The probe job's function: RQ imports it by this dotted name in the work horse, forked
/// from a worker that imported the plumbing already.
const PROBE_FUNCTION: &str = "minrepro_framework.probe";

pub struct Rq;

impl Framework for Rq {
    fn name(&self) -> &'static str {
        "rq"
    }

    fn title(&self) -> &'static str {
        "RQ"
    }

    fn package(&self) -> &'static str {
        "rq"
    }

    fn console_script(&self) -> &'static str {
        "rq"
    }

    fn cli_module(&self) -> &'static str {
        "rq.cli"
    }

    /// `rq worker [FLAGS] QUEUES…`: the queues become `queues`, `--logging_level` the log
    /// level; every other flag stays verbatim, `--url` and `-c settings` among them. The CLI
    /// imports nothing of the application by itself: no imports.
    fn captured_cli(&self, args: &CliArgs, options: &mut LaunchOptions) -> Vec<String> {
        for (dest, flag, words) in &args.flags {
            match dest.as_deref() {
                Some("logging_level") if !words.is_empty() => {
                    options.log_level = Some(words[0].to_ascii_uppercase());
                }
                _ => keep_verbatim(options, flag, words),
            }
        }
        if !args.positionals.is_empty() {
            options.queues = Some(args.positionals.clone());
        }
        Vec::new()
    }

    /// `--logging_level` from `log_level`; every other flag (`--worker-class`, `--url`,
    /// `--burst`, `-c`) as the launch gave it. RQ runs one job at a time: no thread count.
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String> {
        let mut args = log_level_words(self, options);
        args.extend(verbatim_flags(options));
        args
    }

    fn log_level_flag(&self) -> Option<&'static str> {
        Some("--logging_level")
    }

    fn probe_task(&self, _token: &str) -> String {
        PROBE_FUNCTION.to_string()
    }

    /// What `Queue.enqueue` writes, in one transaction: the job's hash (its call pickled
    /// with RQ's default serializer, zlib-compressed), the queue in the set of queues, the
    /// job's id pushed on the queue's list.
    fn probe_message(&self, kind: Kind, probe: ProbeMessage<'_>) -> Result<Delivery, Error> {
        if kind != Kind::Redis {
            return Err(unsupported(self.name(), kind));
        }
        let job = job_id(probe.token, probe.index);
        let queue_key = format!("rq:queue:{}", probe.queue);
        let job_key = format!("rq:job:{job}");
        let now =
            humantime::format_rfc3339_micros(UNIX_EPOCH + Duration::from_millis(probe.now_ms))
                .to_string();
        let description = format!("{PROBE_FUNCTION}('{}', {})", probe.token, probe.index);
        let data = zlib(&call_pickle(probe.token, probe.index));
        Ok(Delivery::Redis(vec![
            command([b"SADD", b"rq:queues", queue_key.as_bytes()]),
            command([
                b"HSET",
                job_key.as_bytes(),
                b"status",
                b"queued",
                b"created_at",
                now.as_bytes(),
                b"enqueued_at",
                now.as_bytes(),
                b"data",
                &data,
                b"origin",
                probe.queue.as_bytes(),
                b"description",
                description.as_bytes(),
                b"timeout",
                b"180",
            ]),
            command([b"RPUSH", queue_key.as_bytes(), job.as_bytes()]),
        ]))
    }

    /// The queue's list and registries, the probe jobs' hashes, results and executions,
    /// and the queue's place in the set of queues. The worker's own hash expires by itself.
    fn probe_leftovers(&self, _kind: Kind, queue: &str, token: &str) -> Leftovers {
        let queue_key = format!("rq:queue:{queue}");
        let mut keys = vec![
            queue_key.clone(),
            format!("{queue_key}:intermediate"),
            format!("rq:workers:{queue}"),
            format!("rq:clean_registries:{queue}"),
        ];
        for registry in [
            "wip",
            "finished",
            "failed",
            "deferred",
            "scheduled",
            "canceled",
        ] {
            keys.push(format!("rq:{registry}:{queue}"));
        }
        let jobs = format!("minrepro-{token}-");
        Leftovers::Keys {
            keys,
            patterns: ["job", "results", "executions", "execution"]
                .iter()
                .map(|kind| format!("rq:{kind}:{jobs}*"))
                .collect(),
            members: vec![("rq:queues".to_string(), queue_key)],
        }
    }

    /// Each worker's record, and its place in the sets of workers (of every queue it
    /// listened to): a stopped worker's record would linger for minutes.
    fn worker_leftovers(&self, _kind: Kind, started: &[&Report]) -> Leftovers {
        let mut keys = Vec::new();
        let mut members = Vec::new();
        for report in started {
            let Some(key) = text(report, "key") else {
                continue;
            };
            keys.push(key.to_string());
            members.push(("rq:workers".to_string(), key.to_string()));
            let queues = report.get("queues").and_then(|q| q.as_array());
            for queue in queues.into_iter().flatten().filter_map(|q| q.as_str()) {
                members.push((format!("rq:workers:{queue}"), key.to_string()));
            }
        }
        Leftovers::Keys {
            keys,
            patterns: Vec::new(),
            members,
        }
    }

    fn queue_family(&self, queue: &str) -> Vec<String> {
        vec![queue.to_string()]
    }

    fn shared_collections(&self) -> &'static [&'static str] {
        &["rq:queues", "rq:workers"]
    }

    /// What `Queue.enqueue_job` wrote: the job's hash (its recorded fields and its data, the
    /// call as the sender's serializer wrote it), now queued on the queue under the trial's
    /// name and stamped now; the id pushed on the queue's list (at its front when the sender
    /// put it there) and the queue in the set of queues.
    fn replay_message(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        fresh: &Fresh<'_>,
    ) -> Result<Delivery, Error> {
        replay::require_kind(message, Kind::Redis)?;
        let queue = message.destination.queue().unwrap_or("default");
        let queue_key = self.queue_key(kind, message, queue, fresh.names);
        let origin = fresh.names.rename(queue);
        let now = fresh.now_rfc3339();
        let mut fields: Vec<(String, Vec<u8>)> = replay::text_fields(&message.properties)
            .into_iter()
            .filter(|(name, _)| !matches!(name.as_str(), "origin" | "status" | "data"))
            .map(|(name, value)| {
                let value = match name.as_str() {
                    "created_at" | "enqueued_at" => now.clone(),
                    _ => value,
                };
                (name, value.into_bytes())
            })
            .collect();
        fields.push(("origin".into(), origin.into_bytes()));
        fields.push(("status".into(), b"queued".to_vec()));
        fields.push(("data".into(), message.body.clone()));
        let job_key = format!("rq:job:{}", fresh.id);
        let mut hset = vec![b"HSET".to_vec(), job_key.into_bytes()];
        for (name, value) in fields {
            hset.push(name.into_bytes());
            hset.push(value);
        }
        let at_front = message
            .properties
            .get("_at_front")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let push: &[u8] = if at_front { b"LPUSH" } else { b"RPUSH" };
        Ok(Delivery::Redis(vec![
            command([b"SADD", b"rq:queues", queue_key.as_bytes()]),
            hset,
            command([push, queue_key.as_bytes(), fresh.id.as_bytes()]),
        ]))
    }

    fn queue_key(
        &self,
        _kind: Kind,
        _message: &LaunchMessage,
        queue: &str,
        names: &TrialNames,
    ) -> String {
        format!("rq:queue:{}", names.rename(queue))
    }
}

/// RQ wants job ids of `[A-Za-z0-9_-]` (the leftovers match them by their prefix).
fn job_id(token: &str, index: u32) -> String {
    format!("minrepro-{token}-{index}")
}

/// `pickle.dumps((PROBE_FUNCTION, None, (token, index), {}), protocol=2)`, written by hand:
/// the 4-tuple RQ's default serializer reads as (function, instance, args, kwargs).
fn call_pickle(token: &str, index: u32) -> Vec<u8> {
    fn unicode(out: &mut Vec<u8>, text: &str) {
        out.push(b'X'); // BINUNICODE
        out.extend((text.len() as u32).to_le_bytes());
        out.extend(text.as_bytes());
    }
    let mut out = vec![0x80, 2, b'(']; // PROTO 2, MARK
    unicode(&mut out, PROBE_FUNCTION);
    out.push(b'N'); // NONE: no instance
    unicode(&mut out, token);
    out.push(b'J'); // BININT
    out.extend((index as i32).to_le_bytes());
    out.extend([0x86, b'}', b't', b'.']); // TUPLE2, EMPTY_DICT, TUPLE, STOP
    out
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_rq_command_line_is_its_queues_and_flags() {
        // rq worker -c app.rqsettings --logging_level debug high low --burst
        let captured = CliArgs {
            positionals: vec!["high".into(), "low".into()],
            flags: vec![
                (
                    Some("config".into()),
                    "--config".into(),
                    vec!["app.rqsettings".into()],
                ),
                (
                    Some("logging_level".into()),
                    "--logging_level".into(),
                    vec!["debug".into()],
                ),
                (Some("burst".into()), "--burst".into(), vec![]),
            ],
        };
        let mut options = LaunchOptions::default();
        assert!(Rq.captured_cli(&captured, &mut options).is_empty());
        assert_eq!(options.queues, Some(vec!["high".into(), "low".into()]));
        assert_eq!(options.log_level.as_deref(), Some("DEBUG"));
        assert_eq!(
            Rq.cli_arguments(&options),
            [
                "--logging_level",
                "DEBUG",
                "--config",
                "app.rqsettings",
                "--burst"
            ]
        );
    }

    #[test]
    fn the_probe_call_is_the_pickle_python_writes() {
        // pickle.dumps(("minrepro_framework.probe", None, ("aaaaaaaaaaaa", 0), {}), 2) reads
        // back the same; these are the opcodes of that reading.
        let mut expected = vec![0x80, 2, b'(', b'X', 24, 0, 0, 0];
        expected.extend(b"minrepro_framework.probe");
        expected.extend([b'N', b'X', 12, 0, 0, 0]);
        expected.extend(b"aaaaaaaaaaaa");
        expected.extend([b'J', 0, 0, 0, 0, 0x86, b'}', b't', b'.']);
        assert_eq!(call_pickle("aaaaaaaaaaaa", 0), expected);
    }
}

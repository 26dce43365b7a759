//! One trial: one configuration, run once for real. A scratch folder gets the
//! generated worker; the probe goes to a queue unique to the trial; the worker is watched
//! until it processes the probe, exits, or stays stuck past the timeout; then its whole
//! process group is stopped and every queue the trial made is deleted.

#[cfg(test)]
pub mod fake;
mod outcome;
mod process;
mod stall;
mod worker_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Brokers, Leftovers};
use crate::case::Config;
use crate::error::Error;
use crate::framework::{self, Framework, ProbeMessage};
use crate::template;
pub use outcome::{
    Consumed, Discard, Failure, Outcome, Replayed, Stranded, Waiting, normalize_signature, seconds,
};
use process::WorkerProcess;
pub use worker_log::{StageTime, Versions};
use worker_log::{WorkerLog, round_ms, unix_now};

/// How often the worker's report file and exit status are looked at.
const POLL: Duration = Duration::from_millis(10);
/// How often the broker is asked whether the worker declared the probe queue yet, and
/// then whether it consumes from it.
const DECLARE_POLL: Duration = Duration::from_millis(15);
const CONSUMER_POLL: Duration = Duration::from_millis(100);
/// How long the stack dumps may take to be written.
const DUMP_WAIT: Duration = Duration::from_secs(1);

/// What one trial did, for the terminal, the JSON output and the trial log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialRecord {
    pub id: String,
    /// The probe queue (deleted when the trial ended).
    pub queue: String,
    pub outcome: Outcome,
    pub stages: Vec<StageTime>,
    /// The whole trial, from preparing the probe to the last queue deleted.
    pub wall_s: f64,
    pub timeout_s: f64,
    pub versions: Versions,
    /// The top-level modules the worker had imported when it started (empty if it never
    /// did): what a repro needs installed.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub modules: Vec<String>,
    /// The file each module of the configuration's imports was loaded from.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub origins: BTreeMap<String, String>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    /// The scratch folder, when it was kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scratch: Option<PathBuf>,
    /// The agent that ran it (host, pid, interpreter), when an agent did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub agent: Option<String>,
}

impl TrialRecord {
    /// The record with every secret value replaced, ready to be shown or written.
    pub fn redacted(&self, redactor: &crate::redact::Redactor) -> TrialRecord {
        let mut record = self.clone();
        record.outcome = match record.outcome {
            Outcome::Pending {
                stack_dump,
                stage,
                timeout,
                stall,
                consumers,
                messages,
                processed,
                replay,
            } => Outcome::Pending {
                stack_dump: redactor.redact(&stack_dump),
                stage,
                timeout,
                stall: stall.map(|proof| redactor.redact(&proof)),
                consumers,
                messages,
                processed,
                replay,
            },
            Outcome::Discarded {
                stage,
                how,
                words,
                replay,
            } => Outcome::Discarded {
                stage,
                how,
                words: redactor.redact(&words),
                replay,
            },
            Outcome::Crash {
                stage,
                exit_code,
                signal,
                signature,
            } => Outcome::Crash {
                stage,
                exit_code,
                signal,
                signature: redactor.redact(&signature),
            },
            Outcome::Error { message } => Outcome::Error {
                message: redactor.redact(&message),
            },
            processed @ Outcome::Processed { .. } => processed,
        };
        record.stdout_tail = redactor.redact(&record.stdout_tail);
        record.stderr_tail = redactor.redact(&record.stderr_tail);
        record
    }
}

/// What runs trials for the reducer: [`TrialRunner`] runs them here, as processes of this
/// machine; another runner (trials on other machines) can stand in its place.
pub trait Runner: Send + Sync {
    /// Runs one configuration once (see [`TrialRunner::run`]).
    fn run<'a>(
        &'a self,
        spec: &'a TrialSpec<'a>,
        cancel: &'a CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<TrialRecord, Error>> + Send + 'a>>;
    /// The broker URL a case's trials use, given the broker the case names.
    fn broker_url(&self, case_broker: Option<&str>) -> String;
    /// What outcomes on that broker are recorded under: its address and version.
    fn broker_identity<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send + 'a>>;
}

impl Runner for TrialRunner {
    fn run<'a>(
        &'a self,
        spec: &'a TrialSpec<'a>,
        cancel: &'a CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<TrialRecord, Error>> + Send + 'a>> {
        Box::pin(TrialRunner::run(self, spec, cancel))
    }

    fn broker_url(&self, case_broker: Option<&str>) -> String {
        self.brokers.url_for(case_broker)
    }

    fn broker_identity<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send + 'a>> {
        Box::pin(async move { Ok(self.brokers.get(url).await?.identity()) })
    }
}

/// What every trial of one command shares.
pub struct TrialRunner {
    /// The brokers trials publish their probes to, connected on first use.
    pub brokers: Brokers,
    pub keep_scratch: bool,
    /// Tripped by Ctrl-C or SIGTERM: every trial stops and cleans up.
    pub interrupted: CancellationToken,
}

/// What one trial runs: a configuration of a case, on an interpreter, with a timeout and a
/// number of probe messages.
#[derive(Debug, Clone, Copy)]
pub struct TrialSpec<'a> {
    pub case_name: &'a str,
    pub config: &'a Config,
    pub python: &'a Path,
    /// The broker the probe goes to (see [`Brokers::url_for`]).
    pub broker_url: &'a str,
    pub timeout: Duration,
    pub messages: u32,
    /// A worker proven stuck for good by a stall rule is called pending before the timeout.
    pub early_verdicts: bool,
}

/// Where the watch loop ended.
enum Ending {
    /// Every probe message was processed, the last one at this time (worker's clock).
    Processed(f64),
    Exited(std::process::ExitStatus),
    /// Not processed in time, or proven stuck for good earlier (`stall`: the proof).
    Stuck {
        stall: Option<String>,
    },
}

impl TrialRunner {
    /// Runs one configuration once. `Err` is for what is not the configuration's doing: the
    /// broker, the interpreter, or a cancellation (`Error::Interrupted`: Ctrl-C, or
    /// `cancel`, a child of `interrupted`, when the verdict is no longer needed); the trial
    /// is cleaned up either way.
    pub async fn run(
        &self,
        spec: &TrialSpec<'_>,
        cancel: &CancellationToken,
    ) -> Result<TrialRecord, Error> {
        let started = Instant::now();
        let broker = self.brokers.get(spec.broker_url).await?;
        let framework = framework::of(&spec.config.template)?;
        let id = new_trial_id();
        let queue = format!("minrepro.probe.{id}");
        let scratch = tempfile::Builder::new()
            .prefix("minrepro-trial-")
            .tempdir()
            .map_err(|err| Error::infra(format!("cannot create a scratch folder: {err}")))?;
        let probe = Probe {
            queue: queue.clone(),
            token: id.clone(),
            messages: spec.messages.max(1),
            framework,
        };
        let entry = write_worker_files(scratch.path(), spec, broker.url(), &probe)?;
        let leftovers = framework.probe_leftovers(broker.kind(), &queue, &id);

        let generation = broker.generation();
        broker.claim(&id, &leftovers);
        let spawned_at = unix_now();
        let mut worker = WorkerProcess::spawn(spec.python, spec.config, scratch.path(), entry)?;
        let mut log = WorkerLog::new(scratch.path().join("report.jsonl"));
        let watched = self
            .watch(&broker, &mut worker, &mut log, &probe, spec, cancel)
            .await;

        let mut stack_dump = String::new();
        if let Ok((Ending::Stuck { .. }, _)) = &watched {
            stack_dump = dump_stacks(&log, &worker.member_pids(), scratch.path()).await;
        }
        let stopped = worker.stop().await;
        let (stdout_tail, stderr_tail) = worker.outputs().await;
        let cleanup = Cleanup {
            broker: &broker,
            framework,
            trial: &id,
            leftovers: &leftovers,
            probe_queue: &queue,
        };
        let mut cleaned = cleanup.run(&log).await;
        if matches!(cleaned, Err(Error::BrokerLost(_))) {
            // Once the broker is back (the connection is made anew, or it never comes).
            cleaned = cleanup.run(&log).await;
        }

        let (ending, consumers) = watched?;
        stopped?;
        cleaned?;
        if broker.generation() != generation {
            return Err(Error::BrokerLost(
                "the broker went away while the trial ran: its outcome proves nothing".into(),
            ));
        }
        log.poll();
        if let Some((module, executable)) = log.missing_module() {
            return Err(Error::infra(format!(
                "the interpreter {executable} has no `{module}` module\n  = help: install the template's requirements into it (pip install -r templates/{}/requirements.txt), or give another interpreter with --python",
                spec.config.template
            )));
        }

        let outcome = match ending {
            Ending::Processed(at) => Outcome::Processed {
                latency: Duration::from_secs_f64((at - spawned_at).max(0.0)),
            },
            Ending::Stuck { stall } => Outcome::Pending {
                stage: log.last_stage(),
                timeout: spec.timeout,
                stall,
                consumers,
                stack_dump,
                messages: probe.messages,
                processed: log.processed(&probe.token).0,
                replay: None,
            },
            Ending::Exited(status) => crash(&log, status, &stderr_tail, &stdout_tail),
        };
        let kept = self.keep_scratch.then(|| scratch.keep());
        Ok(TrialRecord {
            id,
            queue,
            outcome,
            stages: log.timeline(spawned_at),
            wall_s: round_ms(started.elapsed().as_secs_f64()),
            timeout_s: seconds(spec.timeout),
            versions: log.versions(),
            modules: log.top_level_modules(),
            origins: log.module_origins(),
            stdout_tail,
            stderr_tail,
            scratch: kept,
            agent: None,
        })
    }

    /// Watches the worker until it processes every probe message, exits, or stays stuck.
    /// A worker that is still making progress when the timeout comes (reporting stages,
    /// using CPU, or with a thread running or waiting for a CPU or the disk: on a loaded
    /// machine a healthy start-up can outlast the timeout) gets a second look: it is called
    /// stuck only after a quiet spell, at most at three times the timeout.
    async fn watch(
        &self,
        broker: &Broker,
        worker: &mut WorkerProcess,
        log: &mut WorkerLog,
        probe: &Probe,
        spec: &TrialSpec<'_>,
        cancel: &CancellationToken,
    ) -> Result<(Ending, Option<u32>), Error> {
        let timeout = spec.timeout;
        let started = Instant::now();
        let quiet = (timeout / 5).max(Duration::from_secs(1));
        let last_chance = started + timeout * 3;
        let mut deadline = started + timeout;
        // The worker's CPU time at the start of the quiet spell before the deadline.
        let mut cpu_mark: Option<(Instant, Duration)> = None;
        let mut stall = spec.early_verdicts.then(|| stall::StallWatch::new(timeout));
        let mut consumers = None;
        let mut published = false;
        let mut next_consumer_poll = started;
        let mut ticker = tokio::time::interval(POLL);
        let all_processed = |log: &WorkerLog| match log.processed(&probe.token) {
            (count, Some(at)) if count >= probe.messages => Some(at),
            _ => None,
        };
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Interrupted),
                _ = ticker.tick() => {}
            }
            log.poll();
            if let Some(at) = all_processed(log) {
                return Ok((Ending::Processed(at), consumers));
            }
            if let Some(status) = worker.try_wait()? {
                // It may have processed the probe just before exiting.
                log.poll();
                return Ok(match all_processed(log) {
                    Some(at) => (Ending::Processed(at), consumers),
                    None => (Ending::Exited(status), consumers),
                });
            }
            let now = Instant::now();
            if now >= next_consumer_poll && consumers.unwrap_or(0) == 0 {
                if published && broker.sees_consumers() {
                    consumers = broker.consumer_count(&probe.queue).await?;
                    if consumers.unwrap_or(0) > 0 {
                        log.observe("broker:consuming", worker.pid());
                    }
                } else {
                    // The probe goes in once the worker has declared its queue: the first
                    // message when it is routable, then the rest at once.
                    published = broker
                        .deliver_if_routable(&probe.queue, &probe.message(broker, 0)?)
                        .await?;
                    if published && probe.messages > 1 {
                        let burst = (1..probe.messages)
                            .map(|i| probe.message(broker, i))
                            .collect::<Result<Vec<_>, _>>()?;
                        broker.deliver_all(&probe.queue, &burst).await?;
                    }
                    if broker.sees_consumers() {
                        consumers = published.then_some(0);
                    }
                }
                next_consumer_poll = now
                    + if published {
                        CONSUMER_POLL
                    } else {
                        DECLARE_POLL
                    };
            }
            let stalled = stall
                .as_mut()
                .and_then(|stall| stall.look(worker, log, broker, &probe.token, published));
            if cpu_mark.is_none() && now + quiet >= deadline {
                cpu_mark = Some((now, worker.cpu_time()));
            }
            if stalled.is_none() && now >= deadline {
                let reporting = log
                    .last_progress()
                    .is_some_and(|at| now.duration_since(at) < quiet);
                let cpu = worker.cpu_time();
                let busy = match cpu_mark {
                    Some((since, used)) => worker.working_since(since, used, cpu),
                    None => worker.working_now(),
                };
                if (reporting || busy) && now < last_chance {
                    deadline = (now + quiet).min(last_chance);
                    cpu_mark = Some((now, cpu));
                    continue;
                }
            }
            if stalled.is_some() || now >= deadline {
                consumers = if !broker.sees_consumers() {
                    // Where the broker cannot tell, the worker's own report does: it
                    // listens to the probe queue, on this very broker.
                    reported_consumers(log, broker, &probe.queue)
                } else if published {
                    broker.consumer_count(&probe.queue).await?
                } else {
                    consumers
                };
                return Ok((Ending::Stuck { stall: stalled }, consumers));
            }
        }
    }
}

/// Consumers of the probe queue as the worker reports them: `None` until it has started,
/// then 1 if it listens to the queue on `broker`, else 0.
fn reported_consumers(log: &WorkerLog, broker: &Broker, queue: &str) -> Option<u32> {
    let queues = log.declared_queues();
    if queues.is_empty() {
        return None;
    }
    Some(u32::from(
        on_this_broker(log, broker) && queues.iter().any(|q| q == queue),
    ))
}

/// Whether the worker reported using `broker` (same host, port and vhost or database).
fn on_this_broker(log: &WorkerLog, broker: &Broker) -> bool {
    log.broker().is_some_and(|theirs| {
        broker.address().is_some_and(|ours| {
            theirs.host.as_deref() == Some(ours.host.as_str())
                && theirs.port == Some(ours.port)
                && theirs.vhost.as_deref() == Some(ours.vhost.as_str())
        })
    })
}

/// What a trial deletes when it ends.
struct Cleanup<'a> {
    broker: &'a Broker,
    framework: &'static dyn Framework,
    trial: &'a str,
    leftovers: &'a Leftovers,
    probe_queue: &'a str,
}

impl Cleanup<'_> {
    /// Deletes what the probe made, and the application queues the worker declared on
    /// this same broker if they are empty and unused.
    async fn run(&self, log: &WorkerLog) -> Result<(), Error> {
        self.broker.delete(self.trial, self.leftovers).await?;
        let registered = self
            .framework
            .worker_leftovers(self.broker.kind(), &log.started_reports());
        self.broker.delete_now(&registered).await?;
        if !on_this_broker(log, self.broker) {
            return Ok(());
        }
        let app_queues: Vec<String> = log
            .declared_queues()
            .into_iter()
            .filter(|q| q != self.probe_queue)
            .flat_map(|q| self.framework.queue_family(&q))
            .collect();
        self.broker.delete_idle_queues(&app_queues).await
    }
}

/// The crash outcome: the exception the worker reported, else the end of a traceback on
/// stderr (or stdout), else just the exit status.
fn crash(log: &WorkerLog, status: std::process::ExitStatus, stderr: &str, stdout: &str) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal().map(|number| {
        nix::sys::signal::Signal::try_from(number)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {number}"))
    });
    let described = log
        .exception()
        .or_else(|| outcome::exception_from_stderr(stderr))
        .or_else(|| outcome::exception_from_stderr(stdout));
    let signature = match (described, status.code(), &signal) {
        (Some(exception), _, _) => normalize_signature(&exception),
        (None, _, Some(signal)) => format!("killed by {signal}"),
        (None, Some(code), None) => format!("exit status {code}"),
        (None, None, None) => "exited".to_string(),
    };
    Outcome::Crash {
        stage: log.last_stage(),
        exit_code: status.code(),
        signal,
        signature,
    }
}

/// Asks every worker process to dump its threads' stacks (a signal the plumbing registered
/// with faulthandler, in each process it started in or forked into) and waits until the
/// dumps are written. Only processes of this trial's own tree are signalled.
async fn dump_stacks(
    log: &WorkerLog,
    ours: &std::collections::HashSet<u32>,
    scratch: &Path,
) -> String {
    let targets: Vec<(u32, i32)> = log
        .dump_targets()
        .into_iter()
        .filter(|(pid, _)| *pid > 1 && ours.contains(pid))
        .collect();
    if targets.is_empty() {
        return String::new();
    }
    for (pid, signal) in &targets {
        process::send_raw_signal(*pid, *signal);
    }
    let files: Vec<(u32, PathBuf)> = targets
        .iter()
        .map(|(pid, _)| (*pid, scratch.join(format!("stacks-{pid}.txt"))))
        .collect();
    let total = || -> u64 {
        files
            .iter()
            .map(|(_, path)| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
            .sum()
    };
    let started = Instant::now();
    let mut last_len = 0;
    let mut stable_since = Instant::now();
    while started.elapsed() < DUMP_WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let len = total();
        if len != last_len {
            last_len = len;
            stable_since = Instant::now();
        } else if len > 0 && stable_since.elapsed() >= Duration::from_millis(60) {
            break;
        }
    }
    let dumps: Vec<(u32, String)> = files
        .iter()
        .filter_map(|(pid, path)| {
            let text = std::fs::read_to_string(path).ok()?;
            (!text.trim().is_empty()).then_some((*pid, text))
        })
        .collect();
    match dumps.as_slice() {
        [(_, only)] => only.clone(),
        _ => dumps
            .iter()
            .map(|(pid, text)| format!("process {pid} ({}):\n{text}", log.role_of(*pid)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The probe of one trial: its queue, its token, how many messages, in which framework.
struct Probe {
    queue: String,
    token: String,
    messages: u32,
    framework: &'static dyn Framework,
}

impl Probe {
    /// Message `index`, in the framework's format for `broker`.
    fn message(&self, broker: &Broker, index: u32) -> Result<crate::broker::Delivery, Error> {
        self.framework.probe_message(
            broker.kind(),
            ProbeMessage {
                queue: &self.queue,
                token: &self.token,
                index,
                now_ms: (unix_now() * 1000.0) as u64,
            },
        )
    }
}

/// The generated worker, and the probe's settings it reads at start (never through env);
/// the file the interpreter runs.
fn write_worker_files(
    scratch: &Path,
    spec: &TrialSpec<'_>,
    broker_url: &str,
    probe: &Probe,
) -> Result<&'static str, Error> {
    let worker = template::render_worker(spec.case_name, spec.config)?;
    let settings = serde_json::json!({
        "broker_url": broker_url,
        "queue": probe.queue,
        "actor": probe.framework.probe_task(&probe.token),
        "token": probe.token,
        "messages": probe.messages,
    });
    let write = |name: &str, text: &str| {
        std::fs::write(scratch.join(name), text).map_err(|err| {
            Error::infra(format!(
                "cannot write {}: {err}",
                scratch.join(name).display()
            ))
        })
    };
    for (name, text) in &worker.files {
        write(name, text)?;
    }
    write("probe.json", &settings.to_string())?;
    Ok(worker.entry)
}

/// Unique across processes and time: it names the trial's queue.
pub fn new_trial_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = format!(
        "{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    format!("{:x}", Sha256::digest(seed.as_bytes()))[..12].to_string()
}

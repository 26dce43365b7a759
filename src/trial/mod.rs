//! One trial: one configuration, run once for real. A scratch folder gets the
//! generated worker; the probe goes to a queue unique to the trial; the worker is watched
//! until it processes the probe, exits, or stays stuck past the timeout; then its whole
//! process group is stopped and every queue the trial made is deleted.

#[cfg(test)]
pub mod fake;
mod outcome;
mod probe;
mod process;
mod replay;
mod stall;
mod sweep;
mod worker_log;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Brokers, Leftovers};
use crate::case::Config;
use crate::error::Error;
use crate::framework::{self, Framework};
use crate::messages::LaunchMessage;
use crate::messages::names::TrialNames;
use crate::messages::replay::ReplayPlan;
use crate::template;
use outcome::Replayed as ReplayedMessages;
pub use outcome::{Discard, Failure, Outcome, normalize_signature, seconds};
#[cfg(test)]
pub use outcome::{Replayed, Stranded};
use probe::Probe;
use process::WorkerProcess;
use replay::{Decided, ReplayLoad};
use sweep::Sweep;
pub use worker_log::{StageTime, Versions};
use worker_log::{WorkerLog, round_ms, unix_now};

/// How often the worker's report file and exit status are looked at.
const POLL: Duration = Duration::from_millis(10);
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
    /// The brokers trials publish to (the probe's, the senders'), and delete from,
    /// connected on first use.
    pub brokers: Brokers,
    pub keep_scratch: bool,
    /// Tripped by Ctrl-C or SIGTERM: every trial stops and cleans up.
    pub interrupted: CancellationToken,
    /// minrepro's cache folder: the record of trials in flight.
    pub cache_dir: PathBuf,
    /// What trials of minrepros that died left was swept (once per command).
    orphans_swept: tokio::sync::OnceCell<()>,
}

/// What one trial runs: a configuration of a case, on an interpreter, with a timeout, and
/// the launch's messages to replay (or, without any, a number of probe messages).
#[derive(Debug, Clone, Copy)]
pub struct TrialSpec<'a> {
    pub case_name: &'a str,
    pub config: &'a Config,
    pub python: &'a Path,
    /// The broker the probe goes to (see [`Brokers::url_for`]), and the one a worker whose
    /// application sets none falls back to.
    pub broker_url: &'a str,
    pub timeout: Duration,
    pub messages: u32,
    /// The launch's own messages, replayed where the sender sent them; empty: the probe.
    pub replay: &'a [LaunchMessage],
    /// A worker proven stuck for good by a stall rule is called pending before the timeout.
    pub early_verdicts: bool,
}

/// Where the watch loop ended.
enum Ending {
    /// Every message was processed, the last one at this time (worker's clock).
    Processed(f64),
    Exited(std::process::ExitStatus),
    /// Not processed in time, or proven stuck for good earlier (`stall`: the proof).
    Stuck {
        stall: Option<String>,
    },
    /// The worker dropped a replayed message unprocessed.
    Discarded {
        how: Discard,
        words: String,
    },
}

/// When a watched worker is called stuck: at the timeout, unless it is still making
/// progress then; then after a quiet spell, at most at three times the timeout (see
/// [`TrialRunner::watch`]). A type of its own as the deadline moves and carries a CPU mark
/// from one look at the worker to the next.
struct Deadline {
    quiet: Duration,
    last_chance: Instant,
    at: Instant,
    /// The worker's CPU time at the start of the quiet spell before the deadline.
    cpu_mark: Option<(Instant, Duration)>,
}

impl Deadline {
    /// The deadline of a watch that starts now.
    fn new(timeout: Duration) -> Deadline {
        let started = Instant::now();
        Deadline {
            quiet: (timeout / 5).max(Duration::from_secs(1)),
            last_chance: started + timeout * 3,
            at: started + timeout,
            cpu_mark: None,
        }
    }

    /// Notes the worker's CPU time once the quiet spell before the deadline begins: what it
    /// used since tells at the deadline whether it was busy.
    fn mark_cpu(&mut self, now: Instant, worker: &WorkerProcess) {
        if self.cpu_mark.is_none() && now + self.quiet >= self.at {
            self.cpu_mark = Some((now, worker.cpu_time()));
        }
    }

    /// Whether the deadline has passed at `now`. A worker still reporting progress or busy
    /// then gets another quiet spell (never past the last chance) instead.
    fn passed(&mut self, now: Instant, worker: &WorkerProcess, log: &WorkerLog) -> bool {
        if now < self.at {
            return false;
        }
        let reporting = log
            .last_progress()
            .is_some_and(|at| now.duration_since(at) < self.quiet);
        let cpu = worker.cpu_time();
        let busy = match self.cpu_mark {
            Some((since, used)) => worker.working_since(since, used, cpu),
            None => worker.working_now(),
        };
        if (reporting || busy) && now < self.last_chance {
            self.at = (now + self.quiet).min(self.last_chance);
            self.cpu_mark = Some((now, cpu));
            return false;
        }
        true
    }
}

/// What a trial sends: minrepro's probe, or the launch's own messages.
enum Load {
    Probe(Probe),
    Replay(Box<ReplayLoad>),
}

/// What a trial sets up before its worker starts: its names, its scratch folder with the
/// worker's files, what it sends and what the probe leaves to delete. Apart from
/// [`TrialRunner::run`] so that it reads as claim, watch, stop, clean up, judge.
struct Prepared {
    framework: &'static dyn Framework,
    id: String,
    names: TrialNames,
    scratch: tempfile::TempDir,
    load: Load,
    /// The file the interpreter runs.
    entry: &'static str,
    leftovers: Leftovers,
}

impl Prepared {
    /// A fresh trial of `spec` on `broker`: nothing is claimed or started yet.
    fn new(spec: &TrialSpec<'_>, broker: &Broker) -> Result<Prepared, Error> {
        let framework = framework::of(&spec.config.template)?;
        let id = new_trial_id();
        let names = TrialNames::new(&id);
        let scratch = tempfile::Builder::new()
            .prefix("minrepro-trial-")
            .tempdir()
            .map_err(|err| Error::infra(format!("cannot create a scratch folder: {err}")))?;
        let probe = Probe::new(names.probe_queue(), id.clone(), spec.messages, framework);
        let load = if spec.replay.is_empty() {
            Load::Probe(probe)
        } else {
            let plan = ReplayPlan::new(framework, spec.replay, &names, SystemTime::now())?;
            sweep::write_replay_declared(scratch.path(), &plan.declarations)?;
            Load::Replay(Box::new(ReplayLoad::new(plan, names.clone(), spec.replay)))
        };
        let entry = write_worker_files(scratch.path(), spec, broker.url(), framework, &names)?;
        let leftovers = framework.probe_leftovers(broker.kind(), &names.probe_queue(), &id);
        Ok(Prepared {
            framework,
            id,
            names,
            scratch,
            load,
            entry,
            leftovers,
        })
    }

    /// Writes down what the trial is about to make, in the broker's record and in the cache
    /// folder, before its worker starts: if this minrepro dies, the next one deletes it.
    /// The record points at the scratch folder, where the worker writes what it declares:
    /// the folder stays until the trial is swept, also when the trial is dropped half-way
    /// (a command returning on Ctrl-C or SIGTERM), or the next minrepro would find the
    /// record and nothing to delete from.
    fn claim(&mut self, broker: &Broker, cache_dir: &Path) {
        broker.claim(&self.id, &self.leftovers);
        let shared = self.framework.shared_collections();
        sweep::claim(cache_dir, &self.id, self.scratch.path(), shared);
        self.scratch.disable_cleanup(true);
    }
}

impl TrialRunner {
    pub fn new(brokers: Brokers, keep_scratch: bool, interrupted: CancellationToken) -> Self {
        TrialRunner {
            brokers,
            keep_scratch,
            interrupted,
            cache_dir: crate::cache_dir::cache_root(),
            orphans_swept: tokio::sync::OnceCell::new(),
        }
    }

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
        self.orphans_swept
            .get_or_init(|| sweep::sweep_orphans(&self.cache_dir, &self.brokers))
            .await;
        let broker = self.brokers.get(spec.broker_url).await?;
        let mut trial = Prepared::new(spec, &broker)?;

        let generation = broker.generation();
        trial.claim(&broker, &self.cache_dir);
        let scratch = &trial.scratch.path().to_path_buf();
        let spawned_at = unix_now();
        let mut worker = WorkerProcess::spawn(spec.python, spec.config, scratch, trial.entry)?;
        let mut log = WorkerLog::new(scratch.join("report.jsonl"));
        let watched = self
            .watch(
                &broker,
                &mut worker,
                &mut log,
                &mut trial.load,
                spec,
                cancel,
            )
            .await;

        let end = self
            .look_at_the_end(&broker, &mut worker, &log, &trial.load, &watched, scratch)
            .await;
        let stopped = worker.stop().await;
        let (stdout_tail, stderr_tail) = worker.outputs().await;
        log.poll();
        let cleaned = self.clean_up(&broker, &trial, &log).await;

        if let Err(err) = cleaned {
            // What the trial made stays written down in its folder: the next minrepro
            // deletes it from there.
            watched?;
            stopped?;
            return Err(err);
        }
        // Swept: the folder goes with the trial (unless it is kept).
        trial.scratch.disable_cleanup(false);
        let ending = watched?;
        stopped?;
        proves_something(&broker, generation, &log, spec)?;
        let outcome = outcome(
            ending,
            end,
            &log,
            spec,
            Tails {
                stdout: &stdout_tail,
                stderr: &stderr_tail,
            },
            spawned_at,
            &trial.id,
        )?;
        let kept = self.keep_scratch.then(|| trial.scratch.keep());
        Ok(TrialRecord {
            id: trial.id,
            queue: trial.names.probe_queue(),
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

    /// What the end of a trial shows while the worker is still there: every thread's stack
    /// of a stuck worker, and where the launch's messages are left (asked while the worker
    /// still holds them: consumers count) or the probe queue's consumers.
    async fn look_at_the_end(
        &self,
        broker: &Broker,
        worker: &mut WorkerProcess,
        log: &WorkerLog,
        load: &Load,
        watched: &Result<Ending, Error>,
        scratch: &Path,
    ) -> End {
        let stuck = matches!(watched, Ok(Ending::Stuck { .. }));
        let stack_dump = if stuck {
            dump_stacks(log, &worker.member_pids(), scratch).await
        } else {
            String::new()
        };
        let exited = match watched {
            Ok(Ending::Exited(status)) if replay_exit(log, *status) => Some(describe_exit(*status)),
            _ => None,
        };
        let pending = stuck || exited.is_some();
        let replayed = match (load, watched) {
            (Load::Replay(replay), Ok(_)) => Some(
                replay
                    .replayed(&self.brokers, log, exited.clone(), pending)
                    .await,
            ),
            _ => None,
        };
        let consumers = match load {
            Load::Probe(probe) if stuck => probe.final_consumers(broker, log).await,
            _ => Ok(None),
        };
        End {
            stack_dump,
            exited,
            replayed,
            consumers,
        }
    }

    /// Watches the worker until it processes every message, exits, or stays stuck.
    /// A worker that is still making progress when the timeout comes (reporting stages,
    /// using CPU, or with a thread running or waiting for a CPU or the disk: on a loaded
    /// machine a healthy start-up can outlast the timeout) gets a second look: it is called
    /// stuck only after a quiet spell, at most at three times the timeout.
    async fn watch(
        &self,
        broker: &Broker,
        worker: &mut WorkerProcess,
        log: &mut WorkerLog,
        load: &mut Load,
        spec: &TrialSpec<'_>,
        cancel: &CancellationToken,
    ) -> Result<Ending, Error> {
        let timeout = spec.timeout;
        let mut deadline = Deadline::new(timeout);
        let mut stall = spec.early_verdicts.then(|| stall::StallWatch::new(timeout));
        let mut ticker = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return Err(Error::Interrupted),
                _ = ticker.tick() => {}
            }
            log.poll();
            let exited = worker.try_wait()?;
            if exited.is_some() {
                // It may have reported more just before exiting.
                log.poll();
            }
            let ended = self
                .load_ended(broker, worker.pid(), log, load, exited, spec.early_verdicts)
                .await?;
            if let Some(ending) = ended {
                return Ok(ending);
            }
            let stalled = match stall.as_mut() {
                Some(stall) => {
                    if stall.due() {
                        self.stall_proof(stall, broker, worker, log, load).await?
                    } else {
                        None
                    }
                }
                None => None,
            };
            let now = Instant::now();
            deadline.mark_cpu(now, worker);
            if stalled.is_some() || deadline.passed(now, worker, log) {
                return Ok(Ending::Stuck { stall: stalled });
            }
        }
    }

    /// How this look at the worker ends the watch by its messages: all processed (or, for
    /// the launch's messages, one dropped, or its result awaited elsewhere), else the worker
    /// exited; `None`: the watch goes on. The probe and the launch's messages are sent here
    /// as they fall due, so the watch loop holds only what is the same for both.
    async fn load_ended(
        &self,
        broker: &Broker,
        worker_pid: u32,
        log: &mut WorkerLog,
        load: &mut Load,
        exited: Option<std::process::ExitStatus>,
        early_verdicts: bool,
    ) -> Result<Option<Ending>, Error> {
        match load {
            Load::Probe(probe) => {
                if let Some(at) = probe.processed(log) {
                    return Ok(Some(Ending::Processed(at)));
                }
                if let Some(status) = exited {
                    return Ok(Some(Ending::Exited(status)));
                }
                probe.tick(broker, log, worker_pid).await?;
            }
            Load::Replay(replay) => {
                replay
                    .send_due(&self.brokers, log, exited.is_some())
                    .await?;
                match replay.decide(log) {
                    Some(Decided::Processed { at }) => return Ok(Some(Ending::Processed(at))),
                    Some(Decided::Discarded { how, words }) => {
                        return Ok(Some(Ending::Discarded { how, words }));
                    }
                    Some(Decided::ResultElsewhere { proof }) if early_verdicts => {
                        return Ok(Some(Ending::Stuck { stall: Some(proof) }));
                    }
                    _ => {}
                }
                if let Some(status) = exited {
                    return Ok(Some(Ending::Exited(status)));
                }
            }
        }
        Ok(None)
    }

    /// The proof that the worker is stuck for good, once a stall rule has held over an idle
    /// spell (a dropped probe needs none).
    async fn stall_proof(
        &self,
        stall: &mut stall::StallWatch,
        broker: &Broker,
        worker: &mut WorkerProcess,
        log: &WorkerLog,
        load: &Load,
    ) -> Result<Option<String>, Error> {
        let proof = match load {
            Load::Probe(probe) => {
                if let Some(dropped) = probe.dropped(log) {
                    return Ok(Some(dropped));
                }
                worker
                    .blocked_on_idle_pipe()
                    .or_else(|| stall::consuming_elsewhere(log, broker, probe.published))
            }
            Load::Replay(replay) => match worker.blocked_on_idle_pipe() {
                Some(proof) => Some(proof),
                None => replay.unread(&self.brokers, log).await?,
            },
        };
        Ok(stall.hold(worker, log, proof))
    }

    /// Deletes what the trial made: the probe's leftovers and what the worker registered of
    /// itself on the probe's broker, then everything under the trial's names wherever the
    /// worker and the replay made it. A broker that went away is waited for once.
    async fn clean_up(
        &self,
        broker: &Broker,
        trial: &Prepared,
        log: &WorkerLog,
    ) -> Result<(), Error> {
        let mut sweep = Sweep::new(&trial.id, trial.framework.shared_collections());
        sweep.add_worker(log);
        if let Load::Replay(replay) = &trial.load {
            for message in &replay.plan().messages {
                let declarations: Vec<_> = replay
                    .plan()
                    .declarations
                    .iter()
                    .filter(|(url, _)| *url == message.broker)
                    .map(|(_, d)| d.clone())
                    .collect();
                sweep.add_sender(&message.broker, &declarations);
            }
        }
        let registered = trial
            .framework
            .worker_leftovers(broker.kind(), &log.started_reports());
        let once = async {
            broker.delete(&trial.id, &trial.leftovers).await?;
            broker.delete_now(&registered).await?;
            sweep.run(&self.brokers).await
        };
        let mut cleaned = once.await;
        if matches!(cleaned, Err(Error::BrokerLost(_))) {
            // Once the broker is back (the connection is made anew, or it never comes).
            cleaned = async {
                broker.delete(&trial.id, &trial.leftovers).await?;
                broker.delete_now(&registered).await?;
                sweep.run(&self.brokers).await
            }
            .await;
        }
        if cleaned.is_ok() {
            sweep::release(&self.cache_dir, &trial.id);
        }
        cleaned
    }
}

/// What the end of a trial showed (see [`TrialRunner::look_at_the_end`]).
struct End {
    stack_dump: String,
    /// The worker left on its own with replayed messages unprocessed: how.
    exited: Option<String>,
    replayed: Option<Result<ReplayedMessages, Error>>,
    /// Consumers of the probe queue, for a stuck probe.
    consumers: Result<Option<u32>, Error>,
}

/// `Err` when a trial's outcome says nothing of its configuration: the broker went away
/// while it ran (`generation` is the broker's connection when it started), or the
/// interpreter lacks a module the template needs. Checked apart from the outcome, which
/// is judged only of trials that pass.
fn proves_something(
    broker: &Broker,
    generation: u64,
    log: &WorkerLog,
    spec: &TrialSpec<'_>,
) -> Result<(), Error> {
    if broker.generation() != generation {
        return Err(Error::BrokerLost(
            "the broker went away while the trial ran: its outcome proves nothing".into(),
        ));
    }
    if let Some((module, executable)) = log.missing_module() {
        return Err(Error::infra(format!(
            "the interpreter {executable} has no `{module}` module\n  = help: install the template's requirements into it (pip install -r templates/{}/requirements.txt), or give another interpreter with --python",
            spec.config.template
        )));
    }
    Ok(())
}

/// The worker's last output.
struct Tails<'a> {
    stdout: &'a str,
    stderr: &'a str,
}

/// The outcome of a trial from where its watch ended and what its end showed.
fn outcome(
    ending: Ending,
    end: End,
    log: &WorkerLog,
    spec: &TrialSpec<'_>,
    tails: Tails<'_>,
    spawned_at: f64,
    token: &str,
) -> Result<Outcome, Error> {
    let replayed = end.replayed.transpose()?.map(Box::new);
    Ok(match (ending, replayed) {
        (Ending::Processed(at), _) => Outcome::Processed {
            latency: Duration::from_secs_f64((at - spawned_at).max(0.0)),
        },
        (Ending::Discarded { how, words }, replayed) => Outcome::Discarded {
            stage: log.last_stage(),
            how,
            words,
            replay: replayed.unwrap_or_default(),
        },
        (Ending::Exited(_), Some(replayed)) if end.exited.is_some() => Outcome::Pending {
            stage: log.last_stage(),
            timeout: spec.timeout,
            stall: Some(format!(
                "the worker exited on its own ({}) with the launch's messages still waiting for it: {}",
                end.exited.as_deref().unwrap_or_default(),
                replayed.sentence()
            )),
            consumers: None,
            stack_dump: end.stack_dump,
            messages: replayed.sent,
            processed: replayed.executed,
            replay: Some(replayed),
        },
        (Ending::Exited(status), _) => crash(log, status, tails.stderr, tails.stdout),
        (Ending::Stuck { stall }, replayed) => Outcome::Pending {
            stage: log.last_stage(),
            timeout: spec.timeout,
            stall,
            consumers: end.consumers?,
            stack_dump: end.stack_dump,
            messages: replayed.as_ref().map_or(spec.messages.max(1), |r| r.sent),
            processed: match &replayed {
                Some(replayed) => replayed.executed,
                None => log.processed(token).0,
            },
            replay: replayed,
        },
    })
}

/// A worker that left on its own with the launch's messages unprocessed: it exited
/// cleanly, not of an exception (which is a crash).
fn replay_exit(log: &WorkerLog, status: std::process::ExitStatus) -> bool {
    status.success() && log.exception().is_none()
}

fn describe_exit(status: std::process::ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
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

/// The generated worker, and the probe's settings it reads at start (never through env);
/// the file the interpreter runs.
fn write_worker_files(
    scratch: &Path,
    spec: &TrialSpec<'_>,
    broker_url: &str,
    framework: &'static dyn Framework,
    names: &TrialNames,
) -> Result<&'static str, Error> {
    let worker = template::render_worker(spec.case_name, spec.config)?;
    let settings = serde_json::json!({
        "broker_url": broker_url,
        "queue": names.probe_queue(),
        "actor": framework.probe_task(names.trial()),
        "token": names.trial(),
        "messages": spec.messages.max(1),
        "names": names.prefix(),
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

//! The reducer's oracle made of real trials: each variant becomes a configuration, runs as
//! a real worker against RabbitMQ (several at once with `--jobs`), and its outcome becomes
//! a verdict. Outcomes are redacted as they arrive, recorded on disk for later runs, and
//! logged for the report.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::runtime::Handle;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::cache::OutcomeCache;
use super::events::{Event, Events, LoggedTrial, Note};
use crate::case::space::{ConfigSpace, SpaceOracle};
use crate::error::Error;
use crate::latency::LatencyHistory;
use crate::messages::LaunchMessage;
use crate::redact::Redactor;
use crate::reduce::{Oracle, OracleEvent, Started, Stop, TrialId, Variant, Verdict};
use crate::trial::{Outcome, Runner, TrialRecord, TrialSpec};
use crate::verdict::Judge;

/// How long trials may take: the timeout, and when a trial counts as overdue.
pub struct Timing {
    pub fixed: Option<Duration>,
    pub history: LatencyHistory,
    /// The timeout the case's recorded pendings waited, when a bisection resumes: kept
    /// (a recorded pending holds only under a timeout no longer than its own), unless the
    /// history now asks for more than twice as long.
    pub resumed: Option<Duration>,
}

impl Timing {
    pub fn timeout(&self) -> Duration {
        let auto = || {
            let now = self.history.timeout();
            match self.resumed {
                Some(earlier) if now <= earlier * 2 => earlier,
                _ => now,
            }
        };
        self.fixed.unwrap_or_else(auto)
    }

    /// A trial running this long is most likely a hang: three times a usual pass, at
    /// least 0.75 s, at most half the timeout.
    fn overdue_after(&self) -> Duration {
        let usual = self.history.usual_pass().unwrap_or(Duration::from_secs(1));
        (usual * 3)
            .max(Duration::from_millis(750))
            .min(self.timeout() / 2)
    }
}

/// A trial named in a report: its number (`None`: answered from a record) and outcome.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRef {
    pub trial: Option<u32>,
    pub outcome: String,
    /// What the trial's outcome meant: the failure, a pass, or another failure.
    pub verdict: Option<Verdict>,
}

impl std::fmt::Display for TrialRef {
    /// "processed in 0.11s (trial 14)"
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.trial {
            Some(n) => write!(f, "{} (trial {n})", self.outcome),
            None => write!(f, "{} (recorded earlier)", self.outcome),
        }
    }
}

/// Why an element is in a finding: the cause with it fails, without it passes (a cause)
/// or fails differently (a prerequisite).
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub element: String,
    pub with: Option<TrialRef>,
    pub without: Option<TrialRef>,
}

impl Evidence {
    /// Without it the worker fails another way: the failure cannot show, but nothing says
    /// the element causes it.
    pub fn is_prerequisite(&self) -> bool {
        self.without
            .as_ref()
            .is_some_and(|t| t.verdict == Some(Verdict::Unresolved))
    }
}

/// How many times a trial is run again when the broker went away while it ran.
const BROKER_LOST_RETRIES: u32 = 10;

/// Why a trial is being launched again, if it is.
#[derive(Debug, Clone, Copy, Default)]
struct Again {
    /// It could not run once already.
    retried: bool,
    /// Times the broker went away while it ran.
    broker_lost: u32,
}

struct Running {
    /// Set when the trial really starts (it may wait for a slot shared with other cases).
    number: Option<u32>,
    key: String,
    variant: Variant,
    overdue_at: Option<Instant>,
    overdue_said: bool,
    cancel: CancellationToken,
    retried: bool,
    /// Times it ran while the broker went away.
    broker_lost: u32,
}

type TrialResult = Result<TrialRecord, Error>;

/// What a trial's task tells the oracle.
enum Message {
    Started(TrialId),
    Finished(TrialId, Box<TrialResult>),
}

pub struct TrialOracle {
    handle: Handle,
    runner: Arc<dyn Runner>,
    python: Arc<std::path::Path>,
    broker_url: Arc<str>,
    messages: u32,
    replay: Arc<[LaunchMessage]>,
    early_verdicts: bool,
    space: Arc<dyn ConfigSpace>,
    case_name: Arc<str>,
    pub judge: Judge,
    pub timing: Timing,
    capacity: usize,
    cache: OutcomeCache,
    /// Recorded outcomes used so far, per key: the n-th run of a variant takes the n-th.
    consumed: HashMap<String, usize>,
    /// Keys whose next trial must run for real, whatever is on record (a check that must
    /// be fresh, once).
    fresh: HashMap<String, u32>,
    sender: mpsc::UnboundedSender<Message>,
    /// Every trial task, cancelled ones included, to wait for their clean-up.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    receiver: mpsc::UnboundedReceiver<Message>,
    /// Cancels every trial of this oracle (Ctrl-C, or a nightly budget spent).
    stop: CancellationToken,
    /// Slots shared with other cases running at the same time (nightly).
    gate: Option<Arc<Semaphore>>,
    running: HashMap<TrialId, Running>,
    ready: VecDeque<OracleEvent>,
    pub log: Vec<LoggedTrial>,
    /// Trials that really ran (cancelled ones included).
    pub trials_run: u32,
    /// Trials launched and not cancelled (answers from records not counted); with
    /// `trial_limit`, no more than that many: the next start stops the search with
    /// `Stop::Budget`.
    launched: u32,
    pub trial_limit: Option<u32>,
    events: Events,
    redactor: Redactor,
    started: Instant,
}

/// What a trial oracle is built from.
pub struct TrialOracleParts {
    pub runner: Arc<dyn Runner>,
    /// The interpreter every trial runs on.
    pub python: std::path::PathBuf,
    /// The broker every trial's probe goes to.
    pub broker_url: String,
    /// Probe messages per trial.
    pub messages: u32,
    /// The launch's messages every trial replays (empty: the probe).
    pub replay: Arc<[LaunchMessage]>,
    pub space: Arc<dyn ConfigSpace>,
    pub case_name: String,
    pub judge: Judge,
    pub timing: Timing,
    pub jobs: usize,
    /// Stall rules may end trials before their timeout.
    pub early_verdicts: bool,
    pub cache: OutcomeCache,
    pub events: Events,
    pub redactor: Redactor,
    pub stop: CancellationToken,
    pub gate: Option<Arc<Semaphore>>,
}

impl TrialOracle {
    pub fn new(parts: TrialOracleParts) -> TrialOracle {
        let (sender, receiver) = mpsc::unbounded_channel();
        TrialOracle {
            handle: Handle::current(),
            runner: parts.runner,
            python: parts.python.into(),
            broker_url: parts.broker_url.into(),
            messages: parts.messages,
            replay: parts.replay,
            early_verdicts: parts.early_verdicts,
            space: parts.space,
            case_name: parts.case_name.into(),
            judge: parts.judge,
            timing: parts.timing,
            capacity: parts.jobs.max(1),
            cache: parts.cache,
            consumed: HashMap::new(),
            fresh: HashMap::new(),
            sender,
            tasks: Vec::new(),
            receiver,
            stop: parts.stop,
            gate: parts.gate,
            running: HashMap::new(),
            ready: VecDeque::new(),
            log: Vec::new(),
            trials_run: 0,
            launched: 0,
            trial_limit: None,
            events: parts.events,
            redactor: parts.redactor,
            started: Instant::now(),
        }
    }

    /// The causes an earlier run found for this case and mode, as long as every element
    /// of each is still in the case.
    pub fn previous_causes(&self) -> Vec<Variant> {
        let Some(key) = self.space.result_key() else {
            return Vec::new();
        };
        self.cache
            .last_result(key)
            .iter()
            .map_while(|names| {
                let indices: Option<Vec<u32>> =
                    names.iter().map(|name| self.space.index_of(name)).collect();
                indices.map(Variant::new)
            })
            .collect()
    }

    pub fn record_causes(&mut self, causes: &[Variant]) {
        if let Some(key) = self.space.result_key() {
            let names: Vec<Vec<String>> = causes.iter().map(|c| self.space.names(c)).collect();
            self.cache.record_result(key, &names);
        }
    }

    /// Trials vary over `space` from now on (the engine's cache must be forgotten too).
    /// Trials launched so far (answers from records not counted).
    pub fn launched(&self) -> u32 {
        self.launched
    }

    /// For each element of `cause`, the pair of trials that shows it is needed: the cause
    /// failing with it, and passing without it (their latest runs).
    pub fn evidence(&self, cause: &Variant) -> Vec<Evidence> {
        let with = self.latest(cause);
        cause
            .indices()
            .iter()
            .map(|index| Evidence {
                element: self.space.name_of(*index),
                with: with.clone(),
                without: self.latest(&cause.without(*index)),
            })
            .collect()
    }

    fn latest(&self, variant: &Variant) -> Option<TrialRef> {
        let names = self.space.names(variant);
        self.log
            .iter()
            .rev()
            .find(|t| t.elements == names && t.outcome.is_some())
            .map(|t| TrialRef {
                trial: t.number,
                outcome: t.outcome.as_ref().map(Outcome::brief).unwrap_or_default(),
                verdict: t.verdict,
            })
    }

    /// Tells the bisection's observers something worth a line of its own.
    pub fn note(&self, note: Note) {
        self.events.note(note);
    }

    /// Tells the bisection's observers anything else (the stage it is in, a cause found).
    pub fn tell(&self, event: &Event<'_>) {
        self.events.emit(event);
    }

    /// Stops the trials still running and waits until every trial has cleaned up (its
    /// process group killed, its queues deleted).
    pub async fn settle(&mut self) {
        for running in self.running.values() {
            running.cancel.cancel();
        }
        self.running.clear();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }

    /// Runs the next `runs` trials of `variant` for real, whatever outcomes were recorded
    /// for it (a check that must be fresh: the full configuration in a nightly, a cause's
    /// confirmation runs).
    pub fn require_fresh(&mut self, variant: &Variant, runs: u32) {
        let key = self.cache.key(&self.space.config(variant));
        *self.fresh.entry(key).or_insert(0) += runs;
    }

    /// Takes one fresh run owed to `key`, if any.
    fn take_fresh(&mut self, key: &str) -> bool {
        match self.fresh.get_mut(key) {
            Some(runs) if *runs > 0 => {
                *runs -= 1;
                true
            }
            _ => false,
        }
    }

    /// Every outcome of `variant` in this run, in order.
    pub fn outcomes_of(&self, variant: &Variant) -> Vec<Outcome> {
        let names = self.space.names(variant);
        self.log
            .iter()
            .filter(|t| t.elements == names)
            .filter_map(|t| t.outcome.clone())
            .collect()
    }

    /// The latest outcome of `variant` in this run, with its full record when it ran here.
    pub fn last_result(&self, variant: &Variant) -> Option<(&Outcome, Option<&TrialRecord>)> {
        let names = self.space.names(variant);
        self.log
            .iter()
            .rev()
            .find(|t| t.elements == names && t.outcome.is_some())
            .map(|t| (t.outcome.as_ref().expect("checked"), t.record.as_ref()))
    }

    fn launch(&mut self, trial: TrialId, key: String, variant: &Variant, again: Again) {
        let runner = self.runner.clone();
        let python = self.python.clone();
        let broker_url = self.broker_url.clone();
        let messages = self.messages;
        let replay = self.replay.clone();
        let early_verdicts = self.early_verdicts;
        let config = self.space.config(variant);
        let case_name = self.case_name.clone();
        let timeout = self.timing.timeout();
        let cancel = self.stop.child_token();
        let token = cancel.clone();
        let sender = self.sender.clone();
        let gate = self.gate.clone();
        self.tasks.push(self.handle.spawn(async move {
            let _permit = match gate {
                Some(gate) => tokio::select! {
                    permit = gate.acquire_owned() => permit.ok(),
                    _ = token.cancelled() => {
                        let _ = sender.send(Message::Finished(trial, Box::new(Err(Error::Interrupted))));
                        return;
                    }
                },
                None => None,
            };
            let _ = sender.send(Message::Started(trial));
            let spec = TrialSpec {
                case_name: &case_name,
                config: &config,
                python: &python,
                broker_url: &broker_url,
                timeout,
                messages,
                replay: &replay,
                early_verdicts,
            };
            let result = runner.run(&spec, &token).await;
            let _ = sender.send(Message::Finished(trial, Box::new(result)));
        }));
        self.running.insert(
            trial,
            Running {
                number: None,
                key,
                variant: variant.clone(),
                overdue_at: None,
                overdue_said: false,
                cancel,
                retried: again.retried,
                broker_lost: again.broker_lost,
            },
        );
    }

    fn logged(
        &mut self,
        number: Option<u32>,
        variant: &Variant,
        verdict: Option<Verdict>,
        outcome: Option<Outcome>,
        record: Option<TrialRecord>,
    ) {
        let cache_hit = number.is_none();
        self.log.push(LoggedTrial {
            number,
            elements: self.space.names(variant),
            verdict,
            cache_hit,
            cancelled: verdict.is_none(),
            outcome,
            record,
            at_s: crate::trial::seconds(self.started.elapsed()),
        });
        self.events
            .emit(&Event::Trial(self.log.last().expect("just pushed")));
    }

    fn finished(&mut self, trial: TrialId, running: Running, record: TrialRecord) -> OracleEvent {
        let record = record.redacted(&self.redactor);
        self.cache.record(&running.key, &record.outcome);
        if let Outcome::Processed { latency } = record.outcome {
            self.timing.history.record(latency);
        }
        let verdict = self.judge.verdict(&record.outcome);
        let outcome = record.outcome.clone();
        self.logged(
            running.number,
            &running.variant,
            Some(verdict),
            Some(outcome),
            Some(record),
        );
        OracleEvent::Finished(trial, verdict)
    }

    /// A trial that could not run: it runs again where that may help (a broker that went
    /// away, trouble outside the configuration the first time), else the reduction stops.
    fn failed_to_run(&mut self, trial: TrialId, running: Running, err: Error) -> Result<(), Stop> {
        match err {
            Error::Interrupted => Err(Stop::Interrupted),
            // The broker went away while it ran: nothing is recorded, and the trial runs
            // again (its broker operations wait for the broker to come back).
            Error::BrokerLost(why) if running.broker_lost < BROKER_LOST_RETRIES => {
                self.events
                    .note(Note::BrokerAway(self.redactor.redact(&why)));
                let again = Again {
                    retried: running.retried,
                    broker_lost: running.broker_lost + 1,
                };
                self.launch(trial, running.key, &running.variant, again);
                Ok(())
            }
            // Trouble outside the configuration may pass: once more. A configuration no
            // worker can run stays so.
            err if !running.retried && !err.is_input() => {
                self.events
                    .note(Note::Retry(self.redactor.redact(&err.to_string())));
                let again = Again {
                    retried: true,
                    broker_lost: running.broker_lost,
                };
                self.launch(trial, running.key, &running.variant, again);
                Ok(())
            }
            err => Err(Stop::Error(err.map_words(|w| self.redactor.redact(w)))),
        }
    }
}

impl Oracle for TrialOracle {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop> {
        let key = self.cache.key(&self.space.config(variant));
        let fresh = self.take_fresh(&key);
        let index = self.consumed.entry(key.clone()).or_insert(0);
        let recorded = if fresh {
            None
        } else {
            self.cache.get(&key, *index, self.timing.timeout()).cloned()
        };
        *index += 1;
        if let Some(outcome) = recorded {
            let verdict = self.judge.verdict(&outcome);
            self.logged(None, variant, Some(verdict), Some(outcome), None);
            self.ready.push_back(OracleEvent::Finished(trial, verdict));
            return Ok(Started::Recorded);
        }
        if self.trial_limit.is_some_and(|limit| self.launched >= limit) {
            return Err(Stop::Budget);
        }
        self.launched += 1;
        self.launch(trial, key, variant, Again::default());
        Ok(Started::Running)
    }

    fn next_event(&mut self) -> Result<OracleEvent, Stop> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(event);
            }
            let next_overdue = self
                .running
                .values()
                .filter(|r| !r.overdue_said)
                .filter_map(|r| r.overdue_at)
                .min();
            let receiver = &mut self.receiver;
            let received = self.handle.block_on(async {
                match next_overdue {
                    Some(at) => tokio::select! {
                        message = receiver.recv() => Some(message),
                        _ = tokio::time::sleep_until(at.into()) => None,
                    },
                    None => Some(receiver.recv().await),
                }
            });
            let Some(message) = received else {
                let now = Instant::now();
                for (trial, running) in &mut self.running {
                    if !running.overdue_said && running.overdue_at.is_some_and(|at| at <= now) {
                        running.overdue_said = true;
                        self.ready.push_back(OracleEvent::Overdue(*trial));
                    }
                }
                continue;
            };
            let (trial, result) = match message {
                None => {
                    return Err(Stop::Error(Error::infra(
                        "the trial runner stopped unexpectedly",
                    )));
                }
                Some(Message::Started(trial)) => {
                    let overdue_after = self.timing.overdue_after();
                    if let Some(running) = self.running.get_mut(&trial) {
                        self.trials_run += 1;
                        running.number = Some(self.trials_run);
                        running.overdue_at = Some(Instant::now() + overdue_after);
                        self.events.emit(&Event::TrialStarted {
                            number: self.trials_run,
                            elements: running.variant.len(),
                        });
                    }
                    continue;
                }
                Some(Message::Finished(trial, result)) => (trial, *result),
            };
            let Some(running) = self.running.remove(&trial) else {
                continue; // cancelled: its verdict is not wanted
            };
            match result {
                Ok(record) => return Ok(self.finished(trial, running, record)),
                Err(err) => self.failed_to_run(trial, running, err)?,
            }
        }
    }

    fn has_record(&self, variant: &Variant) -> bool {
        let key = self.cache.key(&self.space.config(variant));
        let used = self.consumed.get(&key).copied().unwrap_or(0);
        self.fresh.get(&key).is_none_or(|runs| *runs == 0)
            && self.cache.get(&key, used, self.timing.timeout()).is_some()
    }

    fn cancel(&mut self, trial: TrialId) {
        if let Some(running) = self.running.remove(&trial) {
            running.cancel.cancel();
            // A trial stopped early, its verdict unused, does not count against a budget.
            self.launched = self.launched.saturating_sub(1);
            if running.number.is_some() {
                self.logged(running.number, &running.variant, None, None, None);
            }
        }
    }
}

impl SpaceOracle for TrialOracle {
    fn set_space(&mut self, space: Arc<dyn ConfigSpace>) {
        self.space = space;
    }
}

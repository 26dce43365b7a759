//! A whole bisection of one case (docs/SPEC.md §3, §4): check that the working one works (in
//! isolate mode), that the full configuration fails (and how reliably, for flaky cases), find
//! every independent cause, reduce inside list values, confirm each cause with fresh runs,
//! and gather everything a report needs (with, for each element, the trials that show it is
//! needed). `minrepro bisect` and `minrepro nightly` both run this.

pub mod cache;
pub mod events;
mod finding;
pub mod lines;
pub mod load;
pub mod oracle;
pub mod progress;
mod stages;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::case::space::{ConfigSpace, Space};
use crate::case::{Case, Element, ElementKey, Runs, Timeout};
use crate::error::Error;
use crate::latency::LatencyHistory;
use crate::messages::LaunchMessage;
use crate::python::Interpreter;
use crate::redact::Redactor;
use crate::reduce::{Stop, Variant};
use crate::trial::{Runner, TrialSpec, seconds};
use crate::verdict::Judge;
use cache::OutcomeCache;
use events::{Events, Note, Observer};
pub use finding::{AttachmentSize, Cause, Ending, EntryFinding, Finding, FoundElement, Rate};
use oracle::{Timing, TrialOracle, TrialOracleParts};
use progress::Progress;
use stages::{Plan, RATE_RUNS, Reduced};

#[derive(Clone)]
pub struct Settings {
    pub jobs: usize,
    /// Ignore outcomes recorded by earlier runs.
    pub fresh: bool,
    /// Run the full configuration for real even when an outcome is recorded (nightly).
    pub fresh_full: bool,
    /// Overrides the case's timeout.
    pub timeout: Option<Duration>,
    /// Do not redact secrets (the user opted out).
    pub show_secrets: bool,
    /// Stops this bisection's trials: Ctrl-C, or a nightly budget spent.
    pub stop: tokio_util::sync::CancellationToken,
    /// Trial slots shared with bisections running at the same time (nightly).
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
    /// A live status line on a terminal (one bisection at a time), else plain lines.
    pub live_progress: bool,
    /// Stop after this many independent causes.
    pub max_causes: usize,
    /// Look for the fewest probe messages that still show the failure.
    pub reduce_messages: bool,
    /// Stall rules may end trials before their timeout (see [`crate::trial::TrialSpec`]).
    pub early_verdicts: bool,
    /// Reduce the cause's modules to their statements, with this many trials per cause at
    /// most (`None`: not at all).
    pub lines_budget: Option<u32>,
    /// minrepro's cache folder: recorded outcomes, latencies (see `cache_dir::cache_root`).
    pub cache_dir: std::path::PathBuf,
    /// Who else listens to the bisection's events (the terminal's progress always does).
    pub observers: Vec<Arc<dyn Observer>>,
}

pub async fn bisect(
    case: &Case,
    good: Option<&Case>,
    runner: Arc<dyn Runner>,
    interpreter: &Interpreter,
    settings: &Settings,
) -> Result<Finding, Error> {
    let started = Instant::now();
    let Prepared {
        oracle,
        plan,
        events,
        progress,
        replay,
        broker_url,
    } = prepare(case, good, &runner, interpreter, settings).await?;
    let space = plan.space.clone();
    let redactor = plan.redactor.clone();
    let (mut oracle, mut reduced) = run_stages(oracle, plan, events.clone()).await?;
    progress.finish();

    let ending = ending(&mut reduced)?;
    let causes = causes_or_best_so_far(&mut oracle, &mut reduced, &space, &redactor);
    let spec = TrialSpec {
        case_name: &case.name,
        config: &causes[0].config,
        python: &interpreter.path,
        broker_url: &broker_url,
        timeout: oracle.timing.timeout(),
        messages: case.oracle.messages,
        replay: &replay,
        early_verdicts: settings.early_verdicts,
    };
    let messages = load::size(&spec);
    let searched = settings.reduce_messages && ending.reproduces();
    let load_finding = if searched {
        smallest_load(runner.as_ref(), spec, &oracle, settings, &events).await?
    } else {
        None
    };
    let trials = oracle.trials_run + load_finding.as_ref().map_or(0, |l| l.trials);
    let full = Variant::full(space.len());
    Ok(Finding {
        case: case.name.clone(),
        mode: space.mode,
        ending,
        kept: space.kept.clone(),
        elements_total: case.elements.len(),
        reducible: space.len(),
        full_outcome: oracle.last_result(&full).map(|(o, _)| o.clone()),
        trials,
        cache_hits: reduced.cache_hits,
        recorded: reduced.recorded,
        wall_s: seconds(started.elapsed()),
        timeout_s: seconds(oracle.timing.timeout()),
        attachment: None,
        attachment_verified: None,
        minimal_worker_reproduces: None,
        attachment_size: None,
        causes,
        messages,
        probe: if replay.is_empty() { "probe" } else { "replay" },
        load: load_finding,
        log: std::mem::take(&mut oracle.log),
    })
}

/// The stages, on a thread of their own (they wait for trials); then the trials still
/// running are settled.
async fn run_stages(
    mut oracle: TrialOracle,
    plan: Plan,
    events: Events,
) -> Result<(TrialOracle, Reduced), Error> {
    let (mut oracle, reduced) = tokio::task::spawn_blocking(move || {
        let reduced = stages::reduce(&mut oracle, &plan, events);
        (oracle, reduced)
    })
    .await
    .map_err(|err| Error::infra(format!("the reducer failed: {err}")))?;
    oracle.settle().await;
    Ok((oracle, reduced))
}

/// With `--reduce-messages`: the fewest of the messages that still show the first cause's
/// failure (nothing to search with one message).
async fn smallest_load(
    runner: &dyn Runner,
    spec: TrialSpec<'_>,
    oracle: &TrialOracle,
    settings: &Settings,
    events: &Events,
) -> Result<Option<load::LoadFinding>, Error> {
    let messages = load::size(&spec);
    if messages <= 1 {
        return Ok(None);
    }
    events.phase(events::Phase::Load);
    events.note(Note::Load {
        messages,
        replayed: !spec.replay.is_empty(),
    });
    let found = load::smallest_load(runner, spec, &oracle.judge, &settings.stop).await?;
    Ok(Some(found))
}

/// A bisection ready to run: the oracle over the case's trials, and what its stages need.
struct Prepared {
    oracle: TrialOracle,
    plan: Plan,
    events: Events,
    progress: Progress,
    replay: Arc<[LaunchMessage]>,
    broker_url: String,
}

/// Everything a bisection's trials share, made before the first: where the messages go,
/// what outcomes on record are valid for (interpreter, brokers, messages), the timeout, the
/// observers.
async fn prepare(
    case: &Case,
    good: Option<&Case>,
    runner: &Arc<dyn Runner>,
    interpreter: &Interpreter,
    settings: &Settings,
) -> Result<Prepared, Error> {
    let space = Arc::new(Space::of(case, good));
    let redactor = redactor_for(case, good, settings.show_secrets);
    let progress = Progress::new(&case.name, settings.live_progress);
    let events = Events::new(
        std::iter::once(Arc::new(progress.clone()) as Arc<dyn Observer>)
            .chain(settings.observers.iter().cloned()),
    );
    let broker_url = runner.broker_url(case.broker.as_deref());
    let replay: Arc<[LaunchMessage]> = replayed_messages(case, good).into();
    let broker = brokers_identity(runner.as_ref(), &broker_url, &replay).await?;
    let load = if replay.is_empty() {
        format!("{} probe messages", case.oracle.messages)
    } else {
        serde_json::to_string(&*replay).unwrap_or_default()
    };
    let scope = cache::Scope {
        cache_dir: &settings.cache_dir,
        interpreter: &interpreter.identity,
        broker: &broker,
        load: &load,
    };
    let cache = OutcomeCache::open(case, &scope, settings.fresh);
    let timing = timing(case, settings, &interpreter.path, &replay, &cache);
    let mut oracle = TrialOracle::new(TrialOracleParts {
        runner: runner.clone(),
        python: interpreter.path.clone(),
        broker_url: broker_url.clone(),
        messages: case.oracle.messages,
        replay: replay.clone(),
        space: space.clone(),
        case_name: case.name.clone(),
        judge: Judge {
            expect: case.oracle.expect,
            reference: None,
        },
        timing,
        jobs: settings.jobs,
        early_verdicts: settings.early_verdicts,
        cache,
        events: events.clone(),
        redactor: redactor.clone(),
        stop: settings.stop.clone(),
        gate: settings.gate.clone(),
    });
    if settings.fresh_full {
        let runs = match case.oracle.runs {
            Runs::Fixed(n) => n,
            Runs::Auto => RATE_RUNS,
        };
        oracle.require_fresh(&Variant::full(space.len()), runs);
    }
    let plan = Plan {
        space,
        runs: case.oracle.runs,
        max_causes: settings.max_causes.max(1),
        lists: case.lists.clone(),
        redactor,
        python: interpreter.path.clone(),
        case_dir: case.dir.clone(),
        lines_budget: settings.lines_budget,
    };
    Ok(Prepared {
        oracle,
        plan,
        events,
        progress,
        replay,
        broker_url,
    })
}

/// What outcomes on record hold for: the brokers they were seen on, the probe's (where a
/// worker with no broker of its own goes) and the senders'.
async fn brokers_identity(
    runner: &dyn Runner,
    broker_url: &str,
    replay: &[LaunchMessage],
) -> Result<String, Error> {
    let mut broker = runner.broker_identity(broker_url).await?;
    for url in replay.iter().map(|m| m.broker.as_str()) {
        let sender = runner.broker_identity(url).await?;
        if !broker.contains(&sender) {
            broker = format!("{broker}; {sender}");
        }
    }
    Ok(broker)
}

/// The trials' timeout: given, the case's, or learnt from earlier start-ups of the same
/// worker (and resumed where an interrupted run left it).
fn timing(
    case: &Case,
    settings: &Settings,
    python: &std::path::Path,
    replay: &[LaunchMessage],
    cache: &OutcomeCache,
) -> Timing {
    let load_size = load::count(case.oracle.messages, replay);
    Timing {
        fixed: settings.timeout.or(match case.oracle.timeout {
            Timeout::Fixed(timeout) => Some(timeout),
            Timeout::Auto => None,
        }),
        history: LatencyHistory::load(
            &settings.cache_dir,
            &case.template,
            python,
            load_size,
            &case.path,
        ),
        resumed: cache.last_pending_timeout(),
    }
}

/// How the reduction ended. A configuration no worker can run is the case's fault, not
/// the trials': the bisection ends with that error, no finding. Trouble outside it (a
/// broker that stayed away) stops it with the smallest failing configuration seen so far,
/// as Ctrl-C does. A trial budget ends only the stage that set it (the lines'), never the
/// bisection.
fn ending(reduced: &mut Reduced) -> Result<Ending, Error> {
    Ok(match reduced.stopped.take() {
        Some(Stop::Error(err)) if err.is_input() => return Err(err),
        Some(Stop::Error(err)) => Ending::Stopped(err),
        Some(Stop::Interrupted) => Ending::Interrupted,
        Some(Stop::Budget) | None => match reduced.not_reproducing.take() {
            Some(reason) => Ending::DoesNotReproduce { reason },
            None => Ending::Reproduces,
        },
    })
}

/// The causes found; interrupted (or not reproducing) before a cause was done, the
/// smallest failing configuration seen stands in for the first: never empty (see
/// [`Finding::causes`]).
fn causes_or_best_so_far(
    oracle: &mut TrialOracle,
    reduced: &mut Reduced,
    space: &Space,
    redactor: &Redactor,
) -> Vec<Cause> {
    let mut causes = std::mem::take(&mut reduced.causes);
    if causes.is_empty() {
        let best = reduced
            .best_so_far
            .take()
            .unwrap_or_else(|| Variant::full(space.len()));
        let (outcome, record) = oracle
            .last_result(&best)
            .map(|(o, r)| (Some(o.clone()), r.cloned()))
            .unwrap_or_default();
        causes.push(Cause {
            minimal: space.names(&best),
            prerequisites: Vec::new(),
            elements: stages::found_elements(space, &best, redactor),
            outcome,
            one_minimal: false,
            reproduction_rate: Rate::UNMEASURED,
            evidence: Vec::new(),
            entries: Vec::new(),
            lines: None,
            config: space.config(&best),
            record,
        });
    }
    causes
}

/// The messages a bisection's trials replay: the failing launch's own, else the working
/// one's (a working launch captured for a while often sent none); none: the probe.
pub fn replayed_messages(case: &Case, good: Option<&Case>) -> Vec<LaunchMessage> {
    match good {
        Some(good) if case.messages.is_empty() => good.messages.clone(),
        _ => case.messages.clone(),
    }
}

/// Secret values of both configurations, for every output; nothing is hidden when the
/// user opted out.
pub fn redactor_for(case: &Case, good: Option<&Case>, show_secrets: bool) -> Redactor {
    if show_secrets {
        return Redactor::disabled();
    }
    let full = case.full_config();
    let good_full = good.map(Case::full_config);
    let pairs: Vec<(&str, &str)> = full
        .env
        .iter()
        .chain(good_full.iter().flat_map(|g| g.env.iter()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // Values the case files mark as secret, whatever their names.
    let marked: Vec<String> = [Some(case), good]
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.elements
                .iter()
                .filter(|e| c.secrets.contains(&e.name()))
                .filter_map(Element::value_text)
        })
        .collect();
    // The passwords of the brokers the case names: its own, and its messages' senders'.
    let broker: Vec<String> = [Some(case), good]
        .into_iter()
        .flatten()
        .flat_map(|c| {
            c.broker
                .iter()
                .map(String::as_str)
                .chain(c.messages.iter().map(|m| m.broker.as_str()))
        })
        .flat_map(crate::redact::url_passwords)
        .collect();
    Redactor::for_env(pairs).with_more_secrets(marked.into_iter().chain(broker).collect())
}

/// An element's value for display, secrets redacted.
pub fn redact_value(name: &str, value: &str, redactor: &Redactor) -> String {
    match ElementKey::parse(name) {
        Some(ElementKey::Env(key)) => redactor.redact_env_value(&key, value),
        _ => redactor.redact(value),
    }
}

#[cfg(test)]
mod tests;

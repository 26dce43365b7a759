//! A whole bisection of one case (SPEC §3, §4): check that the full configuration fails
//! (and how reliably, for flaky cases), check that the empty (or the working) one passes,
//! reduce, confirm the result with fresh runs, and gather everything a report needs.
//! `minrepro bisect` and `minrepro nightly` both run this.

pub mod cache;
pub mod oracle;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::case::space::{Mode, Space};
use crate::case::{Case, Config, Element, Runs, Timeout};
use crate::error::Error;
use crate::latency::LatencyHistory;
use crate::redact::Redactor;
use crate::reduce::engine::{Engine, runs_to_pass};
use crate::reduce::search::{minimize, minimize_from};
use crate::reduce::{Stop, Variant, Verdict};
use crate::report::progress::Progress;
use crate::trial::{Outcome, TrialRecord, TrialRunner, seconds};
use cache::OutcomeCache;
use oracle::{Judge, LoggedTrial, Timing, TrialOracle, TrialOracleParts};

/// Runs of the full configuration that measure a flaky failure's reproduction rate.
const RATE_RUNS: u32 = 10;
/// The chance of a wrong "not needed" that re-runs of passes allow: in the search, and
/// stricter in the certificate whose verdicts make the result.
const SEARCH_EPSILON: f64 = 0.01;
const CERTIFICATE_EPSILON: f64 = 0.0001;
/// Runs of the result that measure its reproduction rate, for a deterministic case: the
/// certificate's, and fresh ones.
const CONFIRM_RUNS: u32 = 3;

#[derive(Debug, Clone)]
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
}

/// One element of the result, with the value it has there (secrets redacted).
#[derive(Debug, Clone, Serialize)]
pub struct FoundElement {
    pub name: String,
    /// `None` for an import, or for an env var that is unset on the failing side.
    pub value: Option<String>,
}

/// Everything a bisection found, for the terminal, the JSON output and the attachment.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub case: String,
    pub mode: Mode,
    pub reproduces: bool,
    /// Why the case does not reproduce, or why the bisection stopped early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub minimal: Vec<String>,
    pub kept: Vec<String>,
    pub elements_total: usize,
    /// Elements the search reduced over (in isolate mode: the differences).
    pub reducible: usize,
    /// The minimal configuration's failure (its latest run).
    pub outcome: Option<Outcome>,
    /// The full configuration's own outcome.
    pub full_outcome: Option<Outcome>,
    pub trials: u32,
    pub cache_hits: u32,
    pub one_minimal: bool,
    pub reproduction_rate: String,
    pub wall_s: f64,
    pub timeout_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<std::path::PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_verified: Option<bool>,
    /// The elements of `minimal` with their values.
    #[serde(skip)]
    pub minimal_elements: Vec<FoundElement>,
    #[serde(skip)]
    pub minimal_config: Option<Config>,
    #[serde(skip)]
    pub minimal_record: Option<TrialRecord>,
    #[serde(skip)]
    pub interrupted: bool,
    #[serde(skip)]
    pub log: Vec<LoggedTrial>,
}

/// How the synchronous part of a bisection ended.
struct Reduced {
    minimal: Variant,
    one_minimal: bool,
    reproduction: Option<(u32, u32)>,
    /// Set when the case does not reproduce: why.
    not_reproducing: Option<String>,
    stopped: Option<Stop>,
    cache_hits: u32,
}

pub async fn bisect(
    case: &Case,
    good: Option<&Case>,
    runner: Arc<TrialRunner>,
    settings: &Settings,
) -> Result<Finding, Error> {
    let started = Instant::now();
    let space = Arc::new(match good {
        Some(good) => Space::isolate(case, good),
        None => Space::minimize(case),
    });
    let redactor = redactor_for(case, good, settings.show_secrets);
    let timing = Timing {
        fixed: settings.timeout.or(match case.oracle.timeout {
            Timeout::Fixed(timeout) => Some(timeout),
            Timeout::Auto => None,
        }),
        history: LatencyHistory::load(&case.template, &runner.python),
    };
    let progress = Progress::new(&case.name, settings.live_progress);
    let mut oracle = TrialOracle::new(TrialOracleParts {
        runner: runner.clone(),
        space: space.clone(),
        case_name: case.name.clone(),
        judge: Judge {
            expect: case.oracle.expect,
            reference: None,
        },
        timing,
        jobs: settings.jobs,
        cache: OutcomeCache::open(case, &runner.python, settings.fresh),
        progress: progress.clone(),
        redactor: redactor.clone(),
        stop: settings.stop.clone(),
        gate: settings.gate.clone(),
    });
    let full = Variant::full(space.len());
    if settings.fresh_full {
        oracle.require_fresh(&full);
    }
    let runs = case.oracle.runs;
    let plan_space = space.clone();
    let observer = progress.clone();
    let (mut oracle, reduced) = tokio::task::spawn_blocking(move || {
        let reduced = reduce(&mut oracle, &plan_space, runs, observer);
        (oracle, reduced)
    })
    .await
    .map_err(|err| Error::infra(format!("the reducer failed: {err}")))?;
    oracle.settle().await;
    progress.finish();

    if let Some(Stop::Error(message)) = &reduced.stopped {
        return Err(Error::infra(message.clone()));
    }
    let interrupted = matches!(reduced.stopped, Some(Stop::Interrupted));
    let result = oracle.last_result(&reduced.minimal);
    let outcome = result.map(|(outcome, _)| outcome.clone());
    let minimal_record = result.and_then(|(_, record)| record.cloned());
    let full_outcome = oracle.last_result(&full).map(|(o, _)| o.clone());
    let minimal_names = space.names(&reduced.minimal);
    let minimal_elements = reduced
        .minimal
        .indices()
        .iter()
        .map(|i| {
            let reducible = &space.reducible[*i as usize];
            FoundElement {
                name: reducible.name.clone(),
                value: reducible
                    .included
                    .as_ref()
                    .and_then(|e| e.value_text())
                    .map(|v| redact_value(&reducible.name, &v, &redactor)),
            }
        })
        .collect();
    let (fails, runs_done) = reduced.reproduction.unwrap_or((0, 0));
    Ok(Finding {
        case: case.name.clone(),
        mode: space.mode,
        reproduces: reduced.not_reproducing.is_none() && !interrupted,
        reason: reduced.not_reproducing.clone().or_else(|| {
            interrupted.then(|| {
                "interrupted: the result is the smallest failing configuration found so far"
                    .to_string()
            })
        }),
        minimal: minimal_names,
        kept: space.kept.clone(),
        elements_total: case.elements.len(),
        reducible: space.len(),
        outcome,
        full_outcome,
        trials: oracle.trials_run,
        cache_hits: reduced.cache_hits,
        one_minimal: reduced.one_minimal,
        reproduction_rate: format!("{fails}/{runs_done}"),
        wall_s: seconds(started.elapsed()),
        timeout_s: seconds(oracle.timing.timeout()),
        attachment: None,
        attachment_verified: None,
        minimal_elements,
        minimal_config: Some(space.config(&reduced.minimal)),
        minimal_record,
        interrupted,
        log: std::mem::take(&mut oracle.log),
    })
}

/// The synchronous part: every question to the oracle, in order.
fn reduce(oracle: &mut TrialOracle, space: &Space, runs: Runs, progress: Progress) -> Reduced {
    let full = Variant::full(space.len());
    let mut engine = Engine::new(oracle, 1);
    engine.observe(move |stats| progress.stats(stats));
    let mut reduced = Reduced {
        minimal: full.clone(),
        one_minimal: false,
        reproduction: None,
        not_reproducing: None,
        stopped: None,
        cache_hits: 0,
    };
    if let Err(stop) = reduce_with(&mut engine, space, runs, &mut reduced) {
        reduced.stopped = Some(stop);
        // The best so far: the smallest configuration seen failing.
        if let Some(smallest) = engine.smallest_failing() {
            reduced.minimal = smallest.clone();
        }
    }
    reduced.cache_hits = engine.stats().cache_hits;
    reduced
}

fn reduce_with(
    engine: &mut Engine<'_, TrialOracle>,
    space: &Space,
    runs: Runs,
    reduced: &mut Reduced,
) -> Result<(), Stop> {
    let full = Variant::full(space.len());
    let empty = Variant::empty();

    // Does the full configuration fail, how, and (for a flaky case) how often? It is run
    // `runs` times, or RATE_RUNS times to measure the rate: one pass proves nothing there.
    let full_runs = match runs {
        Runs::Fixed(n) => n,
        Runs::Auto => RATE_RUNS,
    };
    engine.repeat(&full, full_runs)?;
    let expect = engine.oracle().judge.expect;
    let outcomes = engine.oracle().outcomes_of(&full);
    let Some(reference) = outcomes.iter().find(|o| expect.accepts(o, None)).cloned() else {
        let last = outcomes
            .last()
            .map(|o| format!("{} {}", o.kind(), o.summary()));
        reduced.not_reproducing = Some(format!(
            "the full configuration does not show the expected failure in {full_runs} run{}: {}",
            if full_runs == 1 { "" } else { "s" },
            last.unwrap_or_default()
        ));
        return Ok(());
    };
    engine.oracle().judge.reference = reference.failure();
    let fails = outcomes
        .iter()
        .filter(|o| engine.oracle().judge.verdict(o) == Verdict::Fail)
        .count() as u32;
    engine.know(full.clone(), Verdict::Fail);

    // Passes of a flaky failure are re-run before they are believed.
    let (search_runs, certificate_runs, confirm_runs) = match runs {
        Runs::Fixed(n) => (n, n, n.max(CONFIRM_RUNS) - 1),
        Runs::Auto => (
            runs_to_pass(fails, full_runs, SEARCH_EPSILON),
            runs_to_pass(fails, full_runs, CERTIFICATE_EPSILON),
            RATE_RUNS,
        ),
    };
    if runs == Runs::Auto {
        engine.oracle().note(&format!(
            "the full configuration failed in {fails} of {full_runs} runs: a pass counts after {search_runs} passing runs"
        ));
    }
    engine.set_runs_to_pass(search_runs);

    // The empty configuration (minimize), or the working one (isolate), must pass.
    if engine.test(empty)? == Verdict::Fail && space.mode == Mode::Isolate {
        reduced.not_reproducing =
            Some("the good configuration fails too: there is no difference to isolate".into());
        return Ok(());
    }

    // An earlier run's result is checked first: if it still holds, no search is needed.
    let reduction = match engine.oracle().previous_result() {
        Some(previous) => minimize_from(engine, &space.order(), previous, certificate_runs)?,
        None => minimize(engine, &space.order(), certificate_runs)?,
    };
    if reduction.one_minimal {
        engine.oracle().record_result(&reduction.minimal);
    }
    if reduction.minimal.is_empty() {
        engine
            .oracle()
            .note("the failure shows with the kept elements alone: nothing else is needed");
    }
    reduced.minimal = reduction.minimal.clone();
    reduced.one_minimal = reduction.one_minimal;

    // How often does the result reproduce, run afresh? (For a deterministic case, the
    // certificate's run counts as one: it failed.)
    let fails = engine.repeat(&reduction.minimal, confirm_runs)?;
    reduced.reproduction = Some(match runs {
        Runs::Fixed(_) => (fails + 1, confirm_runs + 1),
        Runs::Auto => (fails, confirm_runs),
    });
    Ok(())
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
    Redactor::for_env(pairs).with_more_secrets(marked)
}

/// An element's value for display, secrets redacted.
pub fn redact_value(name: &str, value: &str, redactor: &Redactor) -> String {
    match name.strip_prefix("env:") {
        Some(key) => redactor.redact_env_value(key, value),
        None => redactor.redact(value),
    }
}

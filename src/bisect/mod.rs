//! A whole bisection of one case (docs/SPEC.md §3, §4): check that the working one works (in
//! isolate mode), that the full configuration fails (and how reliably, for flaky cases), find
//! every independent cause, reduce inside list values, confirm each cause with fresh runs,
//! and gather everything a report needs (with, for each element, the trials that show it is
//! needed). `minrepro bisect` and `minrepro nightly` both run this.

pub mod cache;
pub mod events;
pub mod lines;
pub mod load;
pub mod oracle;
pub mod progress;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use indexmap::IndexMap;

use crate::case::entries::EntrySpace;
use crate::case::space::{ConfigSpace, Mode, Space, SpaceOracle};
use crate::case::{Case, Config, Element, Runs, Timeout};
use crate::error::Error;
use crate::latency::LatencyHistory;
use crate::messages::LaunchMessage;
use crate::python::Interpreter;
use crate::redact::Redactor;
use crate::reduce::engine::{Engine, runs_to_pass};
use crate::reduce::search::{Order, causes, minimize};
use crate::reduce::{Stop, Variant, Verdict};
use crate::trial::{Outcome, Runner, TrialRecord, seconds};
use crate::verdict::{self, Judge};
use cache::OutcomeCache;
use events::{Event, Events, Note, Observer};
use oracle::{Evidence, LoggedTrial, Timing, TrialOracle, TrialOracleParts};
use progress::Progress;

/// Runs of the full configuration that measure a flaky failure's reproduction rate.
const RATE_RUNS: u32 = 10;
/// The chance of a wrong "not needed" that re-runs of passes allow: in the search, and
/// stricter in the certificate whose verdicts make the result.
const SEARCH_EPSILON: f64 = 0.01;
const CERTIFICATE_EPSILON: f64 = 0.0001;
/// Runs of the result that measure its reproduction rate, for a deterministic case: the
/// certificate's, and fresh ones.
const CONFIRM_RUNS: u32 = 3;

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
    /// minrepro's cache folder: recorded outcomes, latencies (see `python::cache_root`).
    pub cache_dir: std::path::PathBuf,
    /// Who else listens to the bisection's events (the terminal's progress always does).
    pub observers: Vec<Arc<dyn Observer>>,
}

/// How big an attachment came out.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AttachmentSize {
    pub files: usize,
    pub bytes: u64,
    pub tarball_bytes: u64,
}

/// One element of the result, with the value it has there (secrets redacted).
#[derive(Debug, Clone, Serialize)]
pub struct FoundElement {
    pub name: String,
    /// `None` for an import, or for an env var that is unset on the failing side.
    pub value: Option<String>,
}

/// The entries of a list value that a cause needs.
#[derive(Debug, Clone, Serialize)]
pub struct EntryFinding {
    pub element: String,
    /// The entries kept, in their order (secrets redacted).
    pub kept: Vec<String>,
    /// How many entries the value had.
    pub of: usize,
    pub one_minimal: bool,
    pub evidence: Vec<Evidence>,
}

/// One independent cause: a 1-minimal set of elements that shows the failure on its own.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    /// Every element of the cause, prerequisites included (1-minimal as a whole).
    pub minimal: Vec<String>,
    /// The elements without which the worker fails differently (it cannot import the app,
    /// say): needed to see the failure, not shown to cause it.
    pub prerequisites: Vec<String>,
    /// The elements with their values (in the JSON: `values`).
    #[serde(skip)]
    pub elements: Vec<FoundElement>,
    pub outcome: Option<Outcome>,
    pub one_minimal: bool,
    pub reproduction_rate: String,
    /// For each element: the trials with it and without it.
    pub evidence: Vec<Evidence>,
    /// Entries of list values, where a list value is part of the cause.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryFinding>,
    /// The statements of its modules that the cause needs (statement-level reduction).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<lines::LinesFinding>,
    /// The cause's configuration, list values cut down to their needed entries.
    #[serde(skip)]
    pub config: Config,
    #[serde(skip)]
    pub record: Option<TrialRecord>,
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
    /// The first cause's prerequisites (see [`Cause::prerequisites`]).
    pub prerequisites: Vec<String>,
    pub kept: Vec<String>,
    pub elements_total: usize,
    /// Elements the search reduced over (in isolate mode: the differences).
    pub reducible: usize,
    /// The minimal configuration's failure (its latest run).
    pub outcome: Option<Outcome>,
    /// The full configuration's own outcome.
    pub full_outcome: Option<Outcome>,
    /// Trials that ran (fresh verdicts).
    pub trials: u32,
    /// Verdicts answered from this bisection's own earlier verdicts.
    pub cache_hits: u32,
    /// Verdicts answered from outcomes recorded by earlier runs.
    pub recorded: u32,
    pub one_minimal: bool,
    pub reproduction_rate: String,
    pub wall_s: f64,
    pub timeout_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<std::path::PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_verified: Option<bool>,
    /// Whether the attachment's minimal_worker.py reproduced on its own when it was run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimal_worker_reproduces: Option<bool>,
    /// The attachment's size: files, their bytes, the tarball's bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_size: Option<AttachmentSize>,
    /// Every independent cause; `minimal` and the fields above are the first one's.
    pub causes: Vec<Cause>,
    /// Messages per trial: minrepro's probe messages, or the launch's own replayed.
    pub messages: u32,
    /// What each trial sends: "replay" (the launch's own messages, where they were sent) or
    /// "probe" (minrepro's, for a case that holds none).
    pub probe: &'static str,
    /// With `--reduce-messages`: the fewest messages that still show the first cause's
    /// failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<load::LoadFinding>,
    /// The elements of `minimal` with their values.
    #[serde(skip)]
    pub minimal_elements: Vec<FoundElement>,
    #[serde(skip)]
    pub minimal_config: Option<Config>,
    #[serde(skip)]
    pub minimal_record: Option<TrialRecord>,
    /// Stopped before the end (Ctrl-C, a budget, or `stopped_by`).
    #[serde(skip)]
    pub interrupted: bool,
    /// What stopped it, when it was not the user: trouble outside the configuration.
    #[serde(skip)]
    pub stopped_by: Option<Error>,
    #[serde(skip)]
    pub log: Vec<LoggedTrial>,
}

/// How the synchronous part of a bisection ended.
struct Reduced {
    causes: Vec<Cause>,
    /// The smallest failing variant seen, when interrupted before any cause was done.
    best_so_far: Option<Variant>,
    /// Set when the case does not reproduce: why.
    not_reproducing: Option<String>,
    stopped: Option<Stop>,
    cache_hits: u32,
    recorded: u32,
}

/// What the synchronous part needs to know of the case.
struct Plan {
    space: Arc<Space>,
    runs: Runs,
    max_causes: usize,
    lists: IndexMap<String, String>,
    redactor: Redactor,
    python: std::path::PathBuf,
    case_dir: std::path::PathBuf,
    lines_budget: Option<u32>,
}

pub async fn bisect(
    case: &Case,
    good: Option<&Case>,
    runner: Arc<dyn Runner>,
    interpreter: &Interpreter,
    settings: &Settings,
) -> Result<Finding, Error> {
    let started = Instant::now();
    let python = interpreter.path.as_path();
    let space = Arc::new(Space::of(case, good));
    let redactor = redactor_for(case, good, settings.show_secrets);
    let progress = Progress::new(&case.name, settings.live_progress);
    let events = Events::new(
        std::iter::once(Arc::new(progress.clone()) as Arc<dyn Observer>)
            .chain(settings.observers.iter().cloned()),
    );
    let broker_url = runner.broker_url(case.broker.as_deref());
    let replay: Arc<[LaunchMessage]> = replayed_messages(case, good).into();
    // Outcomes hold for the brokers they were seen on: the probe's (where a worker with no
    // broker of its own goes) and the senders'.
    let mut broker = runner.broker_identity(&broker_url).await?;
    for url in replay.iter().map(|m| m.broker.as_str()) {
        let sender = runner.broker_identity(url).await?;
        if !broker.contains(&sender) {
            broker = format!("{broker}; {sender}");
        }
    }
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
    let load_size = if replay.is_empty() {
        case.oracle.messages
    } else {
        replay.iter().map(|m| m.count).sum()
    };
    let cache = OutcomeCache::open(case, &scope, settings.fresh);
    let timing = Timing {
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
    };
    let mut oracle = TrialOracle::new(TrialOracleParts {
        runner: runner.clone(),
        python: python.to_path_buf(),
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
    let full = Variant::full(space.len());
    if settings.fresh_full {
        let runs = match case.oracle.runs {
            Runs::Fixed(n) => n,
            Runs::Auto => RATE_RUNS,
        };
        oracle.require_fresh(&full, runs);
    }
    let plan = Plan {
        space: space.clone(),
        runs: case.oracle.runs,
        max_causes: settings.max_causes.max(1),
        lists: case.lists.clone(),
        redactor: redactor.clone(),
        python: python.to_path_buf(),
        case_dir: case.dir.clone(),
        lines_budget: settings.lines_budget,
    };
    let observer = events.clone();
    let (mut oracle, mut reduced) = tokio::task::spawn_blocking(move || {
        let reduced = reduce(&mut oracle, &plan, observer);
        (oracle, reduced)
    })
    .await
    .map_err(|err| Error::infra(format!("the reducer failed: {err}")))?;
    oracle.settle().await;
    progress.finish();

    // A configuration no worker can run (the case's fault, not the trials'): no finding.
    // Stopped by trouble outside the configuration (a broker that stayed away): the
    // smallest failing configuration seen so far is reported, as for Ctrl-C.
    let stopped_by = match reduced.stopped.take() {
        Some(Stop::Error(err)) if err.is_input() => return Err(err),
        Some(Stop::Error(err)) => Some(err),
        Some(stop) => {
            reduced.stopped = Some(stop);
            None
        }
        None => None,
    };
    let interrupted = matches!(reduced.stopped, Some(Stop::Interrupted)) || stopped_by.is_some();
    let full_outcome = oracle.last_result(&full).map(|(o, _)| o.clone());
    let mut causes = reduced.causes;
    if causes.is_empty() {
        // Interrupted (or not reproducing) before a cause was done: the smallest failing
        // configuration seen stands in for the first.
        let best = reduced.best_so_far.unwrap_or_else(|| full.clone());
        let (outcome, record) = oracle
            .last_result(&best)
            .map(|(o, r)| (Some(o.clone()), r.cloned()))
            .unwrap_or_default();
        causes.push(Cause {
            minimal: space.names(&best),
            prerequisites: Vec::new(),
            elements: found_elements(&space, &best, &redactor),
            outcome,
            one_minimal: false,
            reproduction_rate: "0/0".into(),
            evidence: Vec::new(),
            entries: Vec::new(),
            lines: None,
            config: space.config(&best),
            record,
        });
    }
    let first = causes[0].clone();
    let mut trials = oracle.trials_run;
    let mut load_finding = None;
    let spec = crate::trial::TrialSpec {
        case_name: &case.name,
        config: &first.config,
        python,
        broker_url: &broker_url,
        timeout: oracle.timing.timeout(),
        messages: case.oracle.messages,
        replay: &replay,
        early_verdicts: settings.early_verdicts,
    };
    let searched_load = settings.reduce_messages
        && load::size(&spec) > 1
        && reduced.not_reproducing.is_none()
        && !interrupted;
    if searched_load {
        events.note(Note::Load {
            messages: load::size(&spec),
            replayed: !replay.is_empty(),
        });
        let found =
            load::smallest_load(runner.as_ref(), spec, &oracle.judge, &settings.stop).await?;
        trials += found.trials;
        load_finding = Some(found);
    }
    Ok(Finding {
        case: case.name.clone(),
        mode: space.mode,
        reproduces: reduced.not_reproducing.is_none() && !interrupted,
        reason: reduced.not_reproducing.clone().or_else(|| {
            interrupted.then(|| {
                format!(
                    "{}: the result is the smallest failing configuration found so far; run again to resume",
                    stopped_by
                        .as_ref()
                        .map_or("interrupted".into(), Error::to_string)
                )
            })
        }),
        minimal: first.minimal,
        prerequisites: first.prerequisites,
        kept: space.kept.clone(),
        elements_total: case.elements.len(),
        reducible: space.len(),
        outcome: first.outcome,
        full_outcome,
        trials,
        cache_hits: reduced.cache_hits,
        recorded: reduced.recorded,
        one_minimal: first.one_minimal,
        reproduction_rate: first.reproduction_rate,
        wall_s: seconds(started.elapsed()),
        timeout_s: seconds(oracle.timing.timeout()),
        attachment: None,
        attachment_verified: None,
        minimal_worker_reproduces: None,
        attachment_size: None,
        causes,
        messages: load::size(&spec),
        probe: if replay.is_empty() { "probe" } else { "replay" },
        load: load_finding,
        minimal_elements: first.elements,
        minimal_config: Some(first.config),
        minimal_record: first.record,
        interrupted,
        stopped_by,
        log: std::mem::take(&mut oracle.log),
    })
}

/// The messages a bisection's trials replay: the failing launch's own, else the working
/// one's (a working launch captured for a while often sent none); none: the probe.
pub fn replayed_messages(case: &Case, good: Option<&Case>) -> Vec<LaunchMessage> {
    match good {
        Some(good) if case.messages.is_empty() => good.messages.clone(),
        _ => case.messages.clone(),
    }
}

/// The elements of `variant` with their values, secrets redacted.
fn found_elements(space: &Space, variant: &Variant, redactor: &Redactor) -> Vec<FoundElement> {
    variant
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
                    .map(|v| redact_value(&reducible.name, &v, redactor)),
            }
        })
        .collect()
}

/// The synchronous part: every question to the oracle, in order.
fn reduce(oracle: &mut TrialOracle, plan: &Plan, events: Events) -> Reduced {
    let mut engine = Engine::new(oracle, 1);
    engine.observe(move |stats| events.emit(&Event::Stats(stats)));
    let mut reduced = Reduced {
        causes: Vec::new(),
        best_so_far: None,
        not_reproducing: None,
        stopped: None,
        cache_hits: 0,
        recorded: 0,
    };
    if let Err(stop) = reduce_with(&mut engine, plan, &mut reduced) {
        reduced.stopped = Some(stop);
        reduced.best_so_far = engine.smallest_failing().cloned();
    }
    reduced.cache_hits = engine.stats().cache_hits;
    reduced.recorded = engine.stats().recorded;
    reduced
}

fn reduce_with(
    engine: &mut Engine<'_, TrialOracle>,
    plan: &Plan,
    reduced: &mut Reduced,
) -> Result<(), Stop> {
    let space = &plan.space;
    let full = Variant::full(space.len());
    let empty = Variant::empty();
    engine.set_elements_left(space.len());

    // The working configuration must work, or there is nothing to isolate: it runs first.
    if space.mode == Mode::Isolate && engine.test(empty.clone())? != Verdict::Pass {
        let outcome = engine
            .oracle()
            .outcomes_of(&empty)
            .last()
            .map(|o| format!("{} {}", o.kind(), o.summary()))
            .unwrap_or_default();
        reduced.not_reproducing = Some(format!(
            "the good configuration does not work: {outcome}; there is no working launch to isolate against"
        ));
        return Ok(());
    }

    // Does the full configuration fail, how, and (for a flaky case) how often? It is run
    // `runs` times, or RATE_RUNS times to measure the rate: one pass proves nothing there.
    let full_runs = match plan.runs {
        Runs::Fixed(n) => n,
        Runs::Auto => RATE_RUNS,
    };
    engine.repeat(&full, full_runs)?;
    let expect = engine.oracle().judge.expect;
    let outcomes = engine.oracle().outcomes_of(&full);
    let Some(reference) = outcomes
        .iter()
        .find(|o| verdict::shows(expect, o, None))
        .cloned()
    else {
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
    let (search_runs, certificate_runs, confirm_runs) = match plan.runs {
        Runs::Fixed(n) => (n, n, n.max(CONFIRM_RUNS)),
        Runs::Auto => (
            runs_to_pass(fails, full_runs, SEARCH_EPSILON),
            runs_to_pass(fails, full_runs, CERTIFICATE_EPSILON),
            RATE_RUNS,
        ),
    };
    if plan.runs == Runs::Auto {
        engine.oracle().note(Note::Rate {
            fails,
            runs: full_runs,
            runs_to_pass: search_runs,
        });
    }
    engine.set_runs_to_pass(search_runs);

    // The empty configuration: asked now, so that the search knows it (in isolate mode it
    // was, first).
    engine.test(empty)?;

    // Every cause; an earlier run's are checked first: if they still hold, no search runs.
    let previous = engine.oracle().previous_causes();
    let found = causes(
        engine,
        &space.order(),
        certificate_runs,
        plan.max_causes,
        &previous,
    )?;
    let all_one_minimal = found.iter().all(|c| c.one_minimal);
    if found.len() > 1 {
        engine.oracle().note(Note::Causes(found.len()));
    }

    let main: Arc<dyn ConfigSpace> = space.clone();
    let mut confirmed: Vec<Variant> = Vec::new();
    for cause in found {
        engine.oracle().set_space(main.clone());
        let evidence = engine.oracle().evidence(&cause.minimal);
        let mut config = space.config(&cause.minimal);
        // The variant and space the cause's final configuration is run in.
        let mut last: (Arc<dyn ConfigSpace>, Variant) = (main.clone(), cause.minimal.clone());
        let mut entries = Vec::new();
        for element in space.names(&cause.minimal) {
            let Some(list) = EntrySpace::of(&config, &element, &plan.lists) else {
                continue;
            };
            let list = Arc::new(list);
            engine.oracle().set_space(list.clone());
            engine.forget();
            engine.know(Variant::full(list.len()), Verdict::Fail);
            let inside = minimize(engine, &Order::plain(list.len()), None, certificate_runs)?;
            entries.push(EntryFinding {
                element: element.clone(),
                kept: list
                    .entries(&inside.minimal)
                    .iter()
                    .map(|e| redact_value(&element, e, &plan.redactor))
                    .collect(),
                of: list.len(),
                one_minimal: inside.one_minimal,
                evidence: engine.oracle().evidence(&inside.minimal),
            });
            config = list.config(&inside.minimal);
            last = (list, inside.minimal);
        }

        // How often does the cause reproduce, run afresh?
        let (last_space, variant) = last;
        engine.oracle().set_space(last_space.clone());
        engine.forget();
        // Confirmation runs are new trials, never answers on record.
        engine.oracle().require_fresh(&variant, confirm_runs);
        let fails = engine.repeat(&variant, confirm_runs)?;
        if fails == 0 {
            // The trials it was found with failed by chance (a worker starved on a loaded
            // machine): it is no cause.
            engine.oracle().note(Note::NotACause {
                elements: space.names(&cause.minimal),
                runs: confirm_runs,
            });
            continue;
        }
        confirmed.push(cause.minimal.clone());
        let (outcome, record) = engine
            .oracle()
            .last_result(&variant)
            .map(|(o, r)| (Some(o.clone()), r.cloned()))
            .unwrap_or_default();
        // List values read as the cause has them: the entries that matter.
        let mut elements = found_elements(space, &cause.minimal, &plan.redactor);
        for element in elements.iter_mut() {
            if entries.iter().any(|e| e.element == element.name) {
                element.value = match element.name.strip_prefix("env:") {
                    Some(key) => config
                        .env
                        .get(key)
                        .map(|v| redact_value(&element.name, v, &plan.redactor)),
                    None => Some(
                        crate::case::LaunchOption::PythonFlags(config.options.python_flags.clone())
                            .to_string(),
                    ),
                };
            }
        }
        reduced.causes.push(Cause {
            minimal: space.names(&cause.minimal),
            prerequisites: evidence
                .iter()
                .filter(|e| e.is_prerequisite())
                .map(|e| e.element.clone())
                .collect(),
            elements,
            outcome,
            one_minimal: cause.one_minimal,
            reproduction_rate: format!("{fails}/{confirm_runs}"),
            evidence,
            entries,
            lines: None,
            config: config.clone(),
            record: record.clone(),
        });

        // Down to the line, in the modules the cause imports.
        if let (Some(budget), Some(record)) = (plan.lines_budget, record) {
            let names = space.names(&cause.minimal);
            let (config, found) = lines::reduce_lines(
                engine,
                lines::LinesRequest {
                    python: &plan.python,
                    case_dir: &plan.case_dir,
                    config,
                    elements: &names,
                    origins: &record.origins,
                    budget,
                    certificate_runs,
                },
            )?;
            if let Some(done) = reduced.causes.last_mut() {
                done.config = config;
                done.lines = Some(found);
            }
        }
    }
    engine.oracle().set_space(main);
    if confirmed.is_empty() {
        reduced.not_reproducing = Some(
            "no cause found reproduced in fresh runs: the failures it was found with were chance; run it again with --runs auto".to_string(),
        );
        return Ok(());
    }
    if all_one_minimal {
        engine.oracle().record_causes(&confirmed);
    }
    if reduced.causes.first().is_some_and(|c| c.minimal.is_empty()) {
        engine.oracle().note(Note::KeptAlone);
    }
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
    match name.strip_prefix("env:") {
        Some(key) => redactor.redact_env_value(key, value),
        None => redactor.redact(value),
    }
}

#[cfg(test)]
mod tests;

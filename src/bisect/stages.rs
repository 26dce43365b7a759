//! The synchronous part of a bisection, stage by stage: the good side, the full
//! configuration and its rate, the causes, the values inside each cause, its confirmation,
//! its lines. Each stage asks the engine its questions and returns plain data; `reduce`
//! runs them in order and stops at the first that says the case does not reproduce.

use std::sync::Arc;

use indexmap::IndexMap;

use super::events::{Event, Events, Note, Phase};
use super::finding::{Cause, EntryFinding, FoundElement, Rate};
use super::oracle::TrialOracle;
use super::{lines, redact_value};
use crate::case::entries::EntrySpace;
use crate::case::space::{ConfigSpace, Mode, Space, SpaceOracle};
use crate::case::{Config, ElementKey, LaunchOption, Runs};
use crate::redact::Redactor;
use crate::reduce::engine::{Engine, runs_to_pass};
use crate::reduce::search::{Order, Reduction, causes, minimize};
use crate::reduce::{Stop, Variant, Verdict};
use crate::verdict;

/// Runs of the full configuration that measure a flaky failure's reproduction rate.
pub const RATE_RUNS: u32 = 10;
/// The chance of a wrong "not needed" that re-runs of passes allow: in the search, and
/// stricter in the certificate whose verdicts make the result.
const SEARCH_EPSILON: f64 = 0.01;
const CERTIFICATE_EPSILON: f64 = 0.0001;
/// Runs of the result that measure its reproduction rate, for a deterministic case: the
/// certificate's, and fresh ones.
const CONFIRM_RUNS: u32 = 3;

type TrialEngine<'a> = Engine<'a, TrialOracle>;

/// How the synchronous part of a bisection ended.
#[derive(Default)]
pub struct Reduced {
    pub causes: Vec<Cause>,
    /// The smallest failing variant seen, when interrupted before any cause was done.
    pub best_so_far: Option<Variant>,
    /// Set when the case does not reproduce: why.
    pub not_reproducing: Option<String>,
    pub stopped: Option<Stop>,
    pub cache_hits: u32,
    pub recorded: u32,
}

/// What the synchronous part needs to know of the case.
pub struct Plan {
    pub space: Arc<Space>,
    pub runs: Runs,
    pub max_causes: usize,
    pub lists: IndexMap<String, String>,
    pub redactor: Redactor,
    pub python: std::path::PathBuf,
    pub case_dir: std::path::PathBuf,
    pub lines_budget: Option<u32>,
}

/// How many runs make each kind of answer, from the full configuration's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCounts {
    /// Passing runs before the search believes a pass.
    pub search: u32,
    /// Passing runs before the certificate (whose verdicts make the result) believes one.
    pub certificate: u32,
    /// Fresh runs that confirm a cause and measure its rate.
    pub confirm: u32,
}

/// The values of a cause, list values cut down to the entries it needs.
pub struct Values {
    pub config: Config,
    pub entries: Vec<EntryFinding>,
    /// The space and variant the cause's final configuration is run in.
    pub space: Arc<dyn ConfigSpace>,
    pub variant: Variant,
}

/// The synchronous part: every question to the oracle, in order.
pub fn reduce(oracle: &mut TrialOracle, plan: &Plan, events: Events) -> Reduced {
    let mut engine = Engine::new(oracle, 1);
    engine.observe(move |stats| events.emit(&Event::Stats(stats)));
    let mut reduced = Reduced::default();
    if let Err(stop) = reduce_with(&mut engine, plan, &mut reduced) {
        reduced.stopped = Some(stop);
        reduced.best_so_far = engine.smallest_failing().cloned();
    }
    reduced.cache_hits = engine.stats().cache_hits;
    reduced.recorded = engine.stats().recorded;
    reduced
}

fn reduce_with(
    engine: &mut TrialEngine<'_>,
    plan: &Plan,
    reduced: &mut Reduced,
) -> Result<(), Stop> {
    let space = &plan.space;
    engine.set_elements_left(space.len());
    if space.mode == Mode::Isolate
        && let Some(why) = good_side(engine)?
    {
        reduced.not_reproducing = Some(why);
        return Ok(());
    }
    let counts = match full_configuration(engine, space.len(), plan.runs)? {
        Ok(counts) => counts,
        Err(why) => {
            reduced.not_reproducing = Some(why);
            return Ok(());
        }
    };
    let found = find_causes(engine, space, counts.certificate, plan.max_causes)?;
    let all_one_minimal = found.iter().all(|c| c.one_minimal);
    let mut confirmed: Vec<Variant> = Vec::new();
    for cause in found {
        engine.oracle().set_space(space.clone());
        let evidence = engine.oracle().evidence(&cause.minimal);
        let values = reduce_values(engine, plan, &cause.minimal, counts.certificate)?;
        let fails = confirm(engine, &values, counts.confirm)?;
        if fails == 0 {
            // The trials it was found with failed by chance (a worker starved on a loaded
            // machine): it is no cause.
            engine.oracle().note(Note::NotACause {
                elements: space.names(&cause.minimal),
                runs: counts.confirm,
            });
            continue;
        }
        confirmed.push(cause.minimal.clone());
        engine.oracle().tell(&Event::CauseFound {
            elements: &space.names(&cause.minimal),
            fails,
            runs: counts.confirm,
        });
        let rate = Rate {
            fails,
            runs: counts.confirm,
        };
        reduced
            .causes
            .push(cause_of(engine, plan, &cause, values, evidence, rate));
        // Kept as it is if the line level is stopped.
        if let (Some(budget), Some(done)) = (plan.lines_budget, reduced.causes.last_mut()) {
            reduce_cause_lines(engine, plan, done, budget, counts.certificate)?;
        }
    }
    engine.oracle().set_space(space.clone());
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

/// Isolate mode: the working configuration must work, or there is nothing to isolate. It
/// runs first; `Some(why)` when it does not work.
pub fn good_side(engine: &mut TrialEngine<'_>) -> Result<Option<String>, Stop> {
    engine.oracle().tell(&Event::Phase(Phase::GoodSide));
    let empty = Variant::empty();
    if engine.test(empty.clone())? == Verdict::Pass {
        return Ok(None);
    }
    let outcome = engine
        .oracle()
        .outcomes_of(&empty)
        .last()
        .map(|o| format!("{} {}", o.kind(), o.summary()))
        .unwrap_or_default();
    Ok(Some(format!(
        "the good configuration does not work: {outcome}; there is no working launch to isolate against"
    )))
}

/// Does the full configuration fail, how, and (for a flaky case) how often? It runs `runs`
/// times, or RATE_RUNS times to measure the rate (one pass proves nothing there). Its
/// failure becomes the one every variant is compared with; the counts of runs that make an
/// answer follow from its rate. `Err(why)` when it does not show the expected failure.
pub fn full_configuration(
    engine: &mut TrialEngine<'_>,
    elements: usize,
    runs: Runs,
) -> Result<Result<RunCounts, String>, Stop> {
    engine
        .oracle()
        .tell(&Event::Phase(Phase::FullConfiguration));
    let full = Variant::full(elements);
    let full_runs = match runs {
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
        return Ok(Err(format!(
            "the full configuration does not show the expected failure in {full_runs} run{}: {}",
            if full_runs == 1 { "" } else { "s" },
            last.unwrap_or_default()
        )));
    };
    engine.oracle().judge.reference = reference.failure();
    let fails = outcomes
        .iter()
        .filter(|o| engine.oracle().judge.verdict(o) == Verdict::Fail)
        .count() as u32;
    engine.know(full, Verdict::Fail);
    // Passes of a flaky failure are re-run before they are believed.
    let counts = match runs {
        Runs::Fixed(n) => RunCounts {
            search: n,
            certificate: n,
            confirm: n.max(CONFIRM_RUNS),
        },
        Runs::Auto => RunCounts {
            search: runs_to_pass(fails, full_runs, SEARCH_EPSILON),
            certificate: runs_to_pass(fails, full_runs, CERTIFICATE_EPSILON),
            confirm: RATE_RUNS,
        },
    };
    if runs == Runs::Auto {
        engine.oracle().note(Note::Rate {
            fails,
            runs: full_runs,
            runs_to_pass: counts.search,
        });
    }
    engine.set_runs_to_pass(counts.search);
    Ok(Ok(counts))
}

/// Every independent cause, each 1-minimal where the search could certify it; an earlier
/// run's are checked first: if they still hold, no search runs.
pub fn find_causes(
    engine: &mut TrialEngine<'_>,
    space: &Space,
    certificate_runs: u32,
    max_causes: usize,
) -> Result<Vec<Reduction>, Stop> {
    engine.oracle().tell(&Event::Phase(Phase::Causes));
    // The empty configuration: asked now, so that the search knows it (in isolate mode it
    // was, first).
    engine.test(Variant::empty())?;
    let previous = engine.oracle().previous_causes();
    let found = causes(
        engine,
        &space.order(),
        certificate_runs,
        max_causes,
        &previous,
    )?;
    if found.len() > 1 {
        engine.oracle().note(Note::Causes(found.len()));
    }
    Ok(found)
}

/// Inside each list value of a cause (`PYTHONPATH`, the Python flags), the entries it
/// needs, each list searched as a space of its own.
pub fn reduce_values(
    engine: &mut TrialEngine<'_>,
    plan: &Plan,
    cause: &Variant,
    certificate_runs: u32,
) -> Result<Values, Stop> {
    let space = &plan.space;
    let mut values = Values {
        config: space.config(cause),
        entries: Vec::new(),
        space: space.clone(),
        variant: cause.clone(),
    };
    for element in space.names(cause) {
        let Some(list) = EntrySpace::of(&values.config, &element, &plan.lists) else {
            continue;
        };
        let list = Arc::new(list);
        engine.oracle().tell(&Event::Phase(Phase::Values {
            element: element.clone(),
        }));
        engine.oracle().set_space(list.clone());
        engine.forget();
        engine.know(Variant::full(list.len()), Verdict::Fail);
        let inside = minimize(engine, &Order::plain(list.len()), None, certificate_runs)?;
        values.entries.push(EntryFinding {
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
        values.config = list.config(&inside.minimal);
        values.space = list;
        values.variant = inside.minimal;
    }
    Ok(values)
}

/// How often the cause, values reduced, reproduces run afresh: the number of its
/// `runs` fresh runs that failed (confirmation runs are new trials, never answers on
/// record).
pub fn confirm(engine: &mut TrialEngine<'_>, values: &Values, runs: u32) -> Result<u32, Stop> {
    let elements = values.space.names(&values.variant);
    engine
        .oracle()
        .tell(&Event::Phase(Phase::Confirming { elements }));
    engine.oracle().set_space(values.space.clone());
    engine.forget();
    engine.oracle().require_fresh(&values.variant, runs);
    engine.repeat(&values.variant, runs)
}

/// A confirmed cause as the report reads it: its elements with their values (list values
/// as the cause has them), prerequisites, evidence and last run.
fn cause_of(
    engine: &mut TrialEngine<'_>,
    plan: &Plan,
    cause: &Reduction,
    values: Values,
    evidence: Vec<super::oracle::Evidence>,
    reproduction_rate: Rate,
) -> Cause {
    let space = &plan.space;
    let (outcome, record) = engine
        .oracle()
        .last_result(&values.variant)
        .map(|(o, r)| (Some(o.clone()), r.cloned()))
        .unwrap_or_default();
    let mut elements = found_elements(space, &cause.minimal, &plan.redactor);
    for element in elements.iter_mut() {
        if values.entries.iter().any(|e| e.element == element.name) {
            element.value = match ElementKey::parse(&element.name) {
                Some(ElementKey::Env(key)) => values
                    .config
                    .env
                    .get(&key)
                    .map(|v| redact_value(&element.name, v, &plan.redactor)),
                _ => Some(
                    LaunchOption::PythonFlags(values.config.options.python_flags.clone())
                        .to_string(),
                ),
            };
        }
    }
    Cause {
        minimal: space.names(&cause.minimal),
        prerequisites: evidence
            .iter()
            .filter(|e| e.is_prerequisite())
            .map(|e| e.element.clone())
            .collect(),
        elements,
        outcome,
        one_minimal: cause.one_minimal,
        reproduction_rate,
        evidence,
        entries: values.entries,
        lines: None,
        config: values.config,
        record,
    }
}

/// Down to the line, in the modules the cause imports (the ones its last run loaded).
fn reduce_cause_lines(
    engine: &mut TrialEngine<'_>,
    plan: &Plan,
    cause: &mut Cause,
    budget: u32,
    certificate_runs: u32,
) -> Result<(), Stop> {
    let Some(record) = &cause.record else {
        return Ok(());
    };
    engine.oracle().tell(&Event::Phase(Phase::Lines));
    let (config, found) = lines::reduce_lines(
        engine,
        lines::LinesRequest {
            python: &plan.python,
            case_dir: &plan.case_dir,
            config: cause.config.clone(),
            elements: &cause.minimal,
            origins: &record.origins,
            budget,
            certificate_runs,
        },
    )?;
    cause.config = config;
    cause.lines = Some(found);
    Ok(())
}

/// The elements of `variant` with their values, secrets redacted.
pub fn found_elements(space: &Space, variant: &Variant, redactor: &Redactor) -> Vec<FoundElement> {
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

#[cfg(test)]
mod tests;

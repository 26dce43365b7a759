//! `minrepro nightly`: every case of a corpus, unattended. Each case is bisected (isolated
//! when it has a good.toml), compared with `[expected]` and with the previous night, and
//! gets a status and an attachment; the night gets summary.json, junit.xml and index.html.
//! Outcomes recorded by earlier nights are reused, so an unchanged case costs one fresh
//! run of its full configuration.

pub mod html;
pub mod junit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::agent::remote::Agents;
use crate::bisect::{self, Ending, Finding, Settings};
use crate::case::{self, CASE_FILE, Case, GOOD_FILE};
use crate::error::Error;
use crate::python::Interpreter;
use crate::reduce::Verdict;
use crate::report::attachment;
use crate::trial::{Runner, TrialRunner};

/// What became of one case tonight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Reduced for the first time.
    Reduced,
    /// The same finding as last time (and as `[expected]`).
    Unchanged,
    /// A different minimal set than last time or than `[expected]`, or failing again.
    Changed,
    /// The full configuration no longer fails.
    Fixed,
    /// The case could not be run (bad case file, broker trouble).
    Error,
    /// The budget ran out before the case was done.
    Unfinished,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Reduced => "reduced",
            Status::Unchanged => "unchanged",
            Status::Changed => "changed",
            Status::Fixed => "fixed",
            Status::Error => "error",
            Status::Unfinished => "unfinished",
        }
    }
}

/// One trial of a case, for the night's charts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrialPoint {
    /// Elements of the variant.
    pub elements: usize,
    /// Seconds the trial took (0 for an answer on record).
    pub seconds: f64,
    /// `None` for a trial cancelled before its end.
    pub verdict: Option<Verdict>,
    pub recorded: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseReport {
    pub name: String,
    pub path: PathBuf,
    pub mode: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<String>,
    pub minimal: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expected: Option<Vec<String>>,
    /// The lines each culprit module keeps (module → line numbers), every cause's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub lines: BTreeMap<String, Vec<u32>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expected_lines: Option<BTreeMap<String, Vec<u32>>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub outcome: Option<String>,
    pub trials: u32,
    pub cache_hits: u32,
    pub wall_s: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reproduction_rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attachment: Option<PathBuf>,
    #[serde(default)]
    pub series: Vec<TrialPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub corpus: PathBuf,
    pub started: String,
    pub wall_s: f64,
    pub jobs: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub budget_s: Option<f64>,
    pub trials: u32,
    pub cases: Vec<CaseReport>,
}

impl Summary {
    pub fn count(&self, status: Status) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }
}

pub struct Plan {
    pub corpus: PathBuf,
    pub out: PathBuf,
    pub jobs: usize,
    pub budget: Option<Duration>,
    pub runner: Arc<TrialRunner>,
    /// `--agents`: the cases' trials run on agents instead of here.
    pub agents: Option<Arc<Agents>>,
    /// `--python`: every case's interpreter; `None`: each case's own.
    pub python: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Stall rules may end trials before their timeout.
    pub early_verdicts: bool,
    /// Statement-level reduction's trial budget per cause (`None`: not at all).
    pub lines_budget: Option<u32>,
}

/// Every case folder under `corpus` (a folder holding case.toml), in path order.
pub fn discover(corpus: &Path, out: &Path) -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = walkdir::WalkDir::new(corpus)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "__pycache__" || e.path() == out)
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == CASE_FILE)
        .filter_map(|e| e.path().parent().map(Path::to_path_buf))
        .collect();
    cases.sort();
    cases
}

/// The previous night's summary in `out`, if any.
pub fn previous(out: &Path) -> Option<Summary> {
    let text = std::fs::read_to_string(out.join("summary.json")).ok()?;
    serde_json::from_str(&text).ok()
}

pub async fn run(plan: Plan) -> Result<Summary, Error> {
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    std::fs::create_dir_all(&plan.out).map_err(|err| {
        Error::input(format!(
            "cannot create the output folder {}: {err}",
            plan.out.display()
        ))
    })?;
    let out = std::path::absolute(&plan.out).unwrap_or(plan.out.clone());
    let before: BTreeMap<String, CaseReport> = previous(&out)
        .map(|s| s.cases.into_iter().map(|c| (c.name.clone(), c)).collect())
        .unwrap_or_default();
    let folders = discover(&plan.corpus, &out);
    if folders.is_empty() {
        return Err(Error::input(format!(
            "no case under {}: a case is a folder holding {CASE_FILE}",
            plan.corpus.display()
        )));
    }

    // The budget stops new work and cancels running trials; Ctrl-C does too.
    let budget = plan.runner.interrupted.child_token();
    if let Some(limit) = plan.budget {
        let budget = budget.clone();
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            budget.cancel();
        });
    }
    let (mut tasks, mut reports) = start_cases(&plan, folders, &before, &out, &budget);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(report) => reports.push(report),
            Err(err) => return Err(Error::infra(format!("a nightly task failed: {err}"))),
        }
    }
    if plan.runner.interrupted.is_cancelled() {
        return Err(Error::Interrupted);
    }
    reports.sort_by_key(|(order, _)| *order);
    let cases: Vec<CaseReport> = reports.into_iter().map(|(_, report)| report).collect();
    Ok(Summary {
        corpus: std::path::absolute(&plan.corpus).unwrap_or(plan.corpus),
        started: started_at,
        wall_s: crate::trial::seconds(started.elapsed()),
        jobs: plan.jobs,
        budget_s: plan.budget.map(|b| b.as_secs_f64()),
        trials: cases.iter().map(|c| c.trials).sum(),
        cases,
    })
}

/// A case's report, by its place in the corpus's order.
type Ordered = (usize, CaseReport);

/// Every case of the night started as a task of its own (a few at a time, their trials
/// sharing `plan.jobs` slots); the cases that cannot run (a broken case file, a name used
/// twice) reported at once.
fn start_cases(
    plan: &Plan,
    folders: Vec<PathBuf>,
    before: &BTreeMap<String, CaseReport>,
    out: &Path,
    budget: &CancellationToken,
) -> (tokio::task::JoinSet<Ordered>, Vec<Ordered>) {
    let gate = Arc::new(Semaphore::new(plan.jobs));
    let cases_at_once = Arc::new(Semaphore::new(plan.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut reports = Vec::new();
    for (order, folder) in folders.into_iter().enumerate() {
        let (case, good) = match load(&folder) {
            Ok(pair) => pair,
            Err(err) => {
                reports.push((order, error_report(&folder, &err.to_string())));
                continue;
            }
        };
        if let Some(other) = names.insert(case.name.clone(), folder.clone()) {
            let reason = format!(
                "two cases are named `{}`: {} and this one",
                case.name,
                other.display()
            );
            reports.push((order, error_report(&folder, &reason)));
            continue;
        }
        let context = CaseContext {
            previous: before.get(&case.name).cloned(),
            case,
            good,
            folder,
            out: out.to_path_buf(),
            runner: plan.runner.clone(),
            agents: plan.agents.clone(),
            python: plan.python.clone(),
            settings: case_settings(plan, budget, &gate),
        };
        let cases_at_once = cases_at_once.clone();
        let budget = budget.clone();
        tasks.spawn(async move {
            let _turn = cases_at_once.acquire_owned().await;
            if budget.is_cancelled() {
                return (
                    order,
                    unfinished_report(&context, "not started: the budget was spent"),
                );
            }
            (order, run_case(context).await)
        });
    }
    (tasks, reports)
}

/// How a case of the night is bisected: its full configuration run afresh, trials on the
/// night's shared slots, stopped by the budget.
fn case_settings(plan: &Plan, budget: &CancellationToken, gate: &Arc<Semaphore>) -> Settings {
    Settings {
        jobs: plan.jobs,
        fresh: false,
        fresh_full: true,
        timeout: plan.timeout,
        show_secrets: false,
        stop: budget.clone(),
        gate: Some(gate.clone()),
        live_progress: false,
        max_causes: usize::MAX,
        reduce_messages: false,
        early_verdicts: plan.early_verdicts,
        lines_budget: plan.lines_budget,
        cache_dir: crate::cache_dir::cache_root(),
        observers: Vec::new(),
    }
}

fn load(folder: &Path) -> Result<(Case, Option<Case>), Error> {
    let case = case::load(folder)?;
    let good_path = folder.join(GOOD_FILE);
    let good = if good_path.is_file() {
        Some(case::load(&good_path)?)
    } else {
        None
    };
    Ok((case, good))
}

struct CaseContext {
    case: Case,
    good: Option<Case>,
    folder: PathBuf,
    out: PathBuf,
    previous: Option<CaseReport>,
    runner: Arc<TrialRunner>,
    agents: Option<Arc<Agents>>,
    python: Option<PathBuf>,
    settings: Settings,
}

fn error_report(folder: &Path, reason: &str) -> CaseReport {
    CaseReport {
        name: folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: folder.to_path_buf(),
        mode: "minimize".into(),
        status: Status::Error,
        reason: Some(reason.trim().to_string()),
        minimal: Vec::new(),
        expected: None,
        lines: BTreeMap::new(),
        expected_lines: None,
        outcome: None,
        trials: 0,
        cache_hits: 0,
        wall_s: 0.0,
        reproduction_rate: None,
        attachment: None,
        series: Vec::new(),
    }
}

fn base_report(context: &CaseContext) -> CaseReport {
    let (mode, expected, expected_lines) = match &context.good {
        Some(_) => ("isolate", context.case.expected.isolated.clone(), None),
        None => (
            "minimize",
            context.case.expected.minimal.clone(),
            context.case.expected.lines.as_ref().map(|lines| {
                lines
                    .iter()
                    .map(|(module, numbers)| (module.clone(), numbers.clone()))
                    .collect()
            }),
        ),
    };
    CaseReport {
        name: context.case.name.clone(),
        path: context.folder.clone(),
        mode: mode.into(),
        expected: expected.map(sorted),
        expected_lines,
        ..error_report(&context.folder, "")
    }
}

fn unfinished_report(context: &CaseContext, reason: &str) -> CaseReport {
    CaseReport {
        status: Status::Unfinished,
        reason: Some(reason.into()),
        ..base_report(context)
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

async fn run_case(context: CaseContext) -> CaseReport {
    let mut report = base_report(&context);
    let started = Instant::now();
    let (mut finding, python) = match bisect_case(&context).await {
        Ok(found) => found,
        Err(err) => {
            report.status = Status::Error;
            report.reason = Some(err.words());
            report.wall_s = crate::trial::seconds(started.elapsed());
            return report;
        }
    };
    report.minimal = sorted(finding.first().minimal.clone());
    report.lines = kept_lines(&finding);
    report.trials = finding.trials;
    report.cache_hits = finding.cache_hits;
    report.wall_s = finding.wall_s;
    report.outcome = finding.first().outcome.as_ref().map(|o| o.brief());
    report.series = series(&finding);
    if let Some((status, reason)) = ended_early(&finding) {
        report.status = status;
        report.reason = Some(reason);
        report.minimal.clear();
        return report;
    }
    report.reproduction_rate = Some(finding.first().reproduction_rate.to_string());
    (report.status, report.reason) = judge(&report, context.previous.as_ref());

    // The attachment: kept from last night when nothing changed, written anew otherwise.
    let kept = context
        .previous
        .as_ref()
        .and_then(|p| p.attachment.clone())
        .filter(|dir| report.status == Status::Unchanged && dir.join("README.md").is_file());
    report.attachment = match kept {
        Some(dir) => Some(dir),
        None => attach(&context, &mut finding, &python, &mut report).await,
    };
    report
}

/// The case's interpreter (provisioned on first use), its trials' runner (here or on the
/// agents), and its bisection.
async fn bisect_case(context: &CaseContext) -> Result<(Finding, PathBuf), Error> {
    let python = {
        let (explicit, case) = (context.python.clone(), context.case.clone());
        tokio::task::spawn_blocking(move || crate::python::interpreter(explicit.as_deref(), &case))
            .await
            .unwrap_or_else(|err| Err(Error::infra(format!("interpreter set-up failed: {err}"))))
            .map_err(|err| Error::infra(err.words()))?
    };
    let trials: Arc<dyn Runner> = match &context.agents {
        Some(agents) => Arc::new(agents.for_case(&context.case, &python).await?),
        None => context.runner.clone(),
    };
    let interpreter = Interpreter::describe(python.clone()).await?;
    let finding = bisect::bisect(
        &context.case,
        context.good.as_ref(),
        trials,
        &interpreter,
        &context.settings,
    )
    .await?;
    Ok((finding, python))
}

/// A bisection that ended before a result: stopped by trouble outside the case (an
/// error), by the budget (unfinished), or a case that no longer reproduces (fixed).
fn ended_early(finding: &Finding) -> Option<(Status, String)> {
    match &finding.ending {
        Ending::Reproduces => None,
        Ending::DoesNotReproduce { reason } => Some((Status::Fixed, reason.clone())),
        Ending::Interrupted => Some((
            Status::Unfinished,
            format!(
                "stopped when the budget was spent, after {} trials",
                finding.trials
            ),
        )),
        Ending::Stopped(why) => Some((Status::Error, why.words())),
    }
}

/// The case's attachment, written and verified (on a trial slot: its launcher runs a
/// worker); what went wrong goes into the report.
async fn attach(
    context: &CaseContext,
    finding: &mut Finding,
    python: &Path,
    report: &mut CaseReport,
) -> Option<PathBuf> {
    let _slot = match &context.settings.gate {
        Some(gate) => gate.clone().acquire_owned().await.ok(),
        None => None,
    };
    let redactor = bisect::redactor_for(&context.case, context.good.as_ref(), false);
    let broker_url = context
        .runner
        .brokers
        .url_for(context.case.broker.as_deref());
    let broker_version = match context.runner.brokers.get(&broker_url).await {
        Ok(broker) => broker.version().map(str::to_string),
        Err(_) => None,
    };
    let request = attachment::Request {
        out: &context.out,
        case: &context.case,
        good: context.good.as_ref(),
        redactor: &redactor,
        python,
        broker_url: &broker_url,
        broker_version: broker_version.as_deref(),
    };
    match attachment::attach(finding, &request).await {
        Ok(written) => {
            if !written.verified {
                report.reason = Some(format!(
                    "{}the attachment's launcher did not reproduce the failure",
                    report.reason.take().map(|r| r + "; ").unwrap_or_default()
                ));
            }
            Some(written.dir)
        }
        Err(err) => {
            report.status = Status::Error;
            report.reason = Some(format!("cannot write the attachment: {err}"));
            None
        }
    }
}

/// Module → the line numbers its kept statements span, over every cause.
fn kept_lines(finding: &Finding) -> BTreeMap<String, Vec<u32>> {
    let mut lines: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for found in finding.causes.iter().filter_map(|c| c.lines.as_ref()) {
        for module in &found.modules {
            let numbers = lines.entry(module.module.clone()).or_default();
            for range in &module.lines {
                numbers.extend(range.start as u32..=range.end as u32);
            }
        }
    }
    lines
}

/// The status of a case that reproduced, against `[expected]` and last night. The lines of
/// the culprit modules count when they were reduced (statement-level reduction is on).
fn judge(report: &CaseReport, previous: Option<&CaseReport>) -> (Status, Option<String>) {
    if let Some(expected) = &report.expected
        && *expected != report.minimal
    {
        return (
            Status::Changed,
            Some(format!("expected {expected:?}, found {:?}", report.minimal)),
        );
    }
    if let Some(expected) = &report.expected_lines
        && !report.lines.is_empty()
        && *expected != report.lines
    {
        return (
            Status::Changed,
            Some(format!(
                "expected the lines {expected:?}, found {:?}",
                report.lines
            )),
        );
    }
    match previous {
        None => (Status::Reduced, None),
        Some(previous) => match previous.status {
            Status::Error | Status::Unfinished => (Status::Reduced, None),
            Status::Fixed => (
                Status::Changed,
                Some("fails again: the previous night it was fixed".into()),
            ),
            _ if sorted(previous.minimal.clone()) != report.minimal => (
                Status::Changed,
                Some(format!("the previous night found {:?}", previous.minimal)),
            ),
            _ if !previous.lines.is_empty()
                && !report.lines.is_empty()
                && previous.lines != report.lines =>
            {
                (
                    Status::Changed,
                    Some(format!(
                        "the previous night kept the lines {:?}",
                        previous.lines
                    )),
                )
            }
            _ => (Status::Unchanged, None),
        },
    }
}

fn series(finding: &Finding) -> Vec<TrialPoint> {
    finding
        .log
        .iter()
        .map(|trial| TrialPoint {
            elements: trial.elements.len(),
            seconds: trial.record.as_ref().map(|r| r.wall_s).unwrap_or(0.0),
            verdict: trial.verdict,
            recorded: trial.cache_hit,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(minimal: &[&str], expected: Option<&[&str]>, status: Status) -> CaseReport {
        CaseReport {
            status,
            minimal: minimal.iter().map(|s| s.to_string()).collect(),
            expected: expected.map(|e| e.iter().map(|s| s.to_string()).collect()),
            ..error_report(Path::new("/c/x"), "")
        }
    }

    #[test]
    fn statuses_compare_with_expected_then_with_last_night() {
        let tonight = report(&["env:A"], Some(&["env:A"]), Status::Reduced);
        assert_eq!(judge(&tonight, None).0, Status::Reduced);
        let last = report(&["env:A"], None, Status::Reduced);
        assert_eq!(judge(&tonight, Some(&last)).0, Status::Unchanged);
        let last = report(&["env:B"], None, Status::Unchanged);
        assert_eq!(judge(&tonight, Some(&last)).0, Status::Changed);
        let last = report(&[], None, Status::Fixed);
        assert_eq!(judge(&tonight, Some(&last)).0, Status::Changed);
        let unexpected = report(&["env:A"], Some(&["env:B"]), Status::Reduced);
        let (status, reason) = judge(&unexpected, None);
        assert_eq!(status, Status::Changed);
        assert!(reason.unwrap().contains("env:B"));
    }

    #[test]
    fn other_lines_than_expected_or_than_last_night_are_a_change() {
        let lines =
            |numbers: &[u32]| BTreeMap::from([("app.settings".to_string(), numbers.to_vec())]);
        let mut tonight = report(&["env:A"], Some(&["env:A"]), Status::Reduced);
        tonight.lines = lines(&[4, 8]);
        tonight.expected_lines = Some(lines(&[4, 8]));
        let mut last = report(&["env:A"], None, Status::Unchanged);
        last.lines = lines(&[4, 8]);
        assert_eq!(judge(&tonight, Some(&last)).0, Status::Unchanged);
        last.lines = lines(&[4, 9]);
        assert_eq!(judge(&tonight, Some(&last)).0, Status::Changed);
        tonight.expected_lines = Some(lines(&[4]));
        let (status, reason) = judge(&tonight, None);
        assert_eq!(status, Status::Changed);
        assert!(reason.unwrap().contains("lines"));
        // Without statement-level reduction (--no-lines), the lines are not compared.
        tonight.lines.clear();
        assert_eq!(judge(&tonight, None).0, Status::Reduced);
    }
}

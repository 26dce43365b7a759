//! A finding as its outputs show it, made once: the causes with their rows (each element,
//! its value, the trial without it), the entries of list values that matter, the
//! statements kept, the sentences. The terminal and the attachment's README lay this same
//! view out each in its own way (`finding.txt.j2`, `attachment/README.md.j2`), so they can
//! no longer tell a finding differently. Values are as the finding holds them: redacted.

use serde::Serialize;

use crate::bisect::lines::LinesFinding;
use crate::bisect::load::LoadFinding;
use crate::bisect::oracle::TrialRef;
use crate::bisect::{Cause, Ending, EntryFinding, Finding, FoundElement, Rate};
use crate::case::ElementKey;
use crate::case::space::Mode;
use crate::trial::Outcome;

#[derive(Debug, Serialize)]
pub struct FindingView {
    pub case: String,
    pub mode: Mode,
    pub reproduces: bool,
    /// Stopped before the end: by the user, a budget, or trouble (then `stopped` too).
    pub interrupted: bool,
    /// Stopped by trouble outside the configuration, not by the user.
    pub stopped: bool,
    pub reason: Option<String>,
    /// What the search reduced over: "5 elements", "3 differences from the good
    /// configuration".
    pub of: String,
    /// Elements of the result (so far, when interrupted).
    pub minimal: usize,
    /// The finding in one sentence: what fails, when, where it was stuck, how often.
    pub sentence: String,
    pub outcome: Option<OutcomeView>,
    pub causes: Vec<CauseView>,
    pub kept: Vec<String>,
    /// Messages each trial sent, and whether they were the launch's own, replayed.
    pub messages: u32,
    pub replay: bool,
    /// The load the failure needs, in words (`--reduce-messages`).
    pub load: Option<String>,
    pub trials: u32,
    pub recorded: u32,
    pub cache_hits: u32,
    pub elements_total: usize,
    pub reducible: usize,
    /// Seconds, as shown: one decimal.
    pub wall: String,
    pub timeout: String,
    pub reproduction_rate: Rate,
    pub attachment: Option<AttachmentView>,
}

/// An outcome as a report line: "PENDING", "not processed within 8.0s, …".
#[derive(Debug, Serialize)]
pub struct OutcomeView {
    pub kind: String,
    pub summary: String,
}

#[derive(Debug, Serialize)]
pub struct CauseView {
    /// From 1, in the order the causes were found.
    pub number: usize,
    /// Its elements, prerequisites included, and how many of them are prerequisites.
    pub size: usize,
    pub prerequisites: usize,
    pub rows: Vec<ElementRow>,
    /// Whether trials show why each element is there; then `with` is the trial with all of
    /// them (`None`: not run).
    pub evidence: bool,
    pub with: Option<String>,
    pub entries: Vec<EntriesView>,
    pub outcome: Option<OutcomeView>,
    pub one_minimal: bool,
    pub reproduction_rate: Rate,
    pub lines: Option<LinesView>,
}

/// One element of a cause, in the cause's order.
#[derive(Debug, Serialize)]
pub struct ElementRow {
    pub name: String,
    pub value: Option<String>,
    /// An env var the failing side leaves unset (isolate mode).
    pub unset: bool,
    /// Needed to see the failure, not shown to cause it.
    pub prerequisite: bool,
    /// Whether a trial shows why it is there; then `without` is the trial without it
    /// (`None`: not run).
    pub evidence: bool,
    pub without: Option<String>,
}

/// The entries of a list value that a cause needs, and the trial without each.
#[derive(Debug, Serialize)]
pub struct EntriesView {
    pub element: String,
    pub kept: Vec<String>,
    pub of: usize,
    pub evidence: Vec<EntryEvidence>,
}

#[derive(Debug, Serialize)]
pub struct EntryEvidence {
    pub entry: String,
    pub without: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LinesView {
    pub modules: Vec<ModuleView>,
    /// Where the reduction stopped before the end, and why.
    pub notes: Vec<String>,
}

/// The statements of one culprit module that the cause needs.
#[derive(Debug, Serialize)]
pub struct ModuleView {
    pub module: String,
    pub file: String,
    pub kept: usize,
    pub statements: usize,
    pub one_minimal: bool,
    pub trials: u32,
    pub ranges: Vec<RangeView>,
}

/// A run of kept lines: "settings.py:10-12", and their text.
#[derive(Debug, Serialize)]
pub struct RangeView {
    pub label: String,
    pub text: String,
}

/// The attachment written for the finding, as the terminal mentions it.
#[derive(Debug, Serialize)]
pub struct AttachmentView {
    pub dir: String,
    /// Its launcher reproduced the failure.
    pub verified: bool,
    /// Whether minimal_worker.py reproduced on its own (`None`: there is none).
    pub one_file: Option<bool>,
    pub size: Option<SizeView>,
}

#[derive(Debug, Serialize)]
pub struct SizeView {
    pub files: usize,
    /// "49 kB".
    pub bytes: String,
    pub tarball: String,
}

impl FindingView {
    pub fn of(finding: &Finding) -> FindingView {
        let first = finding.first();
        let of = match finding.mode {
            Mode::Minimize => format!("{} elements", finding.reducible),
            Mode::Isolate => format!(
                "{} differences from the good configuration",
                finding.reducible
            ),
        };
        FindingView {
            case: finding.case.clone(),
            mode: finding.mode,
            reproduces: finding.ending.reproduces(),
            interrupted: matches!(finding.ending, Ending::Interrupted | Ending::Stopped(_)),
            stopped: matches!(finding.ending, Ending::Stopped(_)),
            reason: finding.ending.reason(),
            of,
            minimal: first.minimal.len(),
            sentence: sentence(first),
            outcome: first.outcome.as_ref().map(OutcomeView::of),
            causes: finding
                .causes
                .iter()
                .enumerate()
                .map(|(index, cause)| CauseView::of(index + 1, cause))
                .collect(),
            kept: finding.kept.clone(),
            messages: finding.messages,
            replay: finding.probe == "replay",
            load: finding
                .load
                .as_ref()
                .map(|load| load_sentence(finding.messages, load)),
            trials: finding.trials,
            recorded: finding.recorded,
            cache_hits: finding.cache_hits,
            elements_total: finding.elements_total,
            reducible: finding.reducible,
            wall: format!("{:.1}", finding.wall_s),
            timeout: format!("{:.1}", finding.timeout_s),
            reproduction_rate: first.reproduction_rate,
            attachment: AttachmentView::of(finding),
        }
    }
}

impl OutcomeView {
    fn of(outcome: &Outcome) -> OutcomeView {
        OutcomeView {
            kind: outcome.kind().to_uppercase(),
            summary: outcome.summary(),
        }
    }
}

/// "processed in 0.11s (trial 14)"
fn trial_text(trial: &Option<TrialRef>) -> Option<String> {
    trial.as_ref().map(TrialRef::to_string)
}

impl CauseView {
    fn of(number: usize, cause: &Cause) -> CauseView {
        let with = cause.evidence.first().map(|e| &e.with);
        CauseView {
            number,
            size: cause.minimal.len(),
            prerequisites: cause.prerequisites.len(),
            rows: cause
                .elements
                .iter()
                .map(|element| ElementRow::of(element, cause))
                .collect(),
            evidence: with.is_some(),
            with: with.and_then(trial_text),
            entries: cause.entries.iter().map(EntriesView::of).collect(),
            outcome: cause.outcome.as_ref().map(OutcomeView::of),
            one_minimal: cause.one_minimal,
            reproduction_rate: cause.reproduction_rate,
            lines: cause.lines.as_ref().map(LinesView::of),
        }
    }
}

impl ElementRow {
    fn of(element: &FoundElement, cause: &Cause) -> ElementRow {
        let evidence = cause.evidence.iter().find(|e| e.element == element.name);
        ElementRow {
            name: element.name.clone(),
            value: element.value.clone(),
            unset: element.value.is_none()
                && matches!(ElementKey::parse(&element.name), Some(ElementKey::Env(_))),
            prerequisite: cause.prerequisites.contains(&element.name),
            evidence: evidence.is_some(),
            without: evidence.and_then(|e| trial_text(&e.without)),
        }
    }
}

impl EntriesView {
    fn of(entries: &EntryFinding) -> EntriesView {
        EntriesView {
            element: entries.element.clone(),
            kept: entries.kept.clone(),
            of: entries.of,
            evidence: entries
                .evidence
                .iter()
                .map(|e| EntryEvidence {
                    entry: e.element.clone(),
                    without: trial_text(&e.without),
                })
                .collect(),
        }
    }
}

impl LinesView {
    fn of(found: &LinesFinding) -> LinesView {
        LinesView {
            modules: found
                .modules
                .iter()
                .map(|module| ModuleView {
                    module: module.module.clone(),
                    file: module.file.clone(),
                    kept: module.kept,
                    statements: module.statements,
                    one_minimal: module.one_minimal,
                    trials: module.trials,
                    ranges: module
                        .lines
                        .iter()
                        .map(|range| RangeView {
                            label: format!("{}:{range}", module.file),
                            text: range.text.clone(),
                        })
                        .collect(),
                })
                .collect(),
            notes: found.notes.clone(),
        }
    }
}

impl AttachmentView {
    fn of(finding: &Finding) -> Option<AttachmentView> {
        let dir = finding.attachment.as_ref()?;
        Some(AttachmentView {
            dir: dir.display().to_string(),
            verified: finding.attachment_verified == Some(true),
            one_file: finding.minimal_worker_reproduces,
            size: finding.attachment_size.map(|size| SizeView {
                files: size.files,
                bytes: kilobytes(size.bytes),
                tarball: kilobytes(size.tarball_bytes),
            }),
        })
    }
}

fn kilobytes(bytes: u64) -> String {
    format!("{:.0} kB", (bytes as f64 / 1000.0).ceil())
}

/// The load a failure needs, in words.
fn load_sentence(messages: u32, load: &LoadFinding) -> String {
    match load.passes_up_to {
        None => format!(
            "the load does not matter: one message shows the failure as well as {messages} ({} trials)",
            load.trials
        ),
        Some(passes) => format!(
            "the failure needs load: it shows with {} messages, not with {passes} ({} trials, of {messages} sent)",
            load.fails_from, load.trials
        ),
    }
}

/// "The worker stays PENDING … when `X=1` is set and `app.settings` is imported; …": the
/// finding's result, its first cause.
fn sentence(cause: &Cause) -> String {
    format!(
        "{}{}{}; reproduced in {} runs.",
        what_fails(cause.outcome.as_ref()),
        conditions(cause),
        where_it_stopped(cause.outcome.as_ref()),
        cause.reproduction_rate
    )
}

/// "The worker stays PENDING (it never processes the probe message)"
fn what_fails(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::Pending {
            messages,
            processed,
            ..
        }) if *messages > 1 => format!(
            "Under a load of {messages} messages, the worker stalls: {processed} are processed, the rest stay PENDING"
        ),
        Some(Outcome::Pending { .. }) => {
            "The worker stays PENDING (it never processes the probe message)".to_string()
        }
        Some(Outcome::Crash { signature, .. }) => {
            format!("The worker crashes before it processes anything (`{signature}`)")
        }
        Some(other) => format!("The worker ends {}", other.kind()),
        None => "The worker fails".to_string(),
    }
}

/// " when `X=1` is set and `app.settings` is imported (given what it needs to run at all:
/// …)": the cause's elements, its prerequisites apart.
fn conditions(cause: &Cause) -> String {
    let describe = |element: &FoundElement| {
        let entries = cause.entries.iter().find(|e| e.element == element.name);
        describe(element, entries)
    };
    let (prerequisites, causes): (Vec<_>, Vec<_>) = cause
        .elements
        .iter()
        .partition(|e| cause.prerequisites.contains(&e.name));
    let conditions: Vec<String> = causes.into_iter().map(describe).collect();
    let when = match conditions.as_slice() {
        [] => " with nothing but the kept elements".to_string(),
        [one] => format!(" when {one}"),
        [first @ .., last] => format!(" when {} and {last}", first.join(", ")),
    };
    if prerequisites.is_empty() {
        return when;
    }
    let needed: Vec<String> = prerequisites.into_iter().map(describe).collect();
    format!(
        "{when} (given what it needs to run at all: {})",
        needed.join(", ")
    )
}

/// "`X=1` is set", "`app.settings` is imported", "`PYTHONPATH` holds `a` and `b`".
fn describe(element: &FoundElement, entries: Option<&EntryFinding>) -> String {
    let kept = entries.map(|entries| {
        let list: Vec<String> = entries.kept.iter().map(|k| format!("`{k}`")).collect();
        list.join(" and ")
    });
    match (ElementKey::parse(&element.name), &element.value, kept) {
        (Some(ElementKey::Env(key)), _, Some(kept)) => format!("`{key}` holds {kept}"),
        (Some(ElementKey::Import(key) | ElementKey::Option(key)), _, Some(kept)) => {
            format!("`{key}` includes {kept}")
        }
        (Some(ElementKey::Env(key)), Some(value), None) => format!("`{key}={value}` is set"),
        (Some(ElementKey::Env(key)), None, None) => format!("`{key}` is unset"),
        (Some(ElementKey::Import(module)), _, None) => format!("`{module}` is imported"),
        (Some(ElementKey::Option(option)), Some(value), None) => {
            format!("the option `{option}` is `{value}`")
        }
        _ => format!("`{}`", element.name),
    }
}

/// "; it was stuck at `worker:started`, consuming the probe queue", "; it died at …".
fn where_it_stopped(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::Pending {
            stage, consumers, ..
        }) => {
            let consumer = match consumers {
                Some(0) => ", with no consumer on the probe queue",
                Some(_) => ", consuming the probe queue",
                None => ", before it declared the probe queue",
            };
            format!(
                "; it was stuck at `{}`{consumer}",
                stage.as_deref().unwrap_or("start-up")
            )
        }
        Some(Outcome::Crash {
            stage: Some(stage), ..
        }) => format!("; it died at `{stage}`"),
        _ => String::new(),
    }
}

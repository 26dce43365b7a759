//! What a bisection found, as the terminal, the JSON output and the attachment read it.

use std::fmt;

use serde::{Serialize, Serializer};

use super::events::LoggedTrial;
use super::lines;
use super::load;
use super::oracle::Evidence;
use crate::case::Config;
use crate::case::space::Mode;
use crate::error::Error;
use crate::trial::{Outcome, TrialRecord};

/// How big an attachment came out.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AttachmentSize {
    pub files: usize,
    pub bytes: u64,
    pub tarball_bytes: u64,
}

/// How many of a cause's fresh runs failed: "3/3", or "7/10" for a flaky failure. Kept as
/// numbers so that no reader has to parse them back; written as that text everywhere (the
/// JSON's `reproduction_rate` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub fails: u32,
    pub runs: u32,
}

impl Rate {
    /// The rate of a stand-in cause, one that no fresh run confirmed (the bisection was
    /// interrupted, or the case does not reproduce): "0/0".
    pub const UNMEASURED: Rate = Rate { fails: 0, runs: 0 };
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.fails, self.runs)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// One element of the result, with the value it has there (secrets redacted).
#[derive(Debug, Clone)]
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
    pub reproduction_rate: Rate,
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

/// How a bisection ended: with its causes, or early, and why.
#[derive(Debug, Clone)]
pub enum Ending {
    /// Every stage ran and the causes showed the failure in fresh runs.
    Reproduces,
    /// The case does not show the expected failure (the full configuration passes, the good
    /// side does not work, no cause held up in fresh runs); the first cause is a stand-in.
    DoesNotReproduce { reason: String },
    /// Stopped by the user (Ctrl-C) or a spent budget; the first cause is the smallest
    /// failing configuration seen so far.
    Interrupted,
    /// Stopped by trouble outside the configuration (a broker that stayed away), as
    /// [`Ending::Interrupted`] otherwise; `minrepro bisect` exits with this error.
    Stopped(Error),
}

impl Ending {
    pub fn reproduces(&self) -> bool {
        matches!(self, Ending::Reproduces)
    }

    /// Why the case does not reproduce, or why the bisection stopped early (the JSON's
    /// `reason`); `None` when it reproduces.
    pub fn reason(&self) -> Option<String> {
        let stopped_by = match self {
            Ending::Reproduces => return None,
            Ending::DoesNotReproduce { reason } => return Some(reason.clone()),
            Ending::Interrupted => "interrupted".to_string(),
            Ending::Stopped(err) => err.to_string(),
        };
        Some(format!(
            "{stopped_by}: the result is the smallest failing configuration found so far; run again to resume"
        ))
    }
}

/// Everything a bisection found, for the terminal, the JSON output (which lays it out as
/// docs/SPEC.md §5 says: `report::json`) and the attachment.
#[derive(Debug, Clone)]
pub struct Finding {
    pub case: String,
    pub mode: Mode,
    pub ending: Ending,
    pub kept: Vec<String>,
    pub elements_total: usize,
    /// Elements the search reduced over (in isolate mode: the differences).
    pub reducible: usize,
    /// The full configuration's own outcome.
    pub full_outcome: Option<Outcome>,
    /// Trials that ran (fresh verdicts).
    pub trials: u32,
    /// Verdicts answered from this bisection's own earlier verdicts.
    pub cache_hits: u32,
    /// Verdicts answered from outcomes recorded by earlier runs.
    pub recorded: u32,
    pub wall_s: f64,
    pub timeout_s: f64,
    pub attachment: Option<std::path::PathBuf>,
    pub attachment_verified: Option<bool>,
    /// Whether the attachment's minimal_worker.py reproduced on its own when it was run.
    pub minimal_worker_reproduces: Option<bool>,
    /// The attachment's size: files, their bytes, the tarball's bytes.
    pub attachment_size: Option<AttachmentSize>,
    /// Every independent cause, in the order they were found. Never empty: when none was
    /// found (the case does not reproduce, or the bisection stopped first), the smallest
    /// failing configuration seen stands in for the first, so that every output has a
    /// result to show. The first is the result: [`Finding::first`].
    pub causes: Vec<Cause>,
    /// Messages per trial: minrepro's probe messages, or the launch's own replayed.
    pub messages: u32,
    /// What each trial sends: "replay" (the launch's own messages, where they were sent) or
    /// "probe" (minrepro's, for a case that holds none).
    pub probe: &'static str,
    /// With `--reduce-messages`: the fewest messages that still show the first cause's
    /// failure.
    pub load: Option<load::LoadFinding>,
    pub log: Vec<LoggedTrial>,
}

impl Finding {
    /// The first cause: the result the terminal leads with, the attachment reproduces and
    /// the JSON repeats at its top level (when the bisection ended early, its stand-in).
    pub fn first(&self) -> &Cause {
        self.causes
            .first()
            .expect("a finding has at least one cause")
    }
}

//! The reducer: finds a smallest failing subset of a configuration's elements, seeing
//! nothing but verdicts. It never touches a process or a broker, so it is unit-tested and
//! benchmarked on synthetic oracles in milliseconds (`minrepro bench`).
//!
//! Layers, from the bottom:
//! - [`Oracle`]: runs single trials (a real worker, or a synthetic rule), possibly several at
//!   once, and reports each one's verdict as it finishes.
//! - [`engine::Engine`]: turns trials into probes: the verdict cache, re-runs of passes for
//!   flaky failures, the count of trials and cache hits, `--jobs` slots.
//! - [`search`]: the strategy: a binary search for the last needed element of a prefix,
//!   repeated per culprit, then a certificate that the result is 1-minimal.

pub mod ddmin;
pub mod engine;
pub mod search;
pub mod synthetic;

use std::fmt;

/// A subset of the reducible elements, as sorted indices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Variant(Vec<u32>);

impl Variant {
    pub fn new(mut indices: Vec<u32>) -> Variant {
        indices.sort_unstable();
        indices.dedup();
        Variant(indices)
    }

    /// Elements `0..n`.
    pub fn full(n: usize) -> Variant {
        Variant((0..n as u32).collect())
    }

    pub fn empty() -> Variant {
        Variant(Vec::new())
    }

    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, index: u32) -> bool {
        self.0.binary_search(&index).is_ok()
    }

    pub fn without(&self, index: u32) -> Variant {
        Variant(self.0.iter().copied().filter(|i| *i != index).collect())
    }

    pub fn union(&self, other: &Variant) -> Variant {
        Variant::new(self.0.iter().chain(other.0.iter()).copied().collect())
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// What one trial, or a probe made of several, says about a variant: the three outcomes of
/// Zeller's ddmin. The search reduces on `Fail` alone; `Pass` and `Unresolved` both mean
/// "not this failure", but only a pass shows the failure gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It shows the failure.
    Fail,
    /// It does not fail at all (the worker processed the probe).
    Pass,
    /// It fails differently (another kind, another crash signature): whether the failure
    /// would show is not known.
    Unresolved,
}

impl Verdict {
    pub fn fails(self) -> bool {
        self == Verdict::Fail
    }
}

/// Names one trial an oracle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrialId(pub u64);

/// What an oracle reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OracleEvent {
    Finished(TrialId, Verdict),
    /// The trial has run longer than passing trials take: it will most likely fail. The
    /// search may plan on that, but decides only on verdicts.
    Overdue(TrialId),
}

/// Why a reduction stopped before its end.
#[derive(Debug)]
pub enum Stop {
    /// The oracle could not run a trial (the broker, the interpreter, a configuration no
    /// worker can run).
    Error(crate::error::Error),
    Interrupted,
    /// A trial budget set for one part of the work was spent: that part ends with the
    /// smallest failing variant it saw.
    Budget,
}

/// How a started trial will be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// A trial runs.
    Running,
    /// The oracle answers from its own records (a verdict cache kept on disk): no trial.
    Recorded,
}

/// Runs trials of variants. Implementations: the real trial runner, synthetic rules.
pub trait Oracle {
    /// How many trials may run at once.
    fn capacity(&self) -> usize;
    /// Starts a trial of `variant`; its verdict comes through `next_event`.
    fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop>;
    /// Waits for the next event of a started trial.
    fn next_event(&mut self) -> Result<OracleEvent, Stop>;
    /// Stops a running trial whose verdict is no longer needed.
    fn cancel(&mut self, trial: TrialId);
    /// Whether a trial of `variant` would be answered from the oracle's records.
    fn has_record(&self, _variant: &Variant) -> bool {
        false
    }
}

//! From an outcome and what the case expects to a verdict: the same failure, none, or
//! another one. In one place, between the case (what it expects) and the trial (what
//! happened), so that neither depends on the other.

use crate::case::Expect;
use crate::reduce::Verdict;
use crate::trial::{Failure, Outcome};

/// Whether `outcome` counts as the failure `expect` asks for, given the full
/// configuration's own failure (`reference`; `None` when it is not known yet, as in a
/// single `run`).
pub fn shows(expect: Expect, outcome: &Outcome, reference: Option<&Failure>) -> bool {
    let Some(failure) = outcome.failure() else {
        return false;
    };
    match expect {
        Expect::AnyFailure => true,
        Expect::Pending => matches!(failure, Failure::Pending { .. }),
        Expect::Crash => matches!(failure, Failure::Crash { .. }),
        Expect::Discarded => matches!(failure, Failure::Discarded { .. }),
        Expect::Same => reference.is_none_or(|reference| *reference == failure),
    }
}

/// Decides whether an outcome shows "the same failure".
#[derive(Debug, Clone)]
pub struct Judge {
    pub expect: Expect,
    /// The full configuration's own failure, once known.
    pub reference: Option<Failure>,
}

impl Judge {
    /// The failure (`Fail`), none (`Pass`: processed), or another failure (`Unresolved`):
    /// a worker that crashes for a reason of its own says nothing about this failure.
    pub fn verdict(&self, outcome: &Outcome) -> Verdict {
        if shows(self.expect, outcome, self.reference.as_ref()) {
            Verdict::Fail
        } else if outcome.failure().is_none() {
            Verdict::Pass
        } else {
            Verdict::Unresolved
        }
    }
}

//! Synthetic oracles: rules over element indices standing in for real trials, for the
//! reducer's unit tests and `minrepro bench`. A simulated clock gives failing trials the
//! cost of a hang and passing ones the cost of a quick start, so that parallel schedules
//! can be compared on the time they would take, not only on trial counts.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::{Oracle, OracleEvent, Started, Stop, TrialId, Variant, Verdict};
use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// All culprits are needed.
    And,
    /// Any one culprit suffices.
    Or,
    /// All culprits are needed, but one more element hides the failure unless a second one
    /// is present too; both are in the full configuration. Not monotone.
    Masked,
    /// All culprits are needed, and then the failure shows with probability 1/2.
    Flaky,
    /// Two disjoint culprit sets of k each, either one enough: two independent causes.
    TwoCauses,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::And,
        Kind::Or,
        Kind::Masked,
        Kind::Flaky,
        Kind::TwoCauses,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::And => "and",
            Kind::Or => "or",
            Kind::Masked => "masked",
            Kind::Flaky => "flaky",
            Kind::TwoCauses => "two-causes",
        }
    }
}

/// One synthetic case: which elements matter and how.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub kind: Kind,
    pub n: usize,
    pub seed: u64,
    pub culprits: Vec<u32>,
    /// For `Masked`: the element that hides the failure, and the one that lifts that.
    pub masker: Option<(u32, u32)>,
    /// For `TwoCauses`: the second culprit set.
    pub second: Vec<u32>,
}

impl Scenario {
    pub fn new(kind: Kind, n: usize, k: usize, seed: u64) -> Scenario {
        let mut rng = StdRng::seed_from_u64(seed ^ ((n as u64) << 20) ^ ((k as u64) << 40));
        let extra = match kind {
            Kind::Masked => 2,
            Kind::TwoCauses => k,
            _ => 0,
        };
        let picked: Vec<u32> = rand::seq::index::sample(&mut rng, n, k + extra)
            .into_iter()
            .map(|i| i as u32)
            .collect();
        let mut culprits = picked[..k].to_vec();
        culprits.sort_unstable();
        let mut second = if kind == Kind::TwoCauses {
            picked[k..2 * k].to_vec()
        } else {
            Vec::new()
        };
        second.sort_unstable();
        Scenario {
            kind,
            n,
            seed,
            culprits,
            masker: (kind == Kind::Masked).then(|| (picked[k], picked[k + 1])),
            second,
        }
    }

    /// Whether `variant` shows the failure (for `Flaky`, before the coin).
    pub fn triggers(&self, variant: &Variant) -> bool {
        let all = self.culprits.iter().all(|c| variant.contains(*c));
        match self.kind {
            Kind::And | Kind::Flaky => all,
            Kind::TwoCauses => all || self.second.iter().all(|c| variant.contains(*c)),
            Kind::Or => self.culprits.iter().any(|c| variant.contains(*c)),
            Kind::Masked => {
                let (masker, unmasker) = self.masker.expect("masked scenarios have a masker");
                all && (!variant.contains(masker) || variant.contains(unmasker))
            }
        }
    }

    /// Whether `found` is one of the right answers for a single cause (what ddmin gives).
    pub fn is_a_cause(&self, found: &Variant) -> bool {
        match self.kind {
            Kind::TwoCauses => {
                found.indices() == self.culprits.as_slice()
                    || found.indices() == self.second.as_slice()
            }
            _ => self.is_correct(std::slice::from_ref(found)),
        }
    }

    /// Whether the causes found are the right answer: the culprits, for `Or` any one of
    /// them, for `TwoCauses` both culprit sets.
    pub fn is_correct(&self, found: &[Variant]) -> bool {
        match (self.kind, found) {
            (Kind::Or, [one]) => one.len() == 1 && self.culprits.contains(&one.indices()[0]),
            (Kind::TwoCauses, [a, b]) => {
                let (a, b) = (a.indices(), b.indices());
                (a == self.culprits.as_slice() && b == self.second.as_slice())
                    || (b == self.culprits.as_slice() && a == self.second.as_slice())
            }
            (Kind::And | Kind::Masked | Kind::Flaky, [one]) => {
                one.indices() == self.culprits.as_slice()
            }
            _ => false,
        }
    }
}

/// Simulated costs of a trial, in arbitrary time units.
#[derive(Debug, Clone, Copy)]
pub struct Costs {
    pub pass: u64,
    pub fail: u64,
    /// A running trial is reported overdue after this long.
    pub overdue_after: u64,
}

impl Costs {
    /// Hangs: a failing trial waits out the timeout (3 s) where a pass takes 0.15 s.
    pub const HANG: Costs = Costs {
        pass: 15,
        fail: 300,
        overdue_after: 45,
    };
}

/// Trials on a simulated clock: each ends after its cost, and is said overdue once it has
/// run `overdue_after` without ending.
pub struct Clock {
    now: u64,
    overdue_after: u64,
    /// Running trials: when they started and end, their verdict, whether overdue was said.
    running: BTreeMap<TrialId, (u64, u64, Verdict, bool)>,
}

impl Clock {
    pub fn new(overdue_after: u64) -> Clock {
        Clock {
            now: 0,
            overdue_after,
            running: BTreeMap::new(),
        }
    }

    pub fn start(&mut self, trial: TrialId, verdict: Verdict, cost: u64) {
        self.running
            .insert(trial, (self.now, self.now + cost, verdict, false));
    }

    /// The earliest of: a trial ending, a trial becoming overdue.
    pub fn next_event(&mut self) -> Result<OracleEvent, Stop> {
        let overdue_after = self.overdue_after;
        let ending = self
            .running
            .iter()
            .map(|(id, (_, end, _, _))| (*end, *id, false));
        let overdue = self
            .running
            .iter()
            .filter(|(_, (start, end, _, said))| !said && start + overdue_after < *end)
            .map(|(id, (start, _, _, _))| (start + overdue_after, *id, true));
        let Some((at, id, is_overdue)) = ending.chain(overdue).min() else {
            return Err(Stop::Error(Error::infra("no synthetic trial is running")));
        };
        self.now = self.now.max(at);
        if is_overdue {
            self.running.get_mut(&id).expect("running").3 = true;
            return Ok(OracleEvent::Overdue(id));
        }
        let (_, _, verdict, _) = self.running.remove(&id).expect("running");
        Ok(OracleEvent::Finished(id, verdict))
    }

    pub fn cancel(&mut self, trial: TrialId) {
        self.running.remove(&trial);
    }

    pub fn elapsed(&self) -> u64 {
        self.now
    }
}

pub struct SyntheticOracle {
    scenario: Scenario,
    rng: StdRng,
    capacity: usize,
    costs: Costs,
    clock: Clock,
}

impl SyntheticOracle {
    pub fn new(scenario: Scenario, capacity: usize, costs: Costs) -> SyntheticOracle {
        let rng = StdRng::seed_from_u64(scenario.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        SyntheticOracle {
            scenario,
            rng,
            capacity,
            costs,
            clock: Clock::new(costs.overdue_after),
        }
    }

    /// Simulated time spent so far.
    pub fn elapsed(&self) -> u64 {
        self.clock.elapsed()
    }
}

impl Oracle for SyntheticOracle {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop> {
        let mut fails = self.scenario.triggers(variant);
        if fails && self.scenario.kind == Kind::Flaky {
            fails = self.rng.random_bool(0.5);
        }
        let (verdict, cost) = if fails {
            (Verdict::Fail, self.costs.fail)
        } else {
            (Verdict::Pass, self.costs.pass)
        };
        self.clock.start(trial, verdict, cost);
        Ok(Started::Running)
    }

    fn next_event(&mut self) -> Result<OracleEvent, Stop> {
        self.clock.next_event()
    }

    fn cancel(&mut self, trial: TrialId) {
        self.clock.cancel(trial);
    }
}

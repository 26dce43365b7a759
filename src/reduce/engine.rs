//! Probes on top of trials: a verdict cache keyed by the variant, re-runs of passes for
//! flaky failures (a reproduction is conclusive, a pass is not), a bounded number of
//! trials in flight, and the counts a user sees (trials, cache hits).

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Oracle, OracleEvent, Started, Stop, TrialId, Variant, Verdict};
use crate::error::Error;

/// Names one probe: the question "does this variant fail?", answered by one or more trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeEvent {
    Resolved(ProbeId, Verdict),
    /// The probe's trial runs longer than a pass would: it most likely fails.
    Overdue(ProbeId),
}

/// What the reduction has spent so far, for progress displays and reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Trials started (cancelled ones included: they ran).
    pub trials: u32,
    /// Verdicts answered from this reduction's own earlier answers, without a trial.
    pub cache_hits: u32,
    /// Verdicts answered from outcomes an earlier run recorded (the oracle's records).
    pub recorded: u32,
    /// Trials stopped because their verdict was no longer needed.
    pub cancelled: u32,
    /// Elements still in question: candidates left plus culprits found.
    pub elements_left: usize,
}

struct Probe {
    variant: Variant,
    /// Trials so far that did not fail.
    passes: u32,
    /// Whether one of them passed outright (not only failed differently).
    passed: bool,
    /// The running trial, or `None` while waiting for a slot.
    trial: Option<TrialId>,
    /// Probes of the same variant submitted meanwhile: they share this one's trials.
    followers: Vec<ProbeId>,
}

/// What is known of a variant: it failed, or it did not fail this many times (and then
/// how: `Pass` if one of those runs passed outright, else `Unresolved`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Failed,
    NotFailed(u32, Verdict),
}

type Observer<'a> = Box<dyn FnMut(&Stats) + 'a>;

pub struct Engine<'a, O: Oracle> {
    oracle: &'a mut O,
    /// A variant is called passing after this many passing trials in a row.
    runs_to_pass: u32,
    cache: HashMap<Variant, Known>,
    probes: HashMap<ProbeId, Probe>,
    trials: HashMap<TrialId, ProbeId>,
    waiting_for_slot: VecDeque<ProbeId>,
    ready: VecDeque<ProbeEvent>,
    next_probe: u64,
    next_trial: u64,
    stats: Stats,
    observer: Option<Observer<'a>>,
}

impl<'a, O: Oracle> Engine<'a, O> {
    pub fn new(oracle: &'a mut O, runs_to_pass: u32) -> Self {
        Engine {
            oracle,
            runs_to_pass: runs_to_pass.max(1),
            cache: HashMap::new(),
            probes: HashMap::new(),
            trials: HashMap::new(),
            waiting_for_slot: VecDeque::new(),
            ready: VecDeque::new(),
            next_probe: 0,
            next_trial: 0,
            stats: Stats::default(),
            observer: None,
        }
    }

    /// The oracle, between questions (no probe may be in flight).
    pub fn oracle(&mut self) -> &mut O {
        self.oracle
    }

    /// Called after every change of the counts (progress displays).
    pub fn observe(&mut self, observer: impl FnMut(&Stats) + 'a) {
        self.observer = Some(Box::new(observer));
    }

    /// Forgets every verdict: the variants are about to mean something else (a new space
    /// of the same oracle). No probe may be in flight.
    pub fn forget(&mut self) {
        debug_assert!(
            self.probes.is_empty(),
            "forget() while probes are in flight"
        );
        self.cache.clear();
    }

    /// Records a verdict known from elsewhere (the full configuration, checked before).
    pub fn know(&mut self, variant: Variant, verdict: Verdict) {
        let known = match verdict {
            Verdict::Fail => Known::Failed,
            other => Known::NotFailed(self.runs_to_pass, other),
        };
        self.cache.insert(variant, known);
    }

    pub fn runs_to_pass(&self) -> u32 {
        self.runs_to_pass
    }

    /// Demands more (or fewer) passing runs before a pass is believed from now on; passes
    /// already cached with fewer runs are run again when asked.
    pub fn set_runs_to_pass(&mut self, runs: u32) {
        self.runs_to_pass = runs.max(1);
    }

    fn cached(&self, variant: &Variant) -> Option<Verdict> {
        match self.cache.get(variant)? {
            Known::Failed => Some(Verdict::Fail),
            Known::NotFailed(runs, how) if *runs >= self.runs_to_pass => Some(*how),
            Known::NotFailed(..) => None,
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn set_elements_left(&mut self, left: usize) {
        if self.stats.elements_left != left {
            self.stats.elements_left = left;
            self.notify();
        }
    }

    pub fn capacity(&self) -> usize {
        self.oracle.capacity().max(1)
    }

    /// Probes that could start now without waiting for a slot.
    pub fn free_slots(&self) -> usize {
        self.capacity().saturating_sub(self.probes.len())
    }

    /// The smallest variant known to fail.
    pub fn smallest_failing(&self) -> Option<&Variant> {
        self.cache
            .iter()
            .filter(|(_, known)| **known == Known::Failed)
            .map(|(variant, _)| variant)
            .min_by_key(|v| (v.len(), (*v).clone()))
    }

    fn notify(&mut self) {
        if let Some(observer) = &mut self.observer {
            observer(&self.stats);
        }
    }

    /// Asks whether `variant` fails. The answer arrives through [`Engine::wait`], at once
    /// when it is cached.
    pub fn submit(&mut self, variant: Variant) -> Result<ProbeId, Stop> {
        let id = ProbeId(self.next_probe);
        self.next_probe += 1;
        if let Some(verdict) = self.cached(&variant) {
            self.stats.cache_hits += 1;
            self.ready.push_back(ProbeEvent::Resolved(id, verdict));
            self.notify();
            return Ok(id);
        }
        if let Some(leader) = self.probes.values_mut().find(|p| p.variant == variant) {
            leader.followers.push(id);
            self.stats.cache_hits += 1;
            self.notify();
            return Ok(id);
        }
        let (passes, passed) = match self.cache.get(&variant) {
            Some(Known::NotFailed(runs, how)) => (*runs, *how == Verdict::Pass),
            _ => (0, false),
        };
        self.probes.insert(
            id,
            Probe {
                variant,
                passes,
                passed,
                trial: None,
                followers: Vec::new(),
            },
        );
        self.waiting_for_slot.push_back(id);
        Ok(id)
    }

    fn count(&mut self, started: Started) {
        match started {
            Started::Running => self.stats.trials += 1,
            Started::Recorded => self.stats.recorded += 1,
        }
        self.notify();
    }

    fn running_trials(&self) -> usize {
        self.trials.len()
    }

    /// Starts waiting probes while slots are free. Trials start only when the search waits,
    /// and an answer the oracle had on record stops the filling: the search sees it first
    /// and may withdraw the other waiting probes before they cost a trial.
    fn fill_slots(&mut self) -> Result<(), Stop> {
        // Answers on record first: they cost nothing and may make the rest unnecessary.
        let recorded = self.waiting_for_slot.iter().position(|id| {
            self.probes
                .get(id)
                .is_some_and(|p| self.oracle.has_record(&p.variant))
        });
        if let Some(position) = recorded {
            let id = self
                .waiting_for_slot
                .remove(position)
                .expect("position is valid");
            self.waiting_for_slot.push_front(id);
        }
        while self.running_trials() < self.capacity() {
            let Some(id) = self.waiting_for_slot.pop_front() else {
                break;
            };
            let Some(probe) = self.probes.get_mut(&id) else {
                continue;
            };
            let trial = TrialId(self.next_trial);
            self.next_trial += 1;
            probe.trial = Some(trial);
            self.trials.insert(trial, id);
            let variant = probe.variant.clone();
            let started = self.oracle.start(trial, &variant)?;
            self.count(started);
            if started == Started::Recorded {
                break;
            }
        }
        Ok(())
    }

    /// The next resolved probe (or overdue notice) among those submitted.
    pub fn wait(&mut self) -> Result<ProbeEvent, Stop> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Ok(event);
            }
            self.fill_slots()?;
            if self.trials.is_empty() {
                return Err(Stop::Error(Error::infra(
                    "the reducer waited with no trial running (a bug in minrepro)",
                )));
            }
            match self.oracle.next_event()? {
                OracleEvent::Overdue(trial) => {
                    if let Some(id) = self.trials.get(&trial).copied() {
                        for follower in &self.probes[&id].followers {
                            self.ready.push_back(ProbeEvent::Overdue(*follower));
                        }
                        return Ok(ProbeEvent::Overdue(id));
                    }
                }
                OracleEvent::Finished(trial, verdict) => {
                    let Some(id) = self.trials.remove(&trial) else {
                        continue; // a cancelled trial that finished anyway
                    };
                    self.finish(id, verdict)?;
                }
            }
        }
    }

    fn finish(&mut self, id: ProbeId, verdict: Verdict) -> Result<(), Stop> {
        let Some(probe) = self.probes.get_mut(&id) else {
            return Ok(());
        };
        probe.trial = None;
        let settled = match verdict {
            Verdict::Fail => Some(Verdict::Fail),
            other => {
                probe.passes += 1;
                probe.passed |= other == Verdict::Pass;
                let how = if probe.passed {
                    Verdict::Pass
                } else {
                    Verdict::Unresolved
                };
                (probe.passes >= self.runs_to_pass).then_some(how)
            }
        };
        match settled {
            Some(verdict) => {
                let probe = self.probes.remove(&id).expect("probe present");
                let known = match verdict {
                    Verdict::Fail => Known::Failed,
                    other => Known::NotFailed(probe.passes, other),
                };
                self.cache.insert(probe.variant, known);
                self.ready.push_back(ProbeEvent::Resolved(id, verdict));
                for follower in probe.followers {
                    self.ready
                        .push_back(ProbeEvent::Resolved(follower, verdict));
                }
            }
            // A pass (or another failure) of a flaky failure proves little: run it again,
            // first in line.
            None => self.waiting_for_slot.push_front(id),
        }
        Ok(())
    }

    /// Withdraws every probe in flight (a search that stopped early), stopping their trials.
    pub fn abandon(&mut self) {
        let ids: Vec<ProbeId> = self.probes.keys().copied().collect();
        for id in ids {
            self.cancel(id);
        }
        self.ready.clear();
        self.waiting_for_slot.clear();
    }

    /// Withdraws a probe whose answer is no longer needed, stopping its trial.
    pub fn cancel(&mut self, id: ProbeId) {
        self.ready.retain(
            |e| !matches!(e, ProbeEvent::Resolved(p, _) | ProbeEvent::Overdue(p) if *p == id),
        );
        for probe in self.probes.values_mut() {
            probe.followers.retain(|f| *f != id);
        }
        let Some(mut probe) = self.probes.remove(&id) else {
            return;
        };
        if !probe.followers.is_empty() {
            // Someone else still wants this answer: the first follower takes the trial over.
            let heir = probe.followers.remove(0);
            if let Some(trial) = probe.trial {
                self.trials.insert(trial, heir);
            }
            self.waiting_for_slot
                .iter_mut()
                .filter(|p| **p == id)
                .for_each(|p| *p = heir);
            self.probes.insert(heir, probe);
            return;
        }
        self.waiting_for_slot.retain(|p| *p != id);
        if let Some(trial) = probe.trial {
            self.trials.remove(&trial);
            self.oracle.cancel(trial);
            self.stats.cancelled += 1;
        }
    }

    /// Waits for one probe's verdict, keeping the others in flight; events of other probes
    /// that arrive meanwhile are kept for later waits.
    pub fn verdict_of(&mut self, id: ProbeId) -> Result<Verdict, Stop> {
        let mut others = Vec::new();
        let verdict = loop {
            match self.wait()? {
                ProbeEvent::Resolved(p, verdict) if p == id => break verdict,
                event => others.push(event),
            }
        };
        for event in others.into_iter().rev() {
            self.ready.push_front(event);
        }
        Ok(verdict)
    }

    /// Asks one question and waits for the answer.
    pub fn test(&mut self, variant: Variant) -> Result<Verdict, Stop> {
        let id = self.submit(variant)?;
        self.verdict_of(id)
    }

    /// Asks several questions at once and returns their answers in order.
    pub fn test_all(&mut self, variants: Vec<Variant>) -> Result<Vec<Verdict>, Stop> {
        let ids: Vec<ProbeId> = variants
            .into_iter()
            .map(|v| self.submit(v))
            .collect::<Result<_, _>>()?;
        ids.into_iter().map(|id| self.verdict_of(id)).collect()
    }

    /// Runs `variant` `runs` times, bypassing the cache (as many at once as slots allow),
    /// and returns how many runs failed. Used to measure a reproduction rate; it must not
    /// be called while probes are in flight.
    pub fn repeat(&mut self, variant: &Variant, runs: u32) -> Result<u32, Stop> {
        debug_assert!(
            self.probes.is_empty(),
            "repeat() while probes are in flight"
        );
        let (mut started, mut done, mut fails) = (0, 0, 0);
        let mut mine = HashSet::new();
        while done < runs {
            while started < runs && mine.len() < self.capacity() {
                let trial = TrialId(self.next_trial);
                self.next_trial += 1;
                let how = self.oracle.start(trial, variant)?;
                self.count(how);
                mine.insert(trial);
                started += 1;
            }
            if let OracleEvent::Finished(trial, verdict) = self.oracle.next_event()?
                && mine.remove(&trial)
            {
                done += 1;
                fails += u32::from(verdict == Verdict::Fail);
            }
        }
        Ok(fails)
    }
}

/// How many passing runs make a pass believable, for a failure that showed in `fails` of
/// `runs` runs: enough that a variant that does fail would have failed at least once but
/// for a chance below `epsilon`. The rate is taken at a conservative lower bound (Wilson,
/// one standard error), since it was measured on few runs.
pub fn runs_to_pass(fails: u32, runs: u32, epsilon: f64) -> u32 {
    if runs == 0 || fails == 0 {
        return 1;
    }
    let n = f64::from(runs);
    let rate = f64::from(fails) / n;
    let z = 1.0;
    let center = rate + z * z / (2.0 * n);
    let margin = z * (rate * (1.0 - rate) / n + z * z / (4.0 * n * n)).sqrt();
    let low = ((center - margin) / (1.0 + z * z / n)).clamp(0.05, 1.0);
    if low >= 1.0 - epsilon {
        return 1;
    }
    ((epsilon.ln() / (1.0 - low).ln()).ceil() as u32).clamp(1, 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reliable_failures_need_one_run_and_flaky_ones_more() {
        assert!(
            runs_to_pass(10, 10, 0.01) <= 2,
            "ten failures in ten runs leave little doubt"
        );
        assert_eq!(runs_to_pass(0, 10, 0.01), 1);
        let half = runs_to_pass(5, 10, 0.01);
        assert!((8..=15).contains(&half), "{half}");
        assert!(runs_to_pass(2, 10, 0.01) > half);
    }
}

//! The search strategy. Elements are put in an order (groups together, see
//! [`crate::case`]); a prefix is the first `i` of them. Round after round, a binary search
//! finds the shortest prefix that still fails together with the culprits found so far: its
//! last element is the next culprit, and the next round searches only before it. A round
//! begins by asking whether the culprits alone already fail, which ends the search. This
//! costs about log2 C(n, k) + 2k trials for k culprits among n elements, against 2.5–5×
//! that for ddmin.
//!
//! With several trials in flight (`--jobs`), the interval is split in more places at once,
//! and a trial that runs longer than passing ones do (overdue: most likely a hang) is
//! presumed to fail while it goes on running in its slot. The search moves on, into the
//! next round if need be; if the trial then passes after all, the search starts over from
//! the verdicts it has (all cached). So a hang costs about one timeout per culprit instead
//! of one per step. With a single slot nothing is presumed: there is no slot to confirm in.
//!
//! The result is always certified on real verdicts: it fails, and without any one of its
//! elements it does not (1-minimal), on any oracle. Where the oracle is not monotone and
//! the search went astray, the certificate starts over inside the smallest failing variant
//! seen, and in the end shrinks that one element at a time.

use std::collections::{BTreeMap, HashSet};

use super::engine::{Engine, ProbeEvent, ProbeId};
use super::{Oracle, Stop, Variant, Verdict};

/// What a reduction found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduction {
    /// The smallest failing variant found.
    pub minimal: Variant,
    /// Every element of `minimal` was shown necessary: without it, no failure.
    pub one_minimal: bool,
}

/// The elements in search order, with the places where a group ends: a split there
/// removes a whole group (all imports, all env vars of one prefix) at once.
#[derive(Debug, Clone)]
pub struct Order {
    pub elements: Vec<u32>,
    /// Sorted prefix lengths at which a group ends.
    pub group_ends: Vec<usize>,
}

impl Order {
    pub fn plain(n: usize) -> Order {
        Order {
            elements: (0..n as u32).collect(),
            group_ends: Vec::new(),
        }
    }

    fn prefix(&self, found: &Variant, length: usize) -> Variant {
        found.union(&Variant::new(self.elements[..length].to_vec()))
    }

    /// A split point inside `(low, high)`, near the middle, moved to a group end when one
    /// is close.
    fn split(&self, low: usize, high: usize) -> usize {
        let middle = low + (high - low) / 2;
        let reach = (high - low) / 8;
        self.group_ends
            .iter()
            .copied()
            .filter(|end| *end > low && *end < high && end.abs_diff(middle) <= reach)
            .min_by_key(|end| end.abs_diff(middle))
            .unwrap_or(middle)
    }

    /// The order without the elements of `variant` (group ends are dropped).
    pub fn without(&self, variant: &Variant) -> Order {
        Order {
            elements: self
                .elements
                .iter()
                .copied()
                .filter(|e| !variant.contains(*e))
                .collect(),
            group_ends: Vec::new(),
        }
    }

    fn restricted_to(&self, variant: &Variant) -> Order {
        Order {
            elements: self
                .elements
                .iter()
                .copied()
                .filter(|e| variant.contains(*e))
                .collect(),
            group_ends: Vec::new(),
        }
    }
}

/// Finds a 1-minimal failing subset of `order`'s elements. The set of all of them must be
/// known to fail (the engine knows its verdict); the empty set is assumed to pass until
/// shown otherwise.
///
/// `previous`: an earlier result; if it still fails and each of its elements is still
/// needed, it is the answer again for the price of its certificate, and no search runs.
/// `certificate_runs`: passing runs demanded of each variant in the certificate, which may
/// be more than the search demands (flaky failures: a wrong "not needed" there would end
/// in the result).
pub fn minimize<O: Oracle>(
    engine: &mut Engine<'_, O>,
    order: &Order,
    previous: Option<Variant>,
    certificate_runs: u32,
) -> Result<Reduction, Stop> {
    let search_runs = engine.runs_to_pass();
    let mut search = Search::new(engine);
    if let Some(previous) = previous {
        search.engine.set_runs_to_pass(certificate_runs);
        let holds = search.holds(&previous)?;
        search.engine.set_runs_to_pass(search_runs);
        if holds {
            return Ok(Reduction {
                minimal: previous,
                one_minimal: true,
            });
        }
    }
    let found = search.culprits(order, true)?;
    search.engine.set_runs_to_pass(certificate_runs);
    let reduction = search.certify(order, found);
    search.engine.set_runs_to_pass(search_runs);
    reduction
}

/// Every independent cause (Go's bisect does the same): once a cause is found and
/// certified, its elements are stripped from what is left; while what is left still
/// fails, the next cause is searched there. At most `max` causes; `previous` are the
/// causes an earlier run found, tried first in turn.
pub fn causes<O: Oracle>(
    engine: &mut Engine<'_, O>,
    order: &Order,
    certificate_runs: u32,
    max: usize,
    previous: &[Variant],
) -> Result<Vec<Reduction>, Stop> {
    let mut found: Vec<Reduction> = Vec::new();
    let mut remaining = order.clone();
    loop {
        let earlier = previous
            .get(found.len())
            .filter(|p| p.indices().iter().all(|i| remaining.elements.contains(i)))
            .cloned();
        let cause = minimize(engine, &remaining, earlier, certificate_runs)?;
        let stripped = remaining.without(&cause.minimal);
        let empty_cause = cause.minimal.is_empty();
        found.push(cause);
        if found.len() >= max || empty_cause || stripped.elements.is_empty() {
            break;
        }
        // Does what is left still fail, the same way?
        let rest = Variant::new(stripped.elements.clone());
        engine.set_elements_left(stripped.elements.len());
        if !engine.test(rest)?.fails() {
            break;
        }
        remaining = stripped;
    }
    Ok(found)
}

/// Why a search round ended early.
enum Interrupt {
    Stop(Stop),
    /// A trial presumed to fail passed: what was built on it is void.
    Refuted,
}

impl From<Stop> for Interrupt {
    fn from(stop: Stop) -> Self {
        Interrupt::Stop(stop)
    }
}

/// How many times a refuted presumption may restart the search before presuming stops.
const RESTARTS_WITH_PRESUMPTIONS: u32 = 2;

struct Search<'e, 'a, O: Oracle> {
    engine: &'e mut Engine<'a, O>,
    /// Probes presumed to fail that decisions rest on, still running to confirm it.
    presumed: HashSet<ProbeId>,
    /// Whether overdue trials may be presumed to fail.
    presuming: bool,
    restarts: u32,
}

impl<'e, 'a, O: Oracle> Search<'e, 'a, O> {
    fn new(engine: &'e mut Engine<'a, O>) -> Self {
        let presuming = engine.capacity() > 1;
        Search {
            engine,
            presumed: HashSet::new(),
            presuming,
            restarts: 0,
        }
    }

    /// The next event for the current round; confirmations of earlier presumptions are
    /// taken here, and a refutation interrupts the round. A confirmation is handed on too:
    /// its slot is free again, and a round whose slots were all held by earlier rounds'
    /// presumptions has nothing else to wait for (it would wait on no trial at all).
    fn wait(&mut self) -> Result<ProbeEvent, Interrupt> {
        loop {
            let event = self.engine.wait()?;
            match event {
                ProbeEvent::Resolved(id, verdict) if self.presumed.remove(&id) => {
                    if !verdict.fails() {
                        return Err(Interrupt::Refuted);
                    }
                    return Ok(ProbeEvent::Resolved(id, verdict));
                }
                ProbeEvent::Overdue(id) if self.presumed.contains(&id) => {}
                event => return Ok(event),
            }
        }
    }

    fn drop_presumptions(&mut self) {
        for id in std::mem::take(&mut self.presumed) {
            self.engine.cancel(id);
        }
    }

    /// The culprits, last one first, each ending a round's shortest failing prefix. Starts
    /// over when a presumption is refuted.
    fn culprits(&mut self, order: &Order, assume_empty_passes: bool) -> Result<Variant, Stop> {
        loop {
            match self.culprit_rounds(order, assume_empty_passes) {
                Ok(found) => {
                    // The certificate decides on real verdicts; nothing rests on these now.
                    self.drop_presumptions();
                    return Ok(found);
                }
                Err(Interrupt::Stop(stop)) => return Err(stop),
                Err(Interrupt::Refuted) => {
                    self.drop_presumptions();
                    self.restarts += 1;
                    if self.restarts >= RESTARTS_WITH_PRESUMPTIONS {
                        self.presuming = false;
                    }
                }
            }
        }
    }

    fn culprit_rounds(
        &mut self,
        order: &Order,
        assume_empty_passes: bool,
    ) -> Result<Variant, Interrupt> {
        let mut found = Variant::empty();
        let mut candidates = order.elements.len();
        let mut first_round = assume_empty_passes;
        while candidates > 0 {
            self.engine.set_elements_left(candidates + found.len());
            match self.shortest_failing_prefix(order, &found, candidates, first_round)? {
                None => break,
                Some(length) => {
                    found = found.union(&Variant::new(vec![order.elements[length - 1]]));
                    candidates = length - 1;
                }
            }
            first_round = false;
        }
        self.engine.set_elements_left(found.len());
        Ok(found)
    }

    /// The shortest prefix of the first `candidates` elements that fails together with
    /// `found`; `None` when `found` alone fails. Known: the prefix of length `candidates`
    /// fails. In the first round the empty prefix is assumed to pass and is not asked.
    fn shortest_failing_prefix(
        &mut self,
        order: &Order,
        found: &Variant,
        candidates: usize,
        first_round: bool,
    ) -> Result<Option<usize>, Interrupt> {
        let mut round = Round::new(candidates, first_round);
        loop {
            let (fail, pass) = round.bounds();
            if fail == 0 || pass == Some(fail - 1) {
                self.close_round(round, fail);
                return Ok((fail > 0).then_some(fail));
            }
            for id in round.take_useless(fail, pass) {
                self.engine.cancel(id);
            }
            self.fill_slots(order, found, &mut round, fail, pass)?;
            // An event of a probe not in this round's flight (a confirmed presumption)
            // only frees a slot.
            let event = self.wait()?;
            round.record(event, self.presuming);
        }
    }

    /// Ends a round whose answer is `fail`: its probes are cancelled, except a presumed
    /// boundary, which goes on running to confirm the answer.
    fn close_round(&mut self, round: Round, fail: usize) {
        for (length, id) in round.in_flight {
            if length == fail && round.presumed.contains(&length) {
                self.presumed.insert(id);
            } else {
                self.engine.cancel(id);
            }
        }
    }

    /// Puts the free slots to work between `pass` and `fail`: first, whether the culprits
    /// found so far fail alone (which ends the search), then splits of the widest gaps.
    fn fill_slots(
        &mut self,
        order: &Order,
        found: &Variant,
        round: &mut Round,
        fail: usize,
        pass: Option<usize>,
    ) -> Result<(), Interrupt> {
        let mut free = self.engine.free_slots();
        if pass.is_none()
            && free > 0
            && !round.in_flight.contains_key(&0)
            && !round.real.contains_key(&0)
        {
            round
                .in_flight
                .insert(0, self.engine.submit(found.clone())?);
            free -= 1;
        }
        let low = pass.unwrap_or(0);
        while free > 0 {
            let Some(length) = round.next_split(order, low, fail) else {
                break;
            };
            round
                .in_flight
                .insert(length, self.engine.submit(order.prefix(found, length))?);
            free -= 1;
        }
        Ok(())
    }

    /// Whether `candidate` fails and fails no more without any one of its elements.
    fn holds(&mut self, candidate: &Variant) -> Result<bool, Stop> {
        let mut questions = vec![candidate.clone()];
        questions.extend(candidate.indices().iter().map(|i| candidate.without(*i)));
        let verdicts = self.engine.test_all(questions)?;
        Ok(verdicts[0].fails() && verdicts[1..].iter().all(|v| !v.fails()))
    }

    /// Makes sure `candidate` fails and each of its elements is needed, shrinking it where
    /// one is not. Where `candidate` does not fail (an oracle that is not monotone led the
    /// search astray), the search starts over inside the smallest failing variant seen; when
    /// that does not help either, that variant is shrunk one element at a time, which always
    /// ends.
    fn certify(&mut self, order: &Order, candidate: Variant) -> Result<Reduction, Stop> {
        let mut current = candidate;
        let mut searched_within: HashSet<Variant> = HashSet::new();
        loop {
            let mut questions = vec![current.clone()];
            questions.extend(current.indices().iter().map(|i| current.without(*i)));
            let verdicts = self.engine.test_all(questions)?;
            if !verdicts[0].fails() {
                let Some(smallest) = self.engine.smallest_failing().cloned() else {
                    return Ok(Reduction {
                        minimal: current,
                        one_minimal: false,
                    });
                };
                current = if searched_within.insert(smallest.clone()) {
                    self.presuming = false;
                    self.culprits(&order.restricted_to(&smallest), false)?
                } else {
                    smallest
                };
                continue;
            }
            let unneeded = current
                .indices()
                .iter()
                .zip(&verdicts[1..])
                .find(|(_, v)| **v == Verdict::Fail)
                .map(|(i, _)| *i);
            match unneeded {
                Some(index) => current = current.without(index),
                None => {
                    return Ok(Reduction {
                        minimal: current,
                        one_minimal: true,
                    });
                }
            }
        }
    }
}

/// What one round of the prefix search knows of its prefixes, by length; submitting and
/// cancelling probes stays with [`Search`], which owns the engine.
struct Round {
    /// Real verdicts by prefix length.
    real: BTreeMap<usize, Verdict>,
    in_flight: BTreeMap<usize, ProbeId>,
    /// Lengths whose probe is overdue and presumed to fail: they count as failing.
    presumed: HashSet<usize>,
}

impl Round {
    /// Known: the prefix of length `candidates` fails. In the first round the empty prefix
    /// is assumed to pass.
    fn new(candidates: usize, first_round: bool) -> Round {
        let mut real = BTreeMap::new();
        real.insert(candidates, Verdict::Fail);
        if first_round {
            real.insert(0, Verdict::Pass);
        }
        Round {
            real,
            in_flight: BTreeMap::new(),
            presumed: HashSet::new(),
        }
    }

    /// The shortest prefix that fails (or is presumed to), and the longest shorter one
    /// that passes, if any: the answer lies between them.
    fn bounds(&self) -> (usize, Option<usize>) {
        let failing = |l: &usize, v: &Verdict| *v == Verdict::Fail || self.presumed.contains(l);
        let fail = self
            .real
            .iter()
            .filter(|(l, v)| failing(l, v))
            .map(|(l, _)| *l)
            .chain(self.presumed.iter().copied())
            .min()
            .expect("the longest prefix fails");
        let pass = self
            .real
            .range(..fail)
            .rev()
            .find(|(_, v)| !v.fails())
            .map(|(length, _)| *length);
        (fail, pass)
    }

    /// Takes out the probes whose answers cannot change the round's any more (for the
    /// caller to cancel): those outside (pass, fail). A presumed boundary stays, since it
    /// can, if it passes after all.
    fn take_useless(&mut self, fail: usize, pass: Option<usize>) -> Vec<ProbeId> {
        let useless: Vec<usize> = self
            .in_flight
            .keys()
            .copied()
            .filter(|l| {
                let above = *l > fail || (*l == fail && !self.presumed.contains(l));
                above || pass.is_some_and(|p| *l <= p)
            })
            .collect();
        useless
            .into_iter()
            .map(|length| {
                self.presumed.remove(&length);
                self.in_flight.remove(&length).expect("in flight")
            })
            .collect()
    }

    /// The length to probe next: a split of the widest gap between the known or awaited
    /// points in `[low, fail]`; `None` when there is none left, or it is already known.
    fn next_split(&self, order: &Order, low: usize, fail: usize) -> Option<usize> {
        let mut points: Vec<usize> = vec![low, fail];
        points.extend(
            self.in_flight
                .keys()
                .copied()
                .filter(|l| *l > low && *l < fail),
        );
        points.sort_unstable();
        let (gap_low, gap_high) = points
            .windows(2)
            .map(|w| (w[0], w[1]))
            .filter(|(a, b)| b - a > 1)
            .max_by_key(|(a, b)| b - a)?;
        let length = order.split(gap_low, gap_high);
        (!self.in_flight.contains_key(&length) && !self.real.contains_key(&length))
            .then_some(length)
    }

    /// Takes in what became of a probe: a verdict, or (when presuming) that it is overdue.
    /// Events of probes outside this round are ignored.
    fn record(&mut self, event: ProbeEvent, presuming: bool) {
        match event {
            ProbeEvent::Resolved(id, verdict) => {
                if let Some(length) = self.length_of(id) {
                    self.in_flight.remove(&length);
                    self.presumed.remove(&length);
                    self.real.insert(length, verdict);
                }
            }
            ProbeEvent::Overdue(id) => {
                if let Some(length) = self.length_of(id)
                    && presuming
                {
                    self.presumed.insert(length);
                }
            }
        }
    }

    fn length_of(&self, id: ProbeId) -> Option<usize> {
        self.in_flight
            .iter()
            .find(|(_, p)| **p == id)
            .map(|(l, _)| *l)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::reduce::engine::runs_to_pass;
    use crate::reduce::synthetic::{Clock, Costs, Kind, Scenario, SyntheticOracle};
    use crate::reduce::{OracleEvent, Started, TrialId};

    fn reduce(scenario: &Scenario, jobs: usize) -> Vec<Reduction> {
        let mut oracle = SyntheticOracle::new(scenario.clone(), jobs, Costs::HANG);
        let full = Variant::full(scenario.n);
        let (runs, certificate_runs) = if scenario.kind == Kind::Flaky {
            let fails = Engine::new(&mut oracle, 1).repeat(&full, 10).unwrap();
            (
                runs_to_pass(fails, 10, 0.01),
                runs_to_pass(fails, 10, 0.0001),
            )
        } else {
            (1, 1)
        };
        let mut engine = Engine::new(&mut oracle, runs);
        engine.know(full, Verdict::Fail);
        let max = if scenario.kind == Kind::TwoCauses {
            usize::MAX
        } else {
            1
        };
        causes(
            &mut engine,
            &Order::plain(scenario.n),
            certificate_runs,
            max,
            &[],
        )
        .unwrap()
    }

    /// With two or three slots, a round may find them all held by the previous rounds'
    /// presumptions: it must go on once they are confirmed (it once waited on nothing).
    #[test]
    fn finds_the_culprits_of_every_kind_serially_and_in_parallel() {
        for kind in Kind::ALL {
            for n in [16, 64] {
                for k in 1..=3 {
                    for seed in 0..10 {
                        for jobs in [1, 2, 3, 4] {
                            let scenario = Scenario::new(kind, n, k, seed);
                            let found = reduce(&scenario, jobs);
                            let minimal: Vec<Variant> =
                                found.iter().map(|c| c.minimal.clone()).collect();
                            assert!(
                                scenario.is_correct(&minimal)
                                    && found.iter().all(|c| c.one_minimal),
                                "{kind:?} n={n} k={k} seed={seed} jobs={jobs}: culprits {:?}, found {found:?}",
                                scenario.culprits
                            );
                        }
                    }
                }
            }
        }
    }

    /// An oracle given by a table of verdicts for every subset of a few elements: any rule
    /// at all, monotone or not.
    struct TableOracle {
        fails: Box<dyn Fn(&Variant) -> bool>,
        /// What a variant that does not fail gives (default: a pass).
        otherwise: Box<dyn Fn(&Variant) -> Verdict>,
        finished: Vec<(TrialId, Verdict)>,
    }

    impl TableOracle {
        fn new(fails: impl Fn(&Variant) -> bool + 'static) -> TableOracle {
            TableOracle {
                fails: Box::new(fails),
                otherwise: Box::new(|_| Verdict::Pass),
                finished: Vec::new(),
            }
        }
    }

    impl Oracle for TableOracle {
        fn capacity(&self) -> usize {
            1
        }
        fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop> {
            let verdict = if (self.fails)(variant) {
                Verdict::Fail
            } else {
                (self.otherwise)(variant)
            };
            self.finished.push((trial, verdict));
            Ok(Started::Running)
        }
        fn next_event(&mut self) -> Result<OracleEvent, Stop> {
            let (trial, verdict) = self.finished.remove(0);
            Ok(OracleEvent::Finished(trial, verdict))
        }
        fn cancel(&mut self, _: TrialId) {}
    }

    #[test]
    fn the_result_fails_and_is_one_minimal_on_arbitrary_oracles() {
        use rand::{RngExt, SeedableRng};
        for seed in 0..300u64 {
            let n = 6;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let table: HashMap<Variant, bool> = (0u32..1 << n)
                .map(|bits| {
                    let variant = Variant::new((0..n).filter(|i| bits & (1 << i) != 0).collect());
                    let fails = bits == (1 << n) - 1 || rng.random_bool(0.35);
                    (variant, fails)
                })
                .collect();
            let table = std::sync::Arc::new(table);
            let lookup = table.clone();
            let mut oracle = TableOracle::new(move |v| lookup[v]);
            let mut engine = Engine::new(&mut oracle, 1);
            engine.know(Variant::full(n as usize), Verdict::Fail);
            let found = minimize(&mut engine, &Order::plain(n as usize), None, 1).unwrap();
            assert!(
                table[&found.minimal],
                "seed {seed}: {found:?} does not fail"
            );
            assert!(found.one_minimal, "seed {seed}");
            for index in found.minimal.indices() {
                assert!(
                    !table[&found.minimal.without(*index)],
                    "seed {seed}: {found:?} still fails without {index}"
                );
            }
        }
    }

    #[test]
    fn an_element_whose_absence_fails_differently_is_kept_and_never_taken_for_a_pass() {
        // Element 3 is a prerequisite: without it the worker cannot start (another failure).
        // Elements 10 and 20 cause the failure: without either, the worker works.
        let needed = [3u32, 10, 20];
        let mut oracle = TableOracle::new(move |v| needed.iter().all(|i| v.contains(*i)));
        oracle.otherwise = Box::new(|v| {
            if v.contains(3) {
                Verdict::Pass
            } else {
                Verdict::Unresolved
            }
        });
        let mut engine = Engine::new(&mut oracle, 1);
        engine.know(Variant::full(32), Verdict::Fail);
        let found = minimize(&mut engine, &Order::plain(32), None, 1).unwrap();
        assert_eq!(found.minimal, Variant::new(needed.to_vec()));
        assert!(found.one_minimal);
        // The verdicts the report's evidence is made of tell the two kinds apart.
        assert_eq!(
            engine.test(Variant::new(vec![10, 20])).unwrap(),
            Verdict::Unresolved
        );
        assert_eq!(
            engine.test(Variant::new(vec![3, 20])).unwrap(),
            Verdict::Pass
        );
    }

    #[test]
    fn a_configuration_that_fails_with_nothing_reduces_to_nothing() {
        let mut oracle = TableOracle::new(|_| true);
        let mut engine = Engine::new(&mut oracle, 1);
        engine.know(Variant::full(10), Verdict::Fail);
        let found = minimize(&mut engine, &Order::plain(10), None, 1).unwrap();
        assert!(found.minimal.is_empty() && found.one_minimal);
    }

    /// Culprits 3 and 11 all needed, but any variant holding element 7 is slow to pass:
    /// overdue like a hang, so presumed to fail, then refuted.
    struct SlowPasses(Clock);

    impl Oracle for SlowPasses {
        fn capacity(&self) -> usize {
            4
        }
        fn start(&mut self, trial: TrialId, variant: &Variant) -> Result<Started, Stop> {
            let fails = variant.contains(3) && variant.contains(11);
            let (verdict, cost) = match (fails, variant.contains(7)) {
                (true, _) => (Verdict::Fail, 300),
                (false, true) => (Verdict::Pass, 200),
                (false, false) => (Verdict::Pass, 15),
            };
            self.0.start(trial, verdict, cost);
            Ok(Started::Running)
        }
        fn next_event(&mut self) -> Result<OracleEvent, Stop> {
            self.0.next_event()
        }
        fn cancel(&mut self, trial: TrialId) {
            self.0.cancel(trial);
        }
    }

    #[test]
    fn slow_passes_presumed_to_fail_do_not_mislead_the_result() {
        let mut oracle = SlowPasses(Clock::new(45));
        let mut engine = Engine::new(&mut oracle, 1);
        engine.know(Variant::full(16), Verdict::Fail);
        let found = minimize(&mut engine, &Order::plain(16), None, 1).unwrap();
        assert_eq!(found.minimal, Variant::new(vec![3, 11]));
        assert!(found.one_minimal);
    }

    #[test]
    fn splits_move_to_a_nearby_group_end() {
        let order = Order {
            elements: (0..64).collect(),
            group_ends: vec![30, 50],
        };
        assert_eq!(order.split(0, 64), 30);
        assert_eq!(order.split(0, 16), 8, "no group end near enough");
    }
}

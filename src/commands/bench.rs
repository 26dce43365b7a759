//! `minrepro bench`: the reducer against textbook ddmin on synthetic oracles, in trials
//! (docs/SPEC.md §5), and the simulated time of a hang-type search with one and with
//! several trials at once; and statement-level reduction (`bench_lines`).

use std::fmt::Write;

use serde::Serialize;

use crate::cli::BenchArgs;
use crate::error::{Error, Exit};
use crate::reduce::engine::{Engine, runs_to_pass};
use crate::reduce::search::{Order, causes};
use crate::reduce::synthetic::{Costs, Kind, Scenario, SyntheticOracle};
use crate::reduce::{Stop, Variant, Verdict, ddmin};

const SIZES: [usize; 4] = [16, 64, 256, 1024];
const CULPRITS: [usize; 3] = [1, 2, 3];
/// Runs of the full configuration that measure a flaky failure's rate, as `bisect` does.
const RATE_RUNS: u32 = 10;
/// The chance of calling a needed element unneeded that re-runs of passes allow, in the
/// search and, stricter, in the certificate whose verdicts make the result.
const EPSILON: f64 = 0.01;
const CERTIFICATE_EPSILON: f64 = 0.0001;

#[derive(Serialize)]
struct ScenarioResult {
    kind: Kind,
    n: usize,
    k: usize,
    seed: u64,
    trials: u32,
    ddmin_trials: u32,
    bound: u32,
    correct: bool,
    one_minimal: bool,
    ddmin_correct: bool,
    /// Causes found (`two-causes`: both, when correct).
    causes: usize,
    /// Simulated time of minrepro's search when failures hang, with 1 and with `jobs` trials
    /// at once (`and` kind only).
    #[serde(skip_serializing_if = "Option::is_none")]
    hang_time_serial: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hang_time_parallel: Option<u64>,
}

/// ⌈log2 C(n, k)⌉: the fewest trials that can tell k culprits among n apart.
pub fn bound(n: usize, k: usize) -> u32 {
    let log2_choose: f64 = (0..k)
        .map(|i| ((n - i) as f64).log2() - ((i + 1) as f64).log2())
        .sum();
    (log2_choose - 1e-9).ceil() as u32
}

struct Run {
    /// The causes found (one, but for `two-causes`).
    found: Vec<Variant>,
    one_minimal: bool,
    trials: u32,
    time: u64,
}

fn run_minrepro(scenario: &Scenario, jobs: usize, costs: Costs) -> Result<Run, Stop> {
    let mut oracle = SyntheticOracle::new(scenario.clone(), jobs, costs);
    let full = Variant::full(scenario.n);
    // As `bisect` does: the full configuration is checked first (not counted, as for
    // ddmin, which assumes it); a flaky one is measured to set how often passes re-run.
    let (runs, certificate_runs, measured) = if scenario.kind == Kind::Flaky {
        let mut probe = Engine::new(&mut oracle, 1);
        let fails = probe.repeat(&full, RATE_RUNS)?;
        (
            runs_to_pass(fails, RATE_RUNS, EPSILON),
            runs_to_pass(fails, RATE_RUNS, CERTIFICATE_EPSILON),
            RATE_RUNS,
        )
    } else {
        (1, 1, 0)
    };
    let mut engine = Engine::new(&mut oracle, runs);
    engine.know(full, Verdict::Fail);
    let order = Order::plain(scenario.n);
    // Every cause for `two-causes`; the first one otherwise, as ddmin finds one.
    let max_causes = if scenario.kind == Kind::TwoCauses {
        usize::MAX
    } else {
        1
    };
    let found = causes(&mut engine, &order, certificate_runs, max_causes, &[])?;
    let trials = engine.stats().trials + measured;
    drop(engine);
    Ok(Run {
        one_minimal: found.iter().all(|c| c.one_minimal),
        found: found.into_iter().map(|c| c.minimal).collect(),
        trials,
        time: oracle.elapsed(),
    })
}

fn run_ddmin(scenario: &Scenario) -> Result<Run, Stop> {
    let mut oracle = SyntheticOracle::new(scenario.clone(), 1, Costs::HANG);
    let mut engine = Engine::new(&mut oracle, 1);
    engine.know(Variant::full(scenario.n), Verdict::Fail);
    let found = ddmin::ddmin(&mut engine, scenario.n)?;
    let trials = engine.stats().trials;
    drop(engine);
    Ok(Run {
        found: vec![found],
        one_minimal: true,
        trials,
        time: oracle.elapsed(),
    })
}

fn stopped(stop: Stop) -> Error {
    match stop {
        Stop::Error(err) => err.map_words(|words| format!("bench: {words}")),
        Stop::Interrupted => Error::Interrupted,
        Stop::Budget => Error::infra("bench: a trial budget was spent"),
    }
}

pub fn bench(args: BenchArgs) -> Result<Exit, Error> {
    let mut results = Vec::new();
    for kind in Kind::ALL {
        for n in SIZES {
            for k in CULPRITS {
                for seed in 0..args.seeds {
                    let scenario = Scenario::new(kind, n, k, seed);
                    let ours = run_minrepro(&scenario, 1, Costs::HANG).map_err(stopped)?;
                    let theirs = run_ddmin(&scenario).map_err(stopped)?;
                    let parallel = if kind == Kind::And {
                        Some(run_minrepro(&scenario, args.jobs, Costs::HANG).map_err(stopped)?)
                    } else {
                        None
                    };
                    results.push(ScenarioResult {
                        kind,
                        n,
                        k,
                        seed,
                        trials: ours.trials,
                        ddmin_trials: theirs.trials,
                        bound: bound(n, k),
                        correct: scenario.is_correct(&ours.found),
                        one_minimal: ours.one_minimal,
                        ddmin_correct: scenario.is_a_cause(&theirs.found[0]),
                        causes: ours.found.len(),
                        hang_time_serial: parallel.as_ref().map(|_| ours.time),
                        hang_time_parallel: parallel.map(|p| p.time),
                    });
                }
            }
        }
    }
    let lines = super::bench_lines::bench_lines(args.seeds)?;
    if args.json {
        let json = serde_json::json!({ "jobs": args.jobs, "scenarios": results, "lines": lines });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
    } else {
        print!("{}", table(&results, args.jobs));
        print!("{}", super::bench_lines::table(&lines));
    }
    Ok(Exit::Done)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 { 0.0 } else { sum / count as f64 }
}

/// The trials of each (kind, n, k), minrepro's against ddmin's, then the hanging
/// searches' times.
fn table(results: &[ScenarioResult], jobs: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:>2} {:>6} {:>7} {:>9} {:>7} {:>7} {:>8} {:>9}",
        "kind", "n", "k", "bound", "budget", "minrepro", "ddmin", "ratio", "correct", "ddmin ok"
    );
    for kind in Kind::ALL {
        for n in SIZES {
            for k in CULPRITS {
                let rows: Vec<&ScenarioResult> = results
                    .iter()
                    .filter(|r| r.kind == kind && r.n == n && r.k == k)
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let ours = mean(rows.iter().map(|r| f64::from(r.trials)));
                // Per cause, so that two causes compare with one (ddmin finds one).
                let ours = if kind == Kind::TwoCauses {
                    ours / 2.0
                } else {
                    ours
                };
                let theirs = mean(rows.iter().map(|r| f64::from(r.ddmin_trials)));
                let b = bound(n, k);
                let _ = writeln!(
                    out,
                    "{:<10} {:>5} {:>2} {:>6} {:>7} {:>9.1} {:>7.1} {:>7.2} {:>5}/{:<2} {:>6}/{:<2}",
                    kind.name(),
                    n,
                    k,
                    b,
                    b + 2 * k as u32 + 1,
                    ours,
                    theirs,
                    ours / theirs,
                    rows.iter().filter(|r| r.correct && r.one_minimal).count(),
                    rows.len(),
                    rows.iter().filter(|r| r.ddmin_correct).count(),
                    rows.len(),
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "(two-causes: minrepro's trials per cause, both causes found; ddmin finds one and is \"ok\" when it is either)"
    );
    out.push_str(&hang_times(results, jobs));
    out
}

/// The simulated time of the `and` searches with hanging failures, serial against
/// `jobs` slots: what presuming overdue trials to fail buys. Empty when no scenario
/// simulated hangs.
fn hang_times(results: &[ScenarioResult], jobs: usize) -> String {
    let mut out = String::new();
    let hangs: Vec<&ScenarioResult> = results
        .iter()
        .filter(|r| r.hang_time_parallel.is_some())
        .collect();
    if hangs.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nsimulated time of the `and` searches when a failing trial hangs 20× as long as a pass takes:"
    );
    for n in SIZES {
        for k in CULPRITS {
            let rows: Vec<&&ScenarioResult> =
                hangs.iter().filter(|r| r.n == n && r.k == k).collect();
            let serial = mean(
                rows.iter()
                    .filter_map(|r| r.hang_time_serial)
                    .map(|t| t as f64),
            );
            let parallel = mean(
                rows.iter()
                    .filter_map(|r| r.hang_time_parallel)
                    .map(|t| t as f64),
            );
            let _ = writeln!(
                out,
                "  n {n:>4} k {k}: --jobs 1 {:>6.0}  --jobs {jobs} {:>6.0}  speed-up {:.2}×",
                serial,
                parallel,
                serial / parallel
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_is_the_information_theoretic_minimum() {
        assert_eq!(bound(16, 1), 4);
        assert_eq!(bound(256, 2), 15);
        assert_eq!(bound(256, 3), 22);
        assert_eq!(bound(1024, 3), 28);
    }
}

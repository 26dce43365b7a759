//! `minrepro bench`, statement level: a generated module of 200 statements or more with one
//! culprit statement, reduced by the real statement reader and reducer against rules on
//! the reduced text (see `lines::synthetic`), for every seed. Printed: trials against
//! ⌈log2 n⌉ + 4, and how many results are exactly the culprit and what it reads (which is
//! also 1-minimal).

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::case::Config;
use crate::error::Error;
use crate::lines::reduce::reduce_module;
use crate::lines::synthetic::{Culprit, MODULE, SourceOracle, generate};
use crate::lines::{Read, read_modules};
use crate::reduce::engine::Engine;

/// Statements in each generated module, at least.
const STATEMENTS: usize = 200;

#[derive(Serialize)]
pub struct LinesResult {
    culprit: &'static str,
    seed: u64,
    statements: usize,
    trials: u32,
    bound: u32,
    correct: bool,
    one_minimal: bool,
}

/// ⌈log2 n⌉ + 4: what one culprit among n statements may cost.
fn bound(statements: usize) -> u32 {
    (statements as f64).log2().ceil() as u32 + 4
}

pub fn bench_lines(seeds: u64) -> Result<Vec<LinesResult>, Error> {
    let python = std::env::var_os("MINREPRO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let folder = tempfile::tempdir()
        .map_err(|err| Error::infra(format!("bench: cannot create a folder: {err}")))?;
    let shapes = [
        (Culprit::Alone, "alone"),
        (Culprit::WithImports, "+imports"),
        (Culprit::InBranch, "in an if"),
    ];
    let mut cases = Vec::new();
    for (shape, name) in shapes {
        for seed in 0..seeds {
            let module = generate(STATEMENTS, shape, seed);
            let file = folder.path().join(format!("{name}-{seed}.py"));
            std::fs::write(&file, &module.text)
                .map_err(|err| Error::infra(format!("bench: {err}")))?;
            cases.push((name, seed, module, file));
        }
    }
    let requests: Vec<(String, PathBuf)> = cases
        .iter()
        .map(|(_, _, _, file)| (MODULE.to_string(), file.clone()))
        .collect();
    let read = read_modules(&python, &requests)?;
    let mut results = Vec::new();
    for ((name, seed, generated, _), read) in cases.into_iter().zip(read) {
        let Read::Own(module) = read else {
            return Err(Error::infra(format!(
                "bench: the statement reader did not read the generated module: {read:?}"
            )));
        };
        let module = Arc::new(module);
        let mut oracle = SourceOracle::new(&generated);
        let mut engine = Engine::new(&mut oracle, 1);
        let config = Config::from_elements(crate::framework::DEFAULT, []);
        let reduced = reduce_module(&mut engine, &config, &module, "settings.py", 1)
            .map_err(|stop| Error::infra(format!("bench: the reduction stopped: {stop:?}")))?;
        let trials = engine.stats().trials;
        drop(engine);
        let kept = oracle.present(&module.render(&reduced.removed));
        let mut wanted: BTreeSet<usize> = generated.dependency_lines.iter().copied().collect();
        wanted.insert(generated.culprit_line);
        results.push(LinesResult {
            culprit: name,
            seed,
            statements: module.statements.len(),
            trials,
            bound: bound(module.statements.len()),
            correct: kept == wanted,
            one_minimal: reduced.one_minimal,
        });
    }
    Ok(results)
}

pub fn table(results: &[LinesResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nstatement level: one culprit statement in a module of {STATEMENTS}+ statements (real parser and reducer, rules on the reduced text):"
    );
    let _ = writeln!(
        out,
        "{:<10} {:>10} {:>6} {:>7} {:>5} {:>8} {:>10}",
        "culprit", "statements", "bound", "trials", "max", "correct", "1-minimal"
    );
    for culprit in ["alone", "+imports", "in an if"] {
        let rows: Vec<&LinesResult> = results.iter().filter(|r| r.culprit == culprit).collect();
        if rows.is_empty() {
            continue;
        }
        let mean = |f: &dyn Fn(&LinesResult) -> f64| {
            rows.iter().map(|r| f(r)).sum::<f64>() / rows.len() as f64
        };
        let _ = writeln!(
            out,
            "{:<10} {:>10.0} {:>6} {:>7.1} {:>5} {:>5}/{:<2} {:>7}/{:<2}",
            culprit,
            mean(&|r| r.statements as f64),
            rows.iter().map(|r| r.bound).max().unwrap_or(0),
            mean(&|r| f64::from(r.trials)),
            rows.iter().map(|r| r.trials).max().unwrap_or(0),
            rows.iter().filter(|r| r.correct).count(),
            rows.len(),
            rows.iter().filter(|r| r.one_minimal).count(),
            rows.len(),
        );
    }
    let _ = writeln!(
        out,
        "(bound: ⌈log2 statements⌉ + 4, for one culprit statement; +imports: it reads two names bound by imports, which are kept and each tried without; in an if: it sits in a branch on an env var, so the branch, `import os` and the imports are needed too, over two levels)"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_culprit_and_what_it_reads_are_found_in_generated_modules() {
        let results = bench_lines(3).unwrap();
        assert_eq!(results.len(), 9);
        for result in &results {
            assert!(result.statements >= STATEMENTS);
            assert!(
                result.correct && result.one_minimal,
                "{}",
                serde_json::to_string(result).unwrap()
            );
        }
    }
}

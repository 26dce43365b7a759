//! Every corpus case bisected end to end (and isolated, where it has a good.toml), checked
//! against its `[expected]`: the minimal set, every cause, the entries named inside list
//! values, and (minimizing, with `--lines`) the statements kept in each culprit module. One
//! test per case and mode, so that the test runner schedules them with the others.

mod common;

use common::*;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let arguments = Arguments::from_args();
    let cases = corpus_cases();
    assert!(cases.len() >= 3, "corpus: {cases:?}");
    let mut trials = Vec::new();
    for case in cases {
        let dir = repo(&format!("corpus/{case}"));
        let expected = expected_of(&dir);
        let minimal = expected
            .minimal
            .clone()
            .unwrap_or_else(|| panic!("{case} has no [expected] minimal"));
        // Down to the line where the case says which lines (a flaky cause's statement level
        // runs into its budget: it has none to check).
        let lines = expected.lines.is_some();
        let (name, want) = (case.clone(), expected.clone());
        trials.push(Trial::test(format!("{case}::minimize"), move || {
            let mut args = base_args(&name);
            if lines {
                args.push("--lines".to_string());
            }
            check(&args, &minimal, &want, false)
        }));
        if let Some(isolated) = expected.isolated.clone() {
            trials.push(Trial::test(format!("{case}::isolate"), move || {
                let mut args = base_args(&case);
                let good = repo(&format!("corpus/{case}/good.toml"));
                args.extend(["--good".to_string(), path_str(&good).to_string()]);
                check(&args, &isolated, &expected, true)
            }));
        }
    }
    libtest_mimic::run(&arguments, trials).exit();
}

/// `bisect` of the case, afresh, four trials at a time, its finding as JSON.
fn base_args(case: &str) -> Vec<String> {
    let dir = repo(&format!("corpus/{case}"));
    ["bisect", path_str(&dir), "--json", "--fresh", "--jobs", "4"]
        .map(str::to_string)
        .to_vec()
}

fn check(
    args: &[String],
    expected: &[String],
    want: &Expected,
    isolate: bool,
) -> Result<(), Failed> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = minrepro(&args);
    let problem = match serde_json::from_str::<serde_json::Value>(&output.stdout) {
        Err(_) => Some(format!("no JSON (exit {})", output.code)),
        Ok(json) if output.code != 0 => Some(format!("exit {}: {json}", output.code)),
        Ok(json) => mismatch(&json, expected, want, isolate),
    };
    match problem {
        Some(problem) => Err(format!("{problem}\n{}", output.stderr).into()),
        None => Ok(()),
    }
}

/// What a bisection found does not match `expected`: why.
fn mismatch(
    json: &serde_json::Value,
    expected: &[String],
    want: &Expected,
    isolate: bool,
) -> Option<String> {
    let found = sorted_names(&json["minimal"]);
    if found != expected || json["one_minimal"] != true {
        return Some(format!(
            "minimal {found:?} (expected {expected:?}), one_minimal {}",
            json["one_minimal"]
        ));
    }
    if isolate {
        return None;
    }
    let causes = json["causes"].as_array().unwrap();
    if let Some(want) = &want.causes {
        let mut got: Vec<Vec<String>> =
            causes.iter().map(|c| sorted_names(&c["minimal"])).collect();
        let mut want = want.clone();
        got.sort();
        want.sort();
        if got != want {
            return Some(format!("causes {got:?} (expected {want:?})"));
        }
    }
    if let Some(want) = &want.lines {
        let got = kept_lines(json);
        if got != *want {
            return Some(format!("lines {got:?} (expected {want:?})"));
        }
    }
    if let Some(want) = &want.entries {
        for (key, entries) in want {
            let element = if key == "python_flags" {
                "option:python_flags".to_string()
            } else {
                format!("env:{key}")
            };
            let got: Vec<String> = causes
                .iter()
                .flat_map(|c| c["entries"].as_array().cloned().unwrap_or_default())
                .filter(|e| e["element"] == element.as_str())
                .flat_map(|e| e["kept"].as_array().cloned().unwrap_or_default())
                .map(|k| k.as_str().unwrap().to_string())
                .collect();
            if got != *entries {
                return Some(format!(
                    "entries of {element}: {got:?} (expected {entries:?})"
                ));
            }
        }
    }
    None
}

//! `minrepro run CASE [--empty]`: one trial of the full (or the empty) configuration.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::case::{self, Case, Timeout};
use crate::cli::RunArgs;
use crate::error::{Error, Exit};
use crate::latency::LatencyHistory;
use crate::report::terminal;
use crate::trial::{Outcome, TrialRecord, TrialSpec, seconds};

/// Exit 0 when the configuration shows the case's failure, 1 when it does not.
pub async fn run(args: RunArgs) -> Result<Exit, Error> {
    let case = case::load(&args.case)?;
    let (label, config, element_count) = if args.empty {
        ("empty", case.empty_config(), case.keep.len())
    } else {
        ("full", case.full_config(), case.elements.len())
    };
    let redactor = crate::bisect::redactor_for(&case, None, false);
    let failed = |err: Error| {
        if args.json && !matches!(err, Error::Interrupted) {
            let outcome = Outcome::Error {
                message: redactor.redact(&err.to_string()),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&outcome).unwrap_or_default()
            );
        }
        err
    };
    let python = crate::commands::interpreter(&args.trial, &case)
        .await
        .map_err(failed)?;
    let runner = crate::commands::trial_runner(&args.trial);
    let messages = case.oracle.messages;
    let mut history = LatencyHistory::load(
        &crate::cache_dir::cache_root(),
        &case.template,
        &python,
        messages,
        &case.path,
    );
    let timeout = match (args.trial.timeout, case.oracle.timeout) {
        (Some(timeout), _) | (None, Timeout::Fixed(timeout)) => timeout,
        (None, Timeout::Auto) => history.timeout(),
    };
    announce(&case, label, element_count, timeout, &python);
    let spec = TrialSpec {
        case_name: &case.name,
        config: &config,
        python: &python,
        broker_url: &runner.brokers.url_for(case.broker.as_deref()),
        timeout,
        messages,
        replay: &case.messages,
        early_verdicts: !args.trial.no_early_verdicts,
    };
    let record = runner
        .run(&spec, &runner.interrupted)
        .await
        .map_err(failed)?;
    if let Outcome::Processed { latency } = record.outcome {
        history.record(latency);
    }
    let reproduces = crate::verdict::shows(case.oracle.expect, &record.outcome, None);
    let record = record.redacted(&redactor);
    if args.json {
        let object = json_report(&case.name, label, reproduces, &record, timeout, &python);
        println!(
            "{}",
            serde_json::to_string_pretty(&object).unwrap_or_default()
        );
    } else {
        eprint!("\n{}", terminal::trial(&record));
        eprintln!("\n  {}", verdict_line(&record.outcome, reproduces));
    }
    Ok(if reproduces {
        Exit::Done
    } else {
        Exit::NotReproduced
    })
}

/// The line on stderr that says which trial runs (configuration, elements, timeout, what
/// it sends, interpreter), and the case's description: its own function as it is most of
/// what `run` prints before the trial.
fn announce(case: &Case, label: &str, element_count: usize, timeout: Duration, python: &Path) {
    eprintln!(
        "minrepro: one trial of the {label} configuration of `{}` ({element_count} elements, timeout {:.1}s{}, on {})",
        case.name,
        timeout.as_secs_f64(),
        match (case.messages.is_empty(), case.oracle.messages) {
            (false, _) => format!(
                ", the launch's {} messages replayed",
                case.messages.iter().map(|m| m.count).sum::<u32>()
            ),
            (true, 1) => String::new(),
            (true, n) => format!(", {n} probe messages"),
        },
        python.display()
    );
    if let Some(description) = &case.description {
        eprintln!("  {}", description.trim().replace('\n', "\n  "));
    }
}

/// `--json`'s output: the (redacted) outcome with the case, the configuration, whether it
/// reproduces and the trial's details, as one object.
fn json_report(
    case_name: &str,
    label: &str,
    reproduces: bool,
    record: &TrialRecord,
    timeout: Duration,
    python: &Path,
) -> Value {
    let mut object = serde_json::to_value(&record.outcome).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut object {
        map.insert("case".into(), json!(case_name));
        map.insert("configuration".into(), json!(label));
        map.insert("reproduces".into(), json!(reproduces));
        map.insert(
            "trial".into(),
            json!({
                "id": record.id,
                "queue": record.queue,
                "wall_s": record.wall_s,
                "timeout_s": seconds(timeout),
                "stages": record.stages,
                "versions": record.versions,
                "stdout_tail": record.stdout_tail,
                "stderr_tail": record.stderr_tail,
                "scratch": record.scratch,
                "interpreter": python,
            }),
        );
    }
    object
}

/// The verdict on the terminal: whether the configuration fails, the way the case expects,
/// and the exit status that says so.
fn verdict_line(outcome: &Outcome, reproduces: bool) -> String {
    match (outcome, reproduces) {
        (Outcome::Processed { .. }, _) => {
            "this configuration works: it does not fail (exit 1)".to_string()
        }
        (outcome, true) => format!(
            "this configuration fails: {} (exit 0)",
            outcome.kind().to_uppercase()
        ),
        (outcome, false) => format!(
            "this configuration fails, but not the way the case expects (`expect`): {} (exit 1)",
            outcome.kind().to_uppercase()
        ),
    }
}

//! `minrepro run CASE [--empty]`: one trial of the full (or the empty) configuration.

use serde_json::{Value, json};

use crate::case::{self, Timeout};
use crate::cli::RunArgs;
use crate::error::{Error, Exit};
use crate::latency::LatencyHistory;
use crate::report::terminal;
use crate::trial::{Outcome, TrialSpec, seconds};

/// Exit 0 when the configuration shows the case's failure, 1 when it does not.
pub async fn run(args: RunArgs) -> Result<Exit, Error> {
    let case = case::load(&args.case)?;
    let (label, config) = if args.empty {
        ("empty", case.empty_config())
    } else {
        ("full", case.full_config())
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
        &crate::python::cache_root(),
        &case.template,
        &python,
        messages,
        &case.path,
    );
    let timeout = match (args.trial.timeout, case.oracle.timeout) {
        (Some(timeout), _) | (None, Timeout::Fixed(timeout)) => timeout,
        (None, Timeout::Auto) => history.timeout(),
    };
    let element_count = if args.empty {
        case.keep.len()
    } else {
        case.elements.len()
    };
    eprintln!(
        "minrepro: one trial of the {label} configuration of `{}` ({element_count} elements, timeout {:.1}s{}, on {})",
        case.name,
        timeout.as_secs_f64(),
        match (case.messages.is_empty(), messages) {
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
        let mut object = serde_json::to_value(&record.outcome).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut object {
            map.insert("case".into(), json!(case.name));
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
        println!(
            "{}",
            serde_json::to_string_pretty(&object).unwrap_or_default()
        );
    } else {
        eprint!("\n{}", terminal::trial(&record));
        let said = match (&record.outcome, reproduces) {
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
        };
        eprintln!("\n  {said}");
    }
    Ok(if reproduces {
        Exit::Done
    } else {
        Exit::NotReproduced
    })
}

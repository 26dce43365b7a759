//! `minrepro nightly CORPUS_DIR --out DIR`: the whole corpus, and the reports a CI shows.

use std::io::Write as _;
use std::sync::Arc;

use anstyle::{AnsiColor, Style};

use crate::agent::{self, remote::Agents};
use crate::cli::NightlyArgs;
use crate::error::{Error, Exit};
use crate::nightly::{self, Plan, Status, Summary};
use crate::nightly::{html, junit};

pub async fn nightly(args: NightlyArgs) -> Result<Exit, Error> {
    if !args.corpus.is_dir() {
        return Err(Error::input(format!(
            "the corpus {} is not a folder\n  = help: give a folder of cases, each a folder holding case.toml",
            args.corpus.display()
        )));
    }
    let runner = Arc::new(crate::commands::trial_runner(&args.trial));
    let agents = match &args.agents {
        Some(url) => Some(Agents::connect(url, args.trial.broker.clone(), agent::key()?).await?),
        None => None,
    };
    let summary = nightly::run(Plan {
        corpus: args.corpus.clone(),
        out: args.out.clone(),
        jobs: args.jobs.map_or_else(crate::cli::default_jobs, usize::from),
        budget: args.budget,
        runner,
        agents,
        python: args.trial.python.clone(),
        timeout: args.trial.timeout,
        early_verdicts: !args.trial.no_early_verdicts,
        lines_budget: args.lines_args.budget(true),
    })
    .await?;
    write_reports(&summary, &args)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    }
    let mut stderr = anstream::stderr();
    let _ = stderr.write_all(table(&summary).as_bytes());
    let failing = summary.count(Status::Changed) + summary.count(Status::Error);
    Ok(if failing > 0 {
        Exit::NotReproduced
    } else {
        Exit::Done
    })
}

fn write_reports(summary: &Summary, args: &NightlyArgs) -> Result<(), Error> {
    let out = std::path::absolute(&args.out).unwrap_or(args.out.clone());
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text)
            .map_err(|err| Error::infra(format!("cannot write {}: {err}", path.display())))
    };
    write(
        "summary.json",
        serde_json::to_string_pretty(summary).unwrap_or_default(),
    )?;
    write("junit.xml", junit::render(summary)?)?;
    write("index.html", html::render(summary, &out)?)?;
    Ok(())
}

fn table(summary: &Summary) -> String {
    let style = |status: Status| -> Style {
        match status {
            Status::Unchanged | Status::Reduced => AnsiColor::Green.on_default(),
            Status::Changed | Status::Unfinished => AnsiColor::Yellow.on_default(),
            Status::Error => AnsiColor::Red.on_default().bold(),
            Status::Fixed => AnsiColor::Magenta.on_default(),
        }
    };
    let width = summary
        .cases
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "\n{:<width$}  {:<10}  {:>6}  {:>8}  finding\n",
        "case", "status", "trials", "time"
    );
    for case in &summary.cases {
        let finding = match (&case.reason, case.minimal.is_empty()) {
            (Some(reason), true) => reason.clone(),
            (Some(reason), false) => format!("{}  ({reason})", case.minimal.join(", ")),
            (None, _) => case.minimal.join(", "),
        };
        let s = style(case.status);
        out.push_str(&format!(
            "{:<width$}  {s}{:<10}{s:#}  {:>6}  {:>7.1}s  {finding}\n",
            case.name,
            case.status.name(),
            case.trials,
            case.wall_s
        ));
    }
    out.push_str(&format!(
        "\n{} cases, {} trials in {:.1}s; reports in summary.json, junit.xml, index.html\n",
        summary.cases.len(),
        summary.trials,
        summary.wall_s
    ));
    out
}

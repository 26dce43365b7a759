//! `minrepro bisect CASE [--good GOOD]`: the smallest reproducing configuration.

use std::sync::Arc;

use crate::agent::{self, remote::Agents};
use crate::bisect::{self, Ending, Settings};
use crate::case;
use crate::case::space::ConfigSpace;
use crate::cli::BisectArgs;
use crate::error::{Error, Exit};
use crate::report::{attachment, json, terminal};
use crate::trial::{Runner, TrialRunner};

pub async fn bisect(args: BisectArgs) -> Result<Exit, Error> {
    let (case, good) = cases(&args)?;
    let python = crate::commands::interpreter(&args.trial, &case).await?;
    note_other_interpreter(&args, &case, good.as_ref(), &python);
    let runner = Arc::new(crate::commands::trial_runner(&args.trial));
    let settings = settings(&args, &runner);
    let space_size = case::space::Space::of(&case, good.as_ref()).len();
    eprintln!(
        "minrepro: {} `{}`: {} elements to reduce, {} at a time",
        if good.is_some() {
            "isolating"
        } else {
            "minimizing"
        },
        case.name,
        space_size,
        settings.jobs
    );
    // Trials run here, or on the agents behind the work queue.
    let trials: Arc<dyn Runner> = match &args.agents {
        Some(url) => {
            let agents = Agents::connect(url, args.trial.broker.clone(), agent::key()?).await?;
            Arc::new(agents.for_case(&case, &python).await?)
        }
        None => runner.clone(),
    };
    let interpreter = crate::python::Interpreter::describe(python.clone()).await?;
    let mut finding = bisect::bisect(&case, good.as_ref(), trials, &interpreter, &settings).await?;
    if let Some(out) = &args.out
        && finding.ending.reproduces()
    {
        let redactor = bisect::redactor_for(&case, good.as_ref(), args.show_secrets);
        let broker_url = runner.brokers.url_for(case.broker.as_deref());
        let broker = runner.brokers.get(&broker_url).await?;
        let request = attachment::Request {
            out,
            case: &case,
            good: good.as_ref(),
            redactor: &redactor,
            python: &python,
            broker_url: &broker_url,
            broker_version: broker.version(),
        };
        attach(&mut finding, &request).await?;
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json::finding(&finding)).unwrap_or_default()
        );
    }
    eprint!("{}", terminal::finding(&finding));
    match finding.ending {
        Ending::Reproduces => Ok(Exit::Done),
        Ending::DoesNotReproduce { .. } => Ok(Exit::NotReproduced),
        Ending::Interrupted => Ok(Exit::Interrupted),
        Ending::Stopped(why) => Err(why),
    }
}

/// The case, and the good one when given: both of the same worker.
fn cases(args: &BisectArgs) -> Result<(case::Case, Option<case::Case>), Error> {
    let case = case::load(&args.case)?;
    let good = args.good.as_deref().map(case::load).transpose()?;
    if let Some(good) = &good
        && good.template != case.template
    {
        return Err(Error::input(format!(
            "{} uses template `{}` but {} uses `{}`: --good must describe the same worker",
            good.path.display(),
            good.template,
            case.path.display(),
            case.template
        )));
    }
    Ok((case, good))
}

/// Two launches captured on different interpreters: the trials run on one, and the user is
/// told which.
fn note_other_interpreter(
    args: &BisectArgs,
    case: &case::Case,
    good: Option<&case::Case>,
    python: &std::path::Path,
) {
    if let Some(good) = good
        && args.trial.python.is_none()
        && good.python.is_some()
        && good.python != case.python
    {
        eprintln!(
            "minrepro: note: {} ran on {}, {} on {}: every trial runs on the failing side's",
            good.path.display(),
            good.python
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            case.path.display(),
            python.display()
        );
    }
}

fn settings(args: &BisectArgs, runner: &TrialRunner) -> Settings {
    Settings {
        jobs: args.jobs.map_or_else(crate::cli::default_jobs, usize::from),
        fresh: args.fresh,
        fresh_full: false,
        timeout: args.trial.timeout,
        show_secrets: args.show_secrets,
        stop: runner.interrupted.clone(),
        gate: None,
        live_progress: true,
        max_causes: args.max_causes.map_or(usize::MAX, usize::from),
        reduce_messages: args.reduce_messages,
        early_verdicts: !args.trial.no_early_verdicts,
        lines_budget: args.lines_args.budget(args.out.is_some() || args.lines),
        cache_dir: crate::cache_dir::cache_root(),
        observers: Vec::new(),
    }
}

/// The attachment, written and verified once; a launcher that did not reproduce is said.
async fn attach(
    finding: &mut bisect::Finding,
    request: &attachment::Request<'_>,
) -> Result<(), Error> {
    eprintln!("minrepro: writing the attachment and running its launcher once to verify it…");
    let written = attachment::attach(finding, request).await?;
    if !written.verified {
        eprintln!(
            "minrepro: warning: the attachment's launcher did not reproduce the failure; its README says so:\n{}",
            written.verification
        );
    }
    Ok(())
}

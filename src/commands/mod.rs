//! One function per subcommand, and what the commands that run workers share.

mod agent;
mod bench;
mod bench_lines;
mod bisect;
mod capture;
mod diff;
mod nightly;
mod run;

use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use crate::broker::Brokers;
use crate::case::Case;
use crate::cli::{Command, TrialArgs};
use crate::error::{Error, Exit};
use crate::python;
use crate::trial::TrialRunner;

pub async fn dispatch(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Bench(args) => bench::bench(args),
        Command::Bisect(args) => bisect::bisect(args).await,
        Command::Diff(args) => diff::diff(args),
        Command::Capture(args) => capture::capture(args).await,
        Command::Nightly(args) => nightly::nightly(args).await,
        Command::Agent(args) => agent::agent(args).await,
    }
}

/// Gets what trials need: the brokers (connected on first use), and a cancellation token that Ctrl-C and SIGTERM
/// trip so that every trial cleans up.
pub fn trial_runner(args: &TrialArgs) -> TrialRunner {
    TrialRunner::new(
        Brokers::new(args.broker.clone()),
        args.keep_scratch,
        cancel_on_signals(),
    )
}

/// The interpreter `case`'s trials run on (provisioned on first use, see [`python`]).
pub async fn interpreter(args: &TrialArgs, case: &Case) -> Result<PathBuf, Error> {
    let explicit = args.python.clone();
    let case = case.clone();
    tokio::task::spawn_blocking(move || python::interpreter(explicit.as_deref(), &case))
        .await
        .map_err(|err| Error::infra(format!("interpreter set-up failed: {err}")))?
}

pub fn cancel_on_signals() -> CancellationToken {
    let cancel = CancellationToken::new();
    let trip = cancel.clone();
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("\nminrepro: interrupted, stopping the workers…");
        trip.cancel();
    });
    cancel
}

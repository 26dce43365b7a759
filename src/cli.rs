//! The command line (docs/SPEC.md §4): clap definitions only.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "minrepro",
    version,
    about = "Finds the smallest worker configuration that still shows a failure, by running real Dramatiq, Celery and RQ workers against their brokers",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One trial of the full (or the empty) configuration of a case
    Run(RunArgs),
    /// The smallest configuration that still fails (or, with --good, the smallest part of
    /// the difference from a working one that makes it fail)
    Bisect(BisectArgs),
    /// Every case of a corpus, unattended: statuses, attachments, summary.json, junit.xml,
    /// index.html
    Nightly(NightlyArgs),
    /// The element-level difference of two case files
    Diff(DiffArgs),
    /// Record the real configuration of a worker launch as a case file
    Capture(CaptureArgs),
    /// The reducer against textbook ddmin on synthetic oracles (trial counts)
    Bench(BenchArgs),
    /// Run trials for bisections on other machines: requests from a RabbitMQ work queue
    Agent(AgentArgs),
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// The RabbitMQ whose work queue (`minrepro.trials`) carries the requests; its own
    /// vhost and user, see the README
    #[arg(long, env = "MINREPRO_AGENTS", hide_env_values = true)]
    pub broker: String,
    /// Trials at once
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub slots: u16,
    /// Run every trial on this interpreter instead of the one each template provisions
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
}

/// What every command that runs workers needs.
#[derive(Args, Debug, Clone)]
pub struct TrialArgs {
    /// The broker the workers and the probe use: amqp://… (RabbitMQ) or redis://…; a case
    /// that names a broker of the other kind keeps its own [default: the case's, else
    /// amqp://guest:guest@127.0.0.1:5672/%2f]
    #[arg(long, env = "MINREPRO_BROKER", hide_env_values = true)]
    pub broker: Option<String>,
    /// The Python that runs the workers (default: the case's own `python`, else a virtual
    /// environment minrepro provisions)
    #[arg(long, env = "MINREPRO_PYTHON", value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Override the case's timeout, e.g. 4s or 1500ms
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Keep each trial's scratch folder (worker, report, stack dump, output) and print where
    #[arg(long)]
    pub keep_scratch: bool,
    /// Wait out every timeout: no stall rule (README, "Early stall verdicts") ends a trial
    /// before it; for when an early verdict is in doubt
    #[arg(long)]
    pub no_early_verdicts: bool,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// A case file, or a folder holding case.toml
    pub case: PathBuf,
    /// Run the empty configuration (only the `keep` elements) instead of the full one
    #[arg(long)]
    pub empty: bool,
    /// Print the outcome as JSON on stdout
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub trial: TrialArgs,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Print every scenario as JSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Seeds per (kind, n, k)
    #[arg(long, default_value_t = 20)]
    pub seeds: u64,
    /// Trials at once for the simulated parallel search
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
}

#[derive(Args, Debug)]
pub struct BisectArgs {
    /// A case file, or a folder holding case.toml
    pub case: PathBuf,
    /// A working configuration of the same worker (a case file or folder): isolate the
    /// failure-inducing part of the difference
    #[arg(long, value_name = "GOOD_CASE")]
    pub good: Option<PathBuf>,
    /// Trials at once, each with its own worker, queue and scratch folder [default: twice
    /// the cores, at most 8: a hung worker waits, it costs little CPU]
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Print the finding as JSON on stdout (progress stays on stderr)
    #[arg(long)]
    pub json: bool,
    /// Ignore outcomes recorded by earlier runs of this case
    #[arg(long)]
    pub fresh: bool,
    /// Stop after this many independent causes (default: until the rest no longer fails)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub max_causes: Option<u16>,
    /// With a case that publishes several probe messages (`[oracle] messages`), also find
    /// the fewest that still show the failure (a binary search on the cause)
    #[arg(long)]
    pub reduce_messages: bool,
    /// Write the repro attachment to DIR/<case>/ and DIR/<case>.tar.gz (with the cause's
    /// modules reduced to their statements, and minimal_worker.py)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Reduce the cause's modules to their statements without --out too
    #[arg(long, conflicts_with = "no_lines")]
    pub lines: bool,
    #[command(flatten)]
    pub lines_args: LinesArgs,
    /// Show secret values in the output and the attachment instead of REDACTED
    #[arg(long)]
    pub show_secrets: bool,
    /// Send the trials to `minrepro agent`s through this RabbitMQ (their work queue):
    /// --jobs is then the number of trials in flight
    #[arg(
        long,
        env = "MINREPRO_AGENTS",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub agents: Option<String>,
    #[command(flatten)]
    pub trial: TrialArgs,
}

/// Statement-level reduction: once a cause is certified, the statements of the modules of
/// the case's own code that it imports.
#[derive(Args, Debug)]
pub struct LinesArgs {
    /// Stop at the elements: do not reduce the cause's modules to their statements
    #[arg(long)]
    pub no_lines: bool,
    /// Trials the statement-level reduction of one cause may run
    #[arg(long, value_name = "TRIALS", default_value_t = 80)]
    pub lines_budget: u32,
}

impl LinesArgs {
    /// The budget, when statement-level reduction runs (`wanted`: the command's default).
    pub fn budget(&self, wanted: bool) -> Option<u32> {
        (wanted && !self.no_lines).then_some(self.lines_budget)
    }
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The first case (typically the working one)
    pub case_a: PathBuf,
    /// The second case (typically the failing one)
    pub case_b: PathBuf,
    /// Show secret values instead of REDACTED
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Args, Debug)]
pub struct NightlyArgs {
    /// A folder of cases (each a folder holding case.toml, and good.toml to isolate)
    pub corpus: PathBuf,
    /// Where the attachments, summary.json, junit.xml and index.html go (and where the
    /// previous night's summary is read from)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Trials at once, shared by all cases [default: twice the cores, at most 8]
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Print summary.json on stdout too
    #[arg(long)]
    pub json: bool,
    /// Stop starting new work after this long (e.g. 20m); running trials are cancelled
    /// and unfinished cases reported as such
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub budget: Option<Duration>,
    #[command(flatten)]
    pub lines_args: LinesArgs,
    /// Send the trials to `minrepro agent`s through this RabbitMQ (their work queue):
    /// --jobs is then the number of trials in flight
    #[arg(
        long,
        env = "MINREPRO_AGENTS",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub agents: Option<String>,
    #[command(flatten)]
    pub trial: TrialArgs,
}

#[derive(Args, Debug)]
pub struct CaptureArgs {
    /// The case file to write
    #[arg(long, value_name = "FILE", required_unless_present = "clean")]
    pub out: Option<PathBuf>,
    /// Only remove the hooks that captures killed before they could clean up left in the
    /// interpreters' site-packages (the next capture removes them too)
    #[arg(long, conflicts_with_all = ["out", "trigger", "duration", "command"])]
    pub clean: bool,
    /// Capture the first process that imports this module, instead of the process that
    /// starts a Dramatiq worker (for a launch that starts its worker some other way)
    #[arg(long = "match", value_name = "MODULE")]
    pub trigger: Option<String>,
    /// Stop the command after this long (default: let it run its course)
    #[arg(long, value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub duration: Option<Duration>,
    /// An interpreter or virtual environment the worker may run on (besides the python3 and
    /// python on PATH and the virtual environments of the current folder); repeatable
    #[arg(long = "python-env", value_name = "PATH")]
    pub python_envs: Vec<PathBuf>,
    /// The command that launches the worker, e.g. tox exec -- pytest tests/test_worker.py
    #[arg(last = true, required_unless_present = "clean", value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Trials at once when `--jobs` is not given: a trial's worker mostly waits (on the broker,
/// or hung), so twice the cores keep them busy; `scripts/bench_jobs.py` measured `--jobs 4`
/// at 2.1 to 2.4 times the speed of `--jobs 1` on two cores. At most 8, to stay gentle on a
/// shared broker and machine.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (cores * 2).clamp(1, 8)
}

//! What differs from one task framework to another, behind one trait: how its probe message
//! looks on each broker, what a probe queue leaves behind, how its command line is given
//! its options, which packages it records. Everything else (trials, the reducer, reports)
//! works the same for every framework.
//!
//! Adding a framework is one folder under `templates/` (its worker, launch and probe
//! modules, see the README) and one file here, registered in [`ALL`].

mod celery;
mod dramatiq;
pub mod replay;
mod rq;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::broker::{Delivery, Kind, Leftovers};
use crate::error::Error;
use crate::launch::{AppliesTo, LaunchOption};
use crate::launch::{FlagValue, LaunchOptions};
use crate::messages::LaunchMessage;
use crate::messages::names::TrialNames;
use replay::Fresh;

/// The fields of one report a worker process wrote (`worker:started`, say).
pub type Report = serde_json::Map<String, serde_json::Value>;

/// A report's text field.
fn text<'a>(report: &'a Report, name: &str) -> Option<&'a str> {
    report.get(name)?.as_str()
}

/// One probe message of a trial: its queue, the trial's token, its index.
#[derive(Debug, Clone, Copy)]
pub struct ProbeMessage<'a> {
    pub queue: &'a str,
    pub token: &'a str,
    pub index: u32,
    /// Unix time in milliseconds, for the frameworks that stamp their messages.
    pub now_ms: u64,
}

/// A framework CLI's command line as `minrepro capture` saw it, split by the CLI's own
/// parser in the captured process: the positionals (Dramatiq's modules, RQ's queues; a
/// subcommand's own name is not among them), and each flag with the words that belong to
/// it, named by its long form (`dest` is the parser's name for it, `None` when unknown).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CliArgs {
    pub positionals: Vec<String>,
    pub flags: Vec<(Option<String>, String, Vec<String>)>,
}

impl CliArgs {
    /// The command line again, words as given.
    pub fn words(&self) -> Vec<String> {
        let mut words = self.positionals.clone();
        for (_, flag, values) in &self.flags {
            words.push(flag.clone());
            words.extend(values.iter().cloned());
        }
        words
    }
}

pub trait Framework: Sync {
    /// Its name: the case file's `template`, and its folder under `templates/`.
    fn name(&self) -> &'static str;
    /// Its name as its users write it.
    fn title(&self) -> &'static str;
    /// The Python package every worker imports first: its import is a stage, and its
    /// absence is the interpreter's fault, not the configuration's.
    fn package(&self) -> &'static str;
    /// The console script a CLI launch runs unless the case names another.
    fn console_script(&self) -> &'static str;
    /// The module `python -m` runs as the framework's CLI (`dramatiq`, `celery`, `rq.cli`).
    fn cli_module(&self) -> &'static str;
    /// A captured launch of the framework's CLI, as a case: the imports its arguments name
    /// (in the order the launch template gives them back), and the options they set (the
    /// ones the case knows by name, every other flag verbatim, see [`keep_verbatim`]).
    /// The launcher, streams and working directory are set by the capture.
    fn captured_cli(&self, args: &CliArgs, options: &mut LaunchOptions) -> Vec<String>;
    /// The words of the framework's CLI that the options give (the probe's queue is not
    /// among them: the launch adds it).
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String>;
    /// The CLI flag `log_level` becomes, when the CLI has one (Dramatiq's has none: its
    /// CLI sets up its own logging).
    fn log_level_flag(&self) -> Option<&'static str> {
        None
    }
    /// Which launches an option applies to (the in-process worker, the CLI, both):
    /// `log_level` applies to the CLI too where it has a flag of its own.
    fn applies_to(&self, option: &LaunchOption) -> AppliesTo {
        match option {
            LaunchOption::LogLevel(_) if self.log_level_flag().is_some() => AppliesTo::Any,
            _ => option.applies_to(),
        }
    }
    /// What to write instead of an in-process option under the CLI.
    fn cli_sets_up(&self) -> &'static str {
        "the CLI sets up logging itself: give its own flags, as the launch did"
    }
    /// The name of the probe's task (actor) in the trial with `token`.
    fn probe_task(&self, token: &str) -> String;
    /// A probe message in the framework's own wire format on a broker of `kind`.
    fn probe_message(&self, kind: Kind, probe: ProbeMessage<'_>) -> Result<Delivery, Error>;
    /// Everything a trial's probe (its queue, its messages named after `token`) makes on a
    /// broker of `kind`, to delete after it.
    fn probe_leftovers(&self, kind: Kind, queue: &str, token: &str) -> Leftovers;
    /// What a worker registered of itself on a broker of `kind` (a heartbeat, a worker
    /// record), from what each of its processes reported when it started: deleted after the
    /// trial.
    fn worker_leftovers(&self, _kind: Kind, _started: &[&Report]) -> Leftovers {
        Leftovers::none()
    }
    /// An application queue the worker declared, with the queues the framework pairs with
    /// it: deleted after a trial when they are idle.
    fn queue_family(&self, queue: &str) -> Vec<String>;
    /// Collections the framework shares between all workers and queues of a Redis database
    /// (a set of every queue, a hash of every unacknowledged message), whose members a
    /// trial adds under its names or ids: removed after it.
    fn shared_collections(&self) -> &'static [&'static str] {
        &[]
    }
    /// One of the launch's messages made fresh for a trial (its id, its timestamps), in the
    /// framework's wire format for a broker of `kind`, to its destination under the
    /// trial's names.
    fn replay_message(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        fresh: &Fresh<'_>,
    ) -> Result<Delivery, Error>;
    /// What to ask the broker about to see the messages of `message` waiting in `queue`
    /// (the launch's name) in the trial `names`: the AMQP queue under the trial's name, or
    /// the Redis key of its list.
    fn queue_key(
        &self,
        kind: Kind,
        message: &LaunchMessage,
        queue: &str,
        names: &TrialNames,
    ) -> String;
}

/// The framework of a case file that names none.
pub const DEFAULT: &str = "dramatiq";

/// Every framework minrepro knows.
static ALL: &[&dyn Framework] = &[&dramatiq::Dramatiq, &celery::Celery, &rq::Rq];

/// The framework named `name`; `None` if there is none.
pub fn get(name: &str) -> Option<&'static dyn Framework> {
    ALL.iter().copied().find(|f| f.name() == name)
}

/// The framework of a template that exists (case files are checked when read).
pub fn of(template: &str) -> Result<&'static dyn Framework, Error> {
    get(template).ok_or_else(|| {
        Error::infra(format!(
            "no framework `{template}` in this build of minrepro (known: {})",
            names().join(", ")
        ))
    })
}

pub fn names() -> Vec<&'static str> {
    ALL.iter().map(|f| f.name()).collect()
}

/// A probe on a broker the framework does not run on.
fn unsupported(framework: &str, kind: Kind) -> Error {
    Error::input(format!(
        "the `{framework}` template does not run on {}\n  = help: point --broker (or the case's `broker`) at a broker {framework} supports",
        kind.name()
    ))
}

/// `log_level` as the framework's CLI flag, where it has one.
fn log_level_words(framework: &dyn Framework, options: &LaunchOptions) -> Vec<String> {
    match (framework.log_level_flag(), &options.log_level) {
        (Some(flag), Some(level)) => vec![flag.to_string(), level.clone()],
        _ => Vec::new(),
    }
}

/// Verbatim CLI flags, as the launch gave them.
fn verbatim_flags(options: &LaunchOptions) -> Vec<String> {
    let mut args = Vec::new();
    for (flag, value) in &options.cli_flags {
        args.push(flag.split(' ').next().unwrap_or(flag).to_string());
        args.extend(value.words());
    }
    args
}

/// A flag of a captured CLI that has no option of its own, kept as it was given, one
/// element each (a flag given twice is kept twice, the second as `--flag #2`).
fn keep_verbatim(options: &mut LaunchOptions, flag: &str, words: &[String]) {
    let cli_flags: &mut IndexMap<String, FlagValue> = &mut options.cli_flags;
    let mut name = flag.to_string();
    let mut occurrence = 1;
    while cli_flags.contains_key(&name) {
        occurrence += 1;
        name = format!("{flag} #{occurrence}");
    }
    let value = match words {
        [] => FlagValue::Switch,
        [one] => FlagValue::One(one.clone()),
        many => FlagValue::Many(many.to_vec()),
    };
    cli_flags.insert(name, value);
}

/// The items of comma-separated values given once or several times (`-Q a,b -Q c`).
fn comma_list<'a>(values: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    values
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A Redis command from its words.
fn command<const N: usize>(words: [&[u8]; N]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
}

/// A JSON body of a replayed message, parsed; an error names the task and the framework.
fn json_body(
    framework: &str,
    message: &LaunchMessage,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    match serde_json::from_slice(&message.body) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(Error::input(format!(
            "the recorded message for `{}` is not a {framework} message (its body is not a JSON object)\n  = help: capture the launch again, or correct the message's `body` in the case file",
            message.task
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_has_its_templates() {
        for name in names() {
            assert!(
                crate::template::exists(name),
                "framework `{name}` has no folder under templates/"
            );
            assert!(crate::template::requirements(name).is_ok());
        }
    }
}

//! What differs from one task framework to another, behind one trait: how its probe message
//! looks on each broker, what a probe queue leaves behind, how its command line is given
//! its options, which packages it records. Everything else (trials, the reducer, reports)
//! works the same for every framework.
//!
//! Adding a framework is one folder under `templates/` (its worker, launch and probe
//! modules, see the README) and one file here, registered in [`ALL`].

mod celery;
mod dramatiq;
mod rq;

use crate::broker::{Delivery, Kind, Leftovers};
use crate::case::LaunchOptions;
use crate::case::options::{AppliesTo, LaunchOption};
use crate::error::Error;

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
    /// The words of the framework's CLI that the options give (the probe's queue is not
    /// among them: the launch adds it).
    fn cli_arguments(&self, options: &LaunchOptions) -> Vec<String>;
    /// Which launches an option applies to (the in-process worker, the CLI, both).
    fn applies_to(&self, option: &LaunchOption) -> AppliesTo {
        option.applies_to()
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
}

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

/// Verbatim CLI flags, as the launch gave them.
fn verbatim_flags(options: &LaunchOptions) -> Vec<String> {
    let mut args = Vec::new();
    for (flag, value) in &options.cli_flags {
        args.push(flag.split(' ').next().unwrap_or(flag).to_string());
        args.extend(value.words());
    }
    args
}

/// A Redis command from its words.
fn command<const N: usize>(words: [&[u8]; N]) -> Vec<Vec<u8>> {
    words.iter().map(|w| w.to_vec()).collect()
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

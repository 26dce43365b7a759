//! From what a capture saw to a case file: the launch process's environment, working
//! directory, interpreter and streams (from /proc), the launch itself (the in-process
//! worker's imports, or the framework's CLI with its modules and flags, read by the
//! framework's own [`Framework::captured_cli`]), and the launch's own messages (see
//! [`super::sent`]), with where they went and what became of them in the header.

use std::path::Path;

use indexmap::IndexMap;

use super::proc::{PipeWatch, Snapshot, Stream};
use super::sent::Sent;
use super::session::{Candidate, ImportEvent, Session};
use crate::case::write::{self, CaseFile};
use crate::case::{
    Config, ElementKey, Expect, InputMode, LaunchOptions, Launcher, OutputMode, Runs,
};
use crate::error::Error;
use crate::framework::Framework;
use crate::messages::LaunchMessage;
use crate::redact::{is_secret_key, url_passwords};

/// Everything a case file is written from.
pub struct Seen<'a> {
    pub command: &'a [String],
    pub out: &'a Path,
    pub session: &'a Session<'a>,
    pub worker: &'a Candidate,
    /// The launch process, read from /proc.
    pub snapshot: &'a Snapshot,
    /// Its stdout and stderr, when they are pipes.
    pub watches: &'a [Option<PipeWatch>; 2],
    /// The command's exit status, once it has ended (`None`: still running, or killed).
    pub status: Option<i32>,
}

/// What was written, for the summary.
pub struct Written {
    pub env_vars: usize,
    pub imports: usize,
    /// The launch's messages the case replays (0: it uses minrepro's probe).
    pub messages: u32,
    pub notes: Vec<String>,
    /// The command failed, but every message it sent went through as its sender saw it:
    /// its failure is not a task left pending (why, in words).
    pub not_pending: Option<String>,
}

/// The interpreter flags, and what is run: `-m MODULE ARGS`, a script, or `-c`.
struct CommandLine {
    flags: Vec<String>,
    module: Option<String>,
    script: Option<String>,
}

fn parse_command_line(cmdline: &[String]) -> CommandLine {
    let mut line = CommandLine {
        flags: Vec::new(),
        module: None,
        script: None,
    };
    let mut rest = cmdline.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-m" => {
                line.module = rest.next().cloned();
                break;
            }
            "-c" => {
                line.script = Some("-c".into());
                break;
            }
            "-X" | "-W" | "--check-hash-based-pycs" => {
                line.flags.push(arg.clone());
                line.flags.extend(rest.next().cloned());
            }
            flag if flag.starts_with('-') && flag != "-" => line.flags.push(arg.clone()),
            _ => {
                line.script = Some(arg.clone());
                break;
            }
        }
    }
    line
}

fn output_mode(stream: &Stream, watch: Option<&PipeWatch>) -> OutputMode {
    match stream {
        Stream::Pipe => match watch.and_then(PipeWatch::unread) {
            Some(_) => OutputMode::Pipe,
            None => OutputMode::Drain,
        },
        Stream::Terminal(_) => OutputMode::Inherit,
        Stream::File(_) => OutputMode::File,
        Stream::Socket => OutputMode::Drain,
        Stream::Null | Stream::Closed | Stream::Other(_) => OutputMode::Null,
    }
}

/// Writes the case file from what was seen so far.
pub fn write_case(seen: &Seen<'_>) -> Result<Written, Error> {
    let worker = seen.worker;
    let framework = framework_of(worker);
    let mut notes = Vec::new();
    let imported = seen.session.imports(worker.pid);
    let config = launch_config(seen, framework, &mut notes);
    notes.extend(process_notes(seen, &imported));
    let sent = super::sent::sent(seen.session, worker);
    notes.extend(sent_notes(seen, &sent));
    let not_pending = not_pending(seen, &sent);
    if let Some(why) = &not_pending {
        notes.push(format!("NOT A TASK LEFT PENDING: {why}"));
    }
    let broker = case_broker(seen, &sent);
    if let Some(error) = &worker.worker_error {
        notes.push(format!(
            "some of the worker's settings could not be read ({error})"
        ));
    }

    let messages: Vec<LaunchMessage> = sent.iter().map(|s| s.message.clone()).collect();
    let case_dir = seen
        .out
        .parent()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
        .unwrap_or_default();
    let text = write::render(&CaseFile {
        header: &header(seen, framework, &notes),
        name: &case_name(seen.out),
        description: None,
        config: &config,
        broker: broker.as_deref(),
        python: Some(&worker.executable),
        expect: Expect::Same,
        timeout: None,
        runs: Runs::Fixed(1),
        messages: 1,
        launch_messages: &messages,
        keep: &[],
        secrets: &secrets(&config.env),
        expected_minimal: None,
        expected_isolated: None,
        case_dir: &case_dir,
    });
    // Written whole or not at all: a reader never sees half a case file.
    let partial = seen.out.with_extension("toml.partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, seen.out))
        .map_err(|err| Error::infra(format!("cannot write {}: {err}", seen.out.display())))?;
    Ok(Written {
        env_vars: config.env.len(),
        imports: config.imports.len(),
        messages: messages.iter().map(|m| m.count).sum(),
        notes,
        not_pending,
    })
}

/// The launch as a case's configuration: the process's environment, streams, working
/// directory and interpreter flags as /proc showed them, then what the framework's CLI
/// or the in-process worker adds (their notes go to `notes`).
fn launch_config(seen: &Seen<'_>, framework: &dyn Framework, notes: &mut Vec<String>) -> Config {
    let snapshot = seen.snapshot;
    let worker = seen.worker;
    let line = parse_command_line(&snapshot.cmdline);
    let mut env: IndexMap<String, String> = snapshot.environ.iter().cloned().collect();
    let mut options = LaunchOptions {
        stdin: match snapshot.streams[0] {
            Stream::Pipe => InputMode::Pipe,
            Stream::Terminal(_) => InputMode::Inherit,
            _ => InputMode::Null,
        },
        stdout: output_mode(&snapshot.streams[1], seen.watches[0].as_ref()),
        stderr: output_mode(&snapshot.streams[2], seen.watches[1].as_ref()),
        cwd: Some(snapshot.cwd.clone()),
        python_flags: line.flags.clone(),
        ..LaunchOptions::default()
    };
    let mut modules: Vec<String> = Vec::new();
    if worker.cli {
        cli_launch(framework, worker, &mut options, &mut modules, notes);
        if worker.event == "cli-fork" {
            notes.push(
                "no worker started during the capture: Dramatiq's CLI forked this worker process, which never started its worker (a crash at an import shows when the case is run)".into(),
            );
        }
    } else {
        in_process_launch(seen, &line, &mut env, &mut options, &mut modules, notes);
    }
    Config {
        template: framework.name().to_string(),
        env,
        imports: modules,
        options,
        sources: IndexMap::new(),
    }
}

/// The case header's lines about the launch process itself, for a reader checking that
/// the capture saw the right one: what exec'd it, the application modules it imported
/// (`imported`, read before the launch was), and its output streams.
fn process_notes(seen: &Seen<'_>, imported: &[ImportEvent]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(exec) = exec_by(seen) {
        notes.push(format!(
            "launched by `{exec}`, which exec'd the process replayed here"
        ));
    }
    let application: Vec<_> = imported
        .iter()
        .filter(|e| e.origin == "application")
        .collect();
    if !application.is_empty() {
        let listed: Vec<String> = application
            .iter()
            .map(|e| format!("{} ({:.3}s)", e.module, e.duration_s))
            .collect();
        notes.push(format!(
            "the worker process imported, in order: {}",
            listed.join(", ")
        ));
    }
    let snapshot = seen.snapshot;
    for (name, stream, watch) in [
        ("stdout", &snapshot.streams[1], &seen.watches[0]),
        ("stderr", &snapshot.streams[2], &seen.watches[1]),
    ] {
        let described = match (stream, watch) {
            (Stream::Pipe, Some(watch)) => match watch.unread() {
                Some(bytes) => format!("a pipe nobody read ({bytes} bytes waited unread)"),
                None if watch.seen_output() => "a pipe that was read".to_string(),
                None => "a pipe in which no output was seen waiting (taken as read)".to_string(),
            },
            _ => stream.describe(),
        };
        notes.push(format!("{name}: {described}"));
    }
    notes
}

/// The env elements to list in `secrets`, so that attachments and reports redact them:
/// a secret-looking name with a value, or a value holding a URL's password.
fn secrets(env: &IndexMap<String, String>) -> Vec<String> {
    env.iter()
        .filter(|(key, value)| {
            (is_secret_key(key) && !value.trim().is_empty()) || !url_passwords(value).is_empty()
        })
        .map(|(key, _)| ElementKey::Env(key.clone()).to_string())
        .collect()
}

/// The case's name, from the output file's name: a case's name must be usable as a
/// folder name, so anything else becomes '-'.
fn case_name(out: &Path) -> String {
    out.file_stem()
        .map(|s| {
            s.to_string_lossy().replace(
                |c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)),
                "-",
            )
        })
        .unwrap_or_else(|| "captured".into())
}

/// The case file's header: when and from what command it was captured, which process is
/// the worker and what part it plays in the launch, and the capture's notes.
fn header(seen: &Seen<'_>, framework: &dyn Framework, notes: &[String]) -> String {
    let worker = seen.worker;
    let cmdline = seen.snapshot.cmdline.join(" ");
    let title = framework.title();
    let role = if worker.cli && worker.launch_pid != worker.pid {
        format!(
            "a worker process forked by {title}'s CLI (process {}: {cmdline})",
            worker.launch_pid
        )
    } else if worker.cli {
        format!("the main process of {title}'s CLI, which runs the worker ({cmdline})")
    } else {
        format!("an in-process {title} worker ({cmdline})")
    };
    format!(
        "Captured by `minrepro capture` on {} from:\n  {}\nThe worker: process {}, {role}, on {} in {}.\n{}\nSecret values are kept (they may matter) and listed in `secrets`: attachments and reports redact them.",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        seen.command.join(" "),
        worker.pid,
        worker.executable.display(),
        seen.snapshot.cwd.display(),
        notes.join("\n")
    )
}

/// The framework a candidate's worker belongs to (a hook of an earlier minrepro said
/// nothing: Dramatiq).
fn framework_of(worker: &Candidate) -> &'static dyn Framework {
    crate::framework::get(&worker.framework)
        .or_else(|| crate::framework::get("dramatiq"))
        .expect("dramatiq is a framework of every build")
}

/// The framework's CLI, as its own parser read the command line: how it was started (its
/// console script, or `python -m`), and the imports and options its arguments give, as
/// the framework reads them ([`Framework::captured_cli`]).
fn cli_launch(
    framework: &dyn Framework,
    worker: &Candidate,
    options: &mut LaunchOptions,
    modules: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let title = framework.title();
    let main_module = format!("{}.__main__", framework.cli_module());
    options.launcher = if worker.main_module.as_deref() == Some(main_module.as_str()) {
        Launcher::Module
    } else {
        Launcher::ConsoleScript
    };
    let script = worker
        .main_file
        .as_deref()
        .and_then(|f| Path::new(f).file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let from_console_script = script
        .as_deref()
        .is_some_and(|n| n.starts_with(framework.console_script()));
    if options.launcher == Launcher::ConsoleScript
        && from_console_script
        && script.as_deref() != Some(framework.console_script())
    {
        // dramatiq-gevent, rqworker: another way to run the same CLI.
        options.script = script.clone();
    }
    if options.launcher == Launcher::ConsoleScript && !from_console_script {
        notes.push(format!(
            "{title}'s CLI ran from {}: it is replayed as the {} console script, without that script's own code",
            worker.main_file.as_deref().unwrap_or("an unknown main module"),
            framework.console_script()
        ));
    }
    if let Some(error) = &worker.cli_error {
        notes.push(format!(
            "the CLI's arguments could not be read ({error}): only its modules are known"
        ));
    }
    let args = worker.cli_args.clone().unwrap_or_default();
    options.cli_flags = Default::default();
    *modules = framework.captured_cli(&args, options);
    notes.push(format!(
        "{title}'s CLI ({}): {}",
        match options.launcher {
            Launcher::Module => format!("python -m {}", framework.cli_module()),
            _ => format!(
                "the {} console script",
                options
                    .script
                    .as_deref()
                    .unwrap_or(framework.console_script())
            ),
        },
        args.words().join(" ")
    ));
}

/// The case's `broker`, where the probe goes when the case has no messages of the
/// launch's, and where a worker whose application sets no broker goes: the broker most of
/// the launch's messages went to, else the worker's own; left out when it is minrepro's
/// default anyway.
fn case_broker(seen: &Seen<'_>, sent: &[Sent]) -> Option<String> {
    let mut counts: IndexMap<&str, u32> = IndexMap::new();
    for shape in sent {
        *counts.entry(shape.message.broker.as_str()).or_default() += shape.message.count;
    }
    let url = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(url, _)| url.to_string())
        .or_else(|| seen.worker.broker_url.clone())?;
    let default = crate::messages::address(crate::broker::DEFAULT_URL);
    let same_as_default =
        crate::messages::address(&url).replace("localhost", "127.0.0.1") == default;
    (!same_as_default).then_some(url)
}

/// The case header's lines about the launch's messages: where each shape went, against
/// where the worker consumed, and what became of it; the command's own end.
fn sent_notes(seen: &Seen<'_>, sent: &[Sent]) -> Vec<String> {
    let worker = seen.worker;
    let broker = match worker.broker_url.as_deref() {
        Some(url) if url.starts_with("memory://") => {
            "an in-memory broker (kombu's memory://)".to_string()
        }
        Some(url) => crate::messages::address(url),
        None if worker.on_stub_broker() => {
            "an in-memory broker (Dramatiq's StubBroker)".to_string()
        }
        None => worker.broker.clone().unwrap_or_else(|| "its broker".into()),
    };
    let consumed = format!(
        "the worker consumed {} on {broker}",
        if worker.queues.is_empty() {
            "no queue".to_string()
        } else {
            worker
                .queues
                .iter()
                .map(|q| format!("`{q}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut notes = Vec::new();
    if sent.is_empty() {
        notes.push(format!(
            "the command's processes sent no task message during the capture: each trial sends minrepro's probe; {consumed}"
        ));
    }
    for shape in sent {
        let message = &shape.message;
        let when = match (message.at, message.until) {
            (Some(at), Some(until)) if until > at => format!(
                ", {} to {} after the worker started",
                seconds(at),
                seconds(until)
            ),
            (Some(at), _) => format!(", {} after the worker started", seconds(at)),
            _ => String::new(),
        };
        let waited = message
            .waited
            .as_ref()
            .map(|w| {
                format!(
                    "; the sender waited on their results in {} ({})",
                    crate::messages::results::location_words(&w.backend, &message.broker),
                    w.how
                )
            })
            .unwrap_or_default();
        notes.push(format!("{}{when}{waited}; {consumed}", message.sentence()));
        notes.push(format!("  what became of them: {}", shape.fate()));
    }
    if !sent.is_empty() {
        let count = sent.iter().map(|s| s.message.count).sum::<u32>();
        notes.push(format!(
            "each trial replays {} where {} sent, with fresh ids, under names of the trial's own",
            if count == 1 {
                "this message".to_string()
            } else {
                format!("these {count} messages")
            },
            if count == 1 { "it was" } else { "they were" }
        ));
    }
    if let Some(status) = seen.status {
        let failures = seen.session.failures();
        let words = failures
            .first()
            .map(|f| format!(": {} said \"{}\"", f.test, first_line(&f.words)))
            .unwrap_or_default();
        notes.push(format!("the command exited with status {status}{words}"));
    }
    notes
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or_default()
}

/// Seconds, signed, in a few characters: "-0.41s", "1.2s".
fn seconds(value: f64) -> String {
    format!("{value:.2}s")
}

/// The command failed, yet every message it sent went through as its sender saw it: that
/// failure is no task left pending. Why, in words.
fn not_pending(seen: &Seen<'_>, sent: &[Sent]) -> Option<String> {
    let status = seen.status.filter(|s| *s != 0)?;
    if sent.is_empty() || !sent.iter().all(Sent::succeeded) {
        return None;
    }
    let words = seen
        .session
        .failures()
        .first()
        .map(|f| format!(" ({}: {})", f.test, first_line(&f.words)))
        .unwrap_or_default();
    Some(format!(
        "the command failed (exit status {status}{words}), but all {} of its messages were executed, their results where the sender read them: look for the failure elsewhere than in the worker",
        sent.iter().map(|s| s.message.count).sum::<u32>()
    ))
}

/// An in-process worker: the application modules its process imported, in order; the
/// threads, logging and Django set-up it started with.
fn in_process_launch(
    seen: &Seen<'_>,
    line: &CommandLine,
    env: &mut IndexMap<String, String>,
    options: &mut LaunchOptions,
    modules: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    let worker = seen.worker;
    let imported = seen.session.imports(worker.pid);
    // The worker's sys.path[0] (its script's folder, or the working directory for -m) is
    // not on a generated worker's path. Where application modules were found only there,
    // it joins PYTHONPATH; otherwise the environment stays exactly as captured.
    if let Some(first) = worker.path0.as_deref().filter(|p| !p.is_empty()) {
        let current = env.get("PYTHONPATH").cloned().unwrap_or_default();
        let entries: Vec<&str> = current.split(':').filter(|e| !e.is_empty()).collect();
        let only_there = imported.iter().any(|e| {
            e.origin == "application"
                && e.file.as_deref().map(Path::new).is_some_and(|file| {
                    file.starts_with(first) && !entries.iter().any(|entry| file.starts_with(entry))
                })
        });
        if only_there {
            let joined = if current.is_empty() {
                first.to_string()
            } else {
                format!("{first}:{current}")
            };
            env.insert("PYTHONPATH".into(), joined);
            notes.push(format!(
                "PYTHONPATH starts with {first}: application modules were found there, in the worker's sys.path[0], which a generated worker does not have"
            ));
        }
    }
    for event in imported.iter().filter(|e| e.origin == "application") {
        if !modules.contains(&event.module) {
            modules.push(event.module.clone());
        }
    }
    match (&line.module, &line.script) {
        (Some(module), _) => {
            if !modules.contains(module) {
                modules.push(module.clone());
                notes.push(format!(
                    "{module} ran as __main__ (python -m): it is imported last, so its `if __name__ == \"__main__\"` block is not run"
                ));
            }
        }
        (None, Some(script)) => notes.push(format!(
            "the worker ran the script {script}: only the modules it imported are reproduced, not the script's own code"
        )),
        (None, None) => {}
    }
    options.worker_threads = worker.worker_threads;
    // The level the worker was given (Celery's, RQ's), else the root logger's when it has
    // a handler (Dramatiq's workers log through the application's logging set-up).
    let level = match &worker.worker_log_level {
        Some(level) => Some(level.as_str()),
        None if worker.log_handlers > 0 => worker.log_level.as_deref(),
        None => None,
    };
    if let Some(level) = level.filter(|l| *l != "WARNING") {
        options.log_level = Some(level.to_string());
    }
    options.django_settings = worker.django_settings.clone();
    if worker.on_stub_broker() {
        notes.push(
            "this worker ran on Dramatiq's StubBroker: no other worker was started during the capture".into(),
        );
    }
}

/// The command the launch process was before it exec'd into the one replayed (as
/// `manage.py rundramatiq` execs the dramatiq console script).
fn exec_by(seen: &Seen<'_>) -> Option<String> {
    let processes = seen.session.processes();
    let started: Vec<_> = processes
        .iter()
        .filter(|p| p.event == "started" && p.pid == seen.worker.launch_pid)
        .collect();
    match started.as_slice() {
        [first, _, ..] => Some(first.argv.join(" ")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags_module_and_script_are_told_apart() {
        let launch = parse_command_line(&line(&[
            "python3",
            "-u",
            "-X",
            "importtime",
            "-m",
            "app.worker",
            "--fast",
        ]));
        assert_eq!(launch.flags, ["-u", "-X", "importtime"]);
        assert_eq!(launch.module.as_deref(), Some("app.worker"));
        let launch = parse_command_line(&line(&["python", "-B", "worker.py", "-v"]));
        assert_eq!(launch.flags, ["-B"]);
        assert_eq!(launch.script.as_deref(), Some("worker.py"));
    }
}

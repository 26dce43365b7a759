//! `minrepro capture`: records the real configuration of a worker launch as a case file.
//! The command runs as it would (its own stdio, its own environment); a hook installed
//! through `.pth` files (see [`inject`]) finds the first process that imports the trigger
//! module (dramatiq, or `--match`) and records its imports as they happen; the environment
//! it was started with, its working directory, interpreter, flags and standard streams are
//! read from /proc.

mod inject;
mod proc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::case::write::{self, CaseFile};
use crate::case::{Config, Expect, InputMode, LaunchOptions, Launcher, OutputMode, Runs};
use crate::error::Error;
use crate::redact::{is_secret_key, url_passwords};
use proc::{PipeWatch, Snapshot, Stream};

pub struct Request {
    pub out: PathBuf,
    pub trigger: String,
    pub duration: Option<Duration>,
    pub python_envs: Vec<PathBuf>,
    pub command: Vec<String>,
}

/// What was captured, for the summary printed after.
pub struct Captured {
    pub pid: u32,
    pub env_vars: usize,
    pub imports: usize,
    pub notes: Vec<String>,
    pub command_status: Option<i32>,
}

/// What the hook wrote when it claimed a process.
#[derive(Deserialize)]
struct Claim {
    pid: u32,
    path0: Option<String>,
}

/// One line of the hook's record.
#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    order: u64,
    #[serde(default)]
    module: String,
    #[serde(default)]
    origin: String,
    file: Option<String>,
    #[serde(default)]
    duration_s: f64,
    worker_threads: Option<u32>,
    level: Option<String>,
    #[serde(default)]
    handlers: usize,
}

/// How often the session folder and the pipes are looked at.
const POLL: Duration = Duration::from_millis(20);

pub async fn capture(request: Request, interrupted: CancellationToken) -> Result<Captured, Error> {
    let session = tempfile::Builder::new()
        .prefix("minrepro-capture-")
        .tempdir()
        .map_err(|err| Error::infra(format!("cannot create a session folder: {err}")))?;
    let interpreters = inject::candidate_interpreters(&request.python_envs, &request.command);
    let installed = inject::install(
        session.path(),
        &interpreters,
        std::process::id(),
        &request.trigger,
    )?;
    eprintln!(
        "minrepro: watching for the first process that imports `{}` (hook in {})",
        request.trigger,
        installed
            .site_packages
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut child = tokio::process::Command::new(&request.command[0])
        .args(&request.command[1..])
        .process_group(0)
        .spawn()
        .map_err(|err| Error::input(format!("cannot run `{}`: {err}", request.command[0])))?;
    let group = child.id().map(|pid| nix::unistd::Pid::from_raw(pid as i32));

    let started = Instant::now();
    let mut taken: Option<(Snapshot, Option<String>)> = None;
    let mut watches: [Option<PipeWatch>; 2] = [None, None];
    let mut status = None;
    loop {
        tokio::select! {
            _ = interrupted.cancelled() => break,
            exit = child.wait() => {
                status = exit.ok().and_then(|s| s.code());
                break;
            }
            _ = tokio::time::sleep(POLL) => {}
        }
        if taken.is_none()
            && let Ok(text) = std::fs::read_to_string(session.path().join("claim"))
            && let Ok(claim) = serde_json::from_str::<Claim>(&text)
            && let Ok(snapshot) = proc::snapshot(claim.pid)
        {
            for (slot, fd) in watches.iter_mut().zip([1, 2]) {
                if snapshot.streams[fd as usize] == Stream::Pipe {
                    *slot = PipeWatch::open(claim.pid, fd);
                }
            }
            eprintln!(
                "minrepro: captured process {} ({})",
                claim.pid,
                snapshot.cmdline.join(" ")
            );
            taken = Some((snapshot, claim.path0));
            // Written at once, so that nothing is lost if the command or minrepro is killed.
            let _ = write_case(
                &request,
                session.path(),
                taken.as_ref().expect("just taken"),
                &watches,
            );
        }
        for watch in watches.iter_mut().flatten() {
            watch.sample();
        }
        if request.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    // The command's own end, or ours: its whole process group is stopped.
    if status.is_none()
        && let Some(group) = group
    {
        stop_group(group, &mut child).await;
    }
    drop(installed);
    let Some(taken) = taken else {
        return Err(Error::Input(format!(
            "error: no process of `{}` imported `{}`\n  = help: check that the worker runs on one of the interpreters the hook was installed for (name its interpreter or virtual environment with --python-env), that it is not started with python -S, and the module given with --match",
            request.command.join(" "),
            request.trigger
        )));
    };
    let (env_vars, imports, notes) = write_case(&request, session.path(), &taken, &watches)?;
    Ok(Captured {
        pid: taken.0.pid,
        env_vars,
        imports,
        notes,
        command_status: status,
    })
}

async fn stop_group(group: nix::unistd::Pid, child: &mut tokio::process::Child) {
    use nix::sys::signal::{Signal, killpg};
    let _ = killpg(group, Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait().await;
    }
    let _ = killpg(group, Signal::SIGKILL);
}

fn events(session: &Path, pid: u32) -> Vec<Event> {
    let text =
        std::fs::read_to_string(session.join(format!("imports-{pid}.jsonl"))).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The interpreter flags, and what is run: `-m MODULE ARGS`, a script, or `-c`.
struct Launch {
    flags: Vec<String>,
    module: Option<String>,
    script: Option<String>,
    args: Vec<String>,
}

fn parse_command_line(cmdline: &[String]) -> Launch {
    let mut launch = Launch {
        flags: Vec::new(),
        module: None,
        script: None,
        args: Vec::new(),
    };
    let mut rest = cmdline.iter().skip(1);
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-m" => {
                launch.module = rest.next().cloned();
                break;
            }
            "-c" => {
                launch.script = Some("-c".into());
                break;
            }
            "-X" | "-W" | "--check-hash-based-pycs" => {
                launch.flags.push(arg.clone());
                launch.flags.extend(rest.next().cloned());
            }
            flag if flag.starts_with('-') && flag != "-" => launch.flags.push(arg.clone()),
            _ => {
                launch.script = Some(arg.clone());
                break;
            }
        }
    }
    launch.args = rest.cloned().collect();
    launch
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

/// Writes the case file from what was taken so far: (env vars, imports, notes).
fn write_case(
    request: &Request,
    session: &Path,
    (snapshot, path0): &(Snapshot, Option<String>),
    watches: &[Option<PipeWatch>; 2],
) -> Result<(usize, usize, Vec<String>), Error> {
    let mut notes = Vec::new();
    let launch = parse_command_line(&snapshot.cmdline);
    let recorded = events(session, snapshot.pid);

    let mut env: IndexMap<String, String> = snapshot.environ.iter().cloned().collect();
    // The worker's sys.path[0] (its script's folder, or the working directory for -m) is
    // not on a generated worker's path. Where application modules were found only there,
    // it joins PYTHONPATH; otherwise the environment stays exactly as captured.
    if let Some(first) = path0.as_deref().filter(|p| !p.is_empty()) {
        let current = env.get("PYTHONPATH").cloned().unwrap_or_default();
        let entries: Vec<&str> = current.split(':').filter(|e| !e.is_empty()).collect();
        let only_there = recorded.iter().any(|e| {
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

    let mut imports: Vec<(u64, String, f64)> = recorded
        .iter()
        .filter(|e| e.event == "import" && e.origin == "application")
        .map(|e| (e.order, e.module.clone(), e.duration_s))
        .collect();
    imports.sort_by_key(|(order, _, _)| *order);
    let mut modules: Vec<String> = Vec::new();
    for (_, module, _) in &imports {
        if !modules.contains(module) {
            modules.push(module.clone());
        }
    }

    let mut options = LaunchOptions {
        stdin: match snapshot.streams[0] {
            Stream::Pipe => InputMode::Pipe,
            Stream::Terminal(_) => InputMode::Inherit,
            _ => InputMode::Null,
        },
        stdout: output_mode(&snapshot.streams[1], watches[0].as_ref()),
        stderr: output_mode(&snapshot.streams[2], watches[1].as_ref()),
        cwd: Some(snapshot.cwd.clone()),
        python_flags: launch.flags.clone(),
        ..LaunchOptions::default()
    };
    match (&launch.module, &launch.script) {
        (Some(module), _) if module == "dramatiq" => {
            // The CLI imports the application in the worker processes it forks: the broker
            // module and the modules its arguments name.
            options.launcher = Launcher::Cli;
            options.processes = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
            options.worker_threads = 8;
            let mut args = launch.args.iter();
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--processes" | "-p" => options.processes = next_number(&mut args, options.processes),
                    "--threads" | "-t" => options.worker_threads = next_number(&mut args, options.worker_threads),
                    flag if flag.starts_with('-') => {}
                    module => {
                        let module = module.split(':').next().unwrap_or(module).to_string();
                        if !modules.contains(&module) {
                            modules.push(module);
                        }
                    }
                }
            }
        }
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
    if let Some(threads) = recorded.iter().rev().find_map(|e| e.worker_threads) {
        options.worker_threads = threads;
    }
    if let Some(logging) = recorded.iter().rev().find(|e| e.event == "logging")
        && logging.handlers > 0
        && let Some(level) = logging.level.as_deref().filter(|l| *l != "WARNING")
    {
        options.log_level = Some(level.to_string());
    }
    for (name, stream, watch) in [
        ("stdout", &snapshot.streams[1], &watches[0]),
        ("stderr", &snapshot.streams[2], &watches[1]),
    ] {
        let seen = match (stream, watch) {
            (Stream::Pipe, Some(watch)) => match watch.unread() {
                Some(bytes) => format!("a pipe nobody read ({bytes} bytes waited unread)"),
                None if watch.seen_output() => "a pipe that was read".to_string(),
                None => "a pipe in which no output was seen waiting (taken as read)".to_string(),
            },
            _ => stream.describe(),
        };
        notes.push(format!("{name}: {seen}"));
    }

    let config = Config {
        template: crate::template::DEFAULT.to_string(),
        env,
        imports: modules,
        options,
    };
    let secrets: Vec<String> = config
        .env
        .iter()
        .filter(|(key, value)| {
            (is_secret_key(key) && !value.trim().is_empty()) || !url_passwords(value).is_empty()
        })
        .map(|(key, _)| format!("env:{key}"))
        .collect();
    let name = request
        .out
        .file_stem()
        .map(|s| {
            s.to_string_lossy().replace(
                |c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)),
                "-",
            )
        })
        .unwrap_or_else(|| "captured".into());
    let header = format!(
        "Captured by `minrepro capture` on {} from:\n  {}\nThe worker: process {}, {} (interpreter {}), in {}.\n{}\nSecret values are kept (they may matter) and listed in `secrets`: attachments and reports redact them.",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        request.command.join(" "),
        snapshot.pid,
        snapshot.cmdline.join(" "),
        snapshot.exe.display(),
        snapshot.cwd.display(),
        notes.join("\n")
    );
    let case_dir = request
        .out
        .parent()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
        .unwrap_or_default();
    let text = write::render(&CaseFile {
        header: &header,
        name: &name,
        description: None,
        config: &config,
        expect: Expect::Same,
        timeout: None,
        runs: Runs::Fixed(1),
        keep: &[],
        secrets: &secrets,
        expected_minimal: None,
        expected_isolated: None,
        case_dir: &case_dir,
    });
    std::fs::write(&request.out, text)
        .map_err(|err| Error::infra(format!("cannot write {}: {err}", request.out.display())))?;
    Ok((config.env.len(), config.imports.len(), notes))
}

fn next_number<'a>(args: &mut impl Iterator<Item = &'a String>, default: u32) -> u32 {
    args.next().and_then(|n| n.parse().ok()).unwrap_or(default)
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
        assert_eq!(launch.args, ["--fast"]);
        let launch = parse_command_line(&line(&["python", "-B", "worker.py", "-v"]));
        assert_eq!(launch.flags, ["-B"]);
        assert_eq!(launch.script.as_deref(), Some("worker.py"));
    }
}

//! `minrepro capture`: records the real configuration of a worker launch as a case file.
//! The command runs as it would (its own stdio, its own environment); a hook installed
//! through `.pth` files (see [`inject`]) watches every Python process of it and reports
//! each one that starts a worker of a framework minrepro knows — a dramatiq.Worker, a Celery
//! WorkController (`celery worker`'s main process), an RQ work loop (see [`session`]). The
//! worker is the first of those not on Dramatiq's StubBroker (or the first process that
//! imports `--match`); its launch — the process itself, or Dramatiq's CLI's main process for
//! a worker that CLI forked — is read from /proc, and the case file is written from both
//! (see [`casefile`]).

mod casefile;
mod inject;
mod proc;
mod sent;
mod session;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::Error;
use proc::{PipeWatch, Snapshot, Stream};
use session::{Candidate, Session};

pub struct Request {
    pub out: PathBuf,
    /// `--match MODULE`: the first process that imports it, instead of the first worker.
    pub trigger: Option<String>,
    pub duration: Option<Duration>,
    pub python_envs: Vec<PathBuf>,
    pub command: Vec<String>,
}

/// What was captured, for the summary printed after.
pub struct Captured {
    pub pid: u32,
    pub env_vars: usize,
    pub imports: usize,
    pub messages: u32,
    pub notes: Vec<String>,
    /// The command failed, but not because of a task left pending (why).
    pub not_pending: Option<String>,
    pub command_status: Option<i32>,
}

/// How often the session folder and the pipes are looked at.
const POLL: Duration = Duration::from_millis(20);

/// `capture --clean`: the hooks of killed captures, removed from the interpreters a
/// capture would use (with `python_envs`).
pub fn clean(python_envs: &[PathBuf]) -> Vec<PathBuf> {
    inject::clean(&inject::candidate_interpreters(python_envs, &[]))
}

/// The worker taken, with its launch process as it was when taken.
struct Taken {
    worker: Candidate,
    snapshot: Snapshot,
    watches: [Option<PipeWatch>; 2],
}

impl Taken {
    fn of(worker: Candidate) -> Option<Taken> {
        let snapshot = proc::snapshot(worker.launch_pid).ok()?;
        let mut watches: [Option<PipeWatch>; 2] = [None, None];
        for (slot, fd) in watches.iter_mut().zip([1, 2]) {
            if snapshot.streams[fd as usize] == Stream::Pipe {
                *slot = PipeWatch::open(worker.launch_pid, fd);
            }
        }
        Some(Taken {
            worker,
            snapshot,
            watches,
        })
    }
}

pub async fn capture(request: Request, interrupted: CancellationToken) -> Result<Captured, Error> {
    let session_dir = tempfile::Builder::new()
        .prefix("minrepro-capture-")
        .tempdir()
        .map_err(|err| Error::infra(format!("cannot create a session folder: {err}")))?;
    let session = Session {
        dir: session_dir.path(),
    };
    let previous = prepare_out(&request.out)?;
    let interpreters = inject::candidate_interpreters(&request.python_envs, &request.command);
    let installed = inject::install(
        session.dir,
        &interpreters,
        std::process::id(),
        request.trigger.as_deref(),
    )?;
    eprintln!(
        "minrepro: watching for {} (hook in {})",
        match &request.trigger {
            Some(module) => format!("the first process that imports `{module}`"),
            None => "the process that starts a Dramatiq, Celery or RQ worker".to_string(),
        },
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
    let (found, status) = watch(&request, &session, &mut child, &interrupted).await;
    // The command's own end, or ours: whatever it started is stopped (a fixture that
    // failed may leave its worker behind).
    if let Some(group) = group {
        stop_group(group, &mut child).await;
    }
    drop(installed);
    let Some(taken) = found.best() else {
        return Err(nothing_found(&request, &session, &previous));
    };
    let written = write(&request, &session, &taken, status)?;
    let _ = std::fs::remove_file(&previous);
    Ok(Captured {
        pid: taken.worker.pid,
        env_vars: written.env_vars,
        imports: written.imports,
        messages: written.messages,
        notes: written.notes,
        not_pending: written.not_pending,
        command_status: status,
    })
}

/// Makes `--out`'s folder, and moves an earlier capture's file aside (to the path
/// returned): it must not pass for this one's if this one finds nothing.
fn prepare_out(out: &Path) -> Result<PathBuf, Error> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|err| {
            Error::input(format!(
                "cannot create the folder of --out {}: {err}",
                out.display()
            ))
        })?;
    }
    let previous = out.with_extension("toml.previous");
    if out.is_file() {
        std::fs::rename(out, &previous)
            .map_err(|err| Error::infra(format!("cannot move {} aside: {err}", out.display())))?;
    }
    Ok(previous)
}

/// The workers a capture has found so far: the one wanted, and those kept in case no
/// worker starts on a real broker.
#[derive(Default)]
struct Found {
    taken: Option<Taken>,
    /// A worker process of Dramatiq's CLI that has not started its worker (yet: it may
    /// crash at an import), preferred to `stub`.
    cli_fork: Option<Taken>,
    /// A worker on a StubBroker (a unit test's).
    stub: Option<Taken>,
}

impl Found {
    /// Looks among the candidates the hook reported for the wanted worker, until it is
    /// found; its case is written at once, so that nothing is lost if the command or
    /// minrepro is killed.
    fn look(&mut self, request: &Request, session: &Session<'_>) {
        if self.taken.is_some() {
            return;
        }
        let candidates = session.candidates();
        let wanted = |c: &&Candidate| match &request.trigger {
            Some(_) => c.event == "match",
            None => c.event == "worker" && !c.on_stub_broker(),
        };
        if let Some(worker) = candidates.iter().find(wanted).cloned()
            && let Some(found) = Taken::of(worker)
        {
            announce(&found);
            let _ = write(request, session, &found, None);
            self.taken = Some(found);
        } else if request.trigger.is_none() {
            let first = |wanted: fn(&Candidate) -> bool| {
                candidates
                    .iter()
                    .find(|c| wanted(c))
                    .cloned()
                    .and_then(Taken::of)
            };
            if self.cli_fork.is_none() {
                self.cli_fork = first(|c| c.event == "cli-fork");
            }
            if self.stub.is_none() {
                self.stub = first(Candidate::on_stub_broker);
            }
        }
    }

    /// Every launch kept has its pipes sampled, since whether anyone reads them shows
    /// only over time.
    fn sample(&mut self) {
        for taken in self
            .taken
            .iter_mut()
            .chain(self.cli_fork.iter_mut())
            .chain(self.stub.iter_mut())
        {
            for watch in taken.watches.iter_mut().flatten() {
                watch.sample();
            }
        }
    }

    /// The worker the case is written from, in the order of preference.
    fn best(self) -> Option<Taken> {
        self.taken.or(self.cli_fork).or(self.stub)
    }
}

/// Watches the running command until it ends (its exit status is returned), the user
/// interrupts, or `--duration` has passed.
async fn watch(
    request: &Request,
    session: &Session<'_>,
    child: &mut tokio::process::Child,
    interrupted: &CancellationToken,
) -> (Found, Option<i32>) {
    let started = Instant::now();
    let mut found = Found::default();
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
        found.look(request, session);
        found.sample();
        if request.duration.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    (found, status)
}

/// The error of a capture that found no worker: what each of the command's processes
/// was seen doing, so the reader can tell why none was taken.
fn nothing_found(request: &Request, session: &Session<'_>, previous: &Path) -> Error {
    let seen = session.seen();
    let previous_note = if previous.is_file() {
        format!(
            "\n  = note: the earlier {} was moved to {}: it is not this launch's",
            request.out.display(),
            previous.display()
        )
    } else {
        String::new()
    };
    Error::Input(format!(
        "error: no process of `{}` {}\n  = seen: {}{previous_note}\n  = help: check that the worker runs on one of the interpreters the hook was installed for (name its interpreter or virtual environment with --python-env), that it is not started with python -S, and that it starts within --duration; --match MODULE takes the first process that imports MODULE instead",
        request.command.join(" "),
        match &request.trigger {
            Some(module) => format!("imported `{module}`"),
            None => "started a Dramatiq worker (nor a Celery or RQ one)".to_string(),
        },
        if seen.is_empty() {
            "no Python process of the command ran with the hook".to_string()
        } else {
            seen.join("\n          ")
        }
    ))
}

fn announce(found: &Taken) {
    let worker = &found.worker;
    let title = crate::framework::get(&worker.framework).map_or("Dramatiq", |f| f.title());
    if worker.cli && worker.launch_pid != worker.pid {
        eprintln!(
            "minrepro: captured the worker process {} of {title}'s CLI (process {}: {})",
            worker.pid,
            worker.launch_pid,
            found.snapshot.cmdline.join(" ")
        );
    } else if worker.cli {
        eprintln!(
            "minrepro: captured {title}'s CLI, process {} ({}), which runs the worker",
            worker.pid,
            found.snapshot.cmdline.join(" ")
        );
    } else {
        eprintln!(
            "minrepro: captured process {} ({}), which started a {title} worker",
            worker.pid,
            found.snapshot.cmdline.join(" ")
        );
    }
    eprintln!(
        "minrepro: the case is written now and again when the command ends (stop it with Ctrl-C, or give --duration)"
    );
}

fn write(
    request: &Request,
    session: &Session<'_>,
    taken: &Taken,
    status: Option<i32>,
) -> Result<casefile::Written, Error> {
    casefile::write_case(&casefile::Seen {
        command: &request.command,
        out: &request.out,
        session,
        worker: &taken.worker,
        snapshot: &taken.snapshot,
        watches: &taken.watches,
        status,
    })
}

/// Stops the command: TERM to its process group and to every process that left it (a
/// fixture's `start_new_session=True` worker), two seconds' grace, then KILL.
async fn stop_group(group: nix::unistd::Pid, child: &mut tokio::process::Child) {
    use nix::sys::signal::{Signal, kill};
    let signal_all = |signal: Signal| {
        for pid in crate::process_tree::group_and_descendants(group) {
            let _ = kill(pid, signal);
        }
    };
    signal_all(Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        signal_all(Signal::SIGKILL);
        let _ = child.wait().await;
    }
    signal_all(Signal::SIGKILL);
}

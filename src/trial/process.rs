//! The worker process: spawned with exactly the configuration's environment and stdio, in
//! a process group of its own, and stopped with everything it started.

use std::collections::HashSet;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;

use crate::case::{Config, InputMode, OutputMode};
use crate::error::Error;

/// How much of each output stream is kept for the crash signature and the trial log.
const TAIL_BYTES: usize = 64 * 1024;
/// How long a worker gets to exit on SIGTERM before the group gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_millis(200);
/// A worker using more than this share of one core is working (starting up, importing),
/// not stuck: an idle Python worker waiting on its broker uses about 1%.
const BUSY_SHARE: f64 = 0.05;
/// How long killed processes may take to disappear before minrepro gives up waiting.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// What became of one output stream of the worker.
enum Capture {
    /// A pipe nobody reads while the worker runs; read once the worker is gone.
    Unread(Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    /// A pipe read to the end as the worker writes; the task returns the tail.
    Drained(JoinHandle<Vec<u8>>),
    File(PathBuf),
    Lost,
}

pub struct WorkerProcess {
    child: Child,
    pgid: Pid,
    stdout: Capture,
    stderr: Capture,
    /// Held open, never written, for `stdin = "pipe"`.
    stdin: Option<ChildStdin>,
    /// The read ends of the output pipes nothing reads (`pipe` mode), by stream name.
    unread: Vec<(&'static str, RawFd)>,
    stopped: bool,
}

/// The command line that starts the worker: the interpreter with the configuration's
/// flags, running `entry` (the in-process worker, or the CLI launch) from `scratch`.
fn command_line(python: &Path, config: &Config, scratch: &Path, entry: &str) -> Command {
    let mut command = Command::new(python);
    command
        .args(&config.options.python_flags)
        .arg(scratch.join(entry));
    command
}

fn output_stdio(mode: OutputMode, file: &Path) -> Result<Stdio, Error> {
    Ok(match mode {
        OutputMode::Pipe | OutputMode::Drain => Stdio::piped(),
        OutputMode::Null => Stdio::null(),
        // Both streams go to minrepro's stderr, so that `--json` on stdout stays clean.
        OutputMode::Inherit => Stdio::from(
            std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|err| {
                    Error::infra(format!("cannot share stderr with the worker: {err}"))
                })?,
        ),
        OutputMode::File => Stdio::from(
            std::fs::File::create(file)
                .map_err(|err| Error::infra(format!("cannot create {}: {err}", file.display())))?,
        ),
    })
}

fn capture<R>(mode: OutputMode, pipe: Option<R>, file: PathBuf) -> Capture
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    match (mode, pipe) {
        (OutputMode::Pipe, Some(pipe)) => Capture::Unread(Box::new(pipe)),
        (OutputMode::Drain, Some(mut pipe)) => Capture::Drained(tokio::spawn(async move {
            let mut tail = Vec::new();
            let mut buffer = vec![0u8; 16 * 1024];
            while let Ok(n) = pipe.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buffer[..n]);
                if tail.len() > 2 * TAIL_BYTES {
                    tail.drain(..tail.len() - TAIL_BYTES);
                }
            }
            keep_tail(tail)
        })),
        (OutputMode::File, _) => Capture::File(file),
        _ => Capture::Lost,
    }
}

fn keep_tail(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() > TAIL_BYTES {
        bytes.drain(..bytes.len() - TAIL_BYTES);
    }
    bytes
}

impl WorkerProcess {
    /// Starts the worker whose files are in `scratch`, with the configuration's environment
    /// and nothing else.
    pub fn spawn(
        python: &Path,
        config: &Config,
        scratch: &Path,
        entry: &str,
    ) -> Result<WorkerProcess, Error> {
        let options = &config.options;
        let mut command = command_line(python, config, scratch, entry);
        command
            .env_clear()
            .envs(&config.env)
            .current_dir(options.cwd.as_deref().unwrap_or(scratch))
            .process_group(0)
            .stdin(match options.stdin {
                InputMode::Pipe => Stdio::piped(),
                InputMode::Null => Stdio::null(),
                InputMode::Inherit => Stdio::inherit(),
            })
            .stdout(output_stdio(options.stdout, &scratch.join("stdout.log"))?)
            .stderr(output_stdio(options.stderr, &scratch.join("stderr.log"))?);
        // If minrepro itself is killed (SIGKILL leaves it no time to clean up), the worker
        // goes with it rather than running on.
        // SAFETY: prctl(2) is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound && !python.exists() {
                Error::infra(format!(
                    "the interpreter {} does not exist\n  = help: give an existing Python with --python (or the case's `python`), or leave both out to let minrepro provision one",
                    python.display()
                ))
            } else {
                Error::infra(format!("cannot start the worker with {}: {err}", python.display()))
            }
        })?;
        let pid = child
            .id()
            .ok_or_else(|| Error::infra("the worker vanished at start"))?;
        let unread = [
            (
                "stdout",
                options.stdout,
                child.stdout.as_ref().map(AsRawFd::as_raw_fd),
            ),
            (
                "stderr",
                options.stderr,
                child.stderr.as_ref().map(AsRawFd::as_raw_fd),
            ),
        ]
        .into_iter()
        .filter_map(|(name, mode, fd)| Some((name, fd.filter(|_| mode == OutputMode::Pipe)?)))
        .collect();
        let stdout = capture(
            options.stdout,
            child.stdout.take(),
            scratch.join("stdout.log"),
        );
        let stderr = capture(
            options.stderr,
            child.stderr.take(),
            scratch.join("stderr.log"),
        );
        Ok(WorkerProcess {
            stdin: child.stdin.take(),
            child,
            pgid: Pid::from_raw(pid as i32),
            stdout,
            stderr,
            unread,
            stopped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pgid.as_raw() as u32
    }

    /// The exit status, if the worker's main process has exited.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Error> {
        self.child
            .try_wait()
            .map_err(|err| Error::infra(format!("cannot watch the worker: {err}")))
    }

    /// Stops the worker and every process it started: TERM to the group (and to any
    /// descendant that left it), a short grace, then KILL, and waits until none is left.
    pub async fn stop(&mut self) -> Result<(), Error> {
        let mut targets = self.members();
        for pid in &targets {
            let _ = kill(*pid, Signal::SIGTERM);
        }
        let _ = killpg(self.pgid, Signal::SIGTERM);
        if !self.wait_gone(TERM_GRACE, &mut targets).await {
            for pid in &targets {
                let _ = kill(*pid, Signal::SIGKILL);
            }
            let _ = killpg(self.pgid, Signal::SIGKILL);
            self.wait_gone(KILL_WAIT, &mut targets).await;
        }
        self.stopped = true;
        if !targets.is_empty() {
            return Err(Error::infra(format!(
                "worker processes {targets:?} survived SIGKILL for {}s",
                KILL_WAIT.as_secs()
            )));
        }
        Ok(())
    }

    /// Waits up to `limit` for the main process to be reaped and `targets` (refreshed
    /// with any process that joined) to disappear; whether they all did.
    async fn wait_gone(&mut self, limit: Duration, targets: &mut HashSet<Pid>) -> bool {
        let started = Instant::now();
        loop {
            let reaped = matches!(self.child.try_wait(), Ok(Some(_)));
            let alive = self.members();
            targets.retain(|pid| alive.contains(pid));
            targets.extend(alive);
            if reaped && targets.is_empty() {
                return true;
            }
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The pids of the worker's processes still alive.
    pub fn member_pids(&self) -> HashSet<u32> {
        self.members().iter().map(|p| p.as_raw() as u32).collect()
    }

    /// A pipe of the worker's that minrepro holds and never services, with a worker
    /// thread blocked on it for good: an output pipe nothing reads (`pipe` mode) that is
    /// full, with a thread in write(2) on it; or the stdin pipe nothing writes (`stdin =
    /// "pipe"`), with a thread in read(2) on it. Said as the proof a verdict carries.
    pub fn blocked_on_idle_pipe(&self) -> Option<String> {
        let members = self.members();
        let blocked = |fd: RawFd, syscalls: &[i64]| {
            let pipe = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
            let threads = crate::process_tree::threads_blocked_on(&members, pipe.ino(), syscalls);
            let first = threads.first()?;
            Some(format!(
                "process {} (thread {}){}",
                first.pid,
                first.tid,
                match threads.len() {
                    1 => String::new(),
                    n => format!(" and {} other threads", n - 1),
                }
            ))
        };
        for (stream, fd) in &self.unread {
            let mut queued: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int; F_GETPIPE_SZ only reads. `fd` is the read end
            // this process holds open until the worker is stopped.
            let (asked, capacity) = unsafe {
                (
                    libc::ioctl(*fd, libc::FIONREAD, &mut queued),
                    libc::fcntl(*fd, libc::F_GETPIPE_SZ),
                )
            };
            let full = asked == 0
                && capacity > 0
                && queued as i64 + libc::PIPE_BUF as i64 > capacity as i64;
            if !full {
                continue;
            }
            if let Some(who) = blocked(*fd, crate::process_tree::WRITES) {
                return Some(format!(
                    "{who} blocked writing to its {stream}, a pipe holding {queued} of its {capacity} bytes that nothing reads"
                ));
            }
        }
        let stdin = self.stdin.as_ref()?.as_raw_fd();
        let who = blocked(stdin, crate::process_tree::READS)?;
        Some(format!(
            "{who} blocked reading its stdin, a pipe nothing writes to"
        ))
    }

    /// Whether a thread of the worker is running, waiting for a CPU or for the disk.
    pub fn working_now(&self) -> bool {
        crate::process_tree::any_thread_working(&self.members())
    }

    /// Whether the worker has been working since `since`, when it had used `cpu_then` of
    /// CPU (`cpu_now` by now): a thread of it running or waiting now, or more than
    /// `BUSY_SHARE` of a core used in between.
    pub fn working_since(&self, since: Instant, cpu_then: Duration, cpu_now: Duration) -> bool {
        let spell = since.elapsed().as_secs_f64();
        self.working_now()
            || (spell > 0.0 && cpu_now.saturating_sub(cpu_then).as_secs_f64() / spell > BUSY_SHARE)
    }

    /// CPU time the worker's live processes have used so far.
    pub fn cpu_time(&self) -> Duration {
        crate::process_tree::cpu_time(&self.members())
    }

    /// Live processes of the worker's group, and descendants that left it (setsid).
    fn members(&self) -> HashSet<Pid> {
        crate::process_tree::group_and_descendants(self.pgid)
    }

    /// What the worker wrote to stdout and stderr (the tails), once it is stopped.
    pub async fn outputs(&mut self) -> (String, String) {
        let stdout = read_capture(std::mem::replace(&mut self.stdout, Capture::Lost)).await;
        let stderr = read_capture(std::mem::replace(&mut self.stderr, Capture::Lost)).await;
        (stdout, stderr)
    }
}

impl Drop for WorkerProcess {
    /// The last line of defence (an error or a panic between spawn and stop): nothing of
    /// the worker may outlive the trial.
    fn drop(&mut self) {
        if !self.stopped {
            for pid in self.members() {
                let _ = kill(pid, Signal::SIGKILL);
            }
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}

async fn read_capture(capture: Capture) -> String {
    let bytes = match capture {
        Capture::Unread(mut pipe) => {
            // Every writer is gone, so this reads what waited in the pipe, then EOF.
            let mut bytes = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(1), pipe.read_to_end(&mut bytes)).await;
            keep_tail(bytes)
        }
        Capture::Drained(task) => tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default(),
        Capture::File(path) => keep_tail(std::fs::read(path).unwrap_or_default()),
        Capture::Lost => Vec::new(),
    };
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sends `signal` (a raw number: real-time signals have no name in nix) to `pid`.
pub fn send_raw_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a plain pid and signal number has no memory effects.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

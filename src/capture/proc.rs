//! What the kernel knows about the captured process: the environment it was started with,
//! its working directory, its command line, and what its standard streams are. For a pipe,
//! whether anyone drains it is told by watching the bytes that wait unread in it, through a
//! read end of our own that is never read from (FIONREAD), so the worker is not disturbed.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// What one of the standard streams is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    Pipe,
    Terminal(String),
    Null,
    File(PathBuf),
    Socket,
    Closed,
    Other(String),
}

impl Stream {
    fn of(target: Option<String>) -> Stream {
        match target {
            None => Stream::Closed,
            Some(t) if t.starts_with("pipe:") => Stream::Pipe,
            Some(t) if t.starts_with("socket:") => Stream::Socket,
            Some(t) if t == "/dev/null" => Stream::Null,
            Some(t) if t.starts_with("/dev/pts/") || t.starts_with("/dev/tty") => {
                Stream::Terminal(t)
            }
            Some(t) if t.starts_with('/') => Stream::File(PathBuf::from(t)),
            Some(t) => Stream::Other(t),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Stream::Pipe => "a pipe".into(),
            Stream::Terminal(t) => format!("the terminal {t}"),
            Stream::Null => "/dev/null".into(),
            Stream::File(path) => format!("the file {}", path.display()),
            Stream::Socket => "a socket".into(),
            Stream::Closed => "closed".into(),
            Stream::Other(t) => t.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    /// As the process was started, in order; values that are not UTF-8 are made so.
    pub environ: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub cmdline: Vec<String>,
    pub streams: [Stream; 3],
}

pub fn snapshot(pid: u32) -> std::io::Result<Snapshot> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let environ = std::fs::read(base.join("environ"))?
        .split(|b| *b == 0)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let text = String::from_utf8_lossy(entry);
            let (key, value) = text.split_once('=')?;
            Some((key.to_string(), value.to_string()))
        })
        .collect();
    let cmdline = std::fs::read(base.join("cmdline"))?
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    let stream = |fd: u32| {
        Stream::of(
            std::fs::read_link(base.join("fd").join(fd.to_string()))
                .ok()
                .map(|t| t.display().to_string()),
        )
    };
    Ok(Snapshot {
        environ,
        cwd: std::fs::read_link(base.join("cwd"))?,
        cmdline,
        streams: [stream(0), stream(1), stream(2)],
    })
}

/// Watches how many bytes wait unread in one of a process's output pipes.
pub struct PipeWatch {
    reader: OwnedFd,
    /// The largest amount seen waiting, and whether it ever went down (someone read).
    most: usize,
    last: usize,
    went_down: bool,
}

impl PipeWatch {
    /// A read end of the pipe behind `pid`'s file descriptor `fd` (never read from).
    pub fn open(pid: u32, fd: u32) -> Option<PipeWatch> {
        let path = format!("/proc/{pid}/fd/{fd}");
        let reader = nix::fcntl::open(
            path.as_str(),
            nix::fcntl::OFlag::O_RDONLY
                | nix::fcntl::OFlag::O_NONBLOCK
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .ok()?;
        Some(PipeWatch {
            reader,
            most: 0,
            last: 0,
            went_down: false,
        })
    }

    pub fn sample(&mut self) {
        let mut waiting: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int through the pointer, which outlives the call.
        let result = unsafe { libc::ioctl(self.reader.as_raw_fd(), libc::FIONREAD, &mut waiting) };
        if result != 0 {
            return;
        }
        let waiting = waiting.max(0) as usize;
        if waiting < self.last {
            self.went_down = true;
        }
        self.last = waiting;
        self.most = self.most.max(waiting);
    }

    /// `Some(bytes waiting)` when output piled up and was never read; `None` when it was
    /// read, or nothing was ever seen waiting.
    pub fn unread(&self) -> Option<usize> {
        (self.most > 0 && !self.went_down).then_some(self.last)
    }

    pub fn seen_output(&self) -> bool {
        self.most > 0
    }
}

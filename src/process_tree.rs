//! The process table, read from /proc: what belongs to a process group, including the
//! descendants that left it (`setsid`, `start_new_session=True`), so that nothing a trial
//! or a captured command started outlives it.

use std::collections::{HashMap, HashSet};

use nix::unistd::Pid;

/// One line of the process table.
struct ProcessInfo {
    pid: i32,
    ppid: i32,
    pgrp: i32,
}

/// Every process that is not a zombie, read from /proc.
fn live_processes() -> Vec<ProcessInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses: fields start after the last ')'.
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
            let (state, ppid, pgrp) = (fields.first()?, fields.get(1)?, fields.get(2)?);
            if *state == "Z" || *state == "X" {
                return None;
            }
            Some(ProcessInfo {
                pid,
                ppid: ppid.parse().ok()?,
                pgrp: pgrp.parse().ok()?,
            })
        })
        .collect()
}

/// The live processes of group `pgid`, and every descendant of its leader wherever it went.
pub fn group_and_descendants(pgid: Pid) -> HashSet<Pid> {
    let table = live_processes();
    let mut members: HashSet<Pid> = table
        .iter()
        .filter(|p| p.pgrp == pgid.as_raw())
        .map(|p| Pid::from_raw(p.pid))
        .collect();
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for p in &table {
        children.entry(p.ppid).or_default().push(p.pid);
    }
    let mut stack: Vec<i32> = members.iter().map(|p| p.as_raw()).collect();
    stack.push(pgid.as_raw());
    let mut seen: HashSet<i32> = HashSet::new();
    while let Some(pid) = stack.pop() {
        if !seen.insert(pid) {
            continue;
        }
        for &child in children.get(&pid).into_iter().flatten() {
            members.insert(Pid::from_raw(child));
            stack.push(child);
        }
    }
    members
}

/// CPU time the processes `pids` have used so far (user and system, with that of their
/// reaped children): a worker still using CPU is still starting up, not stuck.
pub fn cpu_time(pids: &HashSet<Pid>) -> std::time::Duration {
    // SAFETY: sysconf only reads a configuration value.
    let ticks_per_second = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as f64,
        _ => 100.0,
    };
    let ticks: u64 = pids
        .iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
            // utime, stime, cutime, cstime: fields 14 to 17 of proc(5), 11 to 14 here.
            let sum: Option<u64> = (11..15).map(|i| fields.get(i)?.parse::<u64>().ok()).sum();
            sum
        })
        .sum();
    std::time::Duration::from_secs_f64(ticks as f64 / ticks_per_second)
}

/// A thread blocked in a system call on a pipe.
pub struct BlockedThread {
    pub pid: i32,
    pub tid: i32,
}

/// write, writev, pwrite64, pwritev of this architecture.
#[cfg(target_arch = "x86_64")]
pub const WRITES: &[i64] = &[1, 20, 18, 296];
#[cfg(target_arch = "aarch64")]
pub const WRITES: &[i64] = &[64, 66, 68, 70];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const WRITES: &[i64] = &[];

/// read, readv, pread64, preadv of this architecture.
#[cfg(target_arch = "x86_64")]
pub const READS: &[i64] = &[0, 19, 17, 295];
#[cfg(target_arch = "aarch64")]
pub const READS: &[i64] = &[63, 65, 67, 69];
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const READS: &[i64] = &[];

/// The threads of `pids` blocked in one of `syscalls` on the pipe of inode `pipe_inode`:
/// their current system call (`/proc/PID/task/TID/syscall`) is one of them and its
/// descriptor is that pipe.
pub fn threads_blocked_on(
    pids: &HashSet<Pid>,
    pipe_inode: u64,
    syscalls: &[i64],
) -> Vec<BlockedThread> {
    let target = format!("pipe:[{pipe_inode}]");
    let mut blocked = Vec::new();
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                continue;
            };
            let Ok(syscall) = std::fs::read_to_string(task.path().join("syscall")) else {
                continue;
            };
            let mut fields = syscall.split_whitespace();
            let number = fields.next().and_then(|n| n.parse::<i64>().ok());
            let fd = fields
                .next()
                .and_then(|a| i64::from_str_radix(a.trim_start_matches("0x"), 16).ok());
            let (Some(number), Some(fd)) = (number, fd) else {
                continue;
            };
            if !syscalls.contains(&number) {
                continue;
            }
            let link = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"));
            if link.is_ok_and(|l| l.as_os_str() == target.as_str()) {
                blocked.push(BlockedThread {
                    pid: pid.as_raw(),
                    tid,
                });
            }
        }
    }
    blocked
}

/// Whether a thread of `pids` is running or waiting to run (R), or waiting on the disk (D):
/// a worker starved of CPU on a loaded machine, or reading its modules from a busy disk, is
/// working, however little CPU it got. A worker waiting on its broker or a lock sleeps (S).
pub fn any_thread_working(pids: &HashSet<Pid>) -> bool {
    pids.iter().any(|pid| {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return false;
        };
        tasks.flatten().any(|task| {
            std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|stat| {
                    let state = stat[stat.rfind(')')? + 2..].chars().next()?;
                    Some(state == 'R' || state == 'D')
                })
                .unwrap_or(false)
        })
    })
}

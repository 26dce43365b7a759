//! Trials and findings as people read them on a terminal.

use std::fmt::Write;

use minijinja::value::Serde;
use minijinja::{Value, context};

use crate::bisect::Finding;
use crate::report::render;
use crate::report::view::FindingView;
use crate::trial::{Outcome, TrialRecord};

/// At most this many lines of stack dump on the terminal; `--json` has all of it.
const DUMP_LINES: usize = 40;

/// A trial's outcome, its stages and, for a hang, the stack dump.
pub fn trial(record: &TrialRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {:<10} {}",
        record.outcome.kind().to_uppercase(),
        record.outcome.summary()
    );
    if !record.stages.is_empty() {
        let several_processes = record.stages.iter().any(|s| s.pid != record.stages[0].pid);
        let _ = writeln!(out, "\n  stages (seconds from spawn)");
        for stage in &record.stages {
            let mut line = format!("    {:>7.3}  {}", stage.at_s, stage.stage);
            if let Some(duration) = stage.duration_s {
                let _ = write!(line, "  took {duration:.3}s");
            }
            if let Some(detail) = &stage.detail {
                let _ = write!(line, "  {detail}");
            }
            if several_processes {
                let _ = write!(line, "  [pid {}]", stage.pid);
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if let Outcome::Pending { stack_dump, .. } = &record.outcome
        && !stack_dump.trim().is_empty()
    {
        let _ = writeln!(
            out,
            "\n  stack dump of every Python thread, just before the worker was stopped"
        );
        let lines = grouped_stacks(stack_dump);
        for line in lines.iter().take(DUMP_LINES) {
            let _ = writeln!(out, "    {line}");
        }
        if lines.len() > DUMP_LINES {
            let _ = writeln!(
                out,
                "    … {} more lines (--json has the whole dump)",
                lines.len() - DUMP_LINES
            );
        }
    }
    if let Outcome::Crash { .. } = &record.outcome {
        let tail: Vec<&str> = record.stderr_tail.lines().collect();
        if !tail.is_empty() {
            let _ = writeln!(out, "\n  end of the worker's stderr");
            for line in &tail[tail.len().saturating_sub(12)..] {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    let _ = write!(out, "\n  trial {} took {:.2}s", record.id, record.wall_s);
    if let Some(scratch) = &record.scratch {
        let _ = write!(out, "; scratch folder kept at {}", scratch.display());
    }
    out.push('\n');
    out
}

/// What a bisection found: each cause with its elements, their values and the trials
/// that show each one is needed, the failure with its stage, the rate, the cost.
pub fn finding(finding: &Finding) -> String {
    let context = context! { finding => Value::from(Serde(FindingView::of(finding))) };
    // The template is part of the binary, and the snapshot tests render every path
    // through it: an error here is a bug, not a condition of the run.
    render::render("finding.txt", include_str!("finding.txt.j2"), context)
        .expect("the terminal's finding template renders")
}

/// A faulthandler dump with identical stacks shown once ("4 threads"): a pool of idle
/// worker threads would otherwise bury the one thread that is stuck. A dump of several
/// processes (Dramatiq's CLI and the workers it forked) is grouped process by process.
fn grouped_stacks(dump: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut section = String::new();
    for line in dump.lines() {
        if line.starts_with("process ") && line.ends_with("):") {
            lines.extend(grouped_threads(&section));
            section.clear();
            lines.push(line.to_string());
        } else {
            section.push_str(line);
            section.push('\n');
        }
    }
    lines.extend(grouped_threads(&section));
    lines
}

fn grouped_threads(dump: &str) -> Vec<String> {
    let mut groups: Vec<(Vec<&str>, usize)> = Vec::new();
    for block in dump.split("\n\n") {
        let mut lines = block.lines().filter(|l| !l.trim().is_empty());
        let Some(_header) = lines.next() else {
            continue;
        };
        let frames: Vec<&str> = lines.collect();
        match groups.iter_mut().find(|(f, _)| *f == frames) {
            Some((_, count)) => *count += 1,
            None => groups.push((frames, 1)),
        }
    }
    // The rarest stacks first: the stuck thread is seldom one of a pool.
    groups.sort_by_key(|(_, count)| *count);
    let mut lines = Vec::new();
    for (frames, count) in groups {
        lines.push(if count == 1 {
            "1 thread (most recent call first):".to_string()
        } else {
            format!("{count} threads with this same stack (most recent call first):")
        });
        lines.extend(frames.iter().map(|f| f.to_string()));
        lines.push(String::new());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn findings_read_as_their_snapshots() {
        for fixture in fixtures::all() {
            fixtures::check_snapshot(
                &format!("{}.terminal.txt", fixture.name),
                &finding(&fixture.finding),
            );
        }
    }

    #[test]
    fn identical_stacks_are_shown_once_with_their_count() {
        let idle = "  File \"queue.py\", line 180 in get\n  File \"worker.py\", line 534 in run";
        let dump = format!(
            "Thread 0x1 (most recent call first):\n{idle}\n\nThread 0x2 (most recent call first):\n{idle}\n\nThread 0x3 (most recent call first):\n  File \"logging/__init__.py\", line 1113 in flush\n"
        );
        let lines = grouped_stacks(&dump);
        assert_eq!(lines[0], "1 thread (most recent call first):");
        assert!(lines[1].contains("flush"));
        assert!(
            lines.contains(&"2 threads with this same stack (most recent call first):".to_string())
        );
        assert_eq!(lines.iter().filter(|l| l.contains("queue.py")).count(), 1);
    }

    #[test]
    fn a_dump_of_several_processes_is_grouped_process_by_process() {
        let idle = "  File \"queue.py\", line 180 in get";
        let dump = format!(
            "process 7 (the launched process):\nThread 0x1 (most recent call first):\n  File \"cli.py\", line 9 in watch_logs\n\nprocess 8 (a forked worker process):\nThread 0x2 (most recent call first):\n{idle}\n\nThread 0x3 (most recent call first):\n{idle}\n"
        );
        let lines = grouped_stacks(&dump);
        assert_eq!(lines[0], "process 7 (the launched process):");
        assert_eq!(lines[1], "1 thread (most recent call first):");
        assert!(lines[2].contains("watch_logs"));
        let second = lines
            .iter()
            .position(|l| l.starts_with("process 8"))
            .unwrap();
        assert_eq!(
            lines[second + 1],
            "2 threads with this same stack (most recent call first):"
        );
    }
}

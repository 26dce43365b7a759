//! Trials and findings as people read them on a terminal.

use std::fmt::Write;

use crate::trial::{Outcome, TrialRecord};

/// At most this many lines of a stack dump on the terminal; `--json` has all of it.
const DUMP_LINES: usize = 40;

/// A trial's outcome, its stages and, for a hang, the stack dump.
pub fn trial(record: &TrialRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  {:<10} {}", record.outcome.kind().to_uppercase(), record.outcome.summary());
    if !record.stages.is_empty() {
        let _ = writeln!(out, "\n  stages (seconds from spawn)");
        for stage in &record.stages {
            let duration = stage
                .duration_s
                .map(|d| format!("  took {d:.3}s"))
                .unwrap_or_default();
            let _ = writeln!(out, "    {:>7.3}  {}{duration}", stage.at_s, stage.stage);
        }
    }
    if let Outcome::Pending { stack_dump, .. } = &record.outcome {
        if !stack_dump.trim().is_empty() {
            let lines: Vec<&str> = stack_dump.lines().collect();
            let _ = writeln!(out, "\n  stack dump of every Python thread, just before the worker was stopped");
            for line in lines.iter().take(DUMP_LINES) {
                let _ = writeln!(out, "    {line}");
            }
            if lines.len() > DUMP_LINES {
                let _ = writeln!(out, "    … {} more lines (--json has all)", lines.len() - DUMP_LINES);
            }
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

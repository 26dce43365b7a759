//! Trials and findings as people read them on a terminal.

use std::fmt::Write;

use crate::bisect::oracle::TrialRef;
use crate::bisect::{Cause, Finding};
use crate::case::space::Mode;
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
    let mut out = String::new();
    if !finding.reproduces && !finding.interrupted {
        let _ = writeln!(
            out,
            "\n{}: does not reproduce: {}",
            finding.case,
            finding
                .reason
                .as_deref()
                .unwrap_or("the failure did not show")
        );
        let _ = writeln!(out, "  {} trials in {:.1}s", finding.trials, finding.wall_s);
        return out;
    }
    let of = match finding.mode {
        Mode::Minimize => format!("{} elements", finding.reducible),
        Mode::Isolate => format!(
            "{} differences from the good configuration",
            finding.reducible
        ),
    };
    let _ = writeln!(out);
    if finding.interrupted {
        let _ = writeln!(
            out,
            "{}: {}; the smallest failing configuration so far has {} of {of}:",
            finding.case,
            if finding.stopped_by.is_some() {
                "stopped"
            } else {
                "interrupted"
            },
            finding.minimal.len()
        );
    } else if finding.causes.len() > 1 {
        let _ = writeln!(
            out,
            "{}: {} independent causes, each shows the failure without the others:",
            finding.case,
            finding.causes.len()
        );
    }
    for (number, cause) in finding.causes.iter().enumerate() {
        if finding.interrupted {
            cause_elements(&mut out, cause);
            break;
        }
        if finding.causes.len() > 1 {
            let _ = writeln!(
                out,
                "\ncause {} of {}: {} of {of}",
                number + 1,
                finding.causes.len(),
                cause.minimal.len()
            );
        } else if cause.prerequisites.is_empty() {
            let _ = writeln!(
                out,
                "{}: {} of {of} reproduce the failure:",
                finding.case,
                cause.minimal.len()
            );
        } else {
            let _ = writeln!(
                out,
                "{}: {} of {of} cause the failure, {} more {} needed to see it:",
                finding.case,
                cause.minimal.len() - cause.prerequisites.len(),
                cause.prerequisites.len(),
                if cause.prerequisites.len() == 1 {
                    "is"
                } else {
                    "are"
                }
            );
        }
        cause_elements(&mut out, cause);
        if let Some(outcome) = &cause.outcome {
            let _ = writeln!(
                out,
                "  {:<10} {}",
                outcome.kind().to_uppercase(),
                outcome.summary()
            );
        }
        let minimality = if cause.one_minimal {
            "1-minimal: without any one of them, the failure is gone"
        } else {
            "not shown 1-minimal: the oracle gave contradictory answers"
        };
        let _ = writeln!(
            out,
            "  reproduced {} fresh runs · {minimality}",
            cause.reproduction_rate
        );
        if let Some(lines) = &cause.lines {
            module_lines(&mut out, lines);
        }
    }
    if let Some(load) = &finding.load {
        let _ = writeln!(out, "\n  {}", load_sentence(finding.messages, load));
    } else if finding.probe == "replay" {
        let _ = writeln!(
            out,
            "\n  every trial replayed the launch's {} message{} where {} sent, with fresh ids",
            finding.messages,
            if finding.messages == 1 { "" } else { "s" },
            if finding.messages == 1 {
                "it was"
            } else {
                "they were"
            }
        );
    } else if finding.messages > 1 {
        let _ = writeln!(
            out,
            "\n  every trial published {} probe messages (--reduce-messages finds the fewest that fail)",
            finding.messages
        );
    }
    if !finding.kept.is_empty() {
        let _ = writeln!(out, "\n  kept in every trial: {}", finding.kept.join(", "));
    }
    let _ = writeln!(
        out,
        "  {} trials, {} answers from earlier runs' records, {} cache hits, {:.1}s",
        finding.trials, finding.recorded, finding.cache_hits, finding.wall_s
    );
    if let Some(dir) = &finding.attachment {
        let verified = if finding.attachment_verified == Some(true) {
            "its launcher reproduces the failure"
        } else {
            "NOT verified: its launcher did not reproduce the failure"
        };
        let size = finding
            .attachment_size
            .map(|size| {
                format!(
                    " ({} files, {}; tarball {})",
                    size.files,
                    kilobytes(size.bytes),
                    kilobytes(size.tarball_bytes)
                )
            })
            .unwrap_or_default();
        let one_file = match finding.minimal_worker_reproduces {
            Some(true) => "; minimal_worker.py reproduces on its own",
            Some(false) => {
                "; minimal_worker.py does not reproduce on its own (its README says why)"
            }
            None => "",
        };
        let _ = writeln!(
            out,
            "  attachment: {} (and .tar.gz){size}; {verified}{one_file}",
            dir.display()
        );
    }
    out
}

fn kilobytes(bytes: u64) -> String {
    format!("{:.0} kB", (bytes as f64 / 1000.0).ceil())
}

/// The load a failure needs, in words.
pub fn load_sentence(messages: u32, load: &crate::bisect::load::LoadFinding) -> String {
    match load.passes_up_to {
        None => format!(
            "the load does not matter: one message shows the failure as well as {messages} ({} trials)",
            load.trials
        ),
        Some(passes) => format!(
            "the failure needs load: it shows with {} messages, not with {passes} ({} trials, of {messages} sent)",
            load.fails_from, load.trials
        ),
    }
}

/// "with all of them: pending at worker:started (trial 12)"
fn trial_ref(trial: &Option<TrialRef>) -> String {
    trial
        .as_ref()
        .map_or_else(|| "not run".to_string(), TrialRef::to_string)
}

fn cause_elements(out: &mut String, cause: &Cause) {
    let width = cause
        .elements
        .iter()
        .map(|e| e.name.len() + e.value.as_ref().map_or(0, |v| v.len() + 3))
        .max()
        .unwrap_or(0)
        .min(60);
    // The causes first, then what is only needed to see the failure at all.
    let (prerequisites, causes): (Vec<_>, Vec<_>) = cause
        .elements
        .iter()
        .partition(|e| cause.prerequisites.contains(&e.name));
    for (group, elements) in [("", causes), ("prerequisite", prerequisites)] {
        if !group.is_empty() && !elements.is_empty() {
            let _ = writeln!(
                out,
                "  prerequisites: without them the worker fails another way, so the failure cannot show"
            );
        }
        for element in elements {
            let shown = match &element.value {
                Some(value) => format!("{} = {}", element.name, value.replace('\n', "\\n")),
                None => element.name.clone(),
            };
            let without = cause
                .evidence
                .iter()
                .find(|e| e.element == element.name)
                .map(|e| format!("  without it: {}", trial_ref(&e.without)))
                .unwrap_or_default();
            let _ = writeln!(out, "  {shown:<width$}{without}");
        }
    }
    if cause.elements.is_empty() {
        let _ = writeln!(
            out,
            "  (none: the failure shows with only the kept elements)"
        );
    }
    if let Some(with) = cause.evidence.first().map(|e| &e.with) {
        let _ = writeln!(
            out,
            "  {:<width$}  with all of them: {}",
            "",
            trial_ref(with)
        );
    }
    for entries in &cause.entries {
        let _ = writeln!(
            out,
            "  {}: {} of its {} entries matter: {}",
            entries.element,
            entries.kept.len(),
            entries.of,
            entries.kept.join(" ")
        );
        for evidence in &entries.evidence {
            let _ = writeln!(
                out,
                "    {}  without it: {}",
                evidence.element,
                trial_ref(&evidence.without)
            );
        }
    }
}

/// The statements of each module the cause needs: `file:lines  text`.
fn module_lines(out: &mut String, found: &crate::bisect::lines::LinesFinding) {
    for module in &found.modules {
        let _ = writeln!(
            out,
            "  down to the line in {} ({}): {} of its {} statements matter ({}, {} trials):",
            module.file,
            module.module,
            module.kept,
            module.statements,
            if module.one_minimal {
                "1-minimal"
            } else {
                "not shown 1-minimal"
            },
            module.trials
        );
        let labels: Vec<String> = module
            .lines
            .iter()
            .map(|range| format!("{}:{range}", module.file))
            .collect();
        let width = labels.iter().map(String::len).max().unwrap_or(0);
        for (range, label) in module.lines.iter().zip(&labels) {
            for (index, text) in range.text.lines().enumerate() {
                let label = if index == 0 { label.as_str() } else { "" };
                let _ = writeln!(out, "    {label:<width$}  {text}");
            }
        }
    }
    for note in &found.notes {
        let _ = writeln!(out, "  note: {note}");
    }
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

//! The attachment's README: the finding in plain words first, then the evidence a
//! maintainer needs (configuration, diff, stage, stack dump, rate, versions).

use std::fmt::Write;

use similar::TextDiff;

use super::{Attachment, LAUNCHER, Request};
use crate::bisect::oracle::TrialRef;
use crate::bisect::{Cause, Finding};
use crate::case::Config;
use crate::case::space::Mode;
use crate::case::write;
use crate::framework::Framework;
use crate::report::terminal::load_sentence;
use crate::template;
use crate::trial::Outcome;

/// The elements of a cause with their values and the trial without each, the entries that
/// matter inside list values, and what was shown of them.
fn cause_table(out: &mut String, cause: &Cause, kept: &[String]) {
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', "\\n");
    let trial = |t: &Option<TrialRef>| t.as_ref().map(|t| cell(&t.to_string())).unwrap_or_default();
    let _ = writeln!(out, "| element | value | without it | |\n|---|---|---|---|");
    for element in &cause.elements {
        let role = if cause.prerequisites.contains(&element.name) {
            "prerequisite: without it the worker fails another way"
        } else {
            "cause: without it the worker works"
        };
        let value = match (&element.value, element.name.starts_with("env:")) {
            (Some(v), _) => format!("`{}`", cell(v)),
            (None, true) => "(unset)".into(),
            (None, false) => String::new(),
        };
        let without = cause
            .evidence
            .iter()
            .find(|e| e.element == element.name)
            .map(|e| trial(&e.without))
            .unwrap_or_default();
        let _ = writeln!(out, "| `{}` | {value} | {without} | {role} |", element.name);
    }
    for name in kept {
        let _ = writeln!(out, "| `{name}` (kept in every trial) | | | |");
    }
    let _ = writeln!(out);
    if let Some(with) = cause.evidence.first().map(|e| &e.with) {
        let _ = writeln!(out, "With all of them: {}.\n", trial(with));
    }
    for entries in &cause.entries {
        let _ = writeln!(
            out,
            "Inside `{}`, {} of its {} entries matter, in this order: {}. Without each, the failure is gone:\n",
            entries.element,
            entries.kept.len(),
            entries.of,
            entries
                .kept
                .iter()
                .map(|e| format!("`{}`", cell(e)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for evidence in &entries.evidence {
            let _ = writeln!(
                out,
                "- without `{}`: {}",
                evidence.element,
                trial(&evidence.without)
            );
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "{} Reproduced in {} fresh runs.\n",
        if cause.one_minimal {
            "Each element is necessary: without any one of them the failure does not show (1-minimal)."
        } else {
            "The oracle gave contradictory answers: this configuration fails, but not every element of it was shown necessary."
        },
        cause.reproduction_rate
    );
}

/// "The worker stays PENDING … when `X=1` is set and `app.settings` is imported; …"
pub fn finding_sentence(finding: &Finding) -> String {
    let what = match &finding.outcome {
        Some(Outcome::Pending {
            messages,
            processed,
            ..
        }) if *messages > 1 => format!(
            "Under a load of {messages} messages, the worker stalls: {processed} are processed, the rest stay PENDING"
        ),
        Some(Outcome::Pending { .. }) => {
            "The worker stays PENDING (it never processes the probe message)".to_string()
        }
        Some(Outcome::Crash { signature, .. }) => {
            format!("The worker crashes before it processes anything (`{signature}`)")
        }
        Some(other) => format!("The worker ends {}", other.kind()),
        None => "The worker fails".to_string(),
    };
    let entries_of = |name: &str| {
        finding
            .causes
            .first()
            .and_then(|c| c.entries.iter().find(|e| e.element == name))
    };
    let describe = |e: &crate::bisect::FoundElement| match (e.name.split_once(':'), &e.value) {
        (Some((kind, key)), _) if entries_of(&e.name).is_some() => {
            let entries = entries_of(&e.name).expect("checked");
            let list: Vec<String> = entries.kept.iter().map(|k| format!("`{k}`")).collect();
            let what = if kind == "env" { "holds" } else { "includes" };
            format!("`{key}` {what} {}", list.join(" and "))
        }
        (Some(("env", key)), Some(value)) => format!("`{key}={value}` is set"),
        (Some(("env", key)), None) => format!("`{key}` is unset"),
        (Some(("import", module)), _) => format!("`{module}` is imported"),
        (Some((_, option)), Some(value)) => format!("the option `{option}` is `{value}`"),
        _ => format!("`{}`", e.name),
    };
    let (prerequisites, causes): (Vec<_>, Vec<_>) = finding
        .minimal_elements
        .iter()
        .partition(|e| finding.prerequisites.contains(&e.name));
    let conditions: Vec<String> = causes.into_iter().map(describe).collect();
    let needed = if prerequisites.is_empty() {
        String::new()
    } else {
        format!(
            " (given what it needs to run at all: {})",
            prerequisites
                .into_iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let when = match conditions.len() {
        0 => " with nothing but the kept elements".to_string(),
        1 => format!(" when {}", conditions[0]),
        n => format!(
            " when {} and {}",
            conditions[..n - 1].join(", "),
            conditions[n - 1]
        ),
    };
    let stage = match &finding.outcome {
        Some(Outcome::Pending {
            stage, consumers, ..
        }) => {
            let consumer = match consumers {
                Some(0) => ", with no consumer on the probe queue",
                Some(_) => ", consuming the probe queue",
                None => ", before it declared the probe queue",
            };
            format!(
                "; it was stuck at `{}`{consumer}",
                stage.as_deref().unwrap_or("start-up")
            )
        }
        Some(Outcome::Crash {
            stage: Some(stage), ..
        }) => format!("; it died at `{stage}`"),
        _ => String::new(),
    };
    format!(
        "{what}{when}{needed}{stage}; reproduced in {} runs.",
        finding.reproduction_rate
    )
}

/// The one-file repro, and whether it reproduced on its own.
fn one_file(out: &mut String, attachment: &Attachment, framework: &dyn Framework) {
    let Some(one_file) = &attachment.minimal_worker else {
        let _ = writeln!(
            out,
            "### In one file\n\nminrepro writes no one-file worker for {} yet: `{LAUNCHER}` with the `minrepro_*.py` files beside it is the repro.\n",
            framework.title()
        );
        return;
    };
    let _ = writeln!(out, "### In one file: `minimal_worker.py`\n");
    let how = if one_file.pasted {
        "the culprit modules' kept statements pasted in import order"
    } else {
        "the culprit modules, reduced, embedded and served under their own names (their kept statements import one another, so they could not be pasted)"
    };
    let _ = writeln!(
        out,
        "{}\n\n    python minimal_worker.py --broker amqp://localhost:5672/%2f\n",
        textwrap::fill(
            &format!(
                "The smallest worker that still fails, self-contained: the culprit env vars and launch options as the failing launch set them, {how}, a probe actor and the broker the application sets up. Needs only Dramatiq and pika."
            ),
            92
        )
    );
    if one_file.reproduced {
        let _ = writeln!(
            out,
            "It reproduces on its own: run once with plain Python outside the project when this attachment\nwas written, it printed:\n"
        );
    } else {
        let _ = writeln!(
            out,
            "**It does not reproduce on its own**: run once when this attachment was written, it printed\nwhat follows. The reduced modules (`reduced/`, and `minrepro_sources.json`, which `reproduce.py`\nserves in place of the originals) are kept, and `reproduce.py` above is the repro to use.\n"
        );
    }
    let _ = writeln!(out, "```\n{}\n```\n", one_file.printed);
}

/// The statements of each culprit module that the cause needs.
fn down_to_the_line(out: &mut String, found: &crate::bisect::lines::LinesFinding) {
    for module in &found.modules {
        let _ = writeln!(
            out,
            "Down to the line in `{}` (`{}`): {} of its {} statements matter{}:\n",
            module.file,
            module.module,
            module.kept,
            module.statements,
            if module.one_minimal {
                " (1-minimal: without any one of them the failure is gone)"
            } else {
                ""
            }
        );
        let _ = writeln!(out, "```python");
        for range in &module.lines {
            let _ = writeln!(out, "# {}:{range}\n{}", module.file, range.text);
        }
        let _ = writeln!(out, "```\n");
    }
    for note in &found.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
}

pub fn render(request: &Request<'_>, attachment: &Attachment, redacted: &Config) -> String {
    let finding = request.finding;
    let case_dir = &request.case.dir;
    let mut out = String::new();
    let _ = writeln!(out, "# minrepro finding: {}\n", finding.case);
    let _ = writeln!(out, "**{}**\n", finding_sentence(finding));
    if let Some(description) = &request.case.description {
        let _ = writeln!(out, "> {}\n", description.trim().replace('\n', "\n> "));
    }

    let _ = writeln!(out, "## Reproduce it\n");
    let framework = crate::framework::of(&redacted.template).ok();
    let title = framework.map_or("the framework", |f| f.title());
    let entry = if redacted.options.launcher.is_cli() {
        format!(
            "`{}` ({title}'s own command line, started as the case's launch started it, with one probe module, `{}`, that adds the probe task)",
            template::LAUNCH_FILE,
            template::PROBE_FILE
        )
    } else {
        format!("`{}` (an in-process worker)", template::WORKER_FILE)
    };
    let messages = finding.messages;
    let load = match (&finding.load, messages) {
        _ if finding.probe == "replay" => format!(
            "replays the launch's {messages} message{} where {} sent (`REPLAY`, under names of its own), judged as the trials judged them,",
            if messages == 1 { "" } else { "s" },
            if messages == 1 { "it was" } else { "they were" }
        ),
        (_, 1) => "publishes one probe message".to_string(),
        (Some(load), _) => format!(
            "publishes {messages} probe messages at once ({})",
            load_sentence(messages, load)
        ),
        (None, _) => {
            format!("publishes {messages} probe messages at once (the load the real launch had)")
        }
    };
    let how = format!(
        "Needs Python 3 with the packages of `requirements.txt` and the broker. The interpreter the trials ran on ({}) had them; `{LAUNCHER}` checks the ones the worker imports before it starts, and says it cannot run (exit 2) when one is missing.",
        request.python.display()
    );
    let client = if finding.probe == "replay" {
        "the client the worker's interpreter has (pika, py-amqp, redis-py)".to_string()
    } else {
        format!("{title}'s own client")
    };
    let what = format!(
        "It starts {entry} with `subprocess.Popen`, with exactly the environment and launch options of the minimal configuration, {load} with {client}, and reports. Exit status 1: the failure reproduced; 0: it did not. Edit `CONFIG` at the top of `{LAUNCHER}` to try a variation. With minrepro: `minrepro run case.toml`."
    );
    let _ = writeln!(
        out,
        "{}\n\n    pip install -r requirements.txt\n    python {LAUNCHER} --broker {}\n\n{}\n",
        textwrap::fill(&how, 92),
        super::without_credentials(request.broker_url),
        textwrap::fill(&what, 92)
    );
    if attachment.verified {
        let _ = writeln!(
            out,
            "Verified when this attachment was written: `python {LAUNCHER}` exited 1 and printed:\n"
        );
    } else {
        let _ = writeln!(
            out,
            "**Not verified**: when this attachment was written, `python {LAUNCHER}` did not reproduce\nthe failure. It printed:\n"
        );
    }
    let _ = writeln!(out, "```\n{}\n```\n", attachment.verification);

    if let Some(framework) = framework {
        one_file(&mut out, attachment, framework);
    }

    let _ = writeln!(out, "## The minimal configuration\n");
    if let Some(first) = finding.causes.first() {
        cause_table(&mut out, first, &finding.kept);
        if let Some(lines) = &first.lines {
            down_to_the_line(&mut out, lines);
        }
    }
    if finding.mode == Mode::Isolate {
        let _ = writeln!(
            out,
            "These are the differences from the working configuration (`good.toml`) that make it fail;\nthe configuration above is `good.toml` with them applied.\n"
        );
    }
    if !attachment.secret_elements.is_empty() {
        let _ = writeln!(
            out,
            "**Secrets.** The minimal configuration includes secret values ({}), replaced here by\n`REDACTED`. {}\n",
            attachment.secret_elements.join(", "),
            if attachment.verified {
                "The failure still reproduces with the placeholder (the verification above ran with it)."
            } else {
                "With the placeholder the failure does not reproduce: the real value matters. Put it back\nin `CONFIG` of the launcher to reproduce."
            }
        );
    } else {
        let _ = writeln!(
            out,
            "Secret values (keys, tokens, passwords, credentials inside URLs) anywhere in this attachment\nare replaced by `REDACTED`.\n"
        );
    }

    if finding.causes.len() > 1 {
        let _ = writeln!(
            out,
            "## Other causes\n\nThe failure has {} independent causes: with the first one's elements stripped, it still\nshowed, and the next was searched among what was left. Each shows the failure on its own.\n",
            finding.causes.len()
        );
        for (number, cause) in finding.causes.iter().enumerate().skip(1) {
            let _ = writeln!(out, "### Cause {}\n", number + 1);
            if let Some(outcome) = &cause.outcome {
                let _ = writeln!(
                    out,
                    "{}: {}\n",
                    outcome.kind().to_uppercase(),
                    outcome.summary()
                );
            }
            cause_table(&mut out, cause, &[]);
        }
    }

    // Minimize: what was stripped. Isolate: what of the failing side the working
    // configuration needs to fail (the minimal configuration is the good one plus that).
    let (title, from_label, to_label, from) = match (finding.mode, request.good) {
        (Mode::Isolate, Some(good)) => (
            "From the working configuration to the failing one",
            "good.toml (works)",
            "minimal configuration (fails)",
            good.full_config(),
        ),
        _ => (
            "From the full configuration to the minimal one",
            "full configuration",
            "minimal configuration",
            request.case.full_config(),
        ),
    };
    let _ = writeln!(out, "## {title}\n");
    let from = request.redactor.redact_config(&from);
    let from_text = write::config_text(&from, case_dir);
    let minimal_text = write::config_text(redacted, case_dir);
    let diff = TextDiff::from_lines(&from_text, &minimal_text)
        .unified_diff()
        .context_radius(2)
        .header(from_label, to_label)
        .to_string();
    let _ = writeln!(out, "```diff\n{}```\n", diff);

    let _ = writeln!(out, "## The failure\n");
    if let Some(outcome) = &finding.outcome {
        let _ = writeln!(
            out,
            "{}: {}\n",
            outcome.kind().to_uppercase(),
            outcome.summary()
        );
    }
    if let Some(record) = &finding.minimal_record {
        let _ = writeln!(
            out,
            "Start-up stages of the minimal worker (seconds from its start):\n"
        );
        let _ = writeln!(out, "| at | stage | took | |\n|---:|---|---:|---|");
        for stage in &record.stages {
            let _ = writeln!(
                out,
                "| {:.3} | `{}` | {} | {} |",
                stage.at_s,
                stage.stage,
                stage
                    .duration_s
                    .map(|d| format!("{d:.3}s"))
                    .unwrap_or_default(),
                stage.detail.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(out);
    }
    match &finding.outcome {
        Some(Outcome::Pending { stack_dump, .. }) if !stack_dump.trim().is_empty() => {
            let _ = writeln!(
                out,
                "Every Python thread of the worker, just before it was stopped:\n\n```\n{}\n```\n",
                stack_dump.trim_end()
            );
        }
        Some(Outcome::Crash { .. }) => {
            if let Some(record) = &finding.minimal_record {
                let tail: Vec<&str> = record.stderr_tail.lines().collect();
                let shown = &tail[tail.len().saturating_sub(30)..];
                let _ = writeln!(
                    out,
                    "End of the worker's stderr:\n\n```\n{}\n```\n",
                    shown.join("\n")
                );
            }
        }
        _ => {}
    }

    let _ = writeln!(out, "## How it was found\n");
    let _ = writeln!(
        out,
        "- `minrepro bisect` ({} mode) over {} elements of {} in all; {} trials run, {} answers from earlier runs' records, in {:.1}s.",
        match finding.mode {
            Mode::Minimize => "minimize",
            Mode::Isolate => "isolate",
        },
        finding.reducible,
        finding.elements_total,
        finding.trials,
        finding.recorded,
        finding.wall_s
    );
    let _ = writeln!(
        out,
        "- A worker counted as pending after {:.1}s without processing the probe.",
        finding.timeout_s
    );
    let _ = writeln!(
        out,
        "- Reproduction rate of the result, run afresh: {}.",
        finding.reproduction_rate
    );
    let versions = finding
        .minimal_record
        .as_ref()
        .map(|r| r.versions.clone())
        .unwrap_or_default();
    let kind = crate::broker::Kind::of(request.broker_url).map_or("broker", |k| k.name());
    let _ = writeln!(
        out,
        "- Versions: {}, {kind} {}.\n",
        versions.sentence(),
        request.broker_version.unwrap_or("?"),
    );

    let _ = writeln!(out, "## Files\n");
    let _ = writeln!(
        out,
        "- `case.toml`: the minimal configuration as a minrepro case file.\n- `minrepro_*.py`: the worker as minrepro runs it, and its plumbing (stage reports, stack dumps, the probe actor).\n- `{LAUNCHER}`: the standalone launcher.\n{ONE_FILE}- `requirements.txt`: the packages of the interpreter the trials ran on, the worker's first.\n- `report.json`: the finding, machine-readable.\n- `trials.jsonl`: every trial of the bisection: elements, verdict, outcome, timings, cache hits.\n- Everything else: the case's own files (its Python packages), so that `${{CASE_DIR}}` paths resolve.",
        ONE_FILE = if attachment.minimal_worker.is_some() {
            "- `minimal_worker.py`: the one-file repro; `reduced/`: the culprit modules as reduced (when the cause imports any).\n"
        } else {
            "- `reduced/`: the culprit modules as reduced (when the cause imports any).\n"
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::minimal_worker::OneFile;
    use super::*;
    use crate::report::fixtures::{self, Fixture};

    /// The README of the attachment written for `fixture`'s finding, as `write` makes it.
    fn readme(fixture: &Fixture) -> String {
        let finding = &fixture.finding;
        let redactor = fixture.redactor();
        let minimal = finding.minimal_config.as_ref().unwrap();
        let redacted = redactor.redact_config(minimal);
        let verified = finding.attachment_verified == Some(true);
        let (broker_url, broker_version) = match fixture.case.template.as_str() {
            "dramatiq" => ("amqp://guest:guest@localhost:5672/%2f", "3.13.7"),
            _ => ("redis://:hunter22@localhost:6379/0", "7.2.4"),
        };
        let request = Request {
            out: Path::new("/tmp/minrepro-out"),
            case: &fixture.case,
            good: fixture.good.as_ref(),
            finding,
            redactor: &redactor,
            python: Path::new("/opt/venvs/app/bin/python"),
            broker_url,
            broker_version: Some(broker_version),
        };
        let attachment = Attachment {
            dir: finding.attachment.clone().unwrap(),
            tarball: Path::new("/tmp/minrepro-out").join(format!("{}.tar.gz", finding.case)),
            verified,
            verification: if verified {
                format!("REPRODUCED: {}", finding.outcome.as_ref().unwrap().brief())
            } else {
                "NOT REPRODUCED: processed in 0.30s".into()
            },
            minimal_worker: finding.minimal_worker_reproduces.map(|reproduced| OneFile {
                reproduced,
                printed: if reproduced {
                    "REPRODUCED: pending".into()
                } else {
                    "NOT REPRODUCED: processed in 0.10s".into()
                },
                pasted: reproduced,
            }),
            secret_elements: finding
                .minimal
                .iter()
                .filter(|name| super::super::changed_by_redaction(name, minimal, &redacted))
                .cloned()
                .collect(),
            files: 14,
            bytes: 48_213,
            tarball_bytes: 9_120,
        };
        render(&request, &attachment, &redacted)
    }

    #[test]
    fn readmes_read_as_their_snapshots() {
        for fixture in fixtures::all() {
            if fixture.finding.attachment.is_some() {
                fixtures::check_snapshot(&format!("{}.readme.md", fixture.name), &readme(&fixture));
            }
        }
    }
}

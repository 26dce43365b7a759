//! The attachment's README: the finding in plain words first, then the evidence a
//! maintainer needs (configuration, diff, stage, stack dump, rate, versions). The finding's
//! view says what there is to say, `README.md.j2` lays it out; here is only what the README
//! adds to the view: how to run the attachment, what its verification printed, the diff.

use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;
use similar::TextDiff;

use super::minimal_worker::OneFile;
use super::{Attachment, Job, LAUNCHER};
use crate::bisect::Finding;
use crate::case::Config;
use crate::case::space::Mode;
use crate::case::write;
use crate::error::Error;
use crate::report::render;
use crate::report::view::FindingView;
use crate::template;
use crate::trial::Outcome;

/// Everything the README says: the finding's view, and what the attachment adds to it.
#[derive(Serialize)]
struct Readme<'a> {
    finding: &'a FindingView,
    description: Option<&'a str>,
    launcher: &'static str,
    launch_file: &'static str,
    probe_file: &'static str,
    worker_file: &'static str,
    /// The interpreter the trials ran on.
    python: String,
    /// The broker the launcher runs against by default (no credentials).
    broker: String,
    /// The framework's name (`None`: the template names none minrepro knows).
    framework: Option<&'static str>,
    /// The worker is the framework's own command line, not an in-process one.
    cli: bool,
    verified: bool,
    verification: &'a str,
    one_file: Option<&'a OneFile>,
    secret_elements: &'a [String],
    diff: Diff,
    /// The minimal worker's start-up stages (`None`: no record of its run).
    stages: Option<Vec<Stage>>,
    stack_dump: Option<&'a str>,
    stderr_tail: Option<String>,
    versions: String,
    broker_kind: &'static str,
    broker_version: &'a str,
}

/// What the search took away (minimize), or what the working configuration needs to fail
/// (isolate).
#[derive(Serialize)]
struct Diff {
    title: &'static str,
    text: String,
}

/// A start-up stage as a table row: seconds from the start, and what it took.
#[derive(Serialize)]
struct Stage {
    at: String,
    stage: String,
    took: String,
    detail: String,
}

pub fn render(job: &Job<'_>, attachment: &Attachment, redacted: &Config) -> Result<String, Error> {
    let finding = job.finding;
    let readme = Readme {
        finding: &job.view,
        description: job.request.case.description.as_deref(),
        launcher: LAUNCHER,
        launch_file: template::LAUNCH_FILE,
        probe_file: template::PROBE_FILE,
        worker_file: template::WORKER_FILE,
        python: job.request.python.display().to_string(),
        broker: super::without_credentials(job.request.broker_url),
        framework: crate::framework::of(&redacted.template)
            .ok()
            .map(|f| f.title()),
        cli: redacted.options.launcher.is_cli(),
        verified: attachment.verified,
        verification: &attachment.verification,
        one_file: attachment.minimal_worker.as_ref(),
        secret_elements: &attachment.secret_elements,
        diff: diff(job, redacted),
        stages: stages(finding),
        stack_dump: stack_dump(finding),
        stderr_tail: stderr_tail(finding),
        versions: finding
            .first()
            .record
            .as_ref()
            .map(|r| r.versions.clone())
            .unwrap_or_default()
            .sentence(),
        broker_kind: crate::broker::Kind::of(job.request.broker_url).map_or("broker", |k| k.name()),
        broker_version: job.request.broker_version.unwrap_or("?"),
    };
    render::render(
        "README.md",
        include_str!("README.md.j2"),
        Value::from(Serde(readme)),
    )
}

fn diff(job: &Job<'_>, redacted: &Config) -> Diff {
    let (title, from_label, to_label, from) = match (job.finding.mode, job.request.good) {
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
            job.request.case.full_config(),
        ),
    };
    let case_dir = &job.request.case.dir;
    let from = job.request.redactor.redact_config(&from);
    let from_text = write::config_text(&from, case_dir);
    let minimal_text = write::config_text(redacted, case_dir);
    let text = TextDiff::from_lines(&from_text, &minimal_text)
        .unified_diff()
        .context_radius(2)
        .header(from_label, to_label)
        .to_string();
    Diff { title, text }
}

fn stages(finding: &Finding) -> Option<Vec<Stage>> {
    let record = finding.first().record.as_ref()?;
    let stages = record.stages.iter().map(|stage| Stage {
        at: format!("{:.3}", stage.at_s),
        stage: stage.stage.clone(),
        took: stage
            .duration_s
            .map(|d| format!("{d:.3}s"))
            .unwrap_or_default(),
        detail: stage.detail.clone().unwrap_or_default(),
    });
    Some(stages.collect())
}

/// Every Python thread of a pending worker, just before it was stopped.
fn stack_dump(finding: &Finding) -> Option<&str> {
    match &finding.first().outcome {
        Some(Outcome::Pending { stack_dump, .. }) if !stack_dump.trim().is_empty() => {
            Some(stack_dump.trim_end())
        }
        _ => None,
    }
}

/// The end of a crashed worker's stderr.
fn stderr_tail(finding: &Finding) -> Option<String> {
    let first = finding.first();
    let record = first.record.as_ref()?;
    let Some(Outcome::Crash { .. }) = &first.outcome else {
        return None;
    };
    let tail: Vec<&str> = record.stderr_tail.lines().collect();
    Some(tail[tail.len().saturating_sub(30)..].join("\n"))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Request, secret_elements};
    use super::*;
    use crate::report::fixtures::{self, Fixture};

    /// The README of the attachment written for `fixture`'s finding, as `attach` makes it.
    fn readme(fixture: &Fixture) -> String {
        let finding = &fixture.finding;
        let redactor = fixture.redactor();
        let minimal = &finding.first().config;
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
                format!(
                    "REPRODUCED: {}",
                    finding.first().outcome.as_ref().unwrap().brief()
                )
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
            secret_elements: secret_elements(&finding.first().minimal, minimal, &redacted),
            files: 14,
            bytes: 48_213,
            tarball_bytes: 9_120,
        };
        let job = Job {
            request: &request,
            finding,
            view: FindingView::of(finding),
        };
        render(&job, &attachment, &redacted).unwrap()
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

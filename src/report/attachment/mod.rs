//! The repro attachment: a folder and a tarball that anyone can run and read
//! without minrepro. It is written to `<case>.partial`, verified by running its own
//! standalone launcher once, and only then moved to its final name.

mod files;
mod minimal_worker;
mod packages;
mod readme;
mod replay;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

use crate::bisect::{AttachmentSize, Finding};
use crate::case::space::Mode;
use crate::case::write::{self, CaseFile};
use crate::case::{Case, Config, ElementKey, Expect, Timeout};
use crate::error::Error;
use crate::messages::LaunchMessage;
use crate::redact::Redactor;
use crate::report::json;
use crate::report::view::FindingView;
use crate::template;
use crate::trial::{Failure, Outcome};

/// The launcher's file name in an attachment.
pub const LAUNCHER: &str = "reproduce.py";

/// What an attachment is written from, besides the finding: the cases, where it goes, and
/// the interpreter and broker its launcher is verified with.
pub struct Request<'a> {
    pub out: &'a Path,
    pub case: &'a Case,
    pub good: Option<&'a Case>,
    pub redactor: &'a Redactor,
    /// The interpreter that runs the verification.
    pub python: &'a Path,
    pub broker_url: &'a str,
    /// The RabbitMQ version the broker announced.
    pub broker_version: Option<&'a str>,
}

/// An attachment being written: what was asked, the finding, and the finding's view, made
/// once so that the README, the launcher, the case file and minimal_worker.py tell it alike.
struct Job<'a> {
    request: &'a Request<'a>,
    finding: &'a Finding,
    view: FindingView,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub dir: PathBuf,
    pub tarball: PathBuf,
    /// The launcher reproduced the failure when it was run once before the attachment was
    /// made final.
    pub verified: bool,
    /// What the launcher printed then.
    pub verification: String,
    /// How minimal_worker.py, the one-file repro, did when it was run once (`None`: the
    /// framework has no one-file worker).
    pub minimal_worker: Option<minimal_worker::OneFile>,
    /// Secret elements of the minimal configuration (their values are placeholders here).
    pub secret_elements: Vec<String>,
    /// How many files the folder holds, their bytes, and the tarball's bytes.
    pub files: usize,
    pub bytes: u64,
    pub tarball_bytes: u64,
}

/// Writes the attachment of `finding`, runs its launcher once to verify it, and records it
/// in the finding: where it is, whether its launcher and minimal_worker.py reproduced, how
/// big it came out. `minrepro bisect` and `minrepro nightly` both attach this way, so that
/// their findings say the same of their attachments.
pub async fn attach(finding: &mut Finding, request: &Request<'_>) -> Result<Attachment, Error> {
    let job = Job {
        request,
        finding,
        view: FindingView::of(finding),
    };
    let written = write(&job).await?;
    finding.attachment = Some(written.dir.clone());
    finding.attachment_verified = Some(written.verified);
    finding.minimal_worker_reproduces = written.minimal_worker.as_ref().map(|m| m.reproduced);
    finding.attachment_size = Some(AttachmentSize {
        files: written.files,
        bytes: written.bytes,
        tarball_bytes: written.tarball_bytes,
    });
    Ok(written)
}

fn io_error(what: &str, path: &Path, err: std::io::Error) -> Error {
    Error::infra(format!("cannot {what} {}: {err}", path.display()))
}

/// The attachment's folder while it is written (`<case>.partial`): it becomes the
/// attachment only once complete. Every text goes in redacted.
struct Partial<'a> {
    dir: PathBuf,
    redactor: &'a Redactor,
}

impl Partial<'_> {
    fn put(&self, name: &str, text: &str) -> Result<(), Error> {
        let path = self.dir.join(name);
        std::fs::write(&path, self.redactor.redact(text)).map_err(|e| io_error("write", &path, e))
    }
}

/// Writes the folder as `<case>.partial` and gives it its name only once it is complete and
/// verified: a folder under an attachment's name is never half written.
async fn write(job: &Job<'_>) -> Result<Attachment, Error> {
    let (finding, request) = (job.finding, job.request);
    std::fs::create_dir_all(request.out).map_err(|e| io_error("create", request.out, e))?;
    let out = std::path::absolute(request.out).unwrap_or_else(|_| request.out.to_path_buf());
    let partial = Partial {
        dir: out.join(format!("{}.partial", finding.case)),
        redactor: request.redactor,
    };
    if partial.dir.exists() {
        std::fs::remove_dir_all(&partial.dir).map_err(|e| io_error("remove", &partial.dir, e))?;
    }
    std::fs::create_dir_all(&partial.dir).map_err(|e| io_error("create", &partial.dir, e))?;
    let minimal = &finding.first().config;
    files::copy_needed(minimal, &request.case.dir, &partial.dir, &out)?;
    let redacted = request.redactor.redact_config(minimal);
    let minimal_worker = write_repro(job, &partial, minimal, &redacted).await?;
    let (verified, verification) = verify(&partial.dir, LAUNCHER, job).await;
    let attachment = Attachment {
        dir: out.join(&finding.case),
        tarball: out.join(format!("{}.tar.gz", finding.case)),
        verified,
        verification,
        minimal_worker,
        secret_elements: secret_elements(&finding.first().minimal, minimal, &redacted),
        files: 0,
        bytes: 0,
        tarball_bytes: 0,
    };
    write_report(job, &partial, &attachment, &redacted)?;
    finish(partial, attachment, &finding.case)
}

/// What reproduces the failure: the case files, the worker, its requirements, the
/// launcher, the trials, and minimal_worker.py (run once: how it did) or, for a framework
/// without one, the reduced modules.
async fn write_repro(
    job: &Job<'_>,
    partial: &Partial<'_>,
    minimal: &Config,
    redacted: &Config,
) -> Result<Option<minimal_worker::OneFile>, Error> {
    let (finding, request) = (job.finding, job.request);
    partial.put("case.toml", &minimal_case_file(job, redacted))?;
    if let Some(good) = request.good {
        let good_config = request.redactor.redact_config(&good.full_config());
        partial.put(
            "good.toml",
            &good_case_file(good, &good_config, &request.case.dir),
        )?;
    }
    let worker = template::render_worker(&finding.case, redacted)?;
    for (name, text) in &worker.files {
        partial.put(name, text)?;
    }
    let modules = finding
        .first()
        .record
        .as_ref()
        .map(|r| r.modules.clone())
        .unwrap_or_default();
    let packages = packages::of(request.python, &modules).await;
    partial.put(
        "requirements.txt",
        &packages.requirements_txt(request.python),
    )?;
    partial.put(LAUNCHER, &launcher(job, redacted, worker.entry, &packages)?)?;
    let trials: String = finding
        .log
        .iter()
        .filter_map(|t| serde_json::to_string(t).ok())
        .map(|line| line + "\n")
        .collect();
    partial.put("trials.jsonl", &trials)?;
    if template::has(&redacted.template, minimal_worker::TEMPLATE) {
        Ok(Some(
            minimal_worker::write(&partial.dir, job, minimal, redacted).await?,
        ))
    } else {
        minimal_worker::write_reduced(&partial.dir, job, minimal)?;
        Ok(None)
    }
}

/// What was found and how the attachment did: report.json and the README. Then a last pass
/// takes every secret out of every file.
fn write_report(
    job: &Job<'_>,
    partial: &Partial<'_>,
    attachment: &Attachment,
    redacted: &Config,
) -> Result<(), Error> {
    let mut report = json::finding(job.finding);
    report["attachment"] = serde_json::json!(attachment.dir);
    report["attachment_verified"] = serde_json::json!(attachment.verified);
    partial.put(
        "report.json",
        &serde_json::to_string_pretty(&report).unwrap_or_default(),
    )?;
    partial.put("README.md", &readme::render(job, attachment, redacted)?)?;
    scrub(&partial.dir, job.request.redactor)
}

/// The complete folder takes the attachment's name (replacing an earlier one), and its
/// tarball is made.
fn finish(partial: Partial<'_>, attachment: Attachment, case: &str) -> Result<Attachment, Error> {
    let dir = &attachment.dir;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| io_error("remove", dir, e))?;
    }
    std::fs::rename(&partial.dir, dir).map_err(|e| io_error("rename", &partial.dir, e))?;
    tarball(dir, &attachment.tarball, case)?;
    let (files, bytes) = files::size_of(dir);
    Ok(Attachment {
        files,
        bytes,
        tarball_bytes: std::fs::metadata(&attachment.tarball).map_or(0, |m| m.len()),
        ..attachment
    })
}

/// The elements of `names` whose values redaction replaced in `config`.
fn secret_elements(names: &[String], config: &Config, redacted: &Config) -> Vec<String> {
    names
        .iter()
        .filter(|name| match ElementKey::parse(name) {
            Some(ElementKey::Env(key)) => config.env.get(&key) != redacted.env.get(&key),
            _ => false,
        })
        .cloned()
        .collect()
}

fn expected_failure(job: &Job<'_>) -> (Expect, Option<Failure>) {
    let reference = job.finding.full_outcome.as_ref().and_then(Outcome::failure);
    (job.request.case.oracle.expect, reference)
}

fn minimal_case_file(job: &Job<'_>, redacted: &Config) -> String {
    let finding = job.finding;
    let (expect, reference) = expected_failure(job);
    let expect = match (expect, reference) {
        (Expect::Same, Some(Failure::Pending { .. })) => Expect::Pending,
        (Expect::Same, Some(Failure::Crash { .. })) => Expect::Crash,
        (Expect::Same, Some(Failure::Discarded { .. })) => Expect::Discarded,
        (expect, _) => expect,
    };
    let name = format!("{}-minimal", finding.case);
    let minimal = finding.first().minimal.as_slice();
    // The case's own secret marks that still name an element here.
    let secrets: Vec<String> = job
        .request
        .case
        .secrets
        .iter()
        .filter(|name| {
            matches!(ElementKey::parse(name), Some(ElementKey::Env(key))
                if redacted.env.contains_key(&key))
        })
        .cloned()
        .collect();
    let header = format!(
        "The minimal configuration of case `{}`, found by minrepro bisect.\n{}\n\nRun it with `minrepro run case.toml`, or without minrepro: `python reproduce.py`.",
        finding.case,
        textwrap::fill(&job.view.sentence, 86)
    );
    // The launch's messages, their brokers' passwords replaced like every secret.
    let launch_messages: Vec<LaunchMessage> =
        crate::bisect::replayed_messages(job.request.case, job.request.good)
            .into_iter()
            .map(|mut message| {
                message.broker = job
                    .request
                    .redactor
                    .redact(&crate::redact::redact_url(&message.broker));
                message
            })
            .collect();
    write::render(&CaseFile {
        header: &header,
        name: &name,
        description: job.request.case.description.as_deref(),
        config: redacted,
        broker: job.request.case.broker.as_deref(),
        python: job.request.case.python.as_deref(),
        expect,
        timeout: match job.request.case.oracle.timeout {
            Timeout::Fixed(timeout) => Some(timeout),
            Timeout::Auto => None,
        },
        runs: job.request.case.oracle.runs,
        messages: job.request.case.oracle.messages,
        launch_messages: &launch_messages,
        keep: &finding.kept,
        secrets: &secrets,
        expected_minimal: (finding.mode == Mode::Minimize).then_some(minimal),
        expected_isolated: (finding.mode == Mode::Isolate).then_some(minimal),
        case_dir: &job.request.case.dir,
    })
}

fn good_case_file(good: &Case, config: &Config, case_dir: &Path) -> String {
    let mut table = write::config_table(config, case_dir);
    table.insert("name".into(), toml::Value::String(good.name.clone()));
    table.insert(
        "template".into(),
        toml::Value::String(good.template.clone()),
    );
    format!(
        "# The working configuration the failure was isolated against (secrets redacted).\n\n{}",
        toml::to_string(&table).unwrap_or_default()
    )
}

#[derive(Serialize)]
struct LauncherContext<'a> {
    case_name: &'a str,
    /// The finding in words, as `#` comment lines: nothing in them can break the code.
    finding: Vec<String>,
    env: Vec<(String, String)>,
    options: serde_json::Value,
    entry: &'a str,
    /// The framework's name as people write it, its probe client, and its usual broker.
    framework_title: String,
    client: &'static str,
    default_broker: String,
    messages: u32,
    required: &'a std::collections::BTreeMap<String, String>,
    expected_kind: &'static str,
    expected_signature: Option<String>,
    timeout_s: f64,
    /// The launch's messages to replay (`null`: the probe).
    replay: serde_json::Value,
}

/// What both generated launchers take from the minimal configuration: its env vars and
/// options with the case folder written `${CASE_DIR}`, and the failure to look for.
struct LaunchSettings {
    env: Vec<(String, String)>,
    options: serde_json::Value,
    expected_kind: &'static str,
    expected_signature: Option<String>,
}

fn launch_settings(job: &Job<'_>, redacted: &Config) -> LaunchSettings {
    let dir = job.request.case.dir.display().to_string();
    let relative = |text: &str| text.replace(&dir, "${CASE_DIR}");
    let (expect, reference) = expected_failure(job);
    let (expected_kind, expected_signature) = match (expect, reference) {
        (Expect::AnyFailure, _) => ("any", None),
        (Expect::Pending, _) | (Expect::Same, Some(Failure::Pending { .. })) => ("pending", None),
        (Expect::Discarded, _) | (Expect::Same, Some(Failure::Discarded { .. })) => {
            ("discarded", None)
        }
        (Expect::Crash, _) => ("crash", None),
        (Expect::Same, Some(Failure::Crash { signature })) => ("crash", Some(signature)),
        (Expect::Same, None) => ("any", None),
    };
    let mut options = serde_json::to_value(&redacted.options).unwrap_or_default();
    if let Some(cwd) = &redacted.options.cwd {
        options["cwd"] = serde_json::json!(relative(&cwd.display().to_string()));
    }
    LaunchSettings {
        env: redacted
            .env
            .iter()
            .map(|(k, v)| (k.clone(), relative(v)))
            .collect(),
        options,
        expected_kind,
        expected_signature,
    }
}

fn launcher(
    job: &Job<'_>,
    redacted: &Config,
    entry: &str,
    packages: &packages::Packages,
) -> Result<String, Error> {
    let settings = launch_settings(job, redacted);
    let framework = crate::framework::of(&redacted.template)?;
    let context = LauncherContext {
        case_name: &job.finding.case,
        finding: comment_lines(&job.view.sentence),
        env: settings.env,
        options: settings.options,
        entry,
        framework_title: framework.title().to_string(),
        client: template::client(&redacted.template)?,
        default_broker: without_credentials(job.request.broker_url),
        // The launcher sends minrepro's probe: as many messages as each trial sent.
        messages: job.finding.messages,
        required: &packages.required,
        expected_kind: settings.expected_kind,
        expected_signature: settings.expected_signature,
        timeout_s: job.finding.timeout_s,
        replay: replay::launcher_replay(job.request.case, job.request.good, job.request.redactor)?,
    };
    template::render_shared("reproduce.py.j2", Value::from(Serde(context)))
}

/// A broker URL without its user and password: the attachment's default broker (clients
/// fall back to RabbitMQ's guest account, or to no password for Redis).
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => url.to_string(),
    }
}

/// Text for `#` comment lines of generated Python: wrapped, without control characters
/// (a NUL or a line break would end the comment, or the file).
fn comment_lines(text: &str) -> Vec<String> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    textwrap::wrap(&clean, 88)
        .into_iter()
        .map(|line| line.into_owned())
        .collect()
}

/// Runs a launcher of the attachment (`file`) once, as a user would: plain Python, a clean
/// environment, from outside the attachment. Returns whether it reproduced, and what it
/// printed.
async fn verify(dir: &Path, file: &str, job: &Job<'_>) -> (bool, String) {
    let limit = Duration::from_secs_f64(job.finding.timeout_s * 2.0 + 60.0);
    let mut command = tokio::process::Command::new(job.request.python);
    command
        .arg(dir.join(file))
        .arg("--broker")
        .arg(job.request.broker_url)
        .env_clear()
        .envs(std::env::var_os("PATH").map(|p| ("PATH", p)))
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(limit, command.output()).await {
        Err(_) => {
            return (
                false,
                format!("the launcher did not finish within {}s", limit.as_secs()),
            );
        }
        Ok(Err(err)) => return (false, format!("the launcher could not be started: {err}")),
        Ok(Ok(output)) => output,
    };
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Exit 1 alone is also what an uncaught exception gives: the verdict line must be there.
    let reproduced = output.status.code() == Some(1)
        && printed.lines().any(|line| line.starts_with("REPRODUCED:"));
    (reproduced, job.request.redactor.redact(printed.trim_end()))
}

/// A last pass over every text file: no known secret value leaves in any byte.
fn scrub(dir: &Path, redactor: &Redactor) -> Result<(), Error> {
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue; // not text
        };
        let clean = redactor.redact(&text);
        if clean != text {
            std::fs::write(entry.path(), clean).map_err(|err| {
                Error::infra(format!("cannot write {}: {err}", entry.path().display()))
            })?;
        }
    }
    Ok(())
}

fn tarball(dir: &Path, target: &Path, name: &str) -> Result<(), Error> {
    let fail =
        |err: std::io::Error| Error::infra(format!("cannot write {}: {err}", target.display()));
    let file = std::fs::File::create(target).map_err(fail)?;
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut archive = tar::Builder::new(encoder);
    archive.append_dir_all(name, dir).map_err(fail)?;
    archive
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(fail)?;
    Ok(())
}

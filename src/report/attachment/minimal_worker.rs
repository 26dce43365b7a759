//! `minimal_worker.py`: the one-file repro. The culprit env vars and launch options as the
//! failing launch set them, the kept statements of the culprit modules pasted in import
//! order (or, where they import one another, the reduced modules embedded and served under
//! their own names), a probe actor, and the broker the application sets up. It is run once
//! before the attachment is final; the README says whether it reproduces on its own.
//! The reduced modules are also written under `reduced/`, for reading.

use std::path::Path;

use minijinja::Value;
use minijinja::value::Serde;
use serde::Serialize;

use super::{Job, comment_lines, launch_settings, verify};
use crate::bisect::lines::LinesFinding;
use crate::case::Config;
use crate::error::Error;
use crate::framework;
use crate::template;

/// The file's name in an attachment.
pub const FILE: &str = "minimal_worker.py";
/// Its template, which a framework may not have.
pub const TEMPLATE: &str = "minimal_worker.py.j2";

/// How the one-file repro came out.
#[derive(Debug, Clone, Serialize)]
pub struct OneFile {
    /// It showed the failure when run once, with plain Python outside the project.
    pub reproduced: bool,
    /// What it printed then.
    pub printed: String,
    /// The kept statements are pasted in (rather than the reduced modules embedded).
    pub pasted: bool,
}

#[derive(Serialize)]
struct Part {
    /// A module's kept statements, pasted: where they come from, and their text...
    title: Option<String>,
    text: Option<String>,
    /// ...or a module imported as it is (or as embedded).
    module: Option<String>,
}

/// A reduced module served under its own name: its kept statements, line by line.
#[derive(Serialize)]
struct Embedded {
    name: String,
    title: String,
    lines: Vec<String>,
}

#[derive(Serialize)]
struct Cli {
    form: crate::case::Launcher,
    script: String,
    /// Without the launch's `--queues`: the minimal worker consumes its probe's queue only.
    arguments: Vec<String>,
}

#[derive(Serialize)]
struct Context {
    case_name: String,
    finding: Vec<String>,
    env: Vec<(String, String)>,
    options: serde_json::Value,
    cli: Option<Cli>,
    worker_threads: u32,
    log_level: Option<String>,
    django_settings: Option<String>,
    messages: u32,
    timeout_s: f64,
    expected_kind: &'static str,
    embedded: Option<Vec<Embedded>>,
    application: Vec<Part>,
}

/// Writes minimal_worker.py (and `reduced/`) into the attachment folder `dir` and runs it.
pub async fn write(
    dir: &Path,
    job: &Job<'_>,
    minimal: &Config,
    redacted: &Config,
) -> Result<OneFile, Error> {
    let lines = job
        .finding
        .causes
        .first()
        .and_then(|cause| cause.lines.as_ref());
    let sources = write_reduced(dir, job, minimal)?;
    let pasted = can_paste(minimal, lines);
    let settings = launch_settings(job, redacted);
    let framework = framework::of(&redacted.template)?;
    let options = &redacted.options;
    let application = minimal
        .imports
        .iter()
        .map(|import| crate::case::imported_module(import).to_string())
        .filter_map(|module| {
            let found = lines.and_then(|l| l.modules.iter().find(|m| m.module == module));
            match (pasted, found) {
                (true, Some(found)) => Some(Part {
                    title: Some(format!(
                        "{} ({}): the statements minrepro kept",
                        found.file, found.module
                    )),
                    text: Some(job.request.redactor.redact(&found.kept_text)),
                    module: None,
                }),
                // Reduced to nothing: the import itself was not needed.
                (true, None) if sources.contains_key(&module) => None,
                _ => Some(Part {
                    title: None,
                    text: None,
                    module: Some(module),
                }),
            }
        })
        .collect();
    let context = Context {
        case_name: job.finding.case.clone(),
        finding: comment_lines(&job.view.sentence),
        env: settings.env,
        options: settings.options,
        cli: options.launcher.is_cli().then(|| Cli {
            form: options.launcher,
            script: options
                .script
                .clone()
                .unwrap_or_else(|| framework.console_script().into()),
            arguments: framework.cli_arguments(options),
        }),
        worker_threads: options.worker_threads.unwrap_or(1),
        log_level: options.log_level.clone(),
        django_settings: options.django_settings.clone(),
        messages: job.finding.messages,
        timeout_s: job.finding.timeout_s,
        expected_kind: settings.expected_kind,
        embedded: (!pasted && !sources.is_empty()).then(|| embedded(&sources, lines, job)),
        application,
    };
    let text = template::render(&minimal.template, TEMPLATE, Value::from(Serde(context)))?;
    let path = dir.join(FILE);
    std::fs::write(&path, job.request.redactor.redact(&text))
        .map_err(|err| Error::infra(format!("cannot write {}: {err}", path.display())))?;
    let (reproduced, printed) = verify(dir, FILE, job).await;
    Ok(OneFile {
        reproduced,
        printed,
        pasted,
    })
}

/// Each reduced module's kept statements (a module reduced to nothing is empty).
fn embedded(
    sources: &indexmap::IndexMap<String, String>,
    lines: Option<&LinesFinding>,
    job: &Job<'_>,
) -> Vec<Embedded> {
    sources
        .keys()
        .map(|name| {
            let found = lines.and_then(|l| l.modules.iter().find(|m| &m.module == name));
            Embedded {
                name: name.clone(),
                title: found.map_or_else(
                    || format!("{name}: none of its statements is needed"),
                    |m| format!("{} ({name}): the statements minrepro kept", m.file),
                ),
                lines: found
                    .map(|m| job.request.redactor.redact(&m.kept_text))
                    .unwrap_or_default()
                    .split_inclusive('\n')
                    .map(str::to_string)
                    .collect(),
            }
        })
        .collect()
}

/// The kept statements can be pasted when every reduced module is one the configuration
/// imports, and none of them imports another module of the case's code.
fn can_paste(minimal: &Config, lines: Option<&LinesFinding>) -> bool {
    let Some(lines) = lines else {
        return minimal.sources.is_empty();
    };
    lines.modules.iter().all(|m| {
        m.inlinable
            && minimal
                .imports
                .iter()
                .any(|import| crate::case::imported_module(import) == m.module)
    })
}

/// The reduced modules as files under `reduced/`, where a reader finds them by path.
/// Writes `reduced/`: the culprit modules as statement-level reduction left them, secrets
/// redacted (the one-file worker embeds these texts too).
pub fn write_reduced(
    dir: &Path,
    job: &Job<'_>,
    minimal: &Config,
) -> Result<indexmap::IndexMap<String, String>, Error> {
    let sources: indexmap::IndexMap<String, String> = minimal
        .sources
        .iter()
        .map(|(module, text)| (module.clone(), job.request.redactor.redact(text)))
        .collect();
    for (module, text) in &sources {
        let path = dir
            .join("reduced")
            .join(module.replace('.', "/"))
            .with_extension("py");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| {
                Error::infra(format!("cannot create {}: {err}", parent.display()))
            })?;
        }
        std::fs::write(&path, text)
            .map_err(|err| Error::infra(format!("cannot write {}: {err}", path.display())))?;
    }
    Ok(sources)
}

//! The worker templates under `templates/<name>/`, embedded in the binary so that an
//! installed minrepro works from any folder, rendered with minijinja.

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::case::{Config, Launcher};
use crate::error::Error;
use crate::framework;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The plumbing module every generated worker imports (stage reports, stack dumps, reduced
/// sources), the same for every framework: `templates/plumbing.py`.
pub const PLUMBING_FILE: &str = "minrepro_plumbing.py";
/// The trial's names on the broker, patched into the broker clients: `templates/isolation.py`.
pub const ISOLATION_FILE: &str = "minrepro_isolation.py";
/// How a broker client's server is named as a URL, the same in capture's hook:
/// `templates/broker_addresses.py`.
pub const BROKER_ADDRESSES_FILE: &str = "minrepro_broker_addresses.py";
/// The framework's side of the plumbing (the probe task, the broker the worker reports):
/// the template's `framework.py`.
pub const FRAMEWORK_FILE: &str = "minrepro_framework.py";
/// The in-process worker a `script` launch runs.
pub const WORKER_FILE: &str = "minrepro_worker.py";
/// What a CLI launch runs: Dramatiq's command line, started as the case's launch did.
pub const LAUNCH_FILE: &str = "minrepro_launch.py";
/// The module a CLI launch gets the framework to import: it declares the probe task.
pub const PROBE_FILE: &str = "minrepro_probe.py";
/// The reduced sources of application modules (statement-level reduction), by module name:
/// the plumbing serves them in place of the modules' files.
pub const SOURCES_FILE: &str = "minrepro_sources.json";

/// Whether `templates/<name>/` exists (every registered framework must have one).
#[cfg(test)]
pub fn exists(name: &str) -> bool {
    TEMPLATES.get_dir(name).is_some()
}

/// How capture's hook and a trial's worker name a broker client's server.
pub fn broker_addresses() -> Result<&'static str, Error> {
    shared("broker_addresses.py")
}

/// A file every template's workers share (`plumbing.py`, `isolation.py`).
fn shared(name: &str) -> Result<&'static str, Error> {
    TEMPLATES
        .get_file(name)
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| {
            Error::infra(format!(
                "templates/{name} is missing (this minrepro build is incomplete)"
            ))
        })
}

/// The plumbing every template's workers share.
fn plumbing() -> Result<&'static str, Error> {
    shared("plumbing.py")
}

fn file(template: &str, file: &str) -> Result<&'static str, Error> {
    TEMPLATES
        .get_file(format!("{template}/{file}"))
        .and_then(|f| f.contents_utf8())
        .ok_or_else(|| {
            Error::infra(format!(
                "template `{template}` has no file `{file}` (this minrepro build is incomplete)"
            ))
        })
}

/// Every source of a template's workers, concatenated: with a configuration, it decides
/// what a trial runs.
pub fn worker_source(template: &str) -> Result<String, Error> {
    let mut sources = vec![plumbing()?, broker_addresses()?, shared("isolation.py")?];
    for name in ["framework.py", "probe.py", "worker.py.j2", "launch.py.j2"] {
        sources.push(file(template, name)?);
    }
    Ok(sources.join("\n"))
}

/// Whether a template has `file` (a framework may lack an optional one, such as the one-file
/// worker).
pub fn has(template: &str, file: &str) -> bool {
    TEMPLATES.get_file(format!("{template}/{file}")).is_some()
}

/// The text of the framework's probe client, for the standalone launcher.
pub fn client(template: &str) -> Result<&'static str, Error> {
    file(template, "client.py")
}

/// The pinned Python requirements of a template's worker.
pub fn requirements(template: &str) -> Result<&'static str, Error> {
    file(template, "requirements.txt")
}

/// Renders `templates/<template>/<name>` with `context`.
pub fn render(template: &str, name: &str, context: Value) -> Result<String, Error> {
    render_text(
        file(template, name)?,
        &format!("{template}/{name}"),
        context,
    )
}

/// Renders `templates/<name>`, shared by every framework, with `context`.
pub fn render_shared(name: &str, context: Value) -> Result<String, Error> {
    render_text(shared(name)?, name, context)
}

/// An environment with minrepro's template syntax: the line of a block tag leaves nothing
/// behind and a template's last newline is kept, so that a template reads as the text it
/// makes (the workers', the launcher, the reports).
pub fn environment() -> Result<Environment<'static>, Error> {
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|err| Error::infra(format!("template syntax: {err}")))?;
    let mut env = Environment::new();
    env.set_syntax(syntax);
    Ok(env)
}

fn render_text(source: &str, what: &str, context: Value) -> Result<String, Error> {
    let mut env = environment()?;
    env.add_filter("py", python_literal);
    env.render_str(source, context)
        .map_err(|err| Error::infra(format!("cannot render {what}: {err:#}")))
}

/// The `py` filter: a value as a Python literal (`None`, `True`, strings with their escapes),
/// so that nothing from a configuration can break the generated code.
fn python_literal(value: Value) -> Result<String, minijinja::Error> {
    let json = serde_json::to_value(&value).map_err(|err| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string())
    })?;
    Ok(literal(&json))
}

fn literal(value: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match value {
        J::Null => "None".into(),
        J::Bool(true) => "True".into(),
        J::Bool(false) => "False".into(),
        J::Number(n) => n.to_string(),
        // A JSON string is a valid Python string literal: the same escapes, \uXXXX included.
        J::String(_) => value.to_string(),
        J::Array(items) => format!(
            "[{}]",
            items.iter().map(literal).collect::<Vec<_>>().join(", ")
        ),
        J::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", J::String(k.clone()), literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The files of one worker, and the one the interpreter runs.
pub struct WorkerFiles {
    /// (file name, text), all written beside each other.
    pub files: Vec<(&'static str, String)>,
    /// The file `python` is given: the in-process worker or the CLI launch.
    pub entry: &'static str,
}

#[derive(Serialize)]
struct WorkerContext<'a> {
    case_name: &'a str,
    imports: &'a [String],
    /// The modules whose import is reported as a stage.
    stages: Vec<&'a str>,
    log_level: Option<&'a str>,
    django_settings: Option<&'a str>,
    worker_threads: u32,
}

#[derive(Serialize)]
struct LaunchContext<'a> {
    case_name: &'a str,
    form: Launcher,
    script: &'a str,
    imports: &'a [String],
    arguments: Vec<String>,
    queues: Option<&'a [String]>,
}

/// Renders the worker for `config`. Only the configuration goes into the text; the probe's
/// settings are read at run time from `probe.json` beside it.
pub fn render_worker(case_name: &str, config: &Config) -> Result<WorkerFiles, Error> {
    let template = config.template.as_str();
    let framework = framework::of(template)?;
    let options = &config.options;
    let mut files = vec![
        (PLUMBING_FILE, plumbing()?.to_string()),
        (ISOLATION_FILE, shared("isolation.py")?.to_string()),
        (BROKER_ADDRESSES_FILE, broker_addresses()?.to_string()),
        (FRAMEWORK_FILE, file(template, "framework.py")?.to_string()),
    ];
    if !config.sources.is_empty() {
        let sources = serde_json::to_string(&config.sources)
            .map_err(|err| Error::infra(format!("cannot write the reduced sources: {err}")))?;
        files.push((SOURCES_FILE, sources));
    }
    let entry = if options.launcher.is_cli() {
        let context = LaunchContext {
            case_name,
            form: options.launcher,
            script: options
                .script
                .as_deref()
                .unwrap_or(framework.console_script()),
            imports: &config.imports,
            arguments: framework.cli_arguments(options),
            queues: options.queues.as_deref(),
        };
        files.push((
            LAUNCH_FILE,
            render(template, "launch.py.j2", Value::from(Serde(context)))?,
        ));
        files.push((PROBE_FILE, file(template, "probe.py")?.to_string()));
        LAUNCH_FILE
    } else {
        let mut stages = vec![framework.package()];
        stages.extend(config.imports.iter().map(String::as_str));
        let context = WorkerContext {
            case_name,
            imports: &config.imports,
            stages,
            log_level: options.log_level.as_deref(),
            django_settings: options.django_settings.as_deref(),
            worker_threads: options.worker_threads.unwrap_or(1),
        };
        files.push((
            WORKER_FILE,
            render(template, "worker.py.j2", Value::from(Serde(context)))?,
        ));
        WORKER_FILE
    };
    Ok(WorkerFiles { files, entry })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launch::LaunchOptions;
    use indexmap::IndexMap;

    /// The text of one of a worker's files.
    fn text_of<'a>(worker: &'a WorkerFiles, name: &str) -> &'a str {
        &worker.files.iter().find(|(n, _)| *n == name).unwrap().1
    }

    #[test]
    fn the_dramatiq_template_is_embedded() {
        assert!(exists("dramatiq"));
        assert!(requirements("dramatiq").unwrap().contains("dramatiq=="));
    }

    #[test]
    fn imports_are_rendered_in_order_as_python_literals() {
        let config = Config {
            template: "dramatiq".into(),
            env: IndexMap::new(),
            imports: vec!["app.settings".into(), "app.tasks".into()],
            options: LaunchOptions {
                log_level: Some("DEBUG".into()),
                worker_threads: Some(3),
                ..LaunchOptions::default()
            },
            sources: IndexMap::new(),
        };
        let worker = render_worker("demo", &config).unwrap();
        assert_eq!(worker.entry, WORKER_FILE);
        let text = text_of(&worker, WORKER_FILE);
        let settings = text.find(r#"_fw.import_spec("app.settings")"#).unwrap();
        let tasks = text.find(r#"_fw.import_spec("app.tasks")"#).unwrap();
        assert!(settings < tasks);
        assert!(text.contains(r#"setLevel("DEBUG")"#));
        assert!(text.contains("worker_threads=3"));
        assert!(worker.files.iter().any(|(n, _)| *n == PLUMBING_FILE));
    }

    #[test]
    fn a_cli_launch_is_dramatiqs_command_line_with_the_probe_module_last() {
        let config = Config {
            template: "dramatiq".into(),
            env: IndexMap::new(),
            imports: vec!["app.broker:redis".into(), "app.tasks".into()],
            options: LaunchOptions {
                launcher: Launcher::ConsoleScript,
                verbose: 1,
                processes: Some(2),
                queues: Some(vec!["emails".into()]),
                ..LaunchOptions::default()
            },
            sources: IndexMap::new(),
        };
        let worker = render_worker("demo", &config).unwrap();
        assert_eq!(worker.entry, LAUNCH_FILE);
        let text = text_of(&worker, LAUNCH_FILE);
        assert!(text.contains(r#"FORM = "console-script""#), "{text}");
        assert!(
            text.contains(r#"MODULES = ["app.broker:redis", "app.tasks"]"#),
            "{text}"
        );
        assert!(
            text.contains(r#"ARGUMENTS = ["--processes", "2", "-v"]"#),
            "{text}"
        );
        assert!(text.contains(r#"QUEUES = ["emails"]"#), "{text}");
        assert!(worker.files.iter().any(|(n, _)| *n == PROBE_FILE));
        let no_queues = Config {
            options: LaunchOptions {
                queues: None,
                ..config.options.clone()
            },
            ..config
        };
        let worker = render_worker("demo", &no_queues).unwrap();
        let text = text_of(&worker, LAUNCH_FILE);
        assert!(text.contains("QUEUES = None"), "{text}");
    }

    #[test]
    fn values_become_python_literals() {
        let value = serde_json::json!({"a": [null, true, false, 1.5, "x\"\\\n\u{e9}"]});
        assert_eq!(
            literal(&value),
            "{\"a\": [None, True, False, 1.5, \"x\\\"\\\\\\n\u{e9}\"]}"
        );
    }
}

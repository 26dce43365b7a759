//! The worker templates under `templates/<name>/`, embedded in the binary so that an
//! installed minrepro works from any folder, rendered with minijinja.

use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::case::Config;
use crate::error::Error;

static TEMPLATES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The template a case file gets when it names none.
pub const DEFAULT: &str = "dramatiq";
/// The generated worker's file name; its module name is the same without `.py`.
pub const WORKER_FILE: &str = "minrepro_worker.py";
pub const WORKER_MODULE: &str = "minrepro_worker";

pub fn names() -> Vec<&'static str> {
    let mut names: Vec<&str> = TEMPLATES
        .dirs()
        .filter_map(|d| d.path().file_name()?.to_str())
        .collect();
    names.sort_unstable();
    names
}

pub fn exists(name: &str) -> bool {
    names().contains(&name)
}

/// The worker template's file name in a template folder.
const WORKER_SOURCE: &str = "worker.py.j2";

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

/// The source of a template's worker: with a configuration, it decides the worker.
pub fn worker_source(template: &str) -> Result<&'static str, Error> {
    file(template, WORKER_SOURCE)
}

/// The pinned Python requirements of a template's worker.
pub fn requirements(template: &str) -> Result<&'static str, Error> {
    file(template, "requirements.txt")
}

#[derive(Serialize)]
struct WorkerContext<'a> {
    case_name: &'a str,
    imports: &'a [String],
    log_level: Option<&'a str>,
    worker_threads: u32,
}

/// Renders `templates/<template>/<name>` with `context`.
pub fn render(template: &str, name: &str, context: Value) -> Result<String, Error> {
    let source = file(template, name)?;
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|err| Error::infra(format!("template syntax: {err}")))?;
    let mut env = Environment::new();
    env.set_syntax(syntax);
    env.render_str(source, context)
        .map_err(|err| Error::infra(format!("cannot render {template}/{name}: {err:#}")))
}

/// Renders the worker for `config`. Only the configuration goes into the text; the probe's
/// plumbing is read at run time from files beside the worker.
pub fn render_worker(case_name: &str, config: &Config) -> Result<String, Error> {
    let context = WorkerContext {
        case_name,
        imports: &config.imports,
        log_level: config.options.log_level.as_deref(),
        worker_threads: config.options.worker_threads,
    };
    render(&config.template, WORKER_SOURCE, Value::from(Serde(context)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::LaunchOptions;
    use indexmap::IndexMap;

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
                worker_threads: 3,
                ..LaunchOptions::default()
            },
        };
        let text = render_worker("demo", &config).unwrap();
        let settings = text.find(r#"_mr_import("app.settings")"#).unwrap();
        let tasks = text.find(r#"_mr_import("app.tasks")"#).unwrap();
        assert!(settings < tasks);
        assert!(text.contains(r#"setLevel("DEBUG")"#));
        assert!(text.contains("worker_threads=3"));
    }
}

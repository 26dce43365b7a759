//! The case file: one full worker configuration, split into elements that the
//! reducer may strip one by one, plus what "still fails" means for it.

mod diagnostic;
pub mod entries;
pub mod folder;
mod parse;
pub mod space;
pub mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;

pub use crate::launch::{InputMode, LaunchOption, LaunchOptions, Launcher, OutputMode};
use crate::messages::LaunchMessage;
use crate::redact::Redactor;
pub use diagnostic::SourceFile;
pub use parse::load;

/// The file a case folder holds.
pub const CASE_FILE: &str = "case.toml";
/// The working configuration that may sit beside a case file.
pub const GOOD_FILE: &str = "good.toml";

/// One reducible part of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    Env { key: String, value: String },
    Import { module: String },
    Option(LaunchOption),
}

/// An element's name by its kind. Names travel as text (`env:KEY`, `import:MODULE`,
/// `option:NAME`: the case file's `keep`, the JSON's `minimal`, the outcome cache); this is
/// the one place that says how that text reads, both ways, so that no reader takes it
/// apart by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementKey {
    Env(String),
    Import(String),
    Option(String),
}

impl ElementKey {
    /// The kind and key a name says; `None` for text that is no element name.
    pub fn parse(name: &str) -> Option<ElementKey> {
        let (kind, key) = name.split_once(':')?;
        let key = key.to_string();
        match kind {
            "env" => Some(ElementKey::Env(key)),
            "import" => Some(ElementKey::Import(key)),
            "option" => Some(ElementKey::Option(key)),
            _ => None,
        }
    }
}

impl fmt::Display for ElementKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElementKey::Env(key) => write!(f, "env:{key}"),
            ElementKey::Import(module) => write!(f, "import:{module}"),
            ElementKey::Option(name) => write!(f, "option:{name}"),
        }
    }
}

impl Element {
    /// `env:KEY`, `import:MODULE` or `option:NAME`.
    pub fn name(&self) -> String {
        match self {
            Element::Env { key, .. } => ElementKey::Env(key.clone()),
            Element::Import { module } => ElementKey::Import(module.clone()),
            Element::Option(option) => ElementKey::Option(option.name()),
        }
        .to_string()
    }

    /// The element's value as a case file would write it (an import has none).
    pub fn value_text(&self) -> Option<String> {
        match self {
            Element::Env { value, .. } => Some(value.clone()),
            Element::Import { .. } => None,
            Element::Option(option) => Some(option.to_string()),
        }
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value_text() {
            Some(value) => write!(f, "{} = {value}", self.name()),
            None => f.write_str(&self.name()),
        }
    }
}

/// What counts as "still fails" (docs/SPEC.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// The same kind as the full configuration's own failure (and signature, for a crash).
    Same,
    Pending,
    Crash,
    /// Replayed messages dropped unprocessed by the worker.
    Discarded,
    AnyFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Derived from how fast passing configurations are processed, with a floor.
    Auto,
    Fixed(Duration),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    Fixed(u32),
    /// Measure the reproduction rate first, for flaky cases.
    Auto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleSpec {
    pub expect: Expect,
    pub timeout: Timeout,
    pub runs: Runs,
    /// Probe messages published at once: "processed" means all of them. Some failures
    /// show only under load (a log pipe that fills after a hundred messages).
    pub messages: u32,
}

/// Optional ground truth, used by tests and by `nightly`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub minimal: Option<Vec<String>>,
    pub isolated: Option<Vec<String>>,
    /// Every independent cause, in the order they are found.
    pub causes: Option<Vec<Vec<String>>>,
    /// The entries that matter inside list values, by env var name (or `python_flags`).
    pub entries: Option<IndexMap<String, Vec<String>>>,
    /// The lines of each module (by module name) that statement-level reduction keeps.
    pub lines: Option<IndexMap<String, Vec<u32>>>,
}

/// A loaded, validated case file.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub description: Option<String>,
    pub template: String,
    /// The broker the case's worker uses (its probe goes there), when the case names one:
    /// a Redis case must. `None`: `--broker`, `MINREPRO_BROKER` or RabbitMQ on localhost.
    pub broker: Option<String>,
    /// The interpreter the workers run on, as the real launch had it (a virtual
    /// environment's `bin/python`); `None`: minrepro's own environment for the template.
    pub python: Option<PathBuf>,
    /// The case file itself.
    pub path: PathBuf,
    /// `${CASE_DIR}`: the absolute folder of the case file.
    pub dir: PathBuf,
    /// Env vars (in file order), then imports (in order), then options (in file order).
    pub elements: Vec<Element>,
    /// Indices into `elements` that are never stripped.
    pub keep: Vec<usize>,
    /// Elements whose values are secret, beyond those whose names look secret: every
    /// output redacts them.
    pub secrets: Vec<String>,
    /// Env vars whose values are lists, with their separators (path-like ones need none).
    pub lists: IndexMap<String, String>,
    pub oracle: OracleSpec,
    /// The launch's own messages (`[[messages]]`), which every trial replays where their
    /// sender sent them; empty: trials send minrepro's probe instead.
    pub messages: Vec<LaunchMessage>,
    pub expected: Expected,
}

/// A concrete configuration: what one trial runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Config {
    pub template: String,
    pub env: IndexMap<String, String>,
    pub imports: Vec<String>,
    pub options: LaunchOptions,
    /// Modules of the case's own code served from reduced text instead of their files
    /// (module name → source): what statement-level reduction tries. The user's files are
    /// never changed; the worker's import system reads these in their place.
    #[serde(skip_serializing_if = "IndexMap::is_empty", default)]
    pub sources: IndexMap<String, String>,
}

impl Config {
    /// The configuration of these elements, imports in the order given; options not
    /// among them take their defaults.
    pub fn from_elements<'a>(
        template: &str,
        elements: impl IntoIterator<Item = &'a Element>,
    ) -> Config {
        let mut config = Config {
            template: template.to_string(),
            env: IndexMap::new(),
            imports: Vec::new(),
            options: LaunchOptions::default(),
            sources: IndexMap::new(),
        };
        for element in elements {
            match element {
                Element::Env { key, value } => {
                    config.env.insert(key.clone(), value.clone());
                }
                Element::Import { module } => config.imports.push(module.clone()),
                Element::Option(option) => config.options.apply(option),
            }
        }
        config
    }
}

// Beside `Config` rather than in `redact`: redaction stays below everything that carries
// secrets (case files, the launch's messages, brokers) and takes from none of them.
impl Redactor {
    /// The configuration with secret values replaced: whole values of secret-looking env
    /// vars, and secrets inside any other value.
    pub fn redact_config(&self, config: &Config) -> Config {
        let mut config = config.clone();
        for (key, value) in config.env.iter_mut() {
            *value = self.redact_env_value(key, value);
        }
        config.options.python_flags = config
            .options
            .python_flags
            .iter()
            .map(|flag| self.redact(flag))
            .collect();
        config
    }
}

impl Case {
    /// The configuration made of the elements for which `include` holds.
    pub fn config_with(&self, include: impl Fn(usize) -> bool) -> Config {
        Config::from_elements(
            &self.template,
            self.elements
                .iter()
                .enumerate()
                .filter(|(index, _)| include(*index))
                .map(|(_, element)| element),
        )
    }

    /// Every element.
    pub fn full_config(&self) -> Config {
        self.config_with(|_| true)
    }

    /// Only the `keep` elements.
    pub fn empty_config(&self) -> Config {
        self.config_with(|index| self.keep.contains(&index))
    }
}

/// The module an import names: `module`, or `module:attribute` as Dramatiq's CLI takes its
/// broker argument.
pub fn imported_module(import: &str) -> &str {
    import.split_once(':').map_or(import, |(module, _)| module)
}

/// A case argument is a case file, or a folder holding `case.toml`.
pub fn resolve_case_path(arg: &Path) -> PathBuf {
    if arg.is_dir() {
        arg.join(CASE_FILE)
    } else {
        arg.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::ElementKey;

    #[test]
    fn element_names_read_back_as_the_keys_they_were_written_from() {
        for key in [
            ElementKey::Env("PYTHONPATH".into()),
            ElementKey::Import("app.broker:redis".into()),
            ElementKey::Option("python_flags".into()),
        ] {
            assert_eq!(ElementKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(
            ElementKey::parse("import:app.broker:redis"),
            Some(ElementKey::Import("app.broker:redis".into()))
        );
        assert_eq!(ElementKey::parse("PYTHONPATH"), None);
        assert_eq!(ElementKey::parse("setting:X"), None);
    }
}

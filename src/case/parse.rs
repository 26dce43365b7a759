//! Reading a case file: TOML with positions, `${CASE_DIR}`, and every check of
//! docs/SPEC.md §2.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use super::{
    Case, Element, ElementKey, Expect, Expected, Launcher, OracleSpec, Runs, SourceFile, Timeout,
};
use crate::error::Error;
use crate::framework;
use crate::launch::{AppliesTo, LaunchOption, describe, is_module_name};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Option<Spanned<String>>,
    description: Option<String>,
    template: Option<Spanned<String>>,
    broker: Option<Spanned<String>>,
    python: Option<Spanned<String>>,
    #[serde(default)]
    imports: Vec<Spanned<String>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    #[serde(default)]
    lists: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    env: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    options: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    #[serde(default)]
    oracle: RawOracle,
    #[serde(default)]
    reduce: RawReduce,
    #[serde(default)]
    expected: RawExpected,
    #[serde(default)]
    messages: Vec<Spanned<crate::messages::MessageEntry>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOracle {
    expect: Option<Spanned<String>>,
    timeout: Option<Spanned<toml::Value>>,
    runs: Option<Spanned<toml::Value>>,
    messages: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawReduce {
    #[serde(default)]
    keep: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawExpected {
    minimal: Option<Vec<Spanned<String>>>,
    isolated: Option<Vec<Spanned<String>>>,
    causes: Option<Vec<Vec<Spanned<String>>>>,
    entries: Option<IndexMap<Spanned<String>, Vec<String>>>,
    lines: Option<IndexMap<Spanned<String>, Vec<u32>>>,
}

/// Loads and validates the case file at `path` (a file, or a folder holding case.toml).
pub fn load(path: &Path) -> Result<Case, Error> {
    let path = super::resolve_case_path(path);
    let path = std::path::absolute(&path).unwrap_or(path);
    let source = SourceFile::read(&path)?;
    let raw: RawCase = toml::from_str(&source.text).map_err(|err| {
        source.error(
            err.span(),
            err.message().trim_end(),
            Some("see the case file format in the README (docs/SPEC.md §2)"),
        )
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ".".into());
    Checker {
        source: &source,
        dir: &dir,
    }
    .case(raw, &path)
}

struct Checker<'a> {
    source: &'a SourceFile,
    dir: &'a Path,
}

impl Checker<'_> {
    fn fail(&self, span: Range<usize>, title: impl AsRef<str>, help: &str) -> Error {
        self.source.error(Some(span), title.as_ref(), Some(help))
    }

    /// `${CASE_DIR}` is the only substitution; any other `$` is taken literally.
    fn expand(&self, text: &str) -> String {
        text.replace("${CASE_DIR}", &self.dir.display().to_string())
    }

    fn case(&self, raw: RawCase, path: &Path) -> Result<Case, Error> {
        let name = self.name(raw.name)?;
        let template = self.template(raw.template)?;
        let broker = self.broker(raw.broker)?;
        let (elements, spans) = self.elements(raw.env, raw.imports, raw.options)?;
        self.check_launcher_options(&template, &elements, &spans)?;
        let names: Vec<String> = elements.iter().map(Element::name).collect();
        let python = raw.python.map(|p| self.python(&p)).transpose()?;
        let keep = self.keep(&names, &raw.reduce.keep)?;
        let secrets = raw
            .secrets
            .iter()
            .map(|entry| {
                self.element(&names, entry, "secrets")
                    .map(|index| names[index].clone())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let lists = self.lists(&names, &raw.lists)?;
        let expected = self.expected(&names, &raw.expected)?;
        let messages = self.messages(raw.messages, &raw.oracle)?;

        Ok(Case {
            name,
            description: raw.description,
            template,
            broker,
            python,
            path: path.to_path_buf(),
            dir: self.dir.to_path_buf(),
            elements,
            keep,
            secrets,
            lists,
            oracle: self.oracle(raw.oracle)?,
            messages,
            expected,
        })
    }

    /// The case's name goes into file names (its outcome cache's, for one), so it is held to
    /// what every file system accepts; without one, the case's folder names it.
    fn name(&self, name: Option<Spanned<String>>) -> Result<String, Error> {
        let Some(name) = name else {
            return Ok(self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "case".into()));
        };
        let text = name.get_ref();
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(self.fail(
                name.span(),
                format!("case name `{text}` is not usable as a folder name"),
                "use letters, digits, '.', '_' and '-' only",
            ));
        }
        Ok(name.into_inner())
    }

    /// A template is looked up by name, so a misspelt one is refused here with the list of
    /// those that exist rather than when a worker is generated.
    fn template(&self, template: Option<Spanned<String>>) -> Result<String, Error> {
        let Some(t) = template else {
            return Ok(crate::framework::DEFAULT.to_string());
        };
        if framework::get(t.get_ref()).is_none() {
            return Err(self.fail(
                t.span(),
                format!("template `{}` does not exist", t.get_ref()),
                &format!("available templates: {}", framework::names().join(", ")),
            ));
        }
        Ok(t.into_inner())
    }

    /// Only a URL of a broker kind minrepro can probe is accepted; the refusal redacts the
    /// URL, since a case's broker URL often holds a password.
    fn broker(&self, broker: Option<Spanned<String>>) -> Result<Option<String>, Error> {
        match broker {
            Some(url) if crate::broker::Kind::of(url.get_ref()).is_none() => Err(self.fail(
                url.span(),
                format!(
                    "`{}` is not a broker URL minrepro can use",
                    crate::redact::redact_url(url.get_ref())
                ),
                "write amqp://user:password@host:5672/vhost (RabbitMQ) or redis://host:6379/0 (Redis)",
            )),
            Some(url) => Ok(Some(url.into_inner())),
            None => Ok(None),
        }
    }

    /// The elements bisection removes, in file order (env, imports, options), each with the
    /// span of its key so that later checks can point at the element they refuse.
    fn elements(
        &self,
        env: IndexMap<Spanned<String>, Spanned<toml::Value>>,
        imports: Vec<Spanned<String>>,
        options: IndexMap<Spanned<String>, Spanned<toml::Value>>,
    ) -> Result<(Vec<Element>, Vec<Range<usize>>), Error> {
        let mut elements = Vec::new();
        let mut spans = Vec::new();
        for (key, value) in env {
            let env_value = self.env_value(&key, &value)?;
            spans.push(key.span());
            elements.push(Element::Env {
                key: key.into_inner(),
                value: env_value,
            });
        }
        let mut seen_imports = HashSet::new();
        for module in imports {
            self.check_module(&module)?;
            if !seen_imports.insert(module.get_ref().clone()) {
                return Err(self.fail(
                    module.span(),
                    format!("`{}` is imported twice", module.get_ref()),
                    "list each module once, in the order the worker imports them",
                ));
            }
            spans.push(module.span());
            elements.push(Element::Import {
                module: module.into_inner(),
            });
        }
        for (option_name, value) in options {
            let option = self.option(&option_name, &value)?;
            spans.push(option_name.span());
            elements.push(Element::Option(option));
        }
        debug_assert_eq!(spans.len(), elements.len());
        Ok((elements, spans))
    }

    /// One `[options]` entry: an unknown option is pointed at by its name, a bad value by
    /// the value, where the reader has to change it.
    fn option(
        &self,
        name: &Spanned<String>,
        value: &Spanned<toml::Value>,
    ) -> Result<LaunchOption, Error> {
        LaunchOption::parse(name.get_ref(), value.get_ref(), self.dir, |s| {
            self.expand(s)
        })
        .map_err(|err| {
            let span = if err.message.starts_with("unknown option") {
                name.span()
            } else {
                value.span()
            };
            self.fail(
                span,
                format!("option `{}`: {}", name.get_ref(), err.message),
                &err.help,
            )
        })
    }

    /// `[reduce] keep` as element indices, each once: the bisection tests membership by
    /// index, and naming an element twice must not count it twice.
    fn keep(&self, names: &[String], keep: &[Spanned<String>]) -> Result<Vec<usize>, Error> {
        let mut indices = Vec::new();
        for entry in keep {
            let index = self.element(names, entry, "keep")?;
            if !indices.contains(&index) {
                indices.push(index);
            }
        }
        Ok(indices)
    }

    /// `[lists]`: only an env var of this case can be split into entries, and an empty
    /// separator would split nothing.
    fn lists(
        &self,
        names: &[String],
        lists: &IndexMap<Spanned<String>, Spanned<String>>,
    ) -> Result<IndexMap<String, String>, Error> {
        let mut separators = IndexMap::new();
        for (key, separator) in lists {
            let name = ElementKey::Env(key.get_ref().clone()).to_string();
            if !names.contains(&name) {
                return Err(self.fail(
                    key.span(),
                    format!("lists: `{}` is not an env var of this case", key.get_ref()),
                    "[lists] marks env vars whose values are lists: KEY = \"separator\"",
                ));
            }
            if separator.get_ref().is_empty() {
                return Err(self.fail(
                    separator.span(),
                    format!("lists: the separator of `{}` is empty", key.get_ref()),
                    "give the text between entries, such as \",\" or \":\"",
                ));
            }
            separators.insert(key.get_ref().clone(), separator.get_ref().clone());
        }
        Ok(separators)
    }

    /// `[expected]`, what a run of the case should find: `minimal` must name elements of
    /// this case; `isolated` and `causes` name elements of the difference with good.toml,
    /// which may exist only on the good side, so only their form is checked here.
    fn expected(&self, names: &[String], raw: &RawExpected) -> Result<Expected, Error> {
        let minimal = match &raw.minimal {
            Some(list) => Some(
                list.iter()
                    .map(|entry| {
                        self.element(names, entry, "expected.minimal")
                            .map(|_| entry.get_ref().clone())
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let isolated = match &raw.isolated {
            Some(list) => Some(self.element_forms(list, "expected.isolated")?),
            None => None,
        };
        let causes = match &raw.causes {
            Some(causes) => Some(
                causes
                    .iter()
                    .map(|cause| self.element_forms(cause, "expected.causes"))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let entries = match &raw.entries {
            Some(entries) => Some(self.expected_entries(names, entries)?),
            None => None,
        };
        let lines = raw.lines.as_ref().map(|lines| {
            lines
                .iter()
                .map(|(module, numbers)| (module.get_ref().clone(), numbers.clone()))
                .collect()
        });
        Ok(Expected {
            minimal,
            isolated,
            causes,
            entries,
            lines,
        })
    }

    /// Element names whose form alone can be checked (they may name good.toml's elements),
    /// shared by `expected.isolated` and each of `expected.causes`.
    fn element_forms(&self, list: &[Spanned<String>], field: &str) -> Result<Vec<String>, Error> {
        list.iter()
            .map(|entry| {
                self.element_form(entry, field)
                    .map(|_| entry.get_ref().clone())
            })
            .collect()
    }

    /// `expected.entries`: entries exist only inside list values, so each key must be an
    /// env var of this case or `python_flags`; `${CASE_DIR}` is expanded in them as it is in
    /// the env values they are entries of.
    fn expected_entries(
        &self,
        names: &[String],
        entries: &IndexMap<Spanned<String>, Vec<String>>,
    ) -> Result<IndexMap<String, Vec<String>>, Error> {
        let mut expanded = IndexMap::new();
        for (key, values) in entries {
            let name = ElementKey::Env(key.get_ref().clone()).to_string();
            if !names.contains(&name) && key.get_ref() != "python_flags" {
                return Err(self.fail(
                    key.span(),
                    format!(
                        "expected.entries: `{}` is not an env var of this case",
                        key.get_ref()
                    ),
                    "name an env var whose value is a list, or python_flags",
                ));
            }
            expanded.insert(
                key.get_ref().clone(),
                values.iter().map(|v| self.expand(v)).collect(),
            );
        }
        Ok(expanded)
    }

    fn env_value(
        &self,
        key: &Spanned<String>,
        value: &Spanned<toml::Value>,
    ) -> Result<String, Error> {
        let name = key.get_ref();
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(self.fail(
                key.span(),
                format!("`{name}` is not a valid environment variable name"),
                "a name must be non-empty and hold no '=' and no NUL",
            ));
        }
        let text = match value.get_ref() {
            toml::Value::String(s) => self.expand(s),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(self.fail(
                    value.span(),
                    format!("env `{name}`: expected a string, found {}", describe(other)),
                    "environment values are strings; quote the value",
                ));
            }
        };
        if text.contains('\0') {
            return Err(self.fail(
                value.span(),
                format!("env `{name}`: the value holds a NUL character"),
                "the operating system cannot pass NUL in an environment value",
            ));
        }
        Ok(text)
    }

    fn check_module(&self, module: &Spanned<String>) -> Result<(), Error> {
        // `module:attribute` names the broker (or a function that sets it up), as the first
        // module given to Dramatiq's CLI may.
        let (name, attribute) = match module.get_ref().split_once(':') {
            Some((name, attribute)) => (name, Some(attribute)),
            None => (module.get_ref().as_str(), None),
        };
        if is_module_name(name) && attribute.is_none_or(is_module_name) {
            Ok(())
        } else {
            Err(self.fail(
                module.span(),
                format!("`{}` is not a Python module name", module.get_ref()),
                "write dotted module names, as in `import app.settings` (the first may name its broker as Dramatiq's CLI does: `app.broker:redis_broker`)",
            ))
        }
    }

    /// Options that mean nothing for the case's own launcher are refused: they would be
    /// elements of a generated worker only, not of the real launch.
    fn check_launcher_options(
        &self,
        template: &str,
        elements: &[Element],
        spans: &[Range<usize>],
    ) -> Result<(), Error> {
        let launcher = elements
            .iter()
            .find_map(|e| match e {
                Element::Option(LaunchOption::Launcher(l)) => Some(*l),
                _ => None,
            })
            .unwrap_or(Launcher::Script);
        let Ok(framework) = framework::of(template) else {
            return Ok(());
        };
        let (title, script) = (framework.title(), framework.console_script());
        for (element, span) in elements.iter().zip(spans) {
            let Element::Option(option) = element else {
                continue;
            };
            let wrong = match framework.applies_to(option) {
                AppliesTo::Any => None,
                AppliesTo::Cli if !launcher.is_cli() => Some((
                    format!(
                        "an option of {title}'s CLI, but the launcher is \"script\" (an in-process worker)"
                    ),
                    format!(
                        "set launcher = \"module\" (python -m {script}) or \"console-script\" (the {script} script), or leave the option out"
                    ),
                )),
                AppliesTo::InProcess if launcher.is_cli() => Some((
                    format!(
                        "an option of the in-process worker, but the launcher is {title}'s CLI"
                    ),
                    framework.cli_sets_up().to_string(),
                )),
                _ => None,
            };
            if let Some((what, help)) = wrong {
                return Err(self.fail(
                    span.clone(),
                    format!("option `{}` is {what}", option.name()),
                    &help,
                ));
            }
        }
        Ok(())
    }

    /// The interpreter the case's workers run on: `${CASE_DIR}` expanded, relative paths
    /// taken from the case's folder. Kept as written (a virtual environment's `bin/python`
    /// is a symlink that must not be resolved, or its packages are lost).
    fn python(&self, python: &Spanned<String>) -> Result<PathBuf, Error> {
        let text = self.expand(python.get_ref());
        if text.trim().is_empty() {
            return Err(self.fail(
                python.span(),
                "python: the interpreter's path is empty",
                "give the path of the worker's interpreter (such as .tox/py311/bin/python), or leave `python` out to use minrepro's own",
            ));
        }
        Ok(self.dir.join(text))
    }

    fn element_form(&self, entry: &Spanned<String>, field: &str) -> Result<(), Error> {
        let text = entry.get_ref();
        if let Some(ElementKey::Env(key) | ElementKey::Import(key) | ElementKey::Option(key)) =
            ElementKey::parse(text)
            && !key.is_empty()
        {
            Ok(())
        } else {
            Err(self.fail(
                entry.span(),
                format!("{field}: `{text}` is not an element name"),
                "element names look like env:KEY, import:MODULE or option:NAME",
            ))
        }
    }

    fn element(
        &self,
        names: &[String],
        entry: &Spanned<String>,
        field: &str,
    ) -> Result<usize, Error> {
        self.element_form(entry, field)?;
        names
            .iter()
            .position(|n| n == entry.get_ref())
            .ok_or_else(|| {
                let kind = entry.get_ref().split(':').next().unwrap_or_default();
                let same_kind: Vec<&str> = names
                    .iter()
                    .filter(|n| n.starts_with(&format!("{kind}:")))
                    .map(String::as_str)
                    .collect();
                let help = if same_kind.is_empty() {
                    format!("the case has no {kind} elements")
                } else {
                    format!("the case's {kind} elements are: {}", same_kind.join(", "))
                };
                self.fail(
                    entry.span(),
                    format!(
                        "{field}: `{}` names no element of this case",
                        entry.get_ref()
                    ),
                    &help,
                )
            })
    }

    /// The launch's messages: each entry checked, `${CASE_DIR}` expanded in its body; a case
    /// that replays them has no synthetic probe messages to count.
    fn messages(
        &self,
        raw: Vec<Spanned<crate::messages::MessageEntry>>,
        oracle: &RawOracle,
    ) -> Result<Vec<crate::messages::LaunchMessage>, Error> {
        if let (Some(first), Some(count)) = (raw.first(), &oracle.messages) {
            return Err(self.fail(
                count.span(),
                "oracle.messages counts minrepro's probe messages, but this case replays the launch's own ([[messages]])",
                &format!(
                    "leave `messages` out of [oracle]: each [[messages]] entry says how many of its shape were sent (the first is at line {})",
                    self.source.line_column(first.span().start).0
                ),
            ));
        }
        raw.into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let span = entry.span();
                entry.into_inner().parse().map_err(|(what, help)| {
                    self.fail(span, format!("messages[{}]: {what}", index + 1), help)
                })
            })
            .collect()
    }

    fn oracle(&self, raw: RawOracle) -> Result<OracleSpec, Error> {
        let expect = match raw.expect {
            None => Expect::Same,
            Some(e) => match e.get_ref().as_str() {
                "pending" => Expect::Pending,
                "crash" => Expect::Crash,
                "discarded" => Expect::Discarded,
                "any-failure" => Expect::AnyFailure,
                other => {
                    return Err(self.fail(
                        e.span(),
                        format!("oracle.expect: `{other}` is not a kind of failure"),
                        "use \"pending\", \"crash\", \"discarded\" or \"any-failure\"; leave it out to mean the full configuration's own failure",
                    ));
                }
            },
        };
        let timeout = match raw.timeout {
            None => Timeout::Auto,
            Some(t) => match t.get_ref() {
                toml::Value::String(s) if s == "auto" => Timeout::Auto,
                toml::Value::String(s) => match humantime::parse_duration(s) {
                    Ok(d) if d >= Duration::from_millis(100) => Timeout::Fixed(d),
                    _ => {
                        return Err(self.fail(
                            t.span(),
                            format!("oracle.timeout: `{s}` is not a usable duration"),
                            "write \"auto\" or a duration of at least 100ms, such as \"4s\" or \"1500ms\"",
                        ));
                    }
                },
                other => {
                    return Err(self.fail(
                        t.span(),
                        format!(
                            "oracle.timeout: expected a string, found {}",
                            describe(other)
                        ),
                        "write \"auto\" or a duration such as \"4s\"",
                    ));
                }
            },
        };
        let runs = match raw.runs {
            None => Runs::Fixed(1),
            Some(r) => match r.get_ref() {
                toml::Value::String(s) if s == "auto" => Runs::Auto,
                toml::Value::Integer(n) if (1..=1000).contains(n) => Runs::Fixed(*n as u32),
                other => {
                    return Err(self.fail(
                        r.span(),
                        format!("oracle.runs: {} is not a number of runs", describe(other)),
                        "write a whole number from 1 to 1000, or \"auto\" for flaky cases",
                    ));
                }
            },
        };
        let messages = match raw.messages {
            None => 1,
            Some(m) => match m.get_ref() {
                toml::Value::Integer(n) if (1..=100_000).contains(n) => *n as u32,
                other => {
                    return Err(self.fail(
                        m.span(),
                        format!("oracle.messages: {} is not a number of messages", describe(other)),
                        "write a whole number from 1 to 100000: the probe messages published at once to the worker",
                    ));
                }
            },
        };
        Ok(OracleSpec {
            expect,
            timeout,
            runs,
            messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{LaunchOptions, OutputMode};

    fn write_case(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("case.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn load_err(text: &str) -> String {
        let (_dir, path) = write_case(text);
        match load(&path) {
            Err(err) if err.is_input() => err.to_string(),
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn elements_keep_file_order_and_case_dir_expands() {
        let (dir, path) = write_case(
            r#"
imports = ["app.settings", "app.tasks"]
[env]
ZED = "1"
PYTHONPATH = "${CASE_DIR}/pkg"
PORT = 8080
[options]
stderr = "pipe"
log_level = "debug"
[reduce]
keep = ["env:PYTHONPATH"]
[expected]
minimal = ["option:stderr", "option:log_level"]
"#,
        );
        let case = load(dir.path()).unwrap();
        assert_eq!(case.path, path);
        let names: Vec<String> = case.elements.iter().map(Element::name).collect();
        assert_eq!(
            names,
            [
                "env:ZED",
                "env:PYTHONPATH",
                "env:PORT",
                "import:app.settings",
                "import:app.tasks",
                "option:stderr",
                "option:log_level"
            ]
        );
        let full = case.full_config();
        assert_eq!(
            full.env["PYTHONPATH"],
            format!("{}/pkg", dir.path().display())
        );
        assert_eq!(full.env["PORT"], "8080");
        assert_eq!(full.options.stderr, OutputMode::Pipe);
        let empty = case.empty_config();
        assert_eq!(empty.env.keys().collect::<Vec<_>>(), ["PYTHONPATH"]);
        assert!(empty.imports.is_empty());
        assert_eq!(empty.options, LaunchOptions::default());
        assert_eq!(case.name, dir.path().file_name().unwrap().to_string_lossy());
        assert_eq!(case.oracle.expect, Expect::Same);
        assert_eq!(case.oracle.timeout, Timeout::Auto);
    }

    #[test]
    fn unknown_key_points_at_it() {
        let message = load_err("name = \"a\"\ntemplat = \"dramatiq\"\n");
        assert!(message.contains("templat"), "{message}");
        assert!(message.contains(":2:1"), "{message}");
    }

    #[test]
    fn keep_must_name_an_element() {
        let message = load_err("[env]\nA = \"1\"\n[reduce]\nkeep = [\"env:B\"]\n");
        assert!(message.contains("env:B"), "{message}");
        assert!(message.contains("env:A"), "{message}");
        assert!(message.contains(":4:"), "{message}");
    }

    #[test]
    fn bad_oracle_values_are_refused() {
        assert!(load_err("[oracle]\nexpect = \"hang\"\n").contains("hang"));
        assert!(load_err("[oracle]\ntimeout = \"soon\"\n").contains("soon"));
        assert!(load_err("[oracle]\nruns = 0\n").contains("runs"));
    }

    #[test]
    fn duplicate_imports_and_bad_module_names_are_refused() {
        assert!(load_err("imports = [\"a\", \"a\"]\n").contains("imported twice"));
        assert!(load_err("imports = [\"a-b\"]\n").contains("not a Python module name"));
    }

    #[test]
    fn missing_template_lists_the_available_ones() {
        let message = load_err("template = \"huey\"\n");
        assert!(message.contains("huey"), "{message}");
        assert!(message.contains("dramatiq"), "{message}");

        let message = load_err("broker = \"kafka://k:9092\"\n");
        assert!(
            message.contains("amqp://") && message.contains("redis://"),
            "{message}"
        );
    }
}

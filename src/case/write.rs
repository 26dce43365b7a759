//! Case files written by minrepro (the minimal case of an attachment, a captured launch):
//! the same format it reads, with `${CASE_DIR}` put back where a path lies in the case's
//! folder, so that the file still works once the folder is moved.

use std::path::Path;
use std::time::Duration;

use toml::{Table, Value};

use super::{Config, Expect, Runs};
use crate::messages::{LaunchMessage, MessageEntry};

/// Everything a written case file says.
pub struct CaseFile<'a> {
    pub header: &'a str,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub config: &'a Config,
    /// The broker the fixture's messages go to (`None`: the default one).
    pub broker: Option<&'a str>,
    /// The workers' interpreter (`None`: minrepro's own for the template).
    pub python: Option<&'a Path>,
    pub expect: Expect,
    /// `None`: "auto".
    pub timeout: Option<Duration>,
    pub runs: Runs,
    /// Probe messages (for a case without the launch's own).
    pub messages: u32,
    /// The launch's own messages, `[[messages]]`.
    pub launch_messages: &'a [LaunchMessage],
    pub keep: &'a [String],
    /// Elements whose values are secret (outputs redact them).
    pub secrets: &'a [String],
    pub expected_minimal: Option<&'a [String]>,
    pub expected_isolated: Option<&'a [String]>,
    /// Paths under this folder are written relative to `${CASE_DIR}`.
    pub case_dir: &'a Path,
}

/// `text` with the case's folder written as `${CASE_DIR}`.
fn relative(text: &str, case_dir: &Path) -> String {
    let dir = case_dir.display().to_string();
    if dir.len() > 1 {
        text.replace(&dir, "${CASE_DIR}")
    } else {
        text.to_string()
    }
}

/// The `[env]`, `imports` and `[options]` of a configuration as a case file writes them.
pub fn config_table(config: &Config, case_dir: &Path) -> Table {
    let relative = |text: &str| relative(text, case_dir);
    let mut table = Table::new();
    table.insert("imports".into(), strings(&config.imports));
    let env: Table = config
        .env
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(relative(v))))
        .collect();
    table.insert("env".into(), Value::Table(env));
    let options: Table = config
        .options
        .explicit()
        .into_iter()
        .map(|option| {
            let value = match option.to_toml() {
                Value::String(s) => Value::String(relative(&s)),
                Value::Array(items) => Value::Array(
                    items
                        .into_iter()
                        .map(|i| match i {
                            Value::String(s) => Value::String(relative(&s)),
                            other => other,
                        })
                        .collect(),
                ),
                other => other,
            };
            (option.name(), value)
        })
        .collect();
    table.insert("options".into(), Value::Table(options));
    table
}

/// The configuration alone, as case-file text: what an attachment diffs.
pub fn config_text(config: &Config, case_dir: &Path) -> String {
    toml::to_string(&config_table(config, case_dir)).unwrap_or_default()
}

pub fn render(file: &CaseFile<'_>) -> String {
    let mut table = Table::new();
    table.insert("name".into(), Value::String(file.name.to_string()));
    if let Some(description) = file.description {
        table.insert("description".into(), Value::String(description.to_string()));
    }
    table.insert(
        "template".into(),
        Value::String(file.config.template.clone()),
    );
    if let Some(broker) = file.broker {
        table.insert("broker".into(), Value::String(broker.to_string()));
    }
    if let Some(python) = file.python {
        table.insert(
            "python".into(),
            Value::String(relative(&python.display().to_string(), file.case_dir)),
        );
    }
    table.extend(config_table(file.config, file.case_dir));
    table.insert("oracle".into(), Value::Table(oracle_table(file)));
    if !file.secrets.is_empty() {
        table.insert("secrets".into(), strings(file.secrets));
    }
    if !file.keep.is_empty() {
        let mut reduce = Table::new();
        reduce.insert("keep".into(), strings(file.keep));
        table.insert("reduce".into(), Value::Table(reduce));
    }
    let mut expected = Table::new();
    for (key, names) in [
        ("minimal", file.expected_minimal),
        ("isolated", file.expected_isolated),
    ] {
        if let Some(names) = names {
            expected.insert(key.into(), strings(names));
        }
    }
    if !expected.is_empty() {
        table.insert("expected".into(), Value::Table(expected));
    }
    if !file.launch_messages.is_empty() {
        let entries: Vec<Value> = file
            .launch_messages
            .iter()
            .filter_map(|m| Value::try_from(MessageEntry::from(m)).ok())
            .collect();
        table.insert("messages".into(), Value::Array(entries));
    }
    let header: String = file
        .header
        .lines()
        .map(|line| format!("# {line}\n").replace("# \n", "#\n"))
        .collect();
    format!("{header}\n{}", toml::to_string(&table).unwrap_or_default())
}

/// The `[oracle]` table: `expect` and `messages` are left out where the default means the
/// same; `timeout` and `runs` are always written.
fn oracle_table(file: &CaseFile<'_>) -> Table {
    let mut oracle = Table::new();
    let expect = match file.expect {
        Expect::Same => None,
        Expect::Pending => Some("pending"),
        Expect::Crash => Some("crash"),
        Expect::Discarded => Some("discarded"),
        Expect::AnyFailure => Some("any-failure"),
    };
    if let Some(expect) = expect {
        oracle.insert("expect".into(), Value::String(expect.into()));
    }
    oracle.insert(
        "timeout".into(),
        Value::String(match file.timeout {
            Some(timeout) => format!("{}ms", timeout.as_millis()),
            None => "auto".into(),
        }),
    );
    oracle.insert(
        "runs".into(),
        match file.runs {
            Runs::Fixed(n) => Value::Integer(i64::from(n)),
            Runs::Auto => Value::String("auto".into()),
        },
    );
    if file.messages > 1 {
        oracle.insert("messages".into(), Value::Integer(i64::from(file.messages)));
    }
    oracle
}

/// A list of element names (or modules) as the case file writes it.
fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::load;

    #[test]
    fn a_written_case_file_loads_back_to_the_same_configuration() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fixture")).unwrap();
        let source = "imports = [\"a.b\"]\n[env]\nPYTHONPATH = \"${CASE_DIR}/pkg\"\nQUOTE = \"a \\\"b\\\" \\n c\"\n[options]\nstderr = \"pipe\"\ncwd = \"${CASE_DIR}/fixture\"\npython_flags = [\"-X\", \"importtime\"]\n[reduce]\nkeep = [\"env:PYTHONPATH\"]\n";
        std::fs::write(dir.path().join("case.toml"), source).unwrap();
        let case = load(dir.path()).unwrap();
        let config = case.full_config();
        let names: Vec<String> = vec!["env:QUOTE".into()];
        let text = render(&CaseFile {
            header: "written by a test\n\nsecond paragraph",
            name: "copy",
            description: Some("a copy"),
            config: &config,
            broker: Some("redis://127.0.0.1:6379/0"),
            python: Some(&case.dir.join("venv/bin/python")),
            expect: Expect::Pending,
            timeout: Some(Duration::from_millis(2500)),
            runs: Runs::Fixed(1),
            messages: 300,
            launch_messages: &[],
            keep: &["env:PYTHONPATH".to_string()],
            secrets: &[],
            expected_minimal: Some(&names),
            expected_isolated: None,
            case_dir: &case.dir,
        });
        assert!(
            text.starts_with("# written by a test\n#\n# second paragraph\n"),
            "{text}"
        );
        assert!(text.contains("${CASE_DIR}/pkg"), "{text}");
        let copy = dir.path().join("copy");
        std::fs::create_dir(&copy).unwrap();
        std::fs::create_dir(copy.join("fixture")).unwrap();
        std::fs::write(copy.join("case.toml"), &text).unwrap();
        let reloaded = load(&copy).unwrap();
        let mut expected = config.clone();
        expected
            .env
            .insert("PYTHONPATH".into(), format!("{}/pkg", copy.display()));
        expected.options.cwd = Some(copy.join("fixture"));
        assert_eq!(reloaded.full_config(), expected);
        assert_eq!(reloaded.oracle.expect, Expect::Pending);
        assert_eq!(reloaded.oracle.messages, 300);
        assert_eq!(reloaded.broker.as_deref(), Some("redis://127.0.0.1:6379/0"));
        assert_eq!(reloaded.python, Some(copy.join("venv/bin/python")));
        assert_eq!(reloaded.expected.minimal, Some(names));
    }
}

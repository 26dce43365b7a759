//! The launch and worker options of the `dramatiq` template (SPEC §2): what each one may be,
//! and what a stripped option falls back to.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Where one of the worker's output streams goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// A pipe the launcher never reads, like `Popen(stdout=PIPE)` without `communicate()`:
    /// once the kernel's buffer (64 KiB on Linux) is full, the worker blocks in write().
    Pipe,
    /// A pipe that is read to the end as the worker writes.
    Drain,
    /// minrepro's own stderr (also for the worker's stdout, so that `--json` stays clean).
    Inherit,
    /// /dev/null.
    Null,
    /// A file in the trial's scratch folder.
    File,
}

/// What the worker's stdin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    /// A pipe held open and never written.
    Pipe,
    Null,
    Inherit,
}

/// How the worker is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Launcher {
    /// `python minrepro_worker.py`: an in-process `dramatiq.Worker`.
    Script,
    /// `python -m dramatiq minrepro_worker`: the CLI, which forks worker processes.
    Cli,
}

/// One option as written in a case file, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchOption {
    Stdout(OutputMode),
    Stderr(OutputMode),
    Stdin(InputMode),
    Cwd(PathBuf),
    LogLevel(String),
    WorkerThreads(u32),
    Launcher(Launcher),
    Processes(u32),
    PythonFlags(Vec<String>),
}

/// Every option with its value; stripped options hold their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchOptions {
    pub stdout: OutputMode,
    pub stderr: OutputMode,
    pub stdin: InputMode,
    /// `None`: the trial's own scratch folder.
    pub cwd: Option<PathBuf>,
    /// `None`: Python's default (WARNING, no handler).
    pub log_level: Option<String>,
    pub worker_threads: u32,
    pub launcher: Launcher,
    pub processes: u32,
    pub python_flags: Vec<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            stdout: OutputMode::Drain,
            stderr: OutputMode::Drain,
            stdin: InputMode::Null,
            cwd: None,
            log_level: None,
            worker_threads: 1,
            launcher: Launcher::Script,
            processes: 1,
            python_flags: Vec::new(),
        }
    }
}

impl LaunchOptions {
    /// The options that differ from their defaults, as case-file elements.
    pub fn explicit(&self) -> Vec<LaunchOption> {
        let all = [
            LaunchOption::Stdout(self.stdout),
            LaunchOption::Stderr(self.stderr),
            LaunchOption::Stdin(self.stdin),
            LaunchOption::WorkerThreads(self.worker_threads),
            LaunchOption::Launcher(self.launcher),
            LaunchOption::Processes(self.processes),
            LaunchOption::PythonFlags(self.python_flags.clone()),
        ];
        let mut options: Vec<LaunchOption> = all
            .into_iter()
            .filter(|option| !option.is_default())
            .collect();
        options.extend(self.cwd.clone().map(LaunchOption::Cwd));
        options.extend(self.log_level.clone().map(LaunchOption::LogLevel));
        options
    }

    pub fn apply(&mut self, option: &LaunchOption) {
        match option {
            LaunchOption::Stdout(mode) => self.stdout = *mode,
            LaunchOption::Stderr(mode) => self.stderr = *mode,
            LaunchOption::Stdin(mode) => self.stdin = *mode,
            LaunchOption::Cwd(dir) => self.cwd = Some(dir.clone()),
            LaunchOption::LogLevel(level) => self.log_level = Some(level.clone()),
            LaunchOption::WorkerThreads(n) => self.worker_threads = *n,
            LaunchOption::Launcher(launcher) => self.launcher = *launcher,
            LaunchOption::Processes(n) => self.processes = *n,
            LaunchOption::PythonFlags(flags) => self.python_flags = flags.clone(),
        }
    }
}

/// The option names, in the order of SPEC §2's table.
pub const OPTION_NAMES: &[&str] = &[
    "stdout",
    "stderr",
    "stdin",
    "cwd",
    "log_level",
    "worker_threads",
    "launcher",
    "processes",
    "python_flags",
];

const LOG_LEVELS: &[&str] = &[
    "CRITICAL", "FATAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG", "NOTSET",
];

/// Interpreter flags that would replace the worker program itself.
const FORBIDDEN_FLAGS: &[&str] = &["-c", "-m", "-"];

/// Why an option's value was refused: a message and a hint on what to write instead.
#[derive(Debug)]
pub struct OptionError {
    pub message: String,
    pub help: String,
}

impl LaunchOption {
    /// Whether the option only says what its default is.
    pub fn is_default(&self) -> bool {
        let mut options = LaunchOptions::default();
        options.apply(self);
        options == LaunchOptions::default()
    }

    pub fn name(&self) -> &'static str {
        match self {
            LaunchOption::Stdout(_) => "stdout",
            LaunchOption::Stderr(_) => "stderr",
            LaunchOption::Stdin(_) => "stdin",
            LaunchOption::Cwd(_) => "cwd",
            LaunchOption::LogLevel(_) => "log_level",
            LaunchOption::WorkerThreads(_) => "worker_threads",
            LaunchOption::Launcher(_) => "launcher",
            LaunchOption::Processes(_) => "processes",
            LaunchOption::PythonFlags(_) => "python_flags",
        }
    }

    /// The value as it would be written in a case file.
    pub fn to_toml(&self) -> toml::Value {
        match self {
            LaunchOption::Stdout(mode) | LaunchOption::Stderr(mode) => word(mode),
            LaunchOption::Stdin(mode) => word(mode),
            LaunchOption::Launcher(launcher) => word(launcher),
            LaunchOption::Cwd(dir) => toml::Value::String(dir.display().to_string()),
            LaunchOption::LogLevel(level) => toml::Value::String(level.clone()),
            LaunchOption::WorkerThreads(n) | LaunchOption::Processes(n) => {
                toml::Value::Integer(i64::from(*n))
            }
            LaunchOption::PythonFlags(flags) => {
                toml::Value::Array(flags.iter().cloned().map(toml::Value::String).collect())
            }
        }
    }

    /// Parses the value of option `name`. `expand` applies `${CASE_DIR}`; relative
    /// directories are taken from `case_dir`.
    pub fn parse(
        name: &str,
        value: &toml::Value,
        case_dir: &Path,
        expand: impl Fn(&str) -> String,
    ) -> Result<LaunchOption, OptionError> {
        match name {
            "stdout" => Ok(LaunchOption::Stdout(output_mode(value)?)),
            "stderr" => Ok(LaunchOption::Stderr(output_mode(value)?)),
            "stdin" => Ok(LaunchOption::Stdin(
                match one_of(value, &["pipe", "null", "inherit"])? {
                    "pipe" => InputMode::Pipe,
                    "null" => InputMode::Null,
                    _ => InputMode::Inherit,
                },
            )),
            "cwd" => {
                let text = expand(string(value, "a directory")?);
                let dir = case_dir.join(&text);
                if !dir.is_dir() {
                    return Err(OptionError {
                        message: format!("cwd `{}` is not a directory", dir.display()),
                        help: "give an existing directory, absolute or relative to the case file's folder (${CASE_DIR} works too)".into(),
                    });
                }
                Ok(LaunchOption::Cwd(dir))
            }
            "log_level" => {
                let level = string(value, "a logging level name")?.to_ascii_uppercase();
                if !LOG_LEVELS.contains(&level.as_str()) {
                    return Err(OptionError {
                        message: format!("`{level}` is not a Python logging level"),
                        help: format!("use one of {}", LOG_LEVELS.join(", ")),
                    });
                }
                Ok(LaunchOption::LogLevel(level))
            }
            "worker_threads" => Ok(LaunchOption::WorkerThreads(positive(value)?)),
            "processes" => Ok(LaunchOption::Processes(positive(value)?)),
            "launcher" => Ok(LaunchOption::Launcher(
                match one_of(value, &["script", "cli"])? {
                    "script" => Launcher::Script,
                    _ => Launcher::Cli,
                },
            )),
            "python_flags" => {
                let flags = value
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .map(|item| item.as_str().map(&expand))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| OptionError {
                        message: format!("expected a list of strings, found {}", describe(value)),
                        help: r#"for example python_flags = ["-u", "-X", "importtime"]"#.into(),
                    })?;
                if let Some(bad) = flags.iter().find(|f| FORBIDDEN_FLAGS.contains(&f.as_str())) {
                    return Err(OptionError {
                        message: format!("`{bad}` would replace the worker program"),
                        help: "python_flags holds interpreter flags only; put the modules to import in `imports`".into(),
                    });
                }
                Ok(LaunchOption::PythonFlags(flags))
            }
            _ => Err(OptionError {
                message: format!("unknown option `{name}`"),
                help: format!("known options: {}", OPTION_NAMES.join(", ")),
            }),
        }
    }
}

impl fmt::Display for LaunchOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_toml())
    }
}

fn word<T: Serialize>(value: &T) -> toml::Value {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => toml::Value::String(s),
        _ => unreachable!("option words serialize as strings"),
    }
}

fn output_mode(value: &toml::Value) -> Result<OutputMode, OptionError> {
    Ok(
        match one_of(value, &["pipe", "drain", "inherit", "null", "file"])? {
            "pipe" => OutputMode::Pipe,
            "drain" => OutputMode::Drain,
            "inherit" => OutputMode::Inherit,
            "null" => OutputMode::Null,
            _ => OutputMode::File,
        },
    )
}

fn one_of<'v>(value: &'v toml::Value, allowed: &[&str]) -> Result<&'v str, OptionError> {
    let quoted = || {
        allowed
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = value.as_str().ok_or_else(|| OptionError {
        message: format!("expected a string, found {}", describe(value)),
        help: format!("use one of {}", quoted()),
    })?;
    if allowed.contains(&text) {
        Ok(text)
    } else {
        Err(OptionError {
            message: format!("`{text}` is not a valid value"),
            help: format!("use one of {}", quoted()),
        })
    }
}

fn string<'v>(value: &'v toml::Value, what: &str) -> Result<&'v str, OptionError> {
    value.as_str().ok_or_else(|| OptionError {
        message: format!("expected a string, found {}", describe(value)),
        help: format!("give {what} as a quoted string"),
    })
}

fn positive(value: &toml::Value) -> Result<u32, OptionError> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| OptionError {
            message: format!("expected a positive integer, found {}", describe(value)),
            help: "write a whole number of at least 1, without quotes".into(),
        })
}

pub fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string \"{s}\""),
        toml::Value::Integer(n) => format!("the integer {n}"),
        toml::Value::Float(x) => format!("the number {x}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "a list".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, toml_value: &str) -> Result<LaunchOption, OptionError> {
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {toml_value}"))
            .unwrap()
            .remove("v")
            .unwrap();
        LaunchOption::parse(name, &value, Path::new("/"), |s| s.to_string())
    }

    #[test]
    fn values_round_trip_through_toml() {
        for (name, text) in [
            ("stdout", "\"pipe\""),
            ("stdin", "\"inherit\""),
            ("log_level", "\"DEBUG\""),
            ("worker_threads", "4"),
            ("launcher", "\"cli\""),
            ("python_flags", "[\"-u\", \"-X\", \"importtime\"]"),
        ] {
            let option = parse(name, text).unwrap();
            assert_eq!(option.name(), name);
            assert_eq!(option.to_string(), text);
        }
    }

    #[test]
    fn bad_values_say_what_is_allowed() {
        let err = parse("stdout", "\"pipes\"").unwrap_err();
        assert!(err.help.contains("\"drain\""), "{}", err.help);
        let err = parse("worker_threads", "0").unwrap_err();
        assert!(err.message.contains("positive integer"));
        let err = parse("log_level", "\"LOUD\"").unwrap_err();
        assert!(err.message.contains("LOUD"));
        let err = parse("python_flags", "[\"-c\", \"print(1)\"]").unwrap_err();
        assert!(err.message.contains("-c"));
        let err = parse("colour", "1").unwrap_err();
        assert!(err.help.contains("stdout"));
    }

    #[test]
    fn log_level_is_case_insensitive() {
        assert_eq!(
            parse("log_level", "\"debug\"").unwrap(),
            LaunchOption::LogLevel("DEBUG".into())
        );
    }
}

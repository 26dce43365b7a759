//! The launch and worker options of a case: what each one may be, which launcher it
//! applies to, and what a stripped option falls back to. Each framework maps them to its
//! own command line (`framework::Framework::cli_arguments`).
//!
//! Two kinds of launch exist. The in-process one (`launcher = "script"`) is a generated
//! script that imports the modules and starts a `dramatiq.Worker` itself. The CLI ones
//! (`"module"`, `python -m dramatiq`, and `"console-script"`, the `dramatiq` script of the
//! interpreter's environment) run Dramatiq's own command line with the options a real launch
//! gave it: `--processes`, `--threads`, `--path`, `--queues`, `-v`, and any other flag kept
//! verbatim as an option named after it (`"--use-spawn" = true`).

use std::fmt;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Where one of the worker's output streams goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputMode {
    /// A pipe held open and never written.
    Pipe,
    Null,
    Inherit,
}

/// How the worker is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Launcher {
    /// A generated script that imports the modules and runs an in-process `dramatiq.Worker`.
    Script,
    /// `python -m dramatiq MODULES…`: Dramatiq's CLI, which forks worker processes.
    Module,
    /// The `dramatiq` console script beside the interpreter (also what `manage.py
    /// rundramatiq` execs): the same CLI, started the way a shell or `tox exec` starts it.
    ConsoleScript,
}

impl Launcher {
    /// Whether the launch is Dramatiq's command line.
    pub fn is_cli(self) -> bool {
        !matches!(self, Launcher::Script)
    }
}

/// The value of a CLI flag kept verbatim: what follows the flag on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FlagValue {
    /// The flag alone (`--skip-logging`).
    Switch,
    /// One argument (`--log-file worker.log`).
    One(String),
    /// Several (`--watch-include a b`).
    Many(Vec<String>),
}

impl FlagValue {
    /// The command-line words after the flag.
    pub fn words(&self) -> Vec<String> {
        match self {
            FlagValue::Switch => Vec::new(),
            FlagValue::One(value) => vec![value.clone()],
            FlagValue::Many(values) => values.clone(),
        }
    }
}

/// One option as written in a case file, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchOption {
    Stdout(OutputMode),
    Stderr(OutputMode),
    Stdin(InputMode),
    Cwd(PathBuf),
    LogLevel(String),
    DjangoSettings(String),
    WorkerThreads(u32),
    Launcher(Launcher),
    Processes(u32),
    /// The console script run (beside the interpreter), for `launcher = "console-script"`.
    Script(String),
    Verbose(u32),
    Path(Vec<String>),
    Queues(Vec<String>),
    PythonFlags(Vec<String>),
    /// A flag of Dramatiq's CLI that has no option of its own, kept as it was given.
    CliFlag {
        flag: String,
        value: FlagValue,
    },
}

/// Every option with its value; stripped options hold their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchOptions {
    pub stdout: OutputMode,
    pub stderr: OutputMode,
    pub stdin: InputMode,
    /// `None`: the trial's own scratch folder.
    pub cwd: Option<PathBuf>,
    /// In-process launches: the root logger's level, with a handler on stderr. `None`:
    /// Python's default (WARNING, no handler).
    pub log_level: Option<String>,
    /// In-process launches: `DJANGO_SETTINGS_MODULE` unless the env sets it (as manage.py
    /// does), then `django.setup()` before the imports.
    pub django_settings: Option<String>,
    /// `None`: the launcher's default (1 in process, Dramatiq's 8 for the CLI).
    pub worker_threads: Option<u32>,
    pub launcher: Launcher,
    /// CLI: `--processes`; `None`: Dramatiq's default (one per CPU).
    pub processes: Option<u32>,
    /// The console script beside the interpreter (`dramatiq-gevent`, say); `None`:
    /// `dramatiq`.
    pub script: Option<String>,
    /// CLI: how many `-v`.
    pub verbose: u32,
    /// CLI: `--path`; `None`: Dramatiq's default (`.`, the working directory).
    pub path: Option<Vec<String>>,
    /// CLI: `--queues`; `None`: every queue the worker's actors declared.
    pub queues: Option<Vec<String>>,
    pub python_flags: Vec<String>,
    /// CLI: every other flag, verbatim, in the order given.
    pub cli_flags: IndexMap<String, FlagValue>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            stdout: OutputMode::Drain,
            stderr: OutputMode::Drain,
            stdin: InputMode::Null,
            cwd: None,
            log_level: None,
            django_settings: None,
            worker_threads: None,
            launcher: Launcher::Script,
            processes: None,
            script: None,
            verbose: 0,
            path: None,
            queues: None,
            python_flags: Vec::new(),
            cli_flags: IndexMap::new(),
        }
    }
}

impl LaunchOptions {
    /// The options that differ from their defaults, as case-file elements, in the order a
    /// case file lists them.
    pub fn explicit(&self) -> Vec<LaunchOption> {
        let mut options = vec![
            LaunchOption::Stdout(self.stdout),
            LaunchOption::Stderr(self.stderr),
            LaunchOption::Stdin(self.stdin),
        ];
        options.extend(self.cwd.clone().map(LaunchOption::Cwd));
        options.extend(self.log_level.clone().map(LaunchOption::LogLevel));
        options.extend(
            self.django_settings
                .clone()
                .map(LaunchOption::DjangoSettings),
        );
        options.extend(self.worker_threads.map(LaunchOption::WorkerThreads));
        options.push(LaunchOption::Launcher(self.launcher));
        options.extend(self.processes.map(LaunchOption::Processes));
        options.extend(self.script.clone().map(LaunchOption::Script));
        options.push(LaunchOption::Verbose(self.verbose));
        options.extend(self.path.clone().map(LaunchOption::Path));
        options.extend(self.queues.clone().map(LaunchOption::Queues));
        options.push(LaunchOption::PythonFlags(self.python_flags.clone()));
        options.extend(
            self.cli_flags
                .iter()
                .map(|(flag, value)| LaunchOption::CliFlag {
                    flag: flag.clone(),
                    value: value.clone(),
                }),
        );
        options.retain(|option| !option.is_default());
        options
    }

    pub fn apply(&mut self, option: &LaunchOption) {
        match option {
            LaunchOption::Stdout(mode) => self.stdout = *mode,
            LaunchOption::Stderr(mode) => self.stderr = *mode,
            LaunchOption::Stdin(mode) => self.stdin = *mode,
            LaunchOption::Cwd(dir) => self.cwd = Some(dir.clone()),
            LaunchOption::LogLevel(level) => self.log_level = Some(level.clone()),
            LaunchOption::DjangoSettings(module) => self.django_settings = Some(module.clone()),
            LaunchOption::WorkerThreads(n) => self.worker_threads = Some(*n),
            LaunchOption::Launcher(launcher) => self.launcher = *launcher,
            LaunchOption::Processes(n) => self.processes = Some(*n),
            LaunchOption::Script(name) => self.script = Some(name.clone()),
            LaunchOption::Verbose(n) => self.verbose = *n,
            LaunchOption::Path(paths) => self.path = Some(paths.clone()),
            LaunchOption::Queues(queues) => self.queues = Some(queues.clone()),
            LaunchOption::PythonFlags(flags) => self.python_flags = flags.clone(),
            LaunchOption::CliFlag { flag, value } => {
                self.cli_flags.insert(flag.clone(), value.clone());
            }
        }
    }
}

/// The options of the table, in its order; `--…` stands for any verbatim CLI flag.
pub const OPTION_NAMES: &[&str] = &[
    "stdout",
    "stderr",
    "stdin",
    "cwd",
    "log_level",
    "django_settings",
    "worker_threads",
    "launcher",
    "processes",
    "script",
    "verbose",
    "path",
    "queues",
    "python_flags",
    "--<flag>",
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

/// Which launches an option means something for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliesTo {
    Any,
    InProcess,
    Cli,
}

impl LaunchOption {
    /// Whether the option only says what its default is.
    pub fn is_default(&self) -> bool {
        let mut options = LaunchOptions::default();
        options.apply(self);
        options == LaunchOptions::default()
    }

    pub fn name(&self) -> String {
        match self {
            LaunchOption::Stdout(_) => "stdout",
            LaunchOption::Stderr(_) => "stderr",
            LaunchOption::Stdin(_) => "stdin",
            LaunchOption::Cwd(_) => "cwd",
            LaunchOption::LogLevel(_) => "log_level",
            LaunchOption::DjangoSettings(_) => "django_settings",
            LaunchOption::WorkerThreads(_) => "worker_threads",
            LaunchOption::Launcher(_) => "launcher",
            LaunchOption::Processes(_) => "processes",
            LaunchOption::Script(_) => "script",
            LaunchOption::Verbose(_) => "verbose",
            LaunchOption::Path(_) => "path",
            LaunchOption::Queues(_) => "queues",
            LaunchOption::PythonFlags(_) => "python_flags",
            LaunchOption::CliFlag { flag, .. } => return flag.clone(),
        }
        .to_string()
    }

    pub fn applies_to(&self) -> AppliesTo {
        match self {
            LaunchOption::LogLevel(_) | LaunchOption::DjangoSettings(_) => AppliesTo::InProcess,
            LaunchOption::Processes(_)
            | LaunchOption::Script(_)
            | LaunchOption::Verbose(_)
            | LaunchOption::Path(_)
            | LaunchOption::Queues(_)
            | LaunchOption::CliFlag { .. } => AppliesTo::Cli,
            _ => AppliesTo::Any,
        }
    }

    /// The value as it would be written in a case file.
    pub fn to_toml(&self) -> toml::Value {
        let strings = |items: &[String]| {
            toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect())
        };
        match self {
            LaunchOption::Stdout(mode) | LaunchOption::Stderr(mode) => word(mode),
            LaunchOption::Stdin(mode) => word(mode),
            LaunchOption::Launcher(launcher) => word(launcher),
            LaunchOption::Cwd(dir) => toml::Value::String(dir.display().to_string()),
            LaunchOption::LogLevel(text)
            | LaunchOption::DjangoSettings(text)
            | LaunchOption::Script(text) => toml::Value::String(text.clone()),
            LaunchOption::WorkerThreads(n)
            | LaunchOption::Processes(n)
            | LaunchOption::Verbose(n) => toml::Value::Integer(i64::from(*n)),
            LaunchOption::Path(items)
            | LaunchOption::Queues(items)
            | LaunchOption::PythonFlags(items) => strings(items),
            LaunchOption::CliFlag { value, .. } => match value {
                FlagValue::Switch => toml::Value::Boolean(true),
                FlagValue::One(text) => toml::Value::String(text.clone()),
                FlagValue::Many(items) => strings(items),
            },
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
            "stdin" => Ok(LaunchOption::Stdin(input_mode(value)?)),
            "cwd" => Ok(LaunchOption::Cwd(cwd(value, case_dir, &expand)?)),
            "log_level" => Ok(LaunchOption::LogLevel(log_level(value)?)),
            "django_settings" => Ok(LaunchOption::DjangoSettings(django_settings(value)?)),
            "worker_threads" => Ok(LaunchOption::WorkerThreads(positive(value)?)),
            "processes" => Ok(LaunchOption::Processes(positive(value)?)),
            "script" => Ok(LaunchOption::Script(script(value)?)),
            "verbose" => Ok(LaunchOption::Verbose(count(value)?)),
            "launcher" => Ok(LaunchOption::Launcher(launcher(value)?)),
            "path" => Ok(LaunchOption::Path(string_list(
                value,
                &expand,
                r#"for example path = [".", "src"] (relative to the worker's working directory)"#,
            )?)),
            "queues" => Ok(LaunchOption::Queues(string_list(
                value,
                &expand,
                r#"for example queues = ["default", "emails"]"#,
            )?)),
            "python_flags" => Ok(LaunchOption::PythonFlags(python_flags(value, &expand)?)),
            flag if flag.starts_with('-') && flag.len() > 1 => Ok(LaunchOption::CliFlag {
                flag: flag.to_string(),
                value: flag_value(flag, value, &expand)?,
            }),
            _ => Err(OptionError {
                message: format!("unknown option `{name}`"),
                help: format!(
                    "known options: {}; a flag of Dramatiq's CLI is written with its dashes, e.g. \"--use-spawn\" = true",
                    OPTION_NAMES.join(", ")
                ),
            }),
        }
    }
}

impl fmt::Display for LaunchOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_toml())
    }
}

/// A dotted Python module name.
pub fn is_module_name(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
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

/// The worker's stdin, in the words a case file gives it.
fn input_mode(value: &toml::Value) -> Result<InputMode, OptionError> {
    Ok(match one_of(value, &["pipe", "null", "inherit"])? {
        "pipe" => InputMode::Pipe,
        "null" => InputMode::Null,
        _ => InputMode::Inherit,
    })
}

/// The worker's working directory, checked when the case is read so that a wrong one is
/// pointed at in the case file rather than found when a worker cannot start.
fn cwd(
    value: &toml::Value,
    case_dir: &Path,
    expand: &impl Fn(&str) -> String,
) -> Result<PathBuf, OptionError> {
    let text = expand(string(value, "a directory")?);
    let dir = case_dir.join(&text);
    if !dir.is_dir() {
        return Err(OptionError {
            message: format!("cwd `{}` is not a directory", dir.display()),
            help: "give an existing directory, absolute or relative to the case file's folder (${CASE_DIR} works too)".into(),
        });
    }
    Ok(dir)
}

/// A logging level name, upper-cased as Python's logging module names its levels.
fn log_level(value: &toml::Value) -> Result<String, OptionError> {
    let level = string(value, "a logging level name")?.to_ascii_uppercase();
    if !LOG_LEVELS.contains(&level.as_str()) {
        return Err(OptionError {
            message: format!("`{level}` is not a Python logging level"),
            help: format!("use one of {}", LOG_LEVELS.join(", ")),
        });
    }
    Ok(level)
}

/// The Django settings module, checked as a module name since the worker imports it.
fn django_settings(value: &toml::Value) -> Result<String, OptionError> {
    let module = string(value, "a settings module")?;
    if !is_module_name(module) {
        return Err(OptionError {
            message: format!("`{module}` is not a Python module name"),
            help:
                "give the settings module as DJANGO_SETTINGS_MODULE would, e.g. \"mysite.settings\""
                    .into(),
        });
    }
    Ok(module.to_string())
}

/// A console script's file name only: it is looked for beside the interpreter, so a path
/// would name nothing there.
fn script(value: &toml::Value) -> Result<String, OptionError> {
    let name = string(value, "a script's file name")?;
    if name.is_empty() || name.contains('/') {
        return Err(OptionError {
            message: format!("`{name}` is not the name of a script"),
            help: "give the file name of a console script beside the interpreter, such as \"dramatiq-gevent\"".into(),
        });
    }
    Ok(name.to_string())
}

/// How the worker is started; `cli` is still read, as earlier case files called
/// `python -m dramatiq` so.
fn launcher(value: &toml::Value) -> Result<Launcher, OptionError> {
    Ok(
        match one_of(value, &["script", "module", "console-script", "cli"])? {
            "script" => Launcher::Script,
            "console-script" => Launcher::ConsoleScript,
            _ => Launcher::Module,
        },
    )
}

/// Interpreter flags only: one that names what the interpreter runs would replace the
/// worker program minrepro launches.
fn python_flags(
    value: &toml::Value,
    expand: &impl Fn(&str) -> String,
) -> Result<Vec<String>, OptionError> {
    let flags = string_list(
        value,
        expand,
        r#"for example python_flags = ["-u", "-X", "importtime"]"#,
    )?;
    if let Some(bad) = flags.iter().find(|f| FORBIDDEN_FLAGS.contains(&f.as_str())) {
        return Err(OptionError {
            message: format!("`{bad}` would replace the worker program"),
            help: "python_flags holds interpreter flags only; put the modules to import in `imports` and choose the launch with `launcher`".into(),
        });
    }
    Ok(flags)
}

/// The value of a CLI flag written with its dashes: `true` for the flag alone, else the
/// words that follow it. `false` is refused: a flag the launch did not give is left out.
fn flag_value(
    flag: &str,
    value: &toml::Value,
    expand: &impl Fn(&str) -> String,
) -> Result<FlagValue, OptionError> {
    match value {
        toml::Value::Boolean(true) => Ok(FlagValue::Switch),
        toml::Value::String(text) => Ok(FlagValue::One(expand(text))),
        toml::Value::Integer(n) => Ok(FlagValue::One(n.to_string())),
        toml::Value::Array(_) => Ok(FlagValue::Many(string_list(value, expand, "")?)),
        other => Err(OptionError {
            message: format!(
                "expected true, a string or a list of strings, found {}",
                describe(other)
            ),
            help: format!(
                "write `\"{flag}\" = true` for a flag alone, or the words that follow it on the command line; leave it out to strip it"
            ),
        }),
    }
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

fn string_list(
    value: &toml::Value,
    expand: &impl Fn(&str) -> String,
    example: &str,
) -> Result<Vec<String>, OptionError> {
    value
        .as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|item| item.as_str().map(expand))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| OptionError {
            message: format!("expected a list of strings, found {}", describe(value)),
            help: if example.is_empty() {
                "write the words as a list of quoted strings".into()
            } else {
                example.into()
            },
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

fn count(value: &toml::Value) -> Result<u32, OptionError> {
    value
        .as_integer()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= 10)
        .ok_or_else(|| OptionError {
            message: format!(
                "expected how many times -v is given, found {}",
                describe(value)
            ),
            help: "write a whole number such as 1 (for -v) or 2 (for -vv)".into(),
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
            ("launcher", "\"console-script\""),
            ("python_flags", "[\"-u\", \"-X\", \"importtime\"]"),
            ("verbose", "2"),
            ("path", "[\".\", \"src\"]"),
            ("--use-spawn", "true"),
            ("script", "\"dramatiq-gevent\""),
            ("--log-file", "\"worker.log\""),
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
        let err = parse("--use-spawn", "false").unwrap_err();
        assert!(err.help.contains("leave it out"), "{}", err.help);
    }

    #[test]
    fn log_level_is_case_insensitive() {
        assert_eq!(
            parse("log_level", "\"debug\"").unwrap(),
            LaunchOption::LogLevel("DEBUG".into())
        );
    }
}

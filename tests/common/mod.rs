//! Helpers for the integration tests: they run the real binary against the real RabbitMQ
//! with real Python workers.
#![allow(dead_code)] // each test file uses its own subset

pub mod launch;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn minrepro(args: &[&str]) -> Output {
    minrepro_with_env(args, &[])
}

pub fn minrepro_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minrepro"));
    command.args(args).envs(env.iter().copied());
    run_minrepro(command)
}

fn run_minrepro(mut command: Command) -> Output {
    let started = Instant::now();
    let output = command.output().expect("the minrepro binary runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// minrepro with its standard error on a pseudo-terminal, as at a user's terminal (where it
/// may use colour and redraw lines); standard output is captured apart.
pub fn minrepro_on_terminal(args: &[&str]) -> Output {
    use std::io::Read;
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let mut command = Command::new(env!("CARGO_BIN_EXE_minrepro"));
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(pty.slave));
    let started = Instant::now();
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the minrepro binary runs");
    // The child holds the only copy of the slave end now: reading ends (EIO) when it exits.
    drop(command);
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = master.read(&mut buffer) {
            if n == 0 {
                break;
            }
            text.extend_from_slice(&buffer[..n]);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    Output {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: reader.join().unwrap(),
        elapsed: started.elapsed(),
    }
}

/// A copy of a case folder in a temporary folder, with `edits` (text replacements) made to
/// its case.toml; each edit must apply.
pub fn copy_case(source: &str, edits: &[(&str, &str)]) -> tempfile::TempDir {
    let source = repo(source);
    let target = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(&source) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&source).unwrap();
        let destination = target.path().join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination).unwrap();
        } else {
            std::fs::copy(entry.path(), &destination).unwrap();
        }
    }
    let case_file = target.path().join("case.toml");
    let mut text = std::fs::read_to_string(&case_file).unwrap();
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "edit `{from}` does not apply to {}",
            source.display()
        );
        text = text.replacen(from, to, 1);
    }
    std::fs::write(&case_file, text).unwrap();
    target
}

/// A case folder holding only `case_toml`.
pub fn write_case(case_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("case.toml"), case_toml).unwrap();
    dir
}

pub fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// minrepro's cache folder, as the binary finds it.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MINREPRO_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("minrepro");
    }
    PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/minrepro")
}

/// Whether a queue exists on the test broker (a passive declare on a channel of its own).
pub fn queue_exists(name: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let connection = lapin::Connection::connect(
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            lapin::ConnectionProperties::default(),
        )
        .await
        .expect("the test broker is up");
        let channel = connection.create_channel().await.unwrap();
        let passive = lapin::options::QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        let exists = channel
            .queue_declare(name.into(), passive, Default::default())
            .await
            .is_ok();
        let _ = connection.close(200, "checked".into()).await;
        exists
    })
}

/// Live (not zombie) processes: pid, command line, environment.
fn live_processes() -> Vec<(String, String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .filter(|n| n.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_string)
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        {
            continue;
        }
        let read = |what: &str| {
            let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
            String::from_utf8_lossy(&bytes).replace('\0', " ")
        };
        found.push((pid.clone(), read("cmdline"), read("environ")));
    }
    found
}

/// Command lines of live processes that mention `marker`.
pub fn processes_mentioning(marker: &str) -> Vec<String> {
    live_processes()
        .into_iter()
        .filter(|(_, cmdline, _)| cmdline.contains(marker))
        .map(|(pid, cmdline, _)| format!("{pid}: {cmdline}"))
        .collect()
}

/// Live processes whose environment mentions `marker` (a worker gets the case's
/// PYTHONPATH, which holds the case folder's path).
pub fn processes_with_env_mentioning(marker: &str) -> Vec<String> {
    live_processes()
        .into_iter()
        .filter(|(_, _, environ)| environ.contains(marker))
        .map(|(pid, cmdline, _)| format!("{pid}: {cmdline}"))
        .collect()
}

/// A marker unique to one test run.
pub fn unique_marker(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// The corpus cases: every folder of corpus/ that holds a case.toml.
pub fn corpus_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(repo("corpus"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("case.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    cases
}

/// The element names of a TOML array of strings, sorted.
pub fn sorted_names(value: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

/// `[expected]` of a case file, names sorted; entries with `${CASE_DIR}` expanded.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    pub minimal: Option<Vec<String>>,
    pub isolated: Option<Vec<String>>,
    pub causes: Option<Vec<Vec<String>>>,
    pub entries: Option<std::collections::BTreeMap<String, Vec<String>>>,
    /// Module → the line numbers statement-level reduction keeps.
    pub lines: Option<std::collections::BTreeMap<String, Vec<u64>>>,
}

pub fn expected_of(case_dir: &Path) -> Expected {
    let text = std::fs::read_to_string(case_dir.join("case.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let Some(expected) = table.get("expected").and_then(|e| e.as_table()) else {
        return Expected::default();
    };
    let names = |value: &toml::Value| -> Vec<String> {
        let mut names: Vec<String> = value
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let case_dir_text = case_dir.display().to_string();
    Expected {
        minimal: expected.get("minimal").map(names),
        isolated: expected.get("isolated").map(names),
        causes: expected
            .get("causes")
            .map(|c| c.as_array().unwrap().iter().map(names).collect()),
        entries: expected.get("entries").map(|e| {
            e.as_table()
                .unwrap()
                .iter()
                .map(|(key, values)| {
                    let values = values
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().replace("${CASE_DIR}", &case_dir_text))
                        .collect();
                    (key.clone(), values)
                })
                .collect()
        }),
        lines: expected.get("lines").map(|l| {
            l.as_table()
                .unwrap()
                .iter()
                .map(|(module, numbers)| {
                    let numbers = numbers
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|n| n.as_integer().unwrap() as u64)
                        .collect();
                    (module.clone(), numbers)
                })
                .collect()
        }),
    }
}

/// The lines each module keeps in a finding's JSON, over every cause: module → the line
/// numbers of its kept runs.
pub fn kept_lines(json: &serde_json::Value) -> std::collections::BTreeMap<String, Vec<u64>> {
    let mut found = std::collections::BTreeMap::new();
    for cause in json["causes"].as_array().into_iter().flatten() {
        for module in cause["lines"]["modules"].as_array().into_iter().flatten() {
            let numbers: &mut Vec<u64> = found
                .entry(module["module"].as_str().unwrap().to_string())
                .or_default();
            for range in module["lines"].as_array().unwrap() {
                numbers.extend(range["start"].as_u64().unwrap()..=range["end"].as_u64().unwrap());
            }
        }
    }
    found
}

/// The interpreter minrepro runs workers with (it has dramatiq and pika).
pub fn worker_python() -> std::path::PathBuf {
    let output = minrepro(&[
        "run",
        path_str(&repo("corpus/import-crash")),
        "--empty",
        "--json",
    ]);
    let json = output.json();
    std::path::PathBuf::from(
        json["trial"]["interpreter"]
            .as_str()
            .expect("the run names its interpreter"),
    )
}

/// Runs an attachment's launcher as a user would: plain Python, a clean environment,
/// from a folder outside the project.
pub fn run_launcher(attachment: &Path) -> (i32, String) {
    run_python_file(&attachment.join("reproduce.py"))
}

/// Runs a Python file with the workers' interpreter as a user would: a clean environment,
/// from a folder of its own. Its exit status, and what it printed.
pub fn run_python_file(file: &Path) -> (i32, String) {
    run_python_file_with(&worker_python(), file)
}

/// Runs a Python file with `python` as a user would: a clean environment, from a folder of
/// its own. Its exit status, and what it printed.
pub fn run_python_file_with(python: &Path, file: &Path) -> (i32, String) {
    let outside = tempfile::tempdir().unwrap();
    let output = Command::new(python)
        .arg(file)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .current_dir(outside.path())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Every file under `dir`, by path relative to it, with its bytes.
pub fn files_under(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (relative, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// The packages of the tests' own tools: xmlschema (to validate junit.xml) and tox (to
/// launch the real-launch projects of corpus/launches as their developers do).
const TEST_TOOLS: &[&str] = &["xmlschema==4.3.2", "tox==4.32.0"];

/// A Python with the test tools, in a virtual environment under target/ made on first use
/// (from PyPI, once; later runs reuse it).
pub fn tools_python() -> std::path::PathBuf {
    let dir = repo("target/test-tools");
    std::fs::create_dir_all(&dir).unwrap();
    let _lock = lock_file(&dir.join("lock"));
    let python = dir.join("venv/bin/python");
    let ready = dir.join("ready");
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(&TEST_TOOLS.join("\n")) {
        let _ = std::fs::remove_dir_all(dir.join("venv"));
        let status = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir.join("venv"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot create the tools venv");
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(TEST_TOOLS)
            .status()
            .unwrap();
        assert!(status.success(), "cannot install {TEST_TOOLS:?} from PyPI");
        std::fs::write(&ready, TEST_TOOLS.join("\n")).unwrap();
    }
    python
}

/// An exclusive lock on `path`, held until dropped: test processes run at once.
pub fn lock_file(path: &Path) -> nix::fcntl::Flock<std::fs::File> {
    use nix::fcntl::{Flock, FlockArg};
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let file = std::fs::File::create(path).unwrap();
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| e)
        .unwrap()
}

/// PATH with the test tools (tox) first, as a developer's shell would have them.
pub fn path_with_tools() -> String {
    let bin = tools_python().parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// A project of corpus/launches, with its tox environment made (`tox run --notest`: from
/// PyPI the first time, then only a check), one process at a time.
pub fn launch_project(name: &str) -> PathBuf {
    let project = repo(&format!("corpus/launches/{name}"));
    let path = path_with_tools();
    let _lock = lock_file(&repo(&format!("target/test-tools/{name}.lock")));
    let output = Command::new("tox")
        .args(["run", "-e", "py", "--notest"])
        .env("PATH", path)
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tox could not make the environment of {name}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    project
}

/// minrepro run from `dir`, with PATH holding the test tools (a developer's shell).
pub fn minrepro_in(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minrepro"));
    command
        .args(args)
        .env("PATH", path_with_tools())
        .current_dir(dir);
    run_minrepro(command)
}

/// The stage named `name` in a `run --json` trial.
pub fn stage_of(run: &Value, name: &str) -> Value {
    run["trial"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no stage {name} in {run}"))
}

/// Runs `bisect` on `dir` (with `env`), sending SIGINT once `after` trials have finished;
/// returns the exit status, the JSON finding and the time from SIGINT to exit.
pub fn bisect_interrupted(
    dir: &Path,
    after: usize,
    env: &[(&str, &str)],
) -> (i32, serde_json::Value, Duration) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_minrepro"))
        // One trial at a time: the trial to interrupt at is counted in a run's order.
        .args(["bisect", path_str(dir), "--json", "--jobs", "1"])
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut finished = 0;
    let mut interrupted_at = None;
    for line in stderr.lines().map_while(Result::ok) {
        if line.contains(" trial ") && !line.contains("cancelled") {
            finished += 1;
        }
        if finished >= after && interrupted_at.is_none() {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGINT,
            )
            .unwrap();
            interrupted_at = Some(Instant::now());
        }
    }
    let output = child.wait_with_output().unwrap();
    let took = interrupted_at
        .expect("the run got far enough to be interrupted")
        .elapsed();
    let json = serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null);
    (output.status.code().unwrap_or(-1), json, took)
}

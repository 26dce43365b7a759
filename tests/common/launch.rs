//! The real-launch projects of corpus/launches, captured and bisected the way the README
//! tells a user to: `capture` both launches from the project's folder, `diff`, `bisect
//! --good`, with no `--python`, no `--match` and no edit of the captured files.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A project's `launch.toml`: its two launch commands, and what minrepro must find.
pub struct Launch {
    pub working: Vec<String>,
    pub failing: Vec<String>,
    /// The failing launch's outcome: pending, discarded, crash.
    pub kind: String,
    /// How its messages were left (`unread`, `result-elsewhere`, `worker-exited`, `stuck`)
    /// or dropped (`unknown-task`, `refused`…), when the launch sent messages.
    pub mechanism: Option<String>,
    pub isolated: Vec<String>,
    pub messages: Option<i64>,
    /// RabbitMQ vhosts the project needs (made if missing, guest allowed).
    pub vhosts: Vec<String>,
}

pub fn launch_of(project: &Path) -> Launch {
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("launch.toml")).unwrap()).unwrap();
    let words = |key: &str| -> Vec<String> {
        table
            .get(key)
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .map(|w| w.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut isolated = words("isolated");
    isolated.sort();
    Launch {
        working: words("working"),
        failing: words("failing"),
        kind: table["kind"].as_str().unwrap().to_string(),
        mechanism: table
            .get("mechanism")
            .and_then(|m| m.as_str())
            .map(str::to_string),
        isolated,
        messages: table.get("messages").and_then(|m| m.as_integer()),
        vhosts: words("vhosts"),
    }
}

/// Makes the RabbitMQ vhosts a project keeps its launches apart with, as its README asks.
pub fn ensure_vhosts(vhosts: &[String]) {
    for vhost in vhosts {
        let _ = Command::new("rabbitmqctl")
            .args(["add_vhost", vhost])
            .output();
        let set = Command::new("rabbitmqctl")
            .args(["set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
            .output()
            .unwrap();
        assert!(set.status.success(), "cannot use vhost {vhost}: {set:?}");
    }
}

/// Both launches of a project, captured into a fresh folder, from the project's folder.
pub struct Captured {
    pub dir: tempfile::TempDir,
    pub project: PathBuf,
    pub launch: Launch,
}

impl Captured {
    pub fn failing(&self) -> PathBuf {
        self.dir.path().join("failing.toml")
    }

    pub fn working(&self) -> PathBuf {
        self.dir.path().join("working.toml")
    }
}

pub fn capture_pair(name: &str) -> Captured {
    let project = launch_project(name);
    let launch = launch_of(&project);
    ensure_vhosts(&launch.vhosts);
    let dir = tempfile::tempdir().unwrap();
    for (file, command, duration) in [
        ("failing.toml", &launch.failing, None),
        // A worker runs until it is stopped: the user stops it (here, after a while).
        ("working.toml", &launch.working, Some("6s")),
    ] {
        let out = dir.path().join(file);
        let mut args = vec!["capture", "--out", path_str(&out)];
        if let Some(duration) = duration {
            args.extend(["--duration", duration]);
        }
        args.push("--");
        args.extend(command.iter().map(String::as_str));
        let output = minrepro_in(&project, &args);
        assert_eq!(output.code, 0, "capture of {command:?}:\n{}", output.stderr);
        assert!(out.is_file(), "{}", output.stderr);
    }
    Captured {
        dir,
        project,
        launch,
    }
}

pub fn case_table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
}

/// How a trial's outcome says its messages were left or dropped.
pub fn mechanism_of(outcome: &serde_json::Value) -> Option<String> {
    outcome["how"]
        .as_str()
        .or_else(|| outcome["replay"]["stranded"].as_str())
        .map(str::to_string)
}

/// How many of the launch's messages a case replays.
pub fn replayed_count(case: &toml::Table) -> i64 {
    case.get("messages")
        .and_then(|m| m.as_array())
        .map(|entries| {
            entries
                .iter()
                .map(|e| e["count"].as_integer().unwrap_or(1))
                .sum()
        })
        .unwrap_or(0)
}

/// What every pair must show: the project's own interpreter; `diff` naming the cause
/// among the differences; the captured failure replayed in at least 9 of 10 runs, the same
/// way (its mechanism too), and the working launch processed; the isolated cause found
/// exactly, 1-minimal, its outcome naming the mechanism. Returns the bisection's JSON.
pub fn check_pair(captured: &Captured, extra_bisect_args: &[&str]) -> serde_json::Value {
    let launch = &captured.launch;
    let tox_python = captured.project.join(".tox/py/bin/python");
    for file in [captured.failing(), captured.working()] {
        let case = case_table(&file);
        let python = case["python"].as_str().unwrap();
        assert_eq!(
            Path::new(python),
            tox_python,
            "{}: the interpreter as launched, not its resolved target",
            file.display()
        );
    }
    let failing = case_table(&captured.failing());
    if let Some(messages) = launch.messages {
        assert_eq!(
            replayed_count(&failing),
            messages,
            "the launch's messages, replayed: {failing}"
        );
    }
    if launch.mechanism.is_some() {
        assert!(
            replayed_count(&failing) > 0,
            "the launch's messages: {failing}"
        );
    }

    let diff = minrepro(&[
        "diff",
        path_str(&captured.working()),
        path_str(&captured.failing()),
    ]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    for element in &launch.isolated {
        assert!(
            diff.stdout.contains(element.as_str()),
            "diff does not show {element}:\n{}",
            diff.stdout
        );
    }

    let working = minrepro(&["run", path_str(&captured.working()), "--json"]);
    assert_eq!(working.json()["kind"], "processed", "{}", working.stderr);

    // Ten runs of the captured failing launch, five at a time.
    let failing_path = captured.failing();
    let outcomes: Vec<serde_json::Value> = (0..2)
        .flat_map(|_| {
            std::thread::scope(|scope| {
                let runs: Vec<_> = (0..5)
                    .map(|_| {
                        scope.spawn(|| minrepro(&["run", path_str(&failing_path), "--json"]).json())
                    })
                    .collect();
                runs.into_iter()
                    .map(|r| r.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let same = outcomes
        .iter()
        .filter(|o| {
            o["kind"] == launch.kind.as_str()
                && launch
                    .mechanism
                    .as_ref()
                    .is_none_or(|m| mechanism_of(o).as_deref() == Some(m.as_str()))
        })
        .count();
    assert!(
        same >= 9,
        "the captured failing launch showed `{}` ({:?}) in {same} of 10 runs: {:?}",
        launch.kind,
        launch.mechanism,
        outcomes
            .iter()
            .map(|o| format!("{} {:?}: {}", o["kind"], mechanism_of(o), o["stall"]))
            .collect::<Vec<_>>()
    );

    let working_path = captured.working();
    let mut args = vec![
        "bisect",
        path_str(&failing_path),
        "--good",
        path_str(&working_path),
        "--json",
        "--jobs",
        "4",
    ];
    args.extend_from_slice(extra_bisect_args);
    let bisect = minrepro(&args);
    assert_eq!(bisect.code, 0, "{}", bisect.stderr);
    let json = bisect.json();
    assert_eq!(json["mode"], "isolate");
    assert_eq!(
        sorted_names(&json["minimal"]),
        launch.isolated,
        "{}",
        bisect.stderr
    );
    assert_eq!(json["one_minimal"], true, "{}", bisect.stderr);
    // The figures a reader of the test's output (`--no-capture`) wants.
    eprintln!(
        "{}: the captured failing launch {} in {same} of 10 runs; bisect --good: {} trials, {}",
        captured.project.display(),
        launch.kind,
        json["trials"],
        json["minimal"]
    );
    if let Some(mechanism) = &launch.mechanism {
        assert_eq!(
            mechanism_of(&json["outcome"]).as_deref(),
            Some(mechanism.as_str()),
            "{}",
            json["outcome"]
        );
    }
    json
}

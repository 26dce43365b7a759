//! `minrepro capture`: the configuration of a real launch, recorded from inside the worker
//! and from /proc, however the launcher built its environment.

mod common;

use std::path::Path;

use common::*;

const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Captures the worker the test harness starts in `mode` ("pipe" or "inherit").
fn capture(out: &Path, harness_args: &[&str]) -> toml::Table {
    let python = worker_python();
    let harness = repo("tests/cases/capture/harness.py");
    let mut args = vec![
        "capture",
        "--out",
        path_str(out),
        "--python-env",
        path_str(&python),
        "--",
        path_str(&python),
        path_str(&harness),
    ];
    args.extend_from_slice(harness_args);
    args.push(BROKER);
    let output = minrepro_with_env(&args, &[("MINREPRO_LEAK_CANARY", "from-the-tool")]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let text = std::fs::read_to_string(out).unwrap();
    toml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
}

fn table<'t>(case: &'t toml::Table, key: &str) -> &'t toml::Table {
    case[key]
        .as_table()
        .unwrap_or_else(|| panic!("no [{key}] in {case}"))
}

#[test]
fn a_fixture_launch_is_captured_as_it_really_was() {
    let dir = tempfile::tempdir().unwrap();
    let piped = capture(&dir.path().join("piped.toml"), &["pipe"]);

    let options = table(&piped, "options");
    assert_eq!(options["stdout"].as_str(), Some("pipe"), "{options}");
    assert_eq!(options["stderr"].as_str(), Some("pipe"), "{options}");
    assert_eq!(options["worker_threads"].as_integer(), Some(3));

    // Exactly the environment the harness built from scratch: nothing of the tool's own.
    let env = table(&piped, "env");
    let mut expected = toml::Table::new();
    for (key, value) in [
        (
            "PYTHONPATH",
            path_str(&repo("tests/cases/capture/pkg")).to_string(),
        ),
        ("CAPTURE_BROKER_URL", BROKER.to_string()),
        ("APP_ENV", "test".to_string()),
        ("SERVICE_API_KEY", "sk-capture-0123456789".to_string()),
        ("LANG", "C.UTF-8".to_string()),
    ] {
        expected.insert(key.into(), value.into());
    }
    assert_eq!(*env, expected);

    let imports: Vec<&str> = piped["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    assert_eq!(
        imports,
        [
            "capture_app",
            "capture_app.tasks",
            "capture_app.settings",
            "capture_app.worker"
        ]
    );
    let secrets: Vec<&str> = piped["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(secrets.contains(&"env:SERVICE_API_KEY"), "{secrets:?}");

    // The same worker with inherited stdio: the captures differ in those options only.
    let inherited = capture(&dir.path().join("inherited.toml"), &["inherit"]);
    assert_eq!(inherited["env"], piped["env"]);
    assert_eq!(inherited["imports"], piped["imports"]);
    let mut a = table(&piped, "options").clone();
    let mut b = table(&inherited, "options").clone();
    for stream in ["stdout", "stderr"] {
        assert_ne!(a.remove(stream), b.remove(stream), "{stream} differs");
    }
    assert_eq!(a, b, "the other options are the same");

    // The captured file runs as it is: this worker processes the probe.
    let run = minrepro(&[
        "run",
        path_str(&dir.path().join("inherited.toml")),
        "--json",
    ]);
    assert_eq!(run.json()["kind"], "processed", "{}", run.stderr);
}

#[test]
fn a_captured_pair_bisects_to_the_culprit() {
    let dir = tempfile::tempdir().unwrap();
    capture(&dir.path().join("failing.toml"), &["pipe", "testing"]);
    capture(&dir.path().join("working.toml"), &["inherit"]);
    let output = minrepro(&[
        "bisect",
        path_str(&dir.path().join("failing.toml")),
        "--good",
        path_str(&dir.path().join("working.toml")),
        "--json",
        "--jobs",
        "4",
    ]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(json["mode"], "isolate");
    assert_eq!(sorted_names(&json["minimal"]), ["env:CAPTURE_TESTING"]);
    assert_eq!(json["one_minimal"], true);
    assert!(
        !output.stdout.contains("sk-capture-0123456789")
            && !output.stderr.contains("sk-capture-0123456789")
    );
}

#[test]
fn a_capture_that_finds_no_worker_says_what_it_saw_and_leaves_no_stale_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("working.toml");
    std::fs::write(&out, "# an earlier capture\n").unwrap();
    let python = worker_python();
    let output = minrepro(&[
        "capture",
        "--out",
        path_str(&out),
        "--python-env",
        path_str(&python),
        "--",
        path_str(&python),
        "-c",
        "import dramatiq",
    ]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    assert!(
        output.stderr.contains("started a Dramatiq worker"),
        "{}",
        output.stderr
    );
    // What it saw: the process, and that it imported dramatiq but started no worker.
    assert!(
        output.stderr.contains("import dramatiq"),
        "{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("imported dramatiq"),
        "{}",
        output.stderr
    );
    assert!(!out.exists(), "no case file that looks like this launch's");
    let previous = dir.path().join("working.toml.previous");
    assert_eq!(
        std::fs::read_to_string(&previous).unwrap(),
        "# an earlier capture\n"
    );
    assert!(
        output.stderr.contains("working.toml.previous"),
        "{}",
        output.stderr
    );
}

#[test]
fn a_cli_launch_whose_worker_dies_at_an_import_is_still_captured() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("failing.toml");
    let python = worker_python();
    let pythonpath = format!("PYTHONPATH={}", path_str(&repo("tests/cases/capture/pkg")));
    let broker = format!("CAPTURE_BROKER_URL={BROKER}");
    let output = minrepro(&[
        "capture",
        "--out",
        path_str(&out),
        "--python-env",
        path_str(&python),
        "--",
        "env",
        &pythonpath,
        &broker,
        path_str(&python),
        "-m",
        "dramatiq",
        "capture_app.tasks",
        "capture_app.nonexistent",
        "--processes",
        "1",
    ]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let case: toml::Table = toml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(case["options"]["launcher"].as_str(), Some("module"));
    assert_eq!(
        case["imports"].as_array().unwrap().len(),
        2,
        "the CLI's modules: {case}"
    );
    // Replayed, it dies the way the launch did.
    let run = minrepro(&["run", path_str(&out), "--json"]);
    let json = run.json();
    assert_eq!(json["kind"], "crash", "{}", run.stderr);
    assert!(
        json["signature"]
            .as_str()
            .unwrap()
            .contains("No module named 'capture_app.nonexistent'"),
        "{json}"
    );
}

#[test]
fn hooks_left_by_a_killed_capture_are_cleaned() {
    let python = worker_python();
    let site = std::process::Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let site = std::path::PathBuf::from(String::from_utf8_lossy(&site.stdout).trim());
    // What a capture killed with SIGKILL leaves: a hook whose session folder is gone.
    let stale = site.join(format!("minrepro_capture_{}.pth", unique_marker("stale")));
    std::fs::write(
        &stale,
        "import os; os.path.isdir(\"/tmp/minrepro-capture-gone-for-good\") and None\n",
    )
    .unwrap();
    let output = minrepro(&["capture", "--clean", "--python-env", path_str(&python)]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert!(!stale.exists(), "{}", output.stderr);
    assert!(output.stderr.contains("removed"), "{}", output.stderr);
    // --clean is alone: no command with it.
    let output = minrepro(&["capture", "--clean", "--out", "x.toml", "--", "true"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
}

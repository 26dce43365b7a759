//! Bad input gets a clear error naming the problem and exit status 2; an unreachable broker
//! or a missing interpreter gets exit status 3, fast.

mod common;

use std::time::Duration;

use common::*;

fn assert_bad_input(case_toml: &str, expected: &[&str]) {
    let dir = write_case(case_toml);
    let output = minrepro(&["run", path_str(dir.path())]);
    assert_eq!(output.code, 2, "stderr: {}", output.stderr);
    let case_file = dir.path().join("case.toml");
    assert!(
        output.stderr.contains(path_str(&case_file)),
        "the message names the file: {}",
        output.stderr
    );
    for text in expected {
        assert!(
            output.stderr.contains(text),
            "missing `{text}` in: {}",
            output.stderr
        );
    }
}

#[test]
fn malformed_toml() {
    assert_bad_input("name = \"x\"\nimports = [\"a\",\n[env]\n", &[":3:"]);
}

#[test]
fn unknown_key() {
    assert_bad_input("name = \"x\"\nimprots = [\"a\"]\n", &["improts", ":2:1"]);
}

#[test]
fn unknown_option() {
    assert_bad_input(
        "[options]\nstdot = \"pipe\"\n",
        &["unknown option `stdot`", ":2:1", "stdout"],
    );
}

#[test]
fn bad_option_value() {
    assert_bad_input(
        "[options]\nstdout = \"pipes\"\n",
        &["`pipes` is not a valid value", ":2:10", "\"drain\""],
    );
    assert_bad_input(
        "[options]\nworker_threads = \"4\"\n",
        &["positive integer", ":2:18"],
    );
}

#[test]
fn keep_naming_no_element() {
    assert_bad_input(
        "[env]\nPYTHONPATH = \"/x\"\n[reduce]\nkeep = [\"env:PYTHON_PATH\"]\n",
        &["env:PYTHON_PATH", "names no element", "env:PYTHONPATH"],
    );
}

#[test]
fn missing_template() {
    assert_bad_input(
        "template = \"huey\"\n",
        &["template `huey` does not exist", "dramatiq, celery, rq"],
    );
}

#[test]
fn missing_case() {
    let output = minrepro(&["run", "/nonexistent/case-folder"]);
    assert_eq!(output.code, 2);
    assert!(
        output.stderr.contains("/nonexistent/case-folder"),
        "{}",
        output.stderr
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let output = minrepro(&["run", "--frobnicate", "x"]);
    assert_eq!(output.code, 2);
    assert!(output.stderr.contains("--frobnicate"));
}

#[test]
fn a_broker_that_is_not_listening_fails_fast_with_exit_3() {
    let output = minrepro(&[
        "run",
        path_str(&repo("corpus/import-crash")),
        "--json",
        "--broker",
        "amqp://guest:s3cret-pw@127.0.0.1:1/%2f",
    ]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(
        output.elapsed < Duration::from_secs(5),
        "took {:?}",
        output.elapsed
    );
    assert!(
        output.stderr.contains("cannot reach the broker"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("s3cret-pw") && !output.stdout.contains("s3cret-pw"));
    let json = output.json();
    assert_eq!(
        json["kind"], "error",
        "no trial ran, so no trial outcome: {json}"
    );
}

#[test]
fn a_missing_interpreter_is_an_infrastructure_error() {
    let output = minrepro(&[
        "run",
        path_str(&repo("corpus/import-crash")),
        "--python",
        "/nonexistent/python3",
    ]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    assert!(
        output.stderr.contains("/nonexistent/python3"),
        "{}",
        output.stderr
    );
}

#[test]
fn an_option_that_means_nothing_for_the_launcher() {
    // The in-process worker has no CLI flags...
    assert_bad_input(
        "[options]\nverbose = 1\n",
        &["option `verbose`", "Dramatiq's CLI", ":2:1", "launcher"],
    );
    assert_bad_input(
        "[options]\nlauncher = \"console-script\"\n\"--use-spawn\" = true\n\"--unknown\" = false\n",
        &["`--unknown`", "expected true", ":4:"],
    );
    // ...and the CLI sets up its own logging.
    assert_bad_input(
        "[options]\nlauncher = \"module\"\nlog_level = \"DEBUG\"\n",
        &["option `log_level`", ":3:1", "verbose = 1"],
    );
}

#[test]
fn a_case_interpreter_that_does_not_exist() {
    assert_bad_input(
        "python = \"${CASE_DIR}/.tox/py/bin/python\"\n",
        &[
            ".tox/py/bin/python",
            "does not exist",
            "tox -e ENV --notest",
            "--python",
        ],
    );
}

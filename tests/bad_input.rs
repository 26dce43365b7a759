//! Bad input gets a clear error naming the problem and exit status 2; an unreachable broker
//! or a missing interpreter gets exit status 3, fast.

mod common;

use std::time::Duration;

use common::*;

/// Every command that reads the case says the same, with exit status 2.
fn assert_bad_input(case_toml: &str, expected: &[&str]) {
    assert_bad_input_for(&["run", "bisect", "diff"], case_toml, expected);
}

fn assert_bad_input_for(commands: &[&str], case_toml: &str, expected: &[&str]) {
    let dir = write_case(case_toml);
    let case = path_str(dir.path());
    for command in commands {
        let args = match *command {
            "diff" => vec!["diff", case, case],
            _ => vec![command, case],
        };
        let output = minrepro(&args);
        assert_eq!(output.code, 2, "{}: stderr: {}", args[0], output.stderr);
        let case_file = dir.path().join("case.toml");
        assert!(
            output.stderr.contains(path_str(&case_file)),
            "{}: the message names the file: {}",
            args[0],
            output.stderr
        );
        for text in expected {
            assert!(
                output.stderr.contains(text),
                "{}: missing `{text}` in: {}",
                args[0],
                output.stderr
            );
        }
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
    // `diff` runs nothing: only the commands that run the case need its interpreter.
    assert_bad_input_for(
        &["run", "bisect"],
        "python = \"${CASE_DIR}/.tox/py/bin/python\"\n",
        &[
            ".tox/py/bin/python",
            "does not exist",
            "tox -e ENV --notest",
            "--python",
        ],
    );
}

/// A template on a broker it does not run on is the case's fault, whichever command meets
/// it: `run` and `bisect` alike exit 2 at once (`bisect` neither retries it nor reports
/// "the smallest failing configuration found so far").
#[test]
fn a_template_on_a_broker_it_does_not_run_on() {
    let case = copy_case(
        "corpus/rq-decode-responses",
        &[("broker = \"redis://127.0.0.1:6379/0\"\n", "")],
    );
    for command in ["run", "bisect"] {
        let output = minrepro(&[command, path_str(case.path())]);
        assert_eq!(output.code, 2, "{command}: {}", output.stderr);
        assert!(
            output
                .stderr
                .contains("the `rq` template does not run on RabbitMQ"),
            "{command}: {}",
            output.stderr
        );
        assert!(
            !output.stderr.contains("found so far"),
            "{command}: {}",
            output.stderr
        );
    }
}

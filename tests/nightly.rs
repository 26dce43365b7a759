//! `minrepro nightly`: a corpus night after night, its statuses and its reports.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

fn night(corpus: &Path, out: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec![
        "nightly",
        path_str(corpus),
        "--out",
        path_str(out),
        "--json",
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--jobs") {
        args.extend(["--jobs", "4"]);
    }
    let output = minrepro(&args);
    let json = output.json();
    (output, json)
}

fn statuses(summary: &serde_json::Value) -> Vec<(String, String)> {
    summary["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn validate_junit(path: &Path) {
    let output = Command::new(tools_python())
        .arg("-c")
        .arg("import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])")
        .arg(repo("tests/data/junit.xsd"))
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "junit.xml does not validate: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Two cases (one in isolate mode), four nights: reduced, unchanged for a tenth of the
/// trials, fixed after its culprit is removed, changed after `[expected]` is edited.
#[test]
fn nights_report_reduced_unchanged_fixed_and_changed() {
    let corpus = tempfile::tempdir().unwrap();
    for case in ["import-crash", "stub-broker-leak"] {
        let copy = copy_case(&format!("corpus/{case}"), &[]);
        std::fs::rename(copy.path(), corpus.path().join(case)).unwrap();
    }
    let out = tempfile::tempdir().unwrap();

    let (first, summary) = night(corpus.path(), out.path(), &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        statuses(&summary).iter().all(|(_, s)| s == "reduced"),
        "{:?}",
        statuses(&summary)
    );
    for case in summary["cases"].as_array().unwrap() {
        let attachment = Path::new(case["attachment"].as_str().unwrap());
        assert!(attachment.join("README.md").is_file(), "{case}");
    }
    let first_trials = summary["trials"].as_u64().unwrap();
    for file in ["summary.json", "junit.xml", "index.html"] {
        assert!(out.path().join(file).is_file(), "{file} is missing");
    }
    validate_junit(&out.path().join("junit.xml"));
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 4, "two pictures per case");
    let without_svg_namespace = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_svg_namespace.contains("http://")
            && !without_svg_namespace.contains("https://")
            && !html.contains("<script"),
        "the page needs no network and no script"
    );

    let (second, summary) = night(corpus.path(), out.path(), &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        statuses(&summary).iter().all(|(_, s)| s == "unchanged"),
        "{:?}",
        statuses(&summary)
    );
    let second_trials = summary["trials"].as_u64().unwrap();
    assert!(
        // Each unchanged case: one fresh run of its full configuration and the three
        // confirmation runs of its result, which are always new trials.
        second_trials <= 2 * 4 && second_trials < first_trials,
        "second night: {second_trials} trials, first night: {first_trials}"
    );

    // The culprit of import-crash is removed from its case file: fixed.
    let case_file = corpus.path().join("import-crash/case.toml");
    let text = std::fs::read_to_string(&case_file).unwrap();
    std::fs::write(
        &case_file,
        text.replace(
            "dramatiq_queue_prefetch = \"\"",
            "dramatiq_queue_prefetch = \"4\"",
        ),
    )
    .unwrap();
    let (third, summary) = night(corpus.path(), out.path(), &[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(
        statuses(&summary),
        [
            ("import-crash".to_string(), "fixed".to_string()),
            ("stub-broker-leak".to_string(), "unchanged".to_string())
        ]
    );

    // [expected] no longer matches what the case reduces to: changed, exit 1.
    let case_file = corpus.path().join("stub-broker-leak/case.toml");
    let text = std::fs::read_to_string(&case_file).unwrap();
    let edited = text.replace(
        "isolated = [\"env:DRAMATIQ_TESTING\"]",
        "isolated = [\"env:APP_ENV\"]",
    );
    assert_ne!(edited, text, "the case isolates against its good.toml");
    std::fs::write(&case_file, edited).unwrap();
    let (fourth, summary) = night(corpus.path(), out.path(), &[]);
    assert_eq!(fourth.code, 1, "{}", fourth.stderr);
    let stub = &summary["cases"][1];
    assert_eq!(stub["status"], "changed");
    assert!(
        stub["reason"].as_str().unwrap().contains("expected"),
        "{stub}"
    );
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains("<failure") && junit.contains("failures=\"1\""),
        "{junit}"
    );
    validate_junit(&out.path().join("junit.xml"));
}

#[test]
fn a_broken_case_is_an_error_and_the_others_still_run() {
    let corpus = tempfile::tempdir().unwrap();
    let copy = copy_case("corpus/import-crash", &[]);
    std::fs::rename(copy.path(), corpus.path().join("import-crash")).unwrap();
    std::fs::create_dir(corpus.path().join("broken")).unwrap();
    std::fs::write(
        corpus.path().join("broken/case.toml"),
        "[options]\nstdout = \"loud\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    // Started from a terminal, where minrepro may colour what it shows: none of it may reach
    // a file.
    let output = minrepro_on_terminal(&[
        "nightly",
        path_str(corpus.path()),
        "--out",
        path_str(out.path()),
        "--json",
        "--jobs",
        "4",
    ]);
    let summary = output.json();
    assert_eq!(output.code, 1, "{}", output.stderr);
    for entry in walkdir::WalkDir::new(out.path()) {
        let entry = entry.unwrap();
        if entry.file_type().is_file()
            && let Ok(text) = std::fs::read_to_string(entry.path())
        {
            assert!(
                !text.contains('\x1b'),
                "an escape code in {}",
                entry.path().display()
            );
        }
    }
    let statuses = statuses(&summary);
    assert_eq!(
        statuses,
        [
            ("broken".to_string(), "error".to_string()),
            ("import-crash".to_string(), "reduced".to_string())
        ]
    );
    assert!(
        summary["cases"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("loud")
    );
    let junit = std::fs::read_to_string(out.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<error"), "{junit}");
    validate_junit(&out.path().join("junit.xml"));
}

#[test]
fn a_spent_budget_stops_the_night_cleanly_and_reports_unfinished_cases() {
    let corpus = tempfile::tempdir().unwrap();
    for (i, case) in ["stub-broker-leak", "stub-broker-leak", "pipe-deadlock"]
        .iter()
        .enumerate()
    {
        let copy = copy_case(
            &format!("corpus/{case}"),
            &[(
                &format!("name = \"{case}\""),
                &format!("name = \"{case}-{i}\""),
            )],
        );
        std::fs::rename(copy.path(), corpus.path().join(format!("{case}-{i}"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let (output, summary) = night(
        corpus.path(),
        out.path(),
        &["--budget", "2s", "--jobs", "1"],
    );
    assert_eq!(
        output.code, 0,
        "unfinished is not a failure: {}",
        output.stderr
    );
    assert!(
        output.elapsed < Duration::from_secs(20),
        "took {:?}",
        output.elapsed
    );
    let statuses = statuses(&summary);
    assert!(
        statuses.iter().all(|(_, s)| s == "unfinished"),
        "{statuses:?}"
    );
    assert!(
        processes_with_env_mentioning(path_str(corpus.path())).is_empty(),
        "workers survived"
    );
    validate_junit(&out.path().join("junit.xml"));
}

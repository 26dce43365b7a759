//! `bisect --out`: the repro attachment, its tarball, its standalone launcher, and secrets.

mod common;

use std::collections::BTreeMap;
use std::io::Read;

use common::*;

/// `bisect --out` into a fresh folder: the folder and the command's output.
fn bisect_with_attachment(case: &std::path::Path) -> (tempfile::TempDir, Output) {
    let out = tempfile::tempdir().unwrap();
    let output = minrepro(&[
        "bisect",
        path_str(case),
        "--json",
        "--jobs",
        "4",
        "--out",
        path_str(out.path()),
    ]);
    (out, output)
}

fn tarball_files(path: &std::path::Path, root: &str) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(
        std::fs::File::open(path).unwrap(),
    ));
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let relative = name
            .strip_prefix(&format!("{root}/"))
            .unwrap_or_else(|| panic!("{name} is outside {root}/"))
            .to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(relative, bytes);
    }
    files
}

#[test]
fn the_attachment_runs_without_minrepro_and_its_tarball_holds_the_same_files() {
    let case = copy_case("corpus/stub-broker-leak", &[]);
    let (out, output) = bisect_with_attachment(case.path());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    let name = json["case"].as_str().unwrap();
    let dir = out.path().join(name);
    assert_eq!(json["attachment"].as_str().unwrap(), path_str(&dir));
    assert_eq!(json["attachment_verified"], true, "{}", output.stderr);

    let files = files_under(&dir);
    for file in [
        "case.toml",
        "minrepro_worker.py",
        "reproduce.py",
        "README.md",
        "report.json",
        "trials.jsonl",
        "pkg/app/settings.py",
    ] {
        assert!(
            files.contains_key(file),
            "{file} missing: {:?}",
            files.keys()
        );
    }
    assert_eq!(
        tarball_files(&out.path().join(format!("{name}.tar.gz")), name),
        files
    );

    // The launcher reproduces the failure on its own, outside the project...
    let (code, printed) = run_launcher(&dir);
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("REPRODUCED: pending"), "{printed}");
    // ...and no longer once one culprit is dropped from its configuration.
    let launcher = dir.join("reproduce.py");
    let text = std::fs::read_to_string(&launcher).unwrap();
    let culprit = "        \"DRAMATIQ_TESTING\": \"1\",\n";
    assert!(
        text.contains(culprit),
        "the launcher's CONFIG lists the culprit:\n{text}"
    );
    std::fs::write(&launcher, text.replace(culprit, "")).unwrap();
    let (code, printed) = run_launcher(&dir);
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("NOT REPRODUCED: processed"), "{printed}");

    // The minimal case file loads in minrepro and fails the same way.
    let run = minrepro(&["run", path_str(&dir), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["kind"], "pending");
    assert_eq!(run.json()["stage"], json["outcome"]["stage"]);

    let readme = String::from_utf8(files["README.md"].clone()).unwrap();
    assert!(
        readme.contains("when `DRAMATIQ_TESTING=1` is set and `app.settings` is imported"),
        "{readme}"
    );
    assert!(readme.contains("```diff"), "{readme}");
    assert!(readme.contains("dramatiq 2.2.1, pika 1.4.4"), "{readme}");
    // Down to the line: the two statements that install the StubBroker under the flag.
    assert!(
        readme.contains("# pkg/app/settings.py:12-13\nif TESTING:\n    from dramatiq.brokers.stub import StubBroker\n# pkg/app/settings.py:15\n    dramatiq.set_broker(StubBroker())"),
        "{readme}"
    );
}

/// The attachment's one-file repro, copied alone out of the attachment and run with plain
/// Python: it reproduces, and no longer does once the culprit env var is dropped. `text`:
/// what the file must hold of the culprit module's kept statements.
fn the_one_file_repro_reproduces_alone(case: &str, culprit: &str, text: &[&str]) {
    let case = copy_case(case, &[]);
    let (out, output) = bisect_with_attachment(case.path());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(json["minimal_worker_reproduces"], true, "{}", output.stderr);
    let dir = out.path().join(json["case"].as_str().unwrap());
    let alone = tempfile::tempdir().unwrap();
    let file = alone.path().join("minimal_worker.py");
    std::fs::copy(dir.join("minimal_worker.py"), &file).unwrap();
    let source = std::fs::read_to_string(&file).unwrap();
    for line in text {
        assert!(source.contains(line), "{line:?} missing:\n{source}");
    }
    let (code, printed) = run_python_file(&file);
    assert_eq!(code, 1, "{printed}\n{source}");
    assert!(printed.contains("REPRODUCED: pending"), "{printed}");
    assert!(
        source.contains(culprit),
        "the culprit {culprit:?} is not set:\n{source}"
    );
    std::fs::write(&file, source.replace(culprit, "")).unwrap();
    let (code, printed) = run_python_file(&file);
    assert_eq!(code, 0, "{printed}");
    assert!(printed.contains("NOT REPRODUCED: processed"), "{printed}");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("It reproduces on its own"), "{readme}");
}

#[test]
fn the_one_file_repro_pastes_the_kept_statements_and_reproduces_alone() {
    the_one_file_repro_reproduces_alone(
        "corpus/stub-broker-leak",
        "    \"DRAMATIQ_TESTING\": \"1\",\n",
        &[
            "TESTING = os.environ.get(\"DRAMATIQ_TESTING\") == \"1\"\nif TESTING:\n    from dramatiq.brokers.stub import StubBroker\n    dramatiq.set_broker(StubBroker())\n",
        ],
    );
}

#[test]
fn the_one_file_repro_embeds_modules_that_import_each_other() {
    // startup_report imports `catalog` from its own package: both are served, reduced, under
    // their own names.
    the_one_file_repro_reproduces_alone(
        "corpus/stdout-banner",
        "    \"INVENTORY_STARTUP_REPORT\": \"full\",\n",
        &[
            "\"inventory.startup_report\": (",
            "\"inventory.catalog\": (",
            "\"if MODE == \\\"full\\\":\\n\"",
        ],
    );
}

#[test]
fn a_crash_attachment_reproduces_the_same_signature() {
    let case = copy_case("corpus/import-crash", &[]);
    let (out, output) = bisect_with_attachment(case.path());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let dir = out.path().join(output.json()["case"].as_str().unwrap());
    let (code, printed) = run_launcher(&dir);
    assert_eq!(code, 1, "{printed}");
    assert!(
        printed.contains("ValueError: invalid literal for int() with base 10: ''"),
        "{printed}"
    );
}

#[test]
fn secrets_never_reach_the_attachment_the_tarball_or_the_output() {
    let api_key = "sk-live-4f9a8b7c6d5e4f3a2b1c";
    let db_password = "hunter2-db-pass-9x";
    let token = "ghp_T0k3nV4lu3Th4tMustN0tL34k";
    let broker_password = "s3cr3t-amqp-p4ss";
    let planted = format!(
        "APP_ENV = \"test\"\nSTRIPE_API_KEY = \"{api_key}\"\nDATABASE_URL = \"postgres://app:{db_password}@db.internal:5432/app\"\nGITHUB_TOKEN = \"{token}\"\nCELERY_RESULT_BACKEND = \"amqp://worker:{broker_password}@mq.internal:5672/results\""
    );
    let case = copy_case(
        "corpus/stub-broker-leak",
        &[("APP_ENV = \"test\"", &planted)],
    );
    let (out, output) = bisect_with_attachment(case.path());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let name = output.json()["case"].as_str().unwrap().to_string();
    let secrets = [api_key, db_password, token, broker_password];

    let mut places: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), output.stdout.clone().into_bytes()),
        ("stderr".into(), output.stderr.clone().into_bytes()),
    ];
    for (file, bytes) in files_under(out.path()) {
        places.push((file, bytes));
    }
    let tarball = out.path().join(format!("{name}.tar.gz"));
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&tarball).unwrap())
        .read_to_end(&mut unpacked)
        .unwrap();
    places.push(("the tarball's content".into(), unpacked));
    for (place, bytes) in &places {
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} appears in {place}"
            );
        }
    }
    let readme = std::fs::read_to_string(out.path().join(&name).join("README.md")).unwrap();
    assert!(
        readme.contains("REDACTED"),
        "the diff shows the redacted values: {readme}"
    );
}

#[test]
fn a_secret_in_the_minimal_configuration_is_tried_with_its_placeholder() {
    // The failure needs the token to be set, whatever its value: it still reproduces
    // with the placeholder, and the README says so.
    let case = copy_case(
        "corpus/stub-broker-leak",
        &[(
            "DRAMATIQ_TESTING = \"1\"",
            "DRAMATIQ_TESTING = \"1\"\nSERVICE_TOKEN = \"tok-8c1e2d9a7f\"",
        )],
    );
    let settings = case.path().join("pkg/app/settings.py");
    let code = std::fs::read_to_string(&settings).unwrap().replace(
        "TESTING = os.environ.get(\"DRAMATIQ_TESTING\") == \"1\"",
        "TESTING = os.environ.get(\"DRAMATIQ_TESTING\") == \"1\" and bool(os.environ.get(\"SERVICE_TOKEN\"))",
    );
    std::fs::write(&settings, code).unwrap();
    let (out, output) = bisect_with_attachment(case.path());
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(
        sorted_names(&json["minimal"]),
        [
            "env:DRAMATIQ_TESTING",
            "env:SERVICE_TOKEN",
            "import:app.settings"
        ]
    );
    assert_eq!(json["values"]["env:SERVICE_TOKEN"], "REDACTED");
    assert!(!output.stdout.contains("tok-8c1e2d9a7f") && !output.stderr.contains("tok-8c1e2d9a7f"));
    let readme = std::fs::read_to_string(
        out.path()
            .join(json["case"].as_str().unwrap())
            .join("README.md"),
    )
    .unwrap();
    assert!(
        readme.contains("includes secret values (env:SERVICE_TOKEN)"),
        "{readme}"
    );
    assert!(
        readme.contains("still reproduces with the placeholder"),
        "{readme}"
    );
}

#[test]
fn hostile_values_give_a_launcher_that_runs() {
    let case = copy_case("tests/cases/hostile", &[]);
    let out = tempfile::tempdir().unwrap();
    let output = minrepro(&[
        "bisect",
        path_str(case.path()),
        "--out",
        path_str(out.path()),
        "--json",
    ]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    let json = output.json();
    assert_eq!(
        sorted_names(&json["minimal"]),
        ["env:LEAKED_FLAG", "import:hostapp.settings"]
    );
    assert_eq!(json["attachment_verified"], true, "{}", output.stderr);
    let dir = out.path().join("hostile.case-1");
    // Every Python file of the attachment compiles.
    for file in std::fs::read_dir(&dir).unwrap().flatten() {
        if file.path().extension().is_some_and(|e| e == "py") {
            let compiled = std::process::Command::new(worker_python())
                .args(["-m", "py_compile"])
                .arg(file.path())
                .output()
                .unwrap();
            assert!(
                compiled.status.success(),
                "{}: {}",
                file.path().display(),
                String::from_utf8_lossy(&compiled.stderr)
            );
        }
    }
    let (code, printed) = run_launcher(&dir);
    assert_eq!(code, 1, "{printed}");
    assert!(printed.contains("REPRODUCED: pending"), "{printed}");
}

#[test]
fn an_attachment_beside_earlier_findings_does_not_carry_them() {
    let case = copy_case("corpus/stub-broker-leak", &[]);
    // Findings written into the case's own folder, as a user might.
    let out = case.path().join("findings");
    let mut sizes = Vec::new();
    for _ in 0..2 {
        let output = minrepro(&[
            "bisect",
            path_str(case.path()),
            "--out",
            path_str(&out),
            "--json",
        ]);
        assert_eq!(output.code, 0, "{}", output.stderr);
        let json = output.json();
        sizes.push(json["attachment_size"]["bytes"].as_u64().unwrap());
        assert!(
            output.stderr.contains(" files, "),
            "the size is printed: {}",
            output.stderr
        );
    }
    let attachment = out.join("stub-broker-leak");
    let files = files_under(&attachment);
    assert!(
        files.keys().all(|f| !f.starts_with("findings")),
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    assert!(attachment.join("pkg/app/settings.py").is_file());
    // The second one is no bigger than the first, give or take its logs.
    assert!(sizes[1] < sizes[0] * 2, "{sizes:?}");
}

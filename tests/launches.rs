//! Real launches, end to end. Each project of corpus/launches is started the way its
//! developers start it — `tox exec`, the dramatiq console script, `python -m dramatiq`,
//! `manage.py rundramatiq`, `celery -A app worker` under prefork, `rq worker` with a
//! settings module, a pytest fixture with `Popen(..., stdout=PIPE, stderr=PIPE)` —
//! captured, replayed and isolated exactly as the README tells a user to: no `--python`, no
//! `--match`, no edit of the captured files.

mod common;

use std::path::Path;

use common::launch::*;
use common::*;

#[test]
fn the_console_script_under_tox_with_a_leaked_test_profile() {
    let captured = capture_pair("inventory");
    let failing = case_table(&captured.failing());
    // The console script and its arguments, read as Dramatiq's CLI reads them.
    assert_eq!(
        failing["options"]["launcher"].as_str(),
        Some("console-script")
    );
    assert_eq!(failing["options"]["processes"].as_integer(), Some(1));
    assert_eq!(failing["options"]["worker_threads"].as_integer(), Some(2));
    assert_eq!(failing["imports"].as_array().unwrap().len(), 1);
    assert_eq!(failing["imports"][0].as_str(), Some("inventory.tasks"));
    check_pair(&captured, &[]);
}

#[test]
fn python_m_dramatiq_started_from_another_folder() {
    let captured = capture_pair("mailer");
    let failing = case_table(&captured.failing());
    assert_eq!(failing["options"]["launcher"].as_str(), Some("module"));
    assert!(
        failing["options"]["cwd"]
            .as_str()
            .unwrap()
            .ends_with("mailer/tests"),
        "{failing}"
    );
    check_pair(&captured, &[]);
}

#[test]
fn django_rundramatiq_with_the_test_settings() {
    let captured = capture_pair("newsroom");
    for file in [captured.failing(), captured.working()] {
        let case = case_table(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        // rundramatiq execs the console script with django_dramatiq.setup first.
        assert!(
            text.contains("launched by `manage.py rundramatiq"),
            "{text}"
        );
        assert_eq!(case["options"]["launcher"].as_str(), Some("console-script"));
        assert_eq!(
            case["imports"][0].as_str(),
            Some("django_dramatiq.setup"),
            "{text}"
        );
        assert_eq!(case["options"]["path"][0].as_str(), Some("."), "{text}");
        assert_eq!(
            case["options"]["--worker-shutdown-timeout"].as_str(),
            Some("600000"),
            "{text}"
        );
    }
    // Down to the line: the settings module the env var names, reduced on real launches of
    // rundramatiq's console script, keeps the StubBroker it configures.
    let json = check_pair(&captured, &["--lines"]);
    let modules = json["causes"][0]["lines"]["modules"].as_array().cloned();
    let settings = modules
        .iter()
        .flatten()
        .find(|m| m["module"] == "newsroom.settings.test")
        .unwrap_or_else(|| panic!("no lines for newsroom.settings.test: {json}"));
    let text: Vec<&str> = settings["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|range| range["text"].as_str().unwrap())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.contains("\"BROKER\": \"dramatiq.brokers.stub.StubBroker\"")),
        "{json}"
    );
    assert_eq!(settings["one_minimal"], true, "{json}");
}

#[test]
fn an_unread_stderr_pipe_that_stalls_only_under_load() {
    let captured = capture_pair("thumbnails");
    let failing = case_table(&captured.failing());
    assert_eq!(failing["options"]["verbose"].as_integer(), Some(1));
    assert_eq!(failing["options"]["stderr"].as_str(), Some("pipe"));
    // The test's 300 messages, replayed in every trial.
    assert_eq!(replayed_count(&failing), 300, "{failing}");
    let out = tempfile::tempdir().unwrap();
    let json = check_pair(
        &captured,
        &["--out", path_str(out.path()), "--reduce-messages"],
    );
    // The fewest messages that still stall it: more than a few dozen, at most 300.
    let load = &json["load"];
    let fails_from = load["fails_from"].as_u64().unwrap();
    assert!((30..=300).contains(&fails_from), "{json}");
    assert!(
        load["passes_up_to"].as_u64().unwrap() < fails_from,
        "{json}"
    );
    assert_eq!(json["attachment_verified"], true, "{json}");

    // The attachment reproduces on its own with the recorded requirements installed: the
    // project's environment has them.
    let attachment = out.path().join("failing");
    let requirements = std::fs::read_to_string(attachment.join("requirements.txt")).unwrap();
    assert!(requirements.contains("dramatiq==2.2.1"), "{requirements}");
    let tox_python = captured.project.join(".tox/py/bin/python");
    let outside = tempfile::tempdir().unwrap();
    let launcher = |worker_python: &Path| {
        std::process::Command::new(&tox_python)
            .arg(attachment.join("reproduce.py"))
            .arg("--python")
            .arg(worker_python)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(outside.path())
            .output()
            .unwrap()
    };
    let reproduced = launcher(&tox_python);
    let printed = String::from_utf8_lossy(&reproduced.stdout);
    assert_eq!(reproduced.status.code(), Some(1), "{printed}");
    assert!(printed.contains("REPRODUCED: pending"), "{printed}");
    assert!(
        printed.contains("of the launch's 300 messages executed"),
        "{printed}"
    );

    // Without them, it says it cannot run the check (2), not "not reproduced".
    let bare = outside.path().join("bare");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status()
        .unwrap();
    assert!(made.success());
    let cannot = launcher(&bare.join("bin/python"));
    let printed = String::from_utf8_lossy(&cannot.stdout);
    assert_eq!(cannot.status.code(), Some(2), "{printed}");
    assert!(printed.contains("CANNOT RUN"), "{printed}");
    assert!(printed.contains("dramatiq==2.2.1"), "{printed}");
}

#[test]
fn an_in_process_django_worker_is_set_up_with_its_settings_module() {
    let project = launch_project("newsroom");
    let python = project.join(".tox/py/bin/python");
    let case = |env: &str| {
        format!(
            "python = \"{}\"\nimports = [\"newsroom.articles.tasks\"]\n[env]\nPYTHONPATH = \"{}\"\n{env}\n[options]\ndjango_settings = \"newsroom.settings.dev\"\n[oracle]\ntimeout = \"4s\"\n",
            python.display(),
            project.display()
        )
    };
    // django.setup() with the dev settings: django_dramatiq sets up the RabbitMQ broker.
    let dev = write_case(&case(""));
    let run = minrepro(&["run", path_str(dev.path()), "--json"]);
    let json = run.json();
    assert_eq!(json["kind"], "processed", "{}", run.stderr);
    let ready = stage_of(&json, "broker:ready");
    assert!(
        ready["detail"]
            .as_str()
            .unwrap()
            .starts_with("RabbitmqBroker"),
        "{ready}"
    );
    // As with manage.py, DJANGO_SETTINGS_MODULE wins when the environment sets it.
    let test = write_case(&case("DJANGO_SETTINGS_MODULE = \"newsroom.settings.test\""));
    let run = minrepro(&["run", path_str(test.path()), "--json"]);
    assert_eq!(run.json()["kind"], "pending", "{}", run.stderr);
}

#[test]
fn celery_worker_under_prefork_with_the_unit_tests_settings() {
    let captured = capture_pair("storefront");
    for file in [captured.failing(), captured.working()] {
        let case = case_table(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        // `celery -A storefront.celery worker … -I storefront.tasks`, as Celery's CLI
        // reads it: the app first, the included module next, its flags as options.
        assert_eq!(case["template"].as_str(), Some("celery"), "{text}");
        assert_eq!(case.get("broker"), None, "on RabbitMQ: {text}");
        let imports: Vec<&str> = case["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert_eq!(imports, ["storefront.celery", "storefront.tasks"], "{text}");
        let options = &case["options"];
        assert_eq!(options["launcher"].as_str(), Some("console-script"));
        assert_eq!(options["worker_threads"].as_integer(), Some(2), "{text}");
        assert_eq!(options["log_level"].as_str(), Some("INFO"), "{text}");
        assert_eq!(options["--pool"].as_str(), Some("prefork"), "{text}");
    }
    let failing = std::fs::read_to_string(captured.failing()).unwrap();
    assert!(
        failing.contains(
            "the worker consumed `storefront-orders` on an in-memory broker (kombu's memory://)"
        ),
        "{failing}"
    );
    check_pair(&captured, &[]);
}

#[test]
fn rq_worker_with_a_settings_module_pointed_at_another_database() {
    let captured = capture_pair("reports");
    for file in [captured.failing(), captured.working()] {
        let case = case_table(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(case["template"].as_str(), Some("rq"), "{text}");
        // The probe goes where the launch's jobs went: database 0, also for the failing
        // launch, whose worker listened on database 3.
        assert_eq!(
            case["broker"].as_str(),
            Some("redis://127.0.0.1:6379/0"),
            "{text}"
        );
        assert!(case["imports"].as_array().unwrap().is_empty(), "{text}");
        let options = &case["options"];
        assert_eq!(options["launcher"].as_str(), Some("console-script"));
        assert_eq!(options["queues"][0].as_str(), Some("reports"), "{text}");
        assert_eq!(
            options["--config"].as_str(),
            Some("reports.rqsettings"),
            "{text}"
        );
        assert_eq!(options["log_level"].as_str(), Some("INFO"), "{text}");
    }
    check_pair(&captured, &[]);
}

/// Captures `command` (run under `tox exec` in `project`) for a few seconds, checks that
/// the captured case runs to `processed`, and returns it.
fn capture_and_run(project: &Path, command: &[&str]) -> toml::Table {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("case.toml");
    let mut args = vec![
        "capture",
        "--out",
        path_str(&out),
        "--duration",
        "5s",
        "--",
        "tox",
        "exec",
        "-e",
        "py",
        "--",
    ];
    args.extend_from_slice(command);
    let output = minrepro_in(project, &args);
    assert_eq!(output.code, 0, "capture of {command:?}:\n{}", output.stderr);
    let case = case_table(&out);
    let run = minrepro(&["run", path_str(&out), "--json"]);
    assert_eq!(
        run.json()["kind"],
        "processed",
        "{command:?}: {case}\n{}",
        run.stderr
    );
    case
}

#[test]
fn every_way_to_start_a_celery_or_rq_worker_is_captured_and_replayed() {
    let storefront = launch_project("storefront");
    // `python -m celery`, with a flag of `celery` itself before `worker`.
    let case = capture_and_run(
        &storefront,
        &[
            "python",
            "-m",
            "celery",
            "-b",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
            "-A",
            "storefront.celery",
            "worker",
            "-P",
            "solo",
            "-Q",
            "storefront-orders",
            "--without-gossip",
        ],
    );
    let options = &case["options"];
    assert_eq!(options["launcher"].as_str(), Some("module"), "{case}");
    assert_eq!(options["queues"][0].as_str(), Some("storefront-orders"));
    assert_eq!(options["--pool"].as_str(), Some("solo"), "{case}");
    assert_eq!(options["--without-gossip"].as_bool(), Some(true), "{case}");
    assert_eq!(
        options["--broker"].as_str(),
        Some("amqp://guest:guest@127.0.0.1:5672/%2f")
    );
    // An in-process worker: app.Worker(...).start() in the project's own script.
    let case = capture_and_run(&storefront, &["python", "-m", "storefront.worker"]);
    assert_eq!(case["template"].as_str(), Some("celery"));
    assert_eq!(case["options"].get("launcher"), None, "{case}");
    assert_eq!(case["options"]["worker_threads"].as_integer(), Some(1));
    assert_eq!(case["options"]["log_level"].as_str(), Some("INFO"));
    let imports = case["imports"].as_array().unwrap();
    assert!(
        imports
            .iter()
            .any(|i| i.as_str() == Some("storefront.celery")),
        "{case}"
    );

    let reports = launch_project("reports");
    // The rqworker script, and python -m rq.cli.
    let case = capture_and_run(
        &reports,
        &["rqworker", "-c", "reports.rqsettings", "reports"],
    );
    assert_eq!(
        case["options"]["script"].as_str(),
        Some("rqworker"),
        "{case}"
    );
    let case = capture_and_run(
        &reports,
        &[
            "python",
            "-m",
            "rq.cli",
            "worker",
            "-c",
            "reports.rqsettings",
            "reports",
        ],
    );
    assert_eq!(
        case["options"]["launcher"].as_str(),
        Some("module"),
        "{case}"
    );
    assert_eq!(case["broker"].as_str(), Some("redis://127.0.0.1:6379/0"));
    // An in-process worker: rq.Worker(...).work() in the project's own script.
    let case = capture_and_run(&reports, &["python", "-m", "reports.worker"]);
    assert_eq!(case["template"].as_str(), Some("rq"));
    assert_eq!(case["broker"].as_str(), Some("redis://127.0.0.1:6379/0"));
    assert_eq!(case["options"]["log_level"].as_str(), Some("INFO"));
    let imports = case["imports"].as_array().unwrap();
    assert!(
        imports
            .iter()
            .any(|i| i.as_str() == Some("reports.connection")),
        "{case}"
    );
}

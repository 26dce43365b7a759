//! Real launches, end to end. Each project of corpus/launches is started the way its
//! developers start it — `tox exec`, the dramatiq console script, `python -m dramatiq`,
//! `manage.py rundramatiq`, `celery -A app worker` under prefork, `rq worker` with a
//! settings module, a pytest fixture with `Popen(..., stdout=PIPE, stderr=PIPE)` —
//! captured, replayed and isolated exactly as the README tells a user to: no `--python`, no
//! `--match`, no edit of the captured files.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A project's `launch.toml`: its two launch commands, and what minrepro must find.
struct Launch {
    working: Vec<String>,
    failing: Vec<String>,
    kind: String,
    isolated: Vec<String>,
    messages: Option<i64>,
}

fn launch_of(project: &Path) -> Launch {
    let table: toml::Table =
        toml::from_str(&std::fs::read_to_string(project.join("launch.toml")).unwrap()).unwrap();
    let words = |key: &str| -> Vec<String> {
        table[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    let mut isolated = words("isolated");
    isolated.sort();
    Launch {
        working: words("working"),
        failing: words("failing"),
        kind: table["kind"].as_str().unwrap().to_string(),
        isolated,
        messages: table.get("messages").and_then(|m| m.as_integer()),
    }
}

/// Both launches of a project, captured into a fresh folder, from the project's folder.
struct Captured {
    dir: tempfile::TempDir,
    project: PathBuf,
    launch: Launch,
}

impl Captured {
    fn failing(&self) -> PathBuf {
        self.dir.path().join("failing.toml")
    }

    fn working(&self) -> PathBuf {
        self.dir.path().join("working.toml")
    }
}

fn capture_pair(name: &str) -> Captured {
    let project = launch_project(name);
    let launch = launch_of(&project);
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

fn case_table(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap();
    toml::from_str(&text).unwrap_or_else(|err| panic!("{err}\n{text}"))
}

/// What every pair must show: the project's own interpreter, the captured failure
/// replayed in at least 9 of 10 runs and the working launch processed, and the isolated
/// cause found exactly, 1-minimal. Returns the bisection's JSON.
fn check_pair(captured: &Captured, extra_bisect_args: &[&str]) -> serde_json::Value {
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
    if let Some(messages) = captured.launch.messages {
        assert_eq!(
            failing["oracle"]["messages"].as_integer(),
            Some(messages),
            "the load the fixture put on the worker: {failing}"
        );
    }

    let working = minrepro(&["run", path_str(&captured.working()), "--json"]);
    assert_eq!(working.json()["kind"], "processed", "{}", working.stderr);

    // Ten runs of the captured failing launch, five at a time.
    let failing_path = captured.failing();
    let kinds: Vec<String> = (0..2)
        .flat_map(|_| {
            std::thread::scope(|scope| {
                let runs: Vec<_> = (0..5)
                    .map(|_| {
                        scope.spawn(|| {
                            let run = minrepro(&["run", path_str(&failing_path), "--json"]);
                            run.json()["kind"].as_str().unwrap().to_string()
                        })
                    })
                    .collect();
                runs.into_iter()
                    .map(|r| r.join().unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let same = kinds.iter().filter(|k| **k == captured.launch.kind).count();
    assert!(
        same >= 9,
        "the captured failing launch showed `{}` in {same} of 10 runs: {kinds:?}",
        captured.launch.kind
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
        captured.launch.isolated,
        "{}",
        bisect.stderr
    );
    assert_eq!(json["one_minimal"], true, "{}", bisect.stderr);
    json
}

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
    assert!(printed.contains("of 300 messages processed"), "{printed}");

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
        failing.contains("the worker consumed from memory://"),
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

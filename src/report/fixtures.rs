//! Findings made by hand, one for each shape a report takes (one cause or several,
//! prerequisites and list entries, flaky, not reproducing, interrupted, down to the line;
//! minimize and isolate; the probe and a replay), and the snapshots of what every output
//! makes of them: `src/report/snapshots/`. Times are fixed, so the snapshots are stable; a
//! change to any output's bytes shows as a failing test. `MINREPRO_UPDATE_SNAPSHOTS=1`
//! writes them anew, to review with `git diff`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use indexmap::IndexMap;

use crate::bisect::lines::{LinesFinding, ModuleLines};
use crate::bisect::load::LoadFinding;
use crate::bisect::oracle::{Evidence, TrialRef};
use crate::bisect::{
    self, AttachmentSize, Cause, Ending, EntryFinding, Finding, FoundElement, Rate,
};
use crate::case::space::Mode;
use crate::case::{
    Case, Element, Expect, Expected, LaunchOption, Launcher, OracleSpec, Runs, Timeout,
};
use crate::lines::LineRange;
use crate::redact::Redactor;
use crate::reduce::Verdict;
use crate::trial::{Discard, Outcome, Replayed, StageTime, TrialRecord, Versions};

/// A finding with the cases it was made from.
pub struct Fixture {
    pub name: &'static str,
    pub case: Case,
    pub good: Option<Case>,
    pub finding: Finding,
}

impl Fixture {
    /// The redactor a bisection of these cases uses.
    pub fn redactor(&self) -> Redactor {
        bisect::redactor_for(&self.case, self.good.as_ref(), false)
    }
}

/// Every fixture.
pub fn all() -> Vec<Fixture> {
    vec![
        deterministic(),
        two_causes(),
        flaky(),
        not_reproducing(),
        interrupted(),
        stopped(),
        lines(),
        corners(),
        kept_only(),
    ]
}

/// Compares `actual` with the snapshot `name`, byte for byte.
pub fn check_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/report/snapshots")
        .join(name);
    if std::env::var_os("MINREPRO_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header("snapshot", "now")
            .to_string();
        panic!("{name} changed (MINREPRO_UPDATE_SNAPSHOTS=1 to accept):\n{diff}");
    }
}

fn env(key: &str, value: &str) -> Element {
    Element::Env {
        key: key.into(),
        value: value.into(),
    }
}

fn import(module: &str) -> Element {
    Element::Import {
        module: module.into(),
    }
}

fn case(name: &str, template: &str, elements: Vec<Element>, keep: &[usize]) -> Case {
    let dir = PathBuf::from(format!("/srv/minrepro/cases/{name}"));
    Case {
        name: name.into(),
        description: None,
        template: template.into(),
        broker: None,
        python: None,
        path: dir.join("case.toml"),
        dir,
        elements,
        keep: keep.to_vec(),
        secrets: Vec::new(),
        lists: IndexMap::new(),
        oracle: OracleSpec {
            expect: Expect::Same,
            timeout: Timeout::Auto,
            runs: Runs::Auto,
            messages: 1,
        },
        messages: Vec::new(),
        expected: Expected::default(),
    }
}

fn trial(number: Option<u32>, outcome: &str, verdict: Verdict) -> Option<TrialRef> {
    Some(TrialRef {
        trial: number,
        outcome: outcome.into(),
        verdict: Some(verdict),
    })
}

/// The element `name` of `case` with its value as a finding holds it (secrets redacted).
fn found(case: &Case, redactor: &Redactor, name: &str) -> FoundElement {
    let element = case
        .elements
        .iter()
        .find(|e| e.name() == name)
        .unwrap_or_else(|| panic!("{name} is not an element of {}", case.name));
    let value = match element {
        Element::Env { key, value } => Some(redactor.redact_env_value(key, value)),
        other => other.value_text().map(|v| redactor.redact(&v)),
    };
    FoundElement {
        name: name.into(),
        value,
    }
}

/// A 1-minimal cause of `names`, each shown needed by the trial without it (`without`, in
/// the order of `names`), all of them by `with`.
fn cause(
    case: &Case,
    names: &[&str],
    with: Option<TrialRef>,
    without: Vec<Option<TrialRef>>,
    outcome: Outcome,
) -> Cause {
    let redactor = bisect::redactor_for(case, None, false);
    let config = case.config_with(|index| {
        case.keep.contains(&index) || names.contains(&case.elements[index].name().as_str())
    });
    Cause {
        minimal: names.iter().map(|n| n.to_string()).collect(),
        prerequisites: Vec::new(),
        elements: names.iter().map(|n| found(case, &redactor, n)).collect(),
        outcome: Some(outcome),
        one_minimal: true,
        reproduction_rate: Rate { fails: 3, runs: 3 },
        evidence: names
            .iter()
            .zip(without)
            .map(|(name, without)| Evidence {
                element: name.to_string(),
                with: with.clone(),
                without,
            })
            .collect(),
        entries: Vec::new(),
        lines: None,
        config,
        record: None,
    }
}

/// The finding of a bisection that found `causes` (the first one is the result).
fn finding(case: &Case, mode: Mode, causes: Vec<Cause>) -> Finding {
    Finding {
        case: case.name.clone(),
        mode,
        ending: Ending::Reproduces,
        kept: case.keep.iter().map(|&i| case.elements[i].name()).collect(),
        elements_total: case.elements.len(),
        reducible: case.elements.len() - case.keep.len(),
        full_outcome: causes[0].outcome.clone(),
        trials: 14,
        cache_hits: 3,
        recorded: 2,
        wall_s: 41.27,
        timeout_s: 8.0,
        attachment: None,
        attachment_verified: None,
        minimal_worker_reproduces: None,
        attachment_size: None,
        causes,
        messages: 1,
        probe: "probe",
        load: None,
        log: Vec::new(),
    }
}

fn record(outcome: &Outcome, stages: &[(&str, f64, Option<f64>)], stderr: &str) -> TrialRecord {
    TrialRecord {
        id: "t-0009".into(),
        queue: "minrepro.t-0009".into(),
        outcome: outcome.clone(),
        stages: stages
            .iter()
            .map(|(stage, at_s, duration_s)| StageTime {
                stage: stage.to_string(),
                at_s: *at_s,
                duration_s: *duration_s,
                pid: 4242,
                detail: stage
                    .starts_with("broker")
                    .then(|| "RabbitmqBroker".to_string()),
            })
            .collect(),
        wall_s: 8.61,
        timeout_s: 8.0,
        versions: Versions {
            python: Some("3.11.9".into()),
            packages: [("dramatiq", "1.17.0"), ("pika", "1.3.2")]
                .into_iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        },
        modules: vec!["app".into(), "dramatiq".into()],
        origins: Default::default(),
        stdout_tail: String::new(),
        stderr_tail: stderr.into(),
        scratch: None,
        agent: None,
    }
}

fn attached(finding: &mut Finding, verified: bool, one_file: Option<bool>) {
    finding.attachment = Some(PathBuf::from("/tmp/minrepro-out").join(&finding.case));
    finding.attachment_verified = Some(verified);
    finding.minimal_worker_reproduces = one_file;
    finding.attachment_size = Some(AttachmentSize {
        files: 14,
        bytes: 48_213,
        tarball_bytes: 9_120,
    });
}

/// One cause, deterministic: an env var and an import keep the worker pending.
fn deterministic() -> Fixture {
    let case = case(
        "orders",
        "dramatiq",
        vec![
            env("PYTHONPATH", "/srv/minrepro/cases/orders/src"),
            env("LOG_FORMAT", "json"),
            env("APP_POOL_SIZE", "1"),
            import("app.settings"),
            import("app.tasks"),
            Element::Option(LaunchOption::WorkerThreads(4)),
        ],
        &[0],
    );
    let pending = Outcome::Pending {
        stage: Some("import:app.settings".into()),
        timeout: Duration::from_secs(8),
        stall: None,
        consumers: Some(0),
        stack_dump: "Thread 0x7f01 (most recent call first):\n  File \"app/settings.py\", line 12 in <module>\n  File \"pool.py\", line 40 in acquire\n".into(),
        messages: 1,
        processed: 0,
        replay: None,
    };
    let mut cause = cause(
        &case,
        &["env:APP_POOL_SIZE", "import:app.settings"],
        trial(Some(9), "pending at import:app.settings", Verdict::Fail),
        vec![
            trial(Some(11), "processed in 0.12s", Verdict::Pass),
            trial(None, "processed in 0.10s", Verdict::Pass),
        ],
        pending.clone(),
    );
    cause.record = Some(record(
        &pending,
        &[
            ("python:started", 0.031, None),
            ("import:dramatiq", 0.032, Some(0.181)),
            ("broker:set", 0.214, None),
            ("import:app.settings", 0.215, None),
        ],
        "",
    ));
    let mut finding = finding(&case, Mode::Minimize, vec![cause]);
    attached(&mut finding, true, Some(true));
    Fixture {
        name: "deterministic",
        case,
        good: None,
        finding,
    }
}

/// Two causes found against a working configuration, on Celery's command line with the
/// launch's messages replayed: the first with a prerequisite, an unset env var, a secret
/// and the entries of a list value that matter; the second with a value that needs
/// escaping in a table.
fn two_causes() -> Fixture {
    let mut case = case(
        "billing",
        "celery",
        vec![
            env("DJANGO_SETTINGS_MODULE", "billing.settings"),
            env(
                "PYTHONPATH",
                "/srv/minrepro/cases/billing/vendor:/srv/minrepro/cases/billing/src",
            ),
            env("API_TOKEN", "tok-4f9a1c77"),
            env("LOG_FORMAT", "%(asctime)s | %(message)s\n"),
            import("billing.tasks"),
            Element::Option(LaunchOption::Launcher(Launcher::ConsoleScript)),
            Element::Option(LaunchOption::Processes(2)),
        ],
        &[5],
    );
    case.description = Some("Invoices stop going out\nafter the 2.3 deploy.".into());
    let mut good = case.clone();
    good.name = "billing-good".into();
    good.elements = vec![
        env("DJANGO_SETTINGS_MODULE", "billing.settings"),
        env("CELERY_TASK_ALWAYS_EAGER", "1"),
        Element::Option(LaunchOption::Launcher(Launcher::ConsoleScript)),
    ];
    let mut second = cause(
        &case,
        &["env:LOG_FORMAT"],
        trial(Some(30), "crash at worker:started", Verdict::Fail),
        vec![trial(Some(31), "processed in 0.28s", Verdict::Pass)],
        Outcome::Crash {
            stage: Some("worker:started".into()),
            exit_code: Some(1),
            signal: None,
            signature: "ValueError: Formatting field not found in record: 'asctime'".into(),
        },
    );
    second.reproduction_rate = Rate {
        fails: 10,
        runs: 10,
    };
    let mut finding = finding(&case, Mode::Isolate, vec![billing_cause(&case), second]);
    finding.messages = 3;
    finding.probe = "replay";
    finding.trials = 33;
    attached(&mut finding, false, None);
    Fixture {
        name: "two_causes",
        case,
        good: Some(good),
        finding,
    }
}

/// The first cause of `two_causes`: a prerequisite, the entries of `PYTHONPATH` that
/// matter, a secret, and an env var that only the working side sets.
fn billing_cause(case: &Case) -> Cause {
    let crash = Outcome::Crash {
        stage: Some("import:billing.tasks".into()),
        exit_code: Some(1),
        signal: None,
        signature: "ImproperlyConfigured: API_TOKEN|PYTHONPATH".into(),
    };
    let with = trial(Some(21), "crash at import:billing.tasks", Verdict::Fail);
    let mut cause = cause(
        case,
        &[
            "env:DJANGO_SETTINGS_MODULE",
            "env:PYTHONPATH",
            "env:API_TOKEN",
            "import:billing.tasks",
        ],
        with.clone(),
        vec![
            trial(Some(4), "crash at import:django", Verdict::Unresolved),
            trial(Some(17), "processed in 0.31s", Verdict::Pass),
            trial(Some(18), "processed in 0.29s", Verdict::Pass),
            trial(Some(19), "crash at python:started", Verdict::Unresolved),
        ],
        crash.clone(),
    );
    cause.prerequisites = vec!["env:DJANGO_SETTINGS_MODULE".into()];
    // Isolated against good.toml, which sets it: the failing side leaves it unset.
    cause.minimal.push("env:CELERY_TASK_ALWAYS_EAGER".into());
    cause.elements.push(FoundElement {
        name: "env:CELERY_TASK_ALWAYS_EAGER".into(),
        value: None,
    });
    cause.evidence.push(Evidence {
        element: "env:CELERY_TASK_ALWAYS_EAGER".into(),
        with: with.clone(),
        without: trial(None, "processed in 0.30s", Verdict::Pass),
    });
    // The list value reads as the cause has it: the entries that matter.
    let vendor = "/srv/minrepro/cases/billing/vendor";
    cause.elements[1].value = Some(vendor.into());
    cause.config.env.insert("PYTHONPATH".into(), vendor.into());
    cause.entries = vec![EntryFinding {
        element: "env:PYTHONPATH".into(),
        kept: vec![vendor.into()],
        of: 2,
        one_minimal: true,
        evidence: vec![Evidence {
            element: vendor.into(),
            with,
            without: trial(Some(20), "processed in 0.33s", Verdict::Pass),
        }],
    }];
    cause.record = Some(record(
        &crash,
        &[
            ("python:started", 0.029, None),
            ("import:celery", 0.030, Some(0.402)),
            ("import:billing.tasks", 0.433, Some(0.050)),
        ],
        "Traceback (most recent call last):\n  File \"billing/tasks.py\", line 3, in <module>\ndjango.core.exceptions.ImproperlyConfigured: API_TOKEN|PYTHONPATH",
    ));
    cause
}

/// A flaky failure under load (7 runs of 10), on RQ, whose certificate contradicted itself,
/// with the fewest messages that show it.
fn flaky() -> Fixture {
    let case = case(
        "reports",
        "rq",
        vec![
            env("REPORTS_BATCH", "50"),
            import("reports.jobs"),
            Element::Option(LaunchOption::LogLevel("DEBUG".into())),
        ],
        &[],
    );
    let pending = Outcome::Pending {
        stage: Some("worker:consuming".into()),
        timeout: Duration::from_secs(12),
        stall: Some("the log pipe is full and nobody reads it".into()),
        consumers: Some(1),
        stack_dump: String::new(),
        messages: 5,
        processed: 2,
        replay: None,
    };
    let mut cause = cause(
        &case,
        &["option:log_level"],
        trial(Some(40), "pending at worker:consuming", Verdict::Fail),
        vec![trial(Some(41), "processed in 0.44s", Verdict::Pass)],
        pending,
    );
    cause.one_minimal = false;
    cause.reproduction_rate = Rate { fails: 7, runs: 10 };
    let mut finding = finding(&case, Mode::Minimize, vec![cause]);
    finding.messages = 5;
    finding.load = Some(LoadFinding {
        fails_from: 3,
        passes_up_to: Some(2),
        trials: 6,
    });
    finding.trials = 58;
    finding.timeout_s = 12.0;
    attached(&mut finding, true, None);
    Fixture {
        name: "flaky",
        case,
        good: None,
        finding,
    }
}

/// The full configuration does not fail any more.
fn not_reproducing() -> Fixture {
    let case = case(
        "fixed",
        "dramatiq",
        vec![env("APP_POOL_SIZE", "4"), import("app.tasks")],
        &[],
    );
    let processed = Outcome::Processed {
        latency: Duration::from_millis(200),
    };
    let mut stand_in = cause(
        &case,
        &["env:APP_POOL_SIZE", "import:app.tasks"],
        None,
        vec![None, None],
        processed,
    );
    stand_in.evidence.clear();
    stand_in.one_minimal = false;
    stand_in.reproduction_rate = Rate::UNMEASURED;
    let mut finding = finding(&case, Mode::Minimize, vec![stand_in]);
    finding.ending = Ending::DoesNotReproduce {
        reason:
            "the full configuration does not show the expected failure in 10 runs: processed in 0.20s"
                .into(),
    };
    finding.trials = 10;
    finding.wall_s = 6.5;
    Fixture {
        name: "not_reproducing",
        case,
        good: None,
        finding,
    }
}

/// The smallest failing configuration so far, when the bisection was stopped.
fn stand_in(case: &Case, names: &[&str]) -> Cause {
    let pending = Outcome::Pending {
        stage: Some("worker:started".into()),
        timeout: Duration::from_secs(8),
        stall: None,
        consumers: None,
        stack_dump: String::new(),
        messages: 1,
        processed: 0,
        replay: None,
    };
    let mut cause = cause(case, names, None, Vec::new(), pending);
    cause.one_minimal = false;
    cause.reproduction_rate = Rate::UNMEASURED;
    cause
}

/// Ctrl-C in the middle of a bisection.
fn interrupted() -> Fixture {
    let case = case(
        "uploads",
        "dramatiq",
        vec![
            env("UPLOAD_DIR", "/var/uploads"),
            env("S3_REGION", "eu-west-1"),
            import("uploads.tasks"),
            import("uploads.signals"),
        ],
        &[],
    );
    let names = [
        "env:S3_REGION",
        "import:uploads.tasks",
        "import:uploads.signals",
    ];
    let mut finding = finding(&case, Mode::Minimize, vec![stand_in(&case, &names)]);
    finding.ending = Ending::Interrupted;
    finding.trials = 7;
    Fixture {
        name: "interrupted",
        case,
        good: None,
        finding,
    }
}

/// Stopped by trouble outside the configuration, isolating, with several probe messages.
fn stopped() -> Fixture {
    let case = case(
        "mailer",
        "dramatiq",
        vec![env("SMTP_HOST", "mail.internal"), import("mailer.tasks")],
        &[],
    );
    let mut good = case.clone();
    good.name = "mailer-good".into();
    good.elements = vec![import("mailer.tasks")];
    let mut finding = finding(
        &case,
        Mode::Isolate,
        vec![stand_in(&case, &["env:SMTP_HOST"])],
    );
    finding.ending = Ending::Stopped(crate::error::Error::infra(
        "the broker at localhost:5672 went away",
    ));
    finding.messages = 4;
    finding.reducible = 1;
    Fixture {
        name: "stopped",
        case,
        good: Some(good),
        finding,
    }
}

/// Down to the line: the statements of the culprit modules that the cause needs, with the
/// launch's one message replayed and discarded.
fn lines() -> Fixture {
    let case = case(
        "ledger",
        "dramatiq",
        vec![
            import("ledger.settings"),
            import("ledger.tasks"),
            Element::Option(LaunchOption::Launcher(Launcher::Module)),
        ],
        &[2],
    );
    let discarded = Outcome::Discarded {
        stage: Some("worker:consuming".into()),
        how: Discard::UnknownTask,
        words: "Received message for undefined actor 'post_entry'".into(),
        replay: Box::new(Replayed {
            sent: 1,
            executed: 0,
            discarded: 1,
            ..Replayed::default()
        }),
    };
    let mut cause = cause(
        &case,
        &["import:ledger.settings"],
        trial(Some(5), "discarded at worker:consuming", Verdict::Fail),
        vec![trial(Some(6), "processed in 0.09s", Verdict::Pass)],
        discarded,
    );
    cause.lines = Some(ledger_lines());
    let mut finding = finding(&case, Mode::Minimize, vec![cause]);
    finding.probe = "replay";
    finding.trials = 41;
    attached(&mut finding, true, Some(false));
    Fixture {
        name: "lines",
        case,
        good: None,
        finding,
    }
}

/// The rarer corners: a template minrepro does not know, a secret that the verification ran
/// with, the entries of an option, a trial that was not run, a load that does not matter,
/// a stack dump without a record of the run.
fn corners() -> Fixture {
    let case = case(
        "corners",
        "custom",
        vec![
            env("SECRET_KEY", "k3y-value-123"),
            Element::Option(LaunchOption::PythonFlags(vec![
                "-X".into(),
                "dev".into(),
                "-W".into(),
                "error".into(),
            ])),
            import("corners.app"),
            env("MODE", "fast"),
        ],
        &[],
    );
    let pending = Outcome::Pending {
        stage: None,
        timeout: Duration::from_secs(5),
        stall: None,
        consumers: None,
        stack_dump: "Thread 0x1 (most recent call first):\n  File \"corners/app.py\", line 2 in <module>\n\n".into(),
        messages: 3,
        processed: 0,
        replay: None,
    };
    let with = trial(Some(3), "pending at start-up", Verdict::Fail);
    let mut cause = cause(
        &case,
        &[
            "env:SECRET_KEY",
            "option:python_flags",
            "import:corners.app",
        ],
        with.clone(),
        vec![
            trial(Some(4), "processed in 0.05s", Verdict::Pass),
            None,
            trial(None, "processed in 0.06s", Verdict::Pass),
        ],
        pending,
    );
    cause.entries = vec![EntryFinding {
        element: "option:python_flags".into(),
        kept: vec!["-W".into(), "error".into()],
        of: 4,
        one_minimal: true,
        evidence: vec![
            Evidence {
                element: "-W".into(),
                with: with.clone(),
                without: None,
            },
            Evidence {
                element: "error".into(),
                with,
                without: trial(Some(6), "processed in 0.04s", Verdict::Pass),
            },
        ],
    }];
    let mut finding = finding(&case, Mode::Minimize, vec![cause]);
    finding.messages = 3;
    finding.load = Some(LoadFinding {
        fails_from: 1,
        passes_up_to: None,
        trials: 4,
    });
    finding.timeout_s = 5.0;
    attached(&mut finding, true, None);
    Fixture {
        name: "corners",
        case,
        good: None,
        finding,
    }
}

/// Nothing to take away: the failure shows with the kept elements alone.
fn kept_only() -> Fixture {
    let case = case(
        "kept_only",
        "dramatiq",
        vec![env("APP_MODE", "broken"), import("app.tasks")],
        &[0, 1],
    );
    let crash = Outcome::Crash {
        stage: None,
        exit_code: None,
        signal: Some("SIGSEGV".into()),
        signature: "Segmentation fault".into(),
    };
    let mut finding = finding(
        &case,
        Mode::Minimize,
        vec![cause(&case, &[], None, Vec::new(), crash)],
    );
    finding.trials = 2;
    attached(&mut finding, true, Some(true));
    Fixture {
        name: "kept_only",
        case,
        good: None,
        finding,
    }
}

/// What statement-level reduction kept of `lines`' modules: one 1-minimal with a range of
/// several lines, one cut short by the budget.
fn ledger_lines() -> LinesFinding {
    LinesFinding {
        modules: vec![
            ModuleLines {
                module: "ledger.settings".into(),
                file: "ledger/settings.py".into(),
                lines: vec![
                    LineRange {
                        start: 3,
                        end: 3,
                        text: "import dramatiq".into(),
                    },
                    LineRange {
                        start: 10,
                        end: 12,
                        text: "dramatiq.set_broker(\n    RabbitmqBroker(url=URL),\n)".into(),
                    },
                ],
                kept: 2,
                statements: 17,
                one_minimal: true,
                trials: 23,
                kept_text: String::new(),
                inlinable: false,
            },
            ModuleLines {
                module: "ledger.tasks".into(),
                file: "ledger/tasks.py".into(),
                lines: vec![LineRange {
                    start: 7,
                    end: 7,
                    text: "from ledger.settings import URL".into(),
                }],
                kept: 1,
                statements: 9,
                one_minimal: false,
                trials: 11,
                kept_text: String::new(),
                inlinable: false,
            },
        ],
        notes: vec!["the budget of 40 trials ran out in ledger.tasks".into()],
    }
}

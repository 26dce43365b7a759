//! Whole bisections on the fake runner: no Python, no broker, a rule over each
//! configuration instead of a worker. What the real trial path does is tested against the
//! real broker (tests/); here, what the bisection makes of outcomes.

use std::sync::Arc;
use std::time::Duration;

use super::events::Phase;
use super::events::record::Recorder;
use super::*;
use crate::case::Config;
use crate::trial::fake::{FakeRunner, pending, processed};
use crate::trial::{Discard, Outcome, Replayed, Stranded};

/// A case folder holding `text` as case.toml (and `good`, as good.toml, when given).
pub(super) fn case_dir(text: &str, good: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("case.toml"), text).unwrap();
    if let Some(good) = good {
        std::fs::write(dir.path().join("good.toml"), good).unwrap();
    }
    dir
}

pub(super) fn settings(cache: &std::path::Path) -> Settings {
    Settings {
        jobs: 4,
        fresh: false,
        fresh_full: false,
        timeout: Some(Duration::from_secs(3)),
        show_secrets: false,
        stop: tokio_util::sync::CancellationToken::new(),
        gate: None,
        live_progress: false,
        max_causes: usize::MAX,
        reduce_messages: false,
        early_verdicts: true,
        lines_budget: None,
        cache_dir: cache.to_path_buf(),
        observers: Vec::new(),
    }
}

pub(super) fn interpreter() -> Interpreter {
    Interpreter {
        path: "/nonexistent/python".into(),
        identity: "fake interpreter".into(),
    }
}

/// `n` env vars V000…, the worker's whole configuration.
pub(super) fn many_env_vars(n: usize) -> String {
    let mut text = String::from("name = \"synthetic\"\n[env]\n");
    for i in 0..n {
        text.push_str(&format!("V{i:03} = \"{i}\"\n"));
    }
    text
}

pub(super) fn has(config: &Config, key: &str) -> bool {
    config.env.contains_key(key)
}

async fn run(
    case: &tempfile::TempDir,
    good: bool,
    runner: Arc<FakeRunner>,
    cache: &tempfile::TempDir,
) -> Finding {
    run_observed(case, good, runner, cache, Arc::new(Recorder::default())).await
}

async fn run_observed(
    case: &tempfile::TempDir,
    good: bool,
    runner: Arc<FakeRunner>,
    cache: &tempfile::TempDir,
    recorder: Arc<Recorder>,
) -> Finding {
    let case_file = crate::case::load(case.path()).unwrap();
    let good = good.then(|| crate::case::load(&case.path().join("good.toml")).unwrap());
    let mut settings = settings(cache.path());
    settings.observers.push(recorder);
    bisect(&case_file, good.as_ref(), runner, &interpreter(), &settings)
        .await
        .unwrap()
}

/// The finding's causes are these (each sorted), in any order.
fn assert_causes(finding: &Finding, expected: &[&[&str]]) {
    let mut causes: Vec<Vec<String>> = finding
        .causes
        .iter()
        .map(|c| sorted(c.minimal.clone()))
        .collect();
    causes.sort();
    let mut expected: Vec<Vec<String>> = expected
        .iter()
        .map(|c| sorted(c.iter().map(|e| e.to_string()).collect()))
        .collect();
    expected.sort();
    assert_eq!(causes, expected);
}

pub(super) fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_causes_among_two_hundred_elements() {
    let case = case_dir(&many_env_vars(200), None);
    let cache = tempfile::tempdir().unwrap();
    let runner = Arc::new(FakeRunner::pending_when(|c| {
        (has(c, "V017") && has(c, "V150")) || has(c, "V093")
    }));
    let recorder = Arc::new(Recorder::default());
    let finding = run_observed(&case, false, runner.clone(), &cache, recorder.clone()).await;
    assert!(finding.ending.reproduces(), "{:?}", finding.ending);
    assert_causes(&finding, &[&["env:V093"], &["env:V017", "env:V150"]]);
    assert!(finding.causes.iter().all(|c| c.one_minimal));
    assert_eq!(
        finding.causes[0].reproduction_rate,
        Rate { fails: 3, runs: 3 }
    );
    // Far fewer trials than elements: the search, not one trial per element.
    assert!(runner.trials() < 80, "{} trials", runner.trials());
    // What the bisection told: every trial of its log, as it ended, and the causes found.
    assert_eq!(recorder.trials.lock().unwrap().len(), finding.log.len());
    assert!(recorder.notes.lock().unwrap().contains(&Note::Causes(2)));
    // Every trial that ran was told as it started; each stage as it began, in order; each
    // cause once confirmed, with its fresh runs.
    assert_eq!(
        recorder.started.lock().unwrap().len() as u32,
        finding.trials
    );
    let phases = recorder.phases.lock().unwrap();
    assert_eq!(phases[..2], [Phase::FullConfiguration, Phase::Causes]);
    assert_eq!(
        phases
            .iter()
            .filter(|p| matches!(p, Phase::Confirming { .. }))
            .count(),
        2
    );
    let causes = recorder.causes.lock().unwrap();
    assert_eq!(causes.len(), 2);
    assert!(
        causes
            .iter()
            .all(|(_, fails, runs)| (*fails, *runs) == (3, 3))
    );
}

/// Two independent causes of a failure that shows in about half of the runs: the rate is
/// measured first, a pass is believed only after enough passing runs, and both causes come
/// out all the same, each confirmed by fresh runs; in well under a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_causes_of_a_flaky_failure_among_two_hundred_elements() {
    let mut text = many_env_vars(200);
    text.push_str("[oracle]\nruns = \"auto\"\n");
    let case = case_dir(&text, None);
    let runner = Arc::new(FakeRunner::new(|config, number| {
        // A fixed pseudo-random half of the runs, by the trial's number.
        let lucky = (number.wrapping_mul(2_654_435_761) >> 7) % 2 == 0;
        let cause = (has(config, "V042") && has(config, "V137")) || has(config, "V093");
        Ok(if cause && lucky {
            pending()
        } else {
            processed()
        })
    }));
    let recorder = Arc::new(Recorder::default());
    let cache = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let finding = run_observed(&case, false, runner.clone(), &cache, recorder.clone()).await;
    let took = started.elapsed();
    assert!(finding.ending.reproduces(), "{:?}", finding.ending);
    assert_causes(&finding, &[&["env:V093"], &["env:V042", "env:V137"]]);
    // Passes are re-run before they are believed, yet far fewer trials than elements × runs.
    assert!(runner.trials() < 600, "{} trials", runner.trials());
    let notes = recorder.notes.lock().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Note::Rate { runs: 10, .. })),
        "{notes:?}"
    );
    eprintln!("{} trials in {took:?}", runner.trials());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_side_that_does_not_work_stops_after_one_trial() {
    let case = case_dir(&many_env_vars(6), Some(&many_env_vars(3)));
    let cache = tempfile::tempdir().unwrap();
    let runner = Arc::new(FakeRunner::pending_when(|_| true));
    let finding = run(&case, true, runner.clone(), &cache).await;
    assert!(
        matches!(&finding.ending, Ending::DoesNotReproduce { reason }
            if reason.starts_with("the good configuration does not work")),
        "{:?}",
        finding.ending
    );
    assert_eq!(runner.trials(), 1);
}

/// Replayed messages: what the failure is compared on is where they were left, or how
/// they were dropped. A variant whose messages end elsewhere fails another way: it is no
/// reproduction, and the element it lacks stays (a prerequisite), not a cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_messages_fail_the_same_way_only_when_they_end_the_same_way() {
    let stranded = |how| {
        let mut outcome = pending();
        if let Outcome::Pending { replay, .. } = &mut outcome {
            *replay = Some(Box::new(Replayed {
                sent: 20,
                stranded: Some(how),
                ..Replayed::default()
            }));
        }
        outcome
    };
    let unread = stranded(Stranded::Unread);
    let elsewhere = stranded(Stranded::ResultElsewhere);
    // QUEUE sends the worker to another queue (the failure); without BACKEND the results
    // go nowhere the sender reads, another way to stay PENDING, which hides it.
    let runner = Arc::new(FakeRunner::new(move |config, _| {
        Ok(match (has(config, "QUEUE"), has(config, "BACKEND")) {
            (true, true) => unread.clone(),
            (_, false) => elsewhere.clone(),
            (false, true) => processed(),
        })
    }));
    let case = case_dir(
        "[env]\nQUEUE = \"ci-tasks\"\nBACKEND = \"redis://r/1\"\nNOISE = \"1\"\n",
        None,
    );
    let cache = tempfile::tempdir().unwrap();
    let finding = run(&case, false, runner, &cache).await;
    assert!(finding.ending.reproduces(), "{:?}", finding.ending);
    assert_eq!(
        sorted(finding.first().minimal.clone()),
        ["env:BACKEND", "env:QUEUE"],
        "{:?}",
        finding.causes
    );
    assert_eq!(finding.first().prerequisites, ["env:BACKEND"]);

    // Discarded for one reason is not discarded for another.
    let discarded = |how| Outcome::Discarded {
        stage: Some("worker:started".into()),
        how,
        words: String::new(),
        replay: Box::default(),
    };
    let runner = Arc::new(FakeRunner::new(move |config, _| {
        Ok(match (has(config, "SETTINGS"), has(config, "TASKS")) {
            (true, true) => discarded(Discard::Refused),
            (_, false) => discarded(Discard::UnknownTask),
            (false, true) => processed(),
        })
    }));
    let case = case_dir("[env]\nSETTINGS = \"test\"\nTASKS = \"app.tasks\"\n", None);
    let finding = run(&case, false, runner, &tempfile::tempdir().unwrap()).await;
    assert_eq!(
        sorted(finding.first().minimal.clone()),
        ["env:SETTINGS", "env:TASKS"]
    );
    assert_eq!(finding.first().prerequisites, ["env:TASKS"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trial_that_cannot_run_twice_stops_the_bisection_with_what_it_found() {
    let runner = Arc::new(FakeRunner::new(|config, number| {
        if number > 3 {
            return Err(crate::error::Error::infra("the broker is gone"));
        }
        Ok(if has(config, "V001") {
            pending()
        } else {
            processed()
        })
    }));
    let case = case_dir(&many_env_vars(8), None);
    let finding = run(&case, false, runner, &tempfile::tempdir().unwrap()).await;
    assert!(
        matches!(&finding.ending, Ending::Stopped(why)
            if why.to_string().contains("the broker is gone")),
        "{:?}",
        finding.ending
    );
}

/// A configuration no worker can run (a template on a broker it does not support) is the
/// case's fault: the bisection ends at once with that input error (exit 2), not retried and
/// not reported as trouble with the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_no_worker_can_run_ends_the_bisection_as_bad_input() {
    let runner = Arc::new(FakeRunner::new(|_, _| {
        Err(crate::error::Error::input(
            "the `rq` template does not run on RabbitMQ",
        ))
    }));
    let case = case_dir(&many_env_vars(8), None);
    let case_file = crate::case::load(case.path()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = bisect(
        &case_file,
        None,
        runner.clone(),
        &interpreter(),
        &settings(cache.path()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.exit().code(), 2, "{err}");
    assert!(
        err.to_string().contains("does not run on RabbitMQ"),
        "{err}"
    );
    // The full configuration's runs stop at the first: none is tried again.
    assert!(runner.trials() <= 4, "{} trials", runner.trials());
}

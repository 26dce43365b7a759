//! Each stage alone, on the fake runner: a case prepared as `bisect` prepares it, the
//! stage's questions answered by a rule, its plain result checked.

use std::sync::Arc;

use super::*;
use crate::bisect::events::record::Recorder;
use crate::bisect::tests::{case_dir, has, interpreter, many_env_vars, settings, sorted};
use crate::bisect::{Prepared, prepare};
use crate::trial::Runner;
use crate::trial::fake::{FakeRunner, pending, processed};

/// Runs `stage` on the engine and plan of `case_text` (and `good`, as good.toml) as
/// `bisect` would have prepared them, with `runner` answering the trials.
async fn staged<R: Send + 'static>(
    case_text: &str,
    good: Option<&str>,
    runner: Arc<FakeRunner>,
    recorder: Arc<Recorder>,
    stage: impl FnOnce(&mut TrialEngine<'_>, &Plan) -> R + Send + 'static,
) -> R {
    let dir = case_dir(case_text, good);
    let case = crate::case::load(dir.path()).unwrap();
    let good = good.map(|_| crate::case::load(&dir.path().join("good.toml")).unwrap());
    let cache = tempfile::tempdir().unwrap();
    let mut settings = settings(cache.path());
    settings.observers.push(recorder);
    let runner: Arc<dyn Runner> = runner;
    let Prepared { oracle, plan, .. } =
        prepare(&case, good.as_ref(), &runner, &interpreter(), &settings)
            .await
            .unwrap();
    tokio::task::spawn_blocking(move || {
        let mut oracle = oracle;
        let mut engine = Engine::new(&mut oracle, 1);
        engine.set_elements_left(plan.space.len());
        stage(&mut engine, &plan)
    })
    .await
    .unwrap()
}

/// Pending in the runs whose number `fails` picks, processed in the others.
fn pending_in(fails: impl Fn(u32) -> bool + Send + Sync + 'static) -> Arc<FakeRunner> {
    Arc::new(FakeRunner::new(move |_, number| {
        Ok(if fails(number) {
            pending()
        } else {
            processed()
        })
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_working_good_side_lets_the_bisection_go_on() {
    let runner = Arc::new(FakeRunner::pending_when(|c| has(c, "BROKEN")));
    let good = "[env]\nA = \"1\"\n";
    let failing = "[env]\nA = \"1\"\nBROKEN = \"1\"\n";
    let recorder = Arc::new(Recorder::default());
    let why = staged(
        failing,
        Some(good),
        runner.clone(),
        recorder,
        |engine, _| good_side(engine),
    )
    .await
    .unwrap();
    assert_eq!(why, None);
    assert_eq!(runner.trials(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_side_that_fails_says_how() {
    let runner = Arc::new(FakeRunner::pending_when(|_| true));
    let recorder = Arc::new(Recorder::default());
    let why = staged(
        "[env]\nA = \"1\"\nB = \"2\"\n",
        Some("[env]\nA = \"1\"\n"),
        runner,
        recorder,
        |engine, _| good_side(engine),
    )
    .await
    .unwrap()
    .expect("the good side does not work");
    assert!(
        why.starts_with("the good configuration does not work: pending"),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deterministic_failure_is_believed_after_one_run() {
    let recorder = Arc::new(Recorder::default());
    let counts = staged(
        &many_env_vars(4),
        None,
        pending_in(|_| true),
        recorder.clone(),
        |engine, plan| full_configuration(engine, plan.space.len(), plan.runs),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        counts,
        RunCounts {
            search: 1,
            certificate: 1,
            confirm: 3
        }
    );
    // No rate to tell for a fixed number of runs.
    assert!(recorder.notes.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_failure_is_measured_and_passes_are_re_run() {
    let mut text = many_env_vars(4);
    text.push_str("[oracle]\nruns = \"auto\"\n");
    let recorder = Arc::new(Recorder::default());
    let runner = pending_in(|number| number % 2 == 0);
    let counts = staged(
        &text,
        None,
        runner.clone(),
        recorder.clone(),
        |engine, plan| full_configuration(engine, plan.space.len(), plan.runs),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(runner.trials(), RATE_RUNS);
    // Half the runs fail: a pass is believed after several passing runs, the certificate
    // asks for more than the search, and a cause is confirmed by as many runs as the rate.
    assert!(counts.search > 1, "{counts:?}");
    assert!(counts.certificate > counts.search, "{counts:?}");
    assert_eq!(counts.confirm, RATE_RUNS);
    assert_eq!(
        recorder.notes.lock().unwrap().as_slice(),
        [Note::Rate {
            fails: 5,
            runs: 10,
            runs_to_pass: counts.search
        }]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_configuration_that_works_does_not_reproduce() {
    let recorder = Arc::new(Recorder::default());
    let why = staged(
        &many_env_vars(4),
        None,
        pending_in(|_| false),
        recorder,
        |engine, plan| full_configuration(engine, plan.space.len(), plan.runs),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        why.starts_with(
            "the full configuration does not show the expected failure in 1 run: processed"
        ),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_independent_cause_is_found_and_told() {
    let runner = Arc::new(FakeRunner::pending_when(|c| {
        has(c, "V003") || (has(c, "V011") && has(c, "V017"))
    }));
    let recorder = Arc::new(Recorder::default());
    let found = staged(
        &many_env_vars(20),
        None,
        runner,
        recorder.clone(),
        |engine, plan| {
            let counts = full_configuration(engine, plan.space.len(), plan.runs)?
                .expect("the full configuration fails");
            let found = find_causes(engine, &plan.space, counts.certificate, usize::MAX)?;
            Ok::<_, Stop>(
                found
                    .iter()
                    .map(|c| sorted(plan.space.names(&c.minimal)))
                    .collect::<Vec<_>>(),
            )
        },
    )
    .await
    .unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&vec!["env:V003".to_string()]), "{found:?}");
    assert!(
        found.contains(&vec!["env:V011".to_string(), "env:V017".to_string()]),
        "{found:?}"
    );
    assert!(recorder.notes.lock().unwrap().contains(&Note::Causes(2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_value_keeps_only_the_entries_the_cause_needs() {
    let runner = Arc::new(FakeRunner::pending_when(|c| {
        c.env
            .get("PYTHONPATH")
            .is_some_and(|path| path.split(':').any(|entry| entry == "/stale"))
    }));
    let recorder = Arc::new(Recorder::default());
    let (kept, of, path) = staged(
        "[env]\nPYTHONPATH = \"/a:/b:/stale:/c:/d\"\nOTHER = \"1\"\n",
        None,
        runner,
        recorder,
        |engine, plan| {
            let counts = full_configuration(engine, plan.space.len(), plan.runs)?
                .expect("the full configuration fails");
            let cause = find_causes(engine, &plan.space, counts.certificate, 1)?.remove(0);
            let values = reduce_values(engine, plan, &cause.minimal, counts.certificate)?;
            Ok::<_, Stop>((
                values.entries[0].kept.clone(),
                values.entries[0].of,
                values.config.env["PYTHONPATH"].clone(),
            ))
        },
    )
    .await
    .unwrap();
    assert_eq!(kept, ["/stale"]);
    assert_eq!(of, 5);
    assert_eq!(path, "/stale");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cause_is_confirmed_by_fresh_runs_never_by_records() {
    let runner = Arc::new(FakeRunner::pending_when(|c| has(c, "V001")));
    let recorder = Arc::new(Recorder::default());
    let (fails, trials_before) = {
        let runner = runner.clone();
        staged(
            &many_env_vars(4),
            None,
            runner.clone(),
            recorder,
            move |engine, plan| {
                let counts = full_configuration(engine, plan.space.len(), plan.runs)?
                    .expect("the full configuration fails");
                let cause = find_causes(engine, &plan.space, counts.certificate, 1)?.remove(0);
                let values = reduce_values(engine, plan, &cause.minimal, counts.certificate)?;
                let before = runner.trials();
                Ok::<_, Stop>((confirm(engine, &values, counts.confirm)?, before))
            },
        )
        .await
        .unwrap()
    };
    assert_eq!(fails, 3);
    // Three new trials, although the cause's verdict was known from the search.
    assert_eq!(runner.trials() - trials_before, 3);
}

/// A cause that failed only by chance while it was searched (the first trials fail, none
/// after): its fresh runs pass, it is left out, and with no other cause the case does not
/// reproduce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cause_found_by_chance_is_left_out() {
    let recorder = Arc::new(Recorder::default());
    let reduced = staged(
        &many_env_vars(1),
        None,
        pending_in(|number| number <= 2),
        recorder.clone(),
        |engine, plan| {
            let mut reduced = Reduced::default();
            reduce_with(engine, plan, &mut reduced).map(|()| reduced)
        },
    )
    .await
    .unwrap();
    assert!(reduced.causes.is_empty());
    assert!(
        reduced
            .not_reproducing
            .as_deref()
            .is_some_and(|why| why.starts_with("no cause found reproduced in fresh runs")),
        "{:?}",
        reduced.not_reproducing
    );
    assert!(
        recorder
            .notes
            .lock()
            .unwrap()
            .iter()
            .any(|n| matches!(n, Note::NotACause { runs: 3, .. }))
    );
}

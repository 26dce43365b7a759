//! Progress of a bisection on stderr, an observer of its events: a live status line on a
//! terminal (elements left, trials, cache hits, elapsed), one plain line per trial
//! otherwise (CI logs).

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::events::{Event, LoggedTrial, Observer};
use crate::reduce::Verdict;
use crate::reduce::engine::Stats;

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
    /// The stage the status line names.
    phase: Arc<Mutex<String>>,
    /// The trials running now; the number and elements of the one started last.
    running: Arc<Mutex<(u32, u32, usize)>>,
    started: Instant,
    label: String,
}

impl Progress {
    /// A status line when `live` and stderr is a terminal, plain lines otherwise.
    pub fn new(label: &str, live: bool) -> Progress {
        let bar = (live && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            phase: Arc::default(),
            running: Arc::default(),
            started: Instant::now(),
            label: label.to_string(),
        }
    }

    /// A line of its own, above the status line.
    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("  {text}")),
            None => eprintln!("minrepro: {}: {text}", self.label),
        }
    }

    fn stats(&self, stats: &Stats) {
        if let Some(bar) = &self.bar {
            let phase = self.phase.lock().map(|p| p.clone()).unwrap_or_default();
            let (running, last, elements) = self.running.lock().map(|r| *r).unwrap_or_default();
            bar.set_message(format!(
                "{}: {phase} · {} elements left · {} trials, {running} running (trial {last}: {elements} elements) · {} recorded · {} cache hits",
                self.label, stats.elements_left, stats.trials, stats.recorded, stats.cache_hits
            ));
        }
    }

    fn trial(&self, trial: &LoggedTrial) {
        let what = match (&trial.outcome, trial.verdict) {
            (_, None) => "cancelled, no longer needed".to_string(),
            (Some(outcome), Some(verdict)) => {
                let mark = match verdict {
                    Verdict::Fail => "FAILS ",
                    Verdict::Pass => "passes",
                    Verdict::Unresolved => "fails differently:",
                };
                format!("{mark} {}", outcome.brief())
            }
            (None, Some(_)) => String::new(),
        };
        let number = match trial.number {
            Some(n) => format!("trial {n:>3}"),
            None => "recorded ".to_string(),
        };
        let line = format!(
            "{number}  {:>3} elements  {what}  [{:.0}s]",
            trial.elements.len(),
            self.started.elapsed().as_secs_f64()
        );
        self.note(&line);
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Progress {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Trial(trial) => {
                if trial.number.is_some()
                    && let Ok(mut running) = self.running.lock()
                {
                    running.0 = running.0.saturating_sub(1);
                }
                self.trial(trial)
            }
            Event::Stats(stats) => self.stats(stats),
            Event::Note(note) => self.note(&note.text()),
            Event::Phase(phase) => {
                if let Ok(mut shown) = self.phase.lock() {
                    *shown = phase.text();
                }
            }
            Event::CauseFound {
                elements,
                fails,
                runs,
            } => self.note(&format!(
                "cause: {} (failed in {fails} of {runs} fresh runs)",
                elements.join(" + ")
            )),
            Event::TrialStarted { number, elements } => {
                if let Ok(mut running) = self.running.lock() {
                    *running = (running.0 + 1, *number, *elements);
                }
            }
        }
    }
}

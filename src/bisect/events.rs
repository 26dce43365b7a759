//! What a bisection tells as it goes, typed: the stage it is in, each trial as it starts
//! and as it ends (run, answered from a record, or cancelled), the search's counters, each
//! cause once it is confirmed, and notes of their own kinds. Whoever
//! wants them subscribes (an [`Observer`]): the terminal's status line or plain log lines
//! ([`super::progress::Progress`]), a test counting trials. The bisection never writes to
//! the terminal itself.

use std::sync::Arc;

use serde::Serialize;

use crate::reduce::Verdict;
use crate::reduce::engine::Stats;
use crate::trial::{Outcome, TrialRecord};

/// One thing a bisection tells.
#[derive(Debug)]
pub enum Event<'a> {
    /// The bisection moved on to another stage.
    Phase(Phase),
    /// A trial started running (a worker is being launched): its number, its elements.
    TrialStarted { number: u32, elements: usize },
    /// A trial ended: it ran (its number), was answered from a record, or was cancelled
    /// (no verdict).
    Trial(&'a LoggedTrial),
    /// The search's counters moved: elements left, trials, cache hits.
    Stats(&'a Stats),
    /// Something worth a line of its own.
    Note(Note),
    /// A cause was confirmed by fresh runs: its elements, and how many of its runs failed.
    CauseFound {
        elements: &'a [String],
        fails: u32,
        runs: u32,
    },
}

/// One line of the trial log (`trials.jsonl` in an attachment). Here, beside the event
/// that tells each as it ends ([`Event::Trial`]), so that the oracle that logs them and the
/// events that carry them do not take from each other.
#[derive(Debug, Clone, Serialize)]
pub struct LoggedTrial {
    /// The trial's number, in the order trials started; `None` for a recorded outcome.
    pub number: Option<u32>,
    /// The variant's elements (reducible ones; kept elements are in every trial).
    pub elements: Vec<String>,
    /// `None` when the trial was cancelled before it ended.
    pub verdict: Option<Verdict>,
    /// Answered from outcomes recorded by an earlier run: no trial ran.
    pub cache_hit: bool,
    pub cancelled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<TrialRecord>,
    /// Seconds since the bisection started.
    pub at_s: f64,
}

/// The stages of a bisection, in their order.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Isolate mode: checking that the working configuration works.
    GoodSide,
    /// Running the full configuration: does it fail, how, how often.
    FullConfiguration,
    /// Searching the independent causes.
    Causes,
    /// Reducing a list value of a cause to its entries.
    Values { element: String },
    /// Fresh runs of a cause.
    Confirming { elements: Vec<String> },
    /// Reducing a cause's modules to their statements.
    Lines,
    /// Looking for the fewest messages that still show the failure.
    Load,
}

impl Phase {
    /// The stage in words, as a status line shows it.
    pub fn text(&self) -> String {
        match self {
            Phase::GoodSide => "checking the good configuration".into(),
            Phase::FullConfiguration => "checking the full configuration".into(),
            Phase::Causes => "searching the causes".into(),
            Phase::Values { element } => format!("reducing the entries of {element}"),
            Phase::Confirming { elements } => format!("confirming {}", elements.join(" + ")),
            Phase::Lines => "reducing the cause's modules to their statements".into(),
            Phase::Load => "reducing the messages".into(),
        }
    }
}

/// A note, by kind; its words are [`Note::text`].
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A flaky failure's rate, measured on the full configuration, and how many passing runs
    /// make a pass believed.
    Rate {
        fails: u32,
        runs: u32,
        runs_to_pass: u32,
    },
    /// Several independent causes, each failing without the others.
    Causes(usize),
    /// A cause found that did not fail in its fresh runs: left out.
    NotACause { elements: Vec<String>, runs: u32 },
    /// The failure shows with the kept elements alone.
    KeptAlone,
    /// The broker went away during a trial, which runs again when it is back.
    BrokerAway(String),
    /// A trial could not run, and runs once more.
    Retry(String),
    /// The search for the fewest messages that still fail begins.
    Load { messages: u32, replayed: bool },
    /// Statement-level reduction reduces a module.
    Lines { statements: usize, module: String },
}

impl Note {
    /// The note in words, as a line of the log shows it.
    pub fn text(&self) -> String {
        match self {
            Note::Rate {
                fails,
                runs,
                runs_to_pass,
            } => format!(
                "the full configuration failed in {fails} of {runs} runs: a pass counts after {runs_to_pass} passing runs"
            ),
            Note::Causes(n) => {
                format!("{n} independent causes: each shows the failure without the others")
            }
            Note::NotACause { elements, runs } => format!(
                "{} did not fail in {runs} fresh runs: not a cause, left out",
                elements.join(" + ")
            ),
            Note::KeptAlone => {
                "the failure shows with the kept elements alone: nothing else is needed".into()
            }
            Note::BrokerAway(why) => format!(
                "the broker went away during a trial, which runs again when it is back: {why}"
            ),
            Note::Retry(why) => format!("a trial could not run, trying it once more: {why}"),
            Note::Load { messages, replayed } => format!(
                "looking for the fewest of {messages} {} messages that still show the failure",
                if *replayed { "replayed" } else { "probe" }
            ),
            Note::Lines { statements, module } => {
                format!("reducing the {statements} statements of {module}")
            }
        }
    }
}

/// Who listens to a bisection.
pub trait Observer: Send + Sync {
    fn event(&self, event: &Event<'_>);
}

/// The observers of one bisection; each event goes to all of them, in order.
#[derive(Clone, Default)]
pub struct Events(Vec<Arc<dyn Observer>>);

impl Events {
    pub fn new(observers: impl IntoIterator<Item = Arc<dyn Observer>>) -> Events {
        Events(observers.into_iter().collect())
    }

    pub fn emit(&self, event: &Event<'_>) {
        for observer in &self.0 {
            observer.event(event);
        }
    }

    pub fn note(&self, note: Note) {
        self.emit(&Event::Note(note));
    }

    pub fn phase(&self, phase: Phase) {
        self.emit(&Event::Phase(phase));
    }
}

#[cfg(test)]
pub mod record {
    //! An observer that keeps what it is told, for tests.
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct Recorder {
        pub trials: Mutex<Vec<LoggedTrial>>,
        pub notes: Mutex<Vec<Note>>,
        pub phases: Mutex<Vec<Phase>>,
        pub started: Mutex<Vec<u32>>,
        pub causes: Mutex<Vec<(Vec<String>, u32, u32)>>,
    }

    impl Observer for Recorder {
        fn event(&self, event: &Event<'_>) {
            match event {
                Event::Trial(trial) => self.trials.lock().unwrap().push((*trial).clone()),
                Event::Note(note) => self.notes.lock().unwrap().push(note.clone()),
                Event::Phase(phase) => self.phases.lock().unwrap().push(phase.clone()),
                Event::TrialStarted { number, .. } => self.started.lock().unwrap().push(*number),
                Event::CauseFound {
                    elements,
                    fails,
                    runs,
                } => self
                    .causes
                    .lock()
                    .unwrap()
                    .push((elements.to_vec(), *fails, *runs)),
                Event::Stats(_) => {}
            }
        }
    }
}

//! Early stall verdicts: a worker proven stuck for good is called pending before its
//! timeout. Each rule is conservative: it needs a mechanism that cannot undo itself while
//! the worker lives, seen again after a spell during which the worker stayed idle (no CPU,
//! no stage reported) and the probe stayed unprocessed; when unsure, the trial waits out
//! its timeout. The proof goes into the outcome (`stall`).
//!
//! - **An output pipe nothing reads is full, and a worker thread is blocked writing to
//!   it**: minrepro holds the read end and never reads it (`stdout`/`stderr = "pipe"`, as a
//!   test fixture's `Popen(stdout=PIPE)` that never reads), so the writer waits for good.
//! - **A worker thread is blocked reading its stdin, a pipe nothing writes to**: minrepro
//!   holds the write end open and never writes (`stdin = "pipe"`, a fixture's
//!   `Popen(stdin=PIPE)`), so the reader (a prompt, a debugger) waits for good.
//! - **The worker discarded the probe unprocessed**: the framework reported the message
//!   skipped by a middleware, rejected, or of a task it does not know; it is acknowledged
//!   and gone from its queue. This one needs no idle spell: nothing can bring it back.
//! - **The launch's messages wait where no consumer of the worker reads them** (replayed
//!   messages, `trial::replay`): the worker consumes, and the queue they landed in has no
//!   consumer, or they could not be routed to any queue at all.
//! - **The worker consumes from another broker than the probe's**: it reported its broker
//!   (`broker:ready`) and its start-up (`worker:started`), the broker is in memory (a test
//!   double: Dramatiq's StubBroker, kombu's `memory://`, fakeredis) or its address differs
//!   from the probe's in host (resolved), port, vhost or database, and on an AMQP broker the
//!   probe queue was never declared there: the probe can never reach it.

use std::time::{Duration, Instant};

use super::process::WorkerProcess;
use super::worker_log::WorkerLog;
use crate::broker::Broker;
use crate::messages::same_host;

/// How often the rules are looked at: they read /proc, not worth doing every poll.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// Watches one trial's worker for a stall that a rule proves.
pub struct StallWatch {
    /// How long a rule must keep holding, with the worker idle, before it is a verdict.
    spell: Duration,
    next_look: Instant,
    /// Since when a rule has held, and the worker's CPU time then.
    holding: Option<(Instant, Duration)>,
}

impl StallWatch {
    /// A watch for a trial with `timeout`: the spell is a quarter of it (about a usual
    /// passing trial's time, as the automatic timeout is four times that), at least 1 s.
    pub fn new(timeout: Duration) -> StallWatch {
        StallWatch {
            spell: (timeout / 4).max(Duration::from_secs(1)),
            next_look: Instant::now(),
            holding: None,
        }
    }

    /// Whether it is time to look at the rules again: they read /proc and ask the broker,
    /// not worth doing on every poll.
    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next_look {
            return false;
        }
        self.next_look = now + LOOK_EVERY;
        true
    }

    /// The proof that the worker is stuck for good, once a rule (`proof`: what holds now,
    /// if anything) has held for a whole spell while the worker stayed idle.
    pub fn hold(
        &mut self,
        worker: &WorkerProcess,
        log: &WorkerLog,
        proof: Option<String>,
    ) -> Option<String> {
        let now = Instant::now();
        let Some(proof) = proof else {
            self.holding = None;
            return None;
        };
        let cpu = worker.cpu_time();
        let Some((since, cpu_then)) = self.holding else {
            self.holding = Some((now, cpu));
            return None;
        };
        let spell = now.duration_since(since);
        if spell < self.spell {
            return None;
        }
        let busy = worker.working_since(since, cpu_then, cpu);
        let reporting = log.last_progress().is_some_and(|at| at > since);
        if busy || reporting {
            // Still doing something: the rule must hold again over an idle spell.
            self.holding = Some((now, cpu));
            return None;
        }
        Some(format!(
            "{proof}; so for {:.1}s, the worker idle",
            spell.as_secs_f64()
        ))
    }
}

/// The worker started consuming from a broker the probe is not on.
pub fn consuming_elsewhere(log: &WorkerLog, broker: &Broker, published: bool) -> Option<String> {
    if !log.reached("worker:started") || (broker.sees_consumers() && published) {
        return None;
    }
    let theirs = log.broker()?;
    let ours = broker.address()?;
    let probe_on = describe(&ours.host, ours.port, &ours.vhost);
    if theirs.in_memory {
        return Some(format!(
            "the worker consumes from an in-memory broker ({}), which nothing outside its process reaches; the probe is on {probe_on}",
            theirs.class
        ));
    }
    let (host, port, vhost) = (theirs.host?, theirs.port?, theirs.vhost?);
    let differs = port != ours.port || vhost != ours.vhost || !same_host(&host, &ours.host)?;
    differs.then(|| {
        format!(
            "the worker consumes from {} (its broker:ready), the probe is on {probe_on}: it never reaches the worker",
            describe(&host, port, &vhost),
        )
    })
}

fn describe(host: &str, port: u16, vhost: &str) -> String {
    format!("{host}:{port} ({vhost})")
}

//! A runner for unit tests: no process, no broker. A rule over the configuration a trial
//! would render gives its outcome at once, so that a whole bisection (good side, rate,
//! causes, values, confirmations) runs in milliseconds. Never used outside tests: the real
//! trial path is tested against the real broker.

use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Outcome, Runner, TrialRecord, TrialSpec, Versions};
use crate::case::Config;
use crate::error::Error;

type Rule = dyn Fn(&Config, u32) -> Result<Outcome, Error> + Send + Sync;

/// Runs "trials" by asking a rule: the configuration and the trial's number (from 1, in
/// the order they start) → the outcome, or an error the trial could not run with.
pub struct FakeRunner {
    rule: Box<Rule>,
    started: AtomicU32,
    /// Every configuration run, in order.
    pub ran: Mutex<Vec<Config>>,
}

impl FakeRunner {
    pub fn new(
        rule: impl Fn(&Config, u32) -> Result<Outcome, Error> + Send + Sync + 'static,
    ) -> Self {
        FakeRunner {
            rule: Box::new(rule),
            started: AtomicU32::new(0),
            ran: Mutex::new(Vec::new()),
        }
    }

    /// Pending where `fails` holds, processed elsewhere.
    pub fn pending_when(fails: impl Fn(&Config) -> bool + Send + Sync + 'static) -> Self {
        FakeRunner::new(move |config, _| {
            Ok(if fails(config) {
                pending()
            } else {
                processed()
            })
        })
    }

    pub fn trials(&self) -> u32 {
        self.started.load(Ordering::SeqCst)
    }
}

pub fn processed() -> Outcome {
    Outcome::Processed {
        latency: Duration::from_millis(120),
    }
}

pub fn pending() -> Outcome {
    Outcome::Pending {
        stage: Some("worker:started".into()),
        timeout: Duration::from_secs(3),
        stall: None,
        consumers: Some(1),
        stack_dump: String::new(),
        messages: 1,
        processed: 0,
        replay: None,
    }
}

impl Runner for FakeRunner {
    fn run<'a>(
        &'a self,
        spec: &'a TrialSpec<'a>,
        cancel: &'a CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<TrialRecord, Error>> + Send + 'a>> {
        Box::pin(async move {
            if cancel.is_cancelled() {
                return Err(Error::Interrupted);
            }
            let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
            self.ran
                .lock()
                .expect("not poisoned")
                .push(spec.config.clone());
            let outcome = (self.rule)(spec.config, number)?;
            Ok(TrialRecord {
                id: format!("fake{number:08}"),
                queue: format!("minrepro.fake{number:08}.probe"),
                outcome,
                stages: Vec::new(),
                wall_s: 0.0,
                timeout_s: spec.timeout.as_secs_f64(),
                versions: Versions::default(),
                modules: Vec::new(),
                origins: Default::default(),
                stdout_tail: String::new(),
                stderr_tail: String::new(),
                scratch: None,
                agent: None,
            })
        })
    }

    fn broker_url(&self, case_broker: Option<&str>) -> String {
        case_broker.unwrap_or("amqp://fake/%2f").to_string()
    }

    fn broker_identity<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send + 'a>> {
        Box::pin(async move { Ok(format!("{url} fake")) })
    }
}

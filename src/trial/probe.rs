//! minrepro's own probe: a task of minrepro's on a queue of the trial's own, which the worker
//! is made to consume besides its own queues, for cases that carry none of the launch's
//! messages. It goes in once the worker has declared its queue (the first message when it
//! is routable, the rest at once); processed means every probe message was.

use std::time::{Duration, Instant};

use super::worker_log::WorkerLog;
use crate::broker::{Broker, Delivery};
use crate::error::Error;
use crate::framework::{Framework, ProbeMessage};

/// How often the broker is asked whether the worker declared the probe queue yet, and then
/// whether it consumes from it.
const DECLARE_POLL: Duration = Duration::from_millis(15);
const CONSUMER_POLL: Duration = Duration::from_millis(100);

/// The probe of one trial: its queue, its token, how many messages, in which framework.
pub struct Probe {
    pub queue: String,
    pub token: String,
    pub messages: u32,
    pub framework: &'static dyn Framework,
    /// The probe went into its queue.
    pub published: bool,
    /// Consumers on the probe queue (`None`: not known yet).
    pub consumers: Option<u32>,
    next_poll: Instant,
}

impl Probe {
    pub fn new(
        queue: String,
        token: String,
        messages: u32,
        framework: &'static dyn Framework,
    ) -> Probe {
        Probe {
            queue,
            token,
            messages: messages.max(1),
            framework,
            published: false,
            consumers: None,
            next_poll: Instant::now(),
        }
    }

    /// When the last probe message was processed, once all of them were (worker's clock).
    pub fn processed(&self, log: &WorkerLog) -> Option<f64> {
        match log.processed(&self.token) {
            (count, Some(at)) if count >= self.messages => Some(at),
            _ => None,
        }
    }

    /// Message `index`, in the framework's format for `broker`.
    fn message(&self, broker: &Broker, index: u32) -> Result<Delivery, Error> {
        self.framework.probe_message(
            broker.kind(),
            ProbeMessage {
                queue: &self.queue,
                token: &self.token,
                index,
                now_ms: (super::worker_log::unix_now() * 1000.0) as u64,
            },
        )
    }

    /// Publishes the probe once its queue takes it, then looks for its consumer.
    pub async fn tick(
        &mut self,
        broker: &Broker,
        log: &mut WorkerLog,
        pid: u32,
    ) -> Result<(), Error> {
        let now = Instant::now();
        if now < self.next_poll || self.consumers.unwrap_or(0) > 0 {
            return Ok(());
        }
        if self.published && broker.sees_consumers() {
            self.consumers = broker.consumer_count(&self.queue).await?;
            if self.consumers.unwrap_or(0) > 0 {
                log.observe("broker:consuming", pid);
            }
        } else {
            self.published = broker
                .deliver_if_routable(&self.queue, &self.message(broker, 0)?)
                .await?;
            if self.published && self.messages > 1 {
                let burst = (1..self.messages)
                    .map(|i| self.message(broker, i))
                    .collect::<Result<Vec<_>, _>>()?;
                broker.deliver_all(&self.queue, &burst).await?;
            }
            if broker.sees_consumers() {
                self.consumers = self.published.then_some(0);
            }
        }
        self.next_poll = now
            + if self.published {
                CONSUMER_POLL
            } else {
                DECLARE_POLL
            };
        Ok(())
    }

    /// Consumers of the probe queue when the trial ends.
    pub async fn final_consumers(
        &self,
        broker: &Broker,
        log: &WorkerLog,
    ) -> Result<Option<u32>, Error> {
        if !broker.sees_consumers() {
            // Where the broker cannot tell, the worker's own report does: it listens to the
            // probe queue, on this very broker.
            return Ok(reported_consumers(log, broker, &self.queue));
        }
        if self.published {
            broker.consumer_count(&self.queue).await
        } else {
            Ok(self.consumers)
        }
    }

    /// How the worker discarded a probe message, if it did: it can never be processed.
    pub fn dropped(&self, log: &WorkerLog) -> Option<String> {
        log.dropped(&self.token)
            .map(|how| format!("the worker discarded the probe unprocessed: {how}"))
    }
}

/// Consumers of the probe queue as the worker reports them: `None` until it has started,
/// then 1 if it listens to the queue on `broker`, else 0.
fn reported_consumers(log: &WorkerLog, broker: &Broker, queue: &str) -> Option<u32> {
    let queues = log.declared_queues();
    if queues.is_empty() {
        return None;
    }
    Some(u32::from(
        on_this_broker(log, broker) && queues.iter().any(|q| q == queue),
    ))
}

/// Whether the worker reported using `broker` (same host, port and vhost or database).
fn on_this_broker(log: &WorkerLog, broker: &Broker) -> bool {
    log.broker().is_some_and(|theirs| {
        broker.address().is_some_and(|ours| {
            theirs.host.as_deref() == Some(ours.host.as_str())
                && theirs.port == Some(ours.port)
                && theirs.vhost.as_deref() == Some(ours.vhost.as_str())
        })
    })
}

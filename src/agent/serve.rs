//! `minrepro agent`: runs trial requests from the work queue with the local runner, one
//! slot per trial in flight (prefetch = slots). A request is acknowledged only once its
//! reply is confirmed by the broker: an agent that dies mid-trial leaves its requests to
//! RabbitMQ, which gives them to another agent. Only signed requests run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio_util::sync::CancellationToken;

use super::{QUEUE, Reply, Request, relocate, unpack, verify};
use crate::broker::Brokers;
use crate::error::Error;
use crate::redact::redact_url;
use crate::trial::{TrialRunner, TrialSpec};

/// How long a reply waits for its requester before the broker drops it.
const REPLY_TTL: &str = "600000";

pub struct Agent {
    /// The broker that carries the requests (and replies).
    pub work_url: String,
    pub slots: u16,
    /// An interpreter to run every trial on, instead of the one each template provisions.
    pub python: Option<PathBuf>,
    pub key: Vec<u8>,
    pub stop: CancellationToken,
}

/// Declares the work queue as both sides must: durable, quorum (it survives a broker node).
pub async fn declare_queue(channel: &Channel) -> Result<(), lapin::Error> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    channel
        .queue_declare(
            QUEUE.into(),
            lapin::options::QueueDeclareOptions {
                durable: true,
                ..Default::default()
            },
            arguments,
        )
        .await
        .map(|_| ())
}

impl Agent {
    /// Serves until SIGTERM or Ctrl-C: then takes no more requests, finishes the trials
    /// it holds, and leaves.
    pub async fn serve(self) -> Result<(), Error> {
        let lost = |err: lapin::Error| {
            Error::infra(format!(
                "the work queue's broker at {}: {err}",
                redact_url(&self.work_url)
            ))
        };
        let connection = Connection::connect(&self.work_url, ConnectionProperties::default())
            .await
            .map_err(lost)?;
        let channel = connection.create_channel().await.map_err(lost)?;
        declare_queue(&channel).await.map_err(lost)?;
        channel
            .basic_qos(self.slots, BasicQosOptions::default())
            .await
            .map_err(lost)?;
        let replies = connection.create_channel().await.map_err(lost)?;
        replies
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(lost)?;
        let mut consumer = channel
            .basic_consume(
                QUEUE.into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(lost)?;
        let identity = identity(self.python.as_deref());
        eprintln!(
            "minrepro agent {identity}: {} slots on {}",
            self.slots,
            redact_url(&self.work_url)
        );
        let shared = Arc::new(Shared {
            runner: TrialRunner {
                brokers: Brokers::new(None),
                keep_scratch: false,
                interrupted: CancellationToken::new(),
            },
            python: self.python.clone(),
            key: self.key.clone(),
            replies,
            identity,
        });
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let delivery = tokio::select! {
                _ = self.stop.cancelled() => break,
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(err)) => return Err(lost(err)),
                    None => break,
                },
            };
            let shared = shared.clone();
            tasks.spawn(async move { shared.handle(delivery).await });
        }
        eprintln!("minrepro agent: stopping, finishing {} trials", tasks.len());
        // Held requests that were not started go back to the queue with the channel.
        while tasks.join_next().await.is_some() {}
        let _ = connection.close(200, "agent stopped".into()).await;
        Ok(())
    }
}

struct Shared {
    runner: TrialRunner,
    python: Option<PathBuf>,
    key: Vec<u8>,
    replies: Channel,
    identity: String,
}

impl Shared {
    async fn handle(&self, delivery: lapin::message::Delivery) {
        let properties = &delivery.properties;
        let signature = properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(super::SIGNATURE).cloned());
        let signed = match signature {
            Some(AMQPValue::LongString(text)) => {
                verify(&self.key, &delivery.data, &text.to_string())
            }
            _ => false,
        };
        if !signed {
            eprintln!(
                "minrepro agent: REJECTED a request without a valid signature (correlation id {:?}): not run",
                properties.correlation_id().as_ref().map(|c| c.to_string())
            );
            let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
            return;
        }
        let reply = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(request) => self.run(request).await,
            Err(err) => Reply {
                id: String::new(),
                record: None,
                error: Some(format!("the request could not be read: {err}")),
                agent: self.identity.clone(),
            },
        };
        let Some(reply_to) = properties.reply_to().as_ref().map(|r| r.to_string()) else {
            let _ = delivery.ack(BasicAckOptions::default()).await;
            return;
        };
        let body = serde_json::to_vec(&reply).unwrap_or_default();
        let reply_properties = BasicProperties::default()
            .with_correlation_id(reply.id.as_str().into())
            .with_expiration(REPLY_TTL.into());
        let confirmed = async {
            self.replies
                .basic_publish(
                    "".into(),
                    reply_to.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    reply_properties,
                )
                .await?
                .await
        }
        .await;
        // Acknowledged only once the reply is safe with the broker; otherwise the request
        // goes back to the queue (and its requester ignores a second reply).
        match confirmed {
            Ok(_) => {
                let _ = delivery.ack(BasicAckOptions::default()).await;
            }
            Err(err) => {
                eprintln!(
                    "minrepro agent: the reply to {} was not confirmed: {err}",
                    reply.id
                );
                let _ = delivery.reject(BasicRejectOptions { requeue: true }).await;
            }
        }
    }

    async fn run(&self, request: Request) -> Reply {
        let started = Instant::now();
        let result = self.run_trial(&request).await;
        let line = match &result {
            Ok(record) => format!("{} in {:.2}s", record.outcome.kind(), record.wall_s),
            Err(err) => format!("error: {err}"),
        };
        eprintln!(
            "minrepro agent: trial {} of {}: {line} ({:.1}s)",
            request.id,
            request.case_name,
            started.elapsed().as_secs_f64()
        );
        let (record, error) = match result {
            Ok(record) => (Some(record), None),
            Err(err) => (None, Some(err.to_string())),
        };
        Reply {
            id: request.id,
            record,
            error,
            agent: self.identity.clone(),
        }
    }

    async fn run_trial(&self, request: &Request) -> Result<crate::trial::TrialRecord, Error> {
        let files = request.files.clone();
        let sha = request.files_sha256.clone();
        let template = request.template.clone();
        let explicit = self.python.clone();
        let (local, python) = tokio::task::spawn_blocking(move || {
            let local = unpack(&files, &sha)?;
            let python = match explicit {
                Some(python) => python,
                None => crate::python::managed_environment(&template)?,
            };
            Ok::<_, Error>((local, python))
        })
        .await
        .map_err(|err| Error::infra(format!("the agent's set-up failed: {err}")))??;
        let config = relocate(&request.config, &request.case_dir, &local);
        let spec = TrialSpec {
            case_name: &request.case_name,
            config: &config,
            python: &python,
            broker_url: &request.broker_url,
            timeout: Duration::from_millis(request.timeout_ms),
            messages: request.messages,
        };
        self.runner.run(&spec, &self.runner.interrupted).await
    }
}

/// Who ran a trial: host, pid, interpreter.
fn identity(python: Option<&std::path::Path>) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    format!(
        "{host}:{} ({})",
        std::process::id(),
        python.map_or("provisioned per template".into(), |p| p
            .display()
            .to_string())
    )
}

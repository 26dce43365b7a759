//! `minrepro agent`: runs trial requests from the work queue with the local runner, one
//! slot per trial in flight (prefetch = slots). A request is acknowledged only once its
//! reply is confirmed by the broker: an agent that dies mid-trial leaves its requests to
//! RabbitMQ, which gives them to another agent. Only signed requests run.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, BasicRejectOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{QUEUE, Reply, Request, ToRequester, relocate, unpack, unpacked, verify};
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

/// A queue of this connection's own (exclusive, gone with it), consumed without
/// acknowledgements: a requester's replies, an agent's case files. Its name and consumer.
pub async fn private_queue(channel: &Channel) -> Result<(String, Consumer), lapin::Error> {
    let name = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?
        .name()
        .to_string();
    let consumer = channel
        .basic_consume(
            name.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((name, consumer))
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
        // The agent's own queue, where requesters send the case files it asks for.
        let files = connection.create_channel().await.map_err(lost)?;
        let (files_queue, arrivals) = private_queue(&files).await.map_err(lost)?;
        let identity = identity(self.python.as_deref());
        eprintln!(
            "minrepro agent {identity}: {} slots on {}",
            self.slots,
            redact_url(&self.work_url)
        );
        let shared = Arc::new(Shared {
            runner: TrialRunner::new(Brokers::new(None), false, CancellationToken::new()),
            python: self.python.clone(),
            key: self.key.clone(),
            replies,
            identity,
            files_queue,
            arrived: Notify::new(),
            asked: Mutex::new(HashSet::new()),
        });
        unpack_arrivals(shared.clone(), arrivals);
        self.take_requests(&mut consumer, &shared)
            .await
            .map_err(lost)?;
        let _ = connection.close(200, "agent stopped".into()).await;
        Ok(())
    }

    /// Runs each request on a task of its own until the agent is told to stop (or the
    /// queue goes away), then finishes the trials it holds; a consumer error ends it at
    /// once, the trials with it.
    async fn take_requests(
        &self,
        consumer: &mut Consumer,
        shared: &Arc<Shared>,
    ) -> Result<(), lapin::Error> {
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let delivery = tokio::select! {
                _ = self.stop.cancelled() => break,
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(err)) => return Err(err),
                    None => break,
                },
            };
            let shared = shared.clone();
            tasks.spawn(async move { shared.handle(delivery).await });
        }
        eprintln!("minrepro agent: stopping, finishing {} trials", tasks.len());
        // Held requests that were not started go back to the queue with the channel.
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// Unpacks the case files that arrive on the agent's own queue, on a task of its own since
/// they arrive on their own channel, whenever they come; every slot waiting for files
/// looks again.
fn unpack_arrivals(shared: Arc<Shared>, mut arrivals: Consumer) {
    tokio::spawn(async move {
        while let Some(Ok(delivery)) = arrivals.next().await {
            let Some(sha) = delivery.properties.correlation_id().as_ref() else {
                continue;
            };
            let sha = sha.to_string();
            let unpacked = tokio::task::spawn_blocking(move || unpack(&delivery.data, &sha))
                .await
                .map_err(|err| Error::infra(err.to_string()))
                .and_then(|unpacked| unpacked);
            if let Err(err) = unpacked {
                eprintln!("minrepro agent: case files that arrived were refused: {err}");
            }
            shared.arrived.notify_waiters();
        }
    });
}

/// How long a trial waits for the case files its agent asked for before asking again,
/// and how many times it asks.
const FILES_WAIT: Duration = Duration::from_secs(30);
const FILES_ASKS: u32 = 2;

struct Shared {
    runner: TrialRunner,
    python: Option<PathBuf>,
    key: Vec<u8>,
    replies: Channel,
    identity: String,
    /// The agent's own queue for the case files it asks for.
    files_queue: String,
    /// Woken whenever case files were unpacked.
    arrived: Notify,
    /// The files asked for and not yet come: one request per content, whatever the
    /// number of slots waiting for it.
    asked: Mutex<HashSet<String>>,
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
        let Some(reply_to) = properties.reply_to().as_ref().map(|r| r.to_string()) else {
            eprintln!("minrepro agent: a request without a reply queue: not run");
            let _ = delivery.reject(BasicRejectOptions { requeue: false }).await;
            return;
        };
        let reply = match serde_json::from_slice::<Request>(&delivery.data) {
            Ok(request) => self.run(request, &reply_to).await,
            Err(err) => Reply {
                id: String::new(),
                record: None,
                error: Some(format!("the request could not be read: {err}")),
                error_kind: crate::error::Kind::Infra,
                agent: self.identity.clone(),
            },
        };
        let body =
            serde_json::to_vec(&ToRequester::Reply(Box::new(reply.clone()))).unwrap_or_default();
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

    async fn run(&self, request: Request, reply_to: &str) -> Reply {
        let started = Instant::now();
        let result = self.run_trial(&request, reply_to).await;
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
        let (record, error, error_kind) = match result {
            Ok(record) => (Some(record), None, Default::default()),
            Err(err) => (None, Some(err.to_string()), err.kind()),
        };
        Reply {
            id: request.id,
            record,
            error,
            error_kind,
            agent: self.identity.clone(),
        }
    }

    /// The agent's copy of the request's case files: those it has, or asked for once from
    /// the requester (`reply_to`) and waited for.
    async fn files(&self, request: &Request, reply_to: &str) -> Result<PathBuf, Error> {
        let sha = &request.files_sha256;
        for _ in 0..FILES_ASKS {
            let deadline = tokio::time::Instant::now() + FILES_WAIT;
            loop {
                let arrived = self.arrived.notified();
                tokio::pin!(arrived);
                arrived.as_mut().enable();
                if let Some(dir) = unpacked(sha) {
                    return Ok(dir);
                }
                if self.asked.lock().unwrap().insert(sha.clone()) {
                    eprintln!(
                        "minrepro agent: trial {} of {}: asking for the case's files",
                        request.id, request.case_name
                    );
                    self.ask_for_files(sha, reply_to).await?;
                }
                if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                    break;
                }
            }
            // Not come: asked again (the request may have been lost with a connection).
            self.asked.lock().unwrap().remove(sha);
        }
        Err(Error::infra(format!(
            "the case's files ({sha}) did not come from the requester in {}s",
            FILES_WAIT.as_secs() * u64::from(FILES_ASKS)
        )))
    }

    async fn ask_for_files(&self, sha256: &str, reply_to: &str) -> Result<(), Error> {
        let wanted = ToRequester::FilesWanted {
            sha256: sha256.to_string(),
            send_to: self.files_queue.clone(),
        };
        let body = serde_json::to_vec(&wanted).unwrap_or_default();
        self.replies
            .basic_publish(
                "".into(),
                reply_to.into(),
                BasicPublishOptions::default(),
                &body,
                BasicProperties::default().with_expiration(REPLY_TTL.into()),
            )
            .await
            .map_err(|err| Error::infra(format!("cannot ask for the case's files: {err}")))?;
        Ok(())
    }

    async fn run_trial(
        &self,
        request: &Request,
        reply_to: &str,
    ) -> Result<crate::trial::TrialRecord, Error> {
        let local = self.files(request, reply_to).await?;
        let template = request.template.clone();
        let requirements = request.requirements.clone();
        let explicit = self.python.clone();
        let python = tokio::task::spawn_blocking(move || {
            let python = match (explicit, requirements) {
                (Some(python), _) => python,
                (None, Some(requirements)) => crate::python::provisioned("case", &requirements)?,
                (None, None) => crate::python::managed_environment(&template)?,
            };
            Ok::<_, Error>(python)
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
            replay: &request.replay,
            early_verdicts: request.early_verdicts,
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

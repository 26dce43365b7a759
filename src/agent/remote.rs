//! The requester's side: a [`Runner`] that sends each trial to the agents and waits for
//! its reply. Exactly one verdict counts per trial: replies are matched by correlation id
//! and a second one (a request RabbitMQ gave to another agent after the first died) is
//! ignored; a trial whose reply does not come in time is sent again.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::StreamExt;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::serve::{declare_queue, private_queue};
use super::{Reply, Request, SIGNATURE, ToRequester, pack, sign};
use crate::broker::Brokers;
use crate::case::Case;
use crate::error::Error;
use crate::redact::redact_url;
use crate::trial::{Runner, TrialRecord, TrialSpec};

/// How long an agent gets beyond the trial's own timeout before the trial is sent again:
/// a first trial on an agent may provision its interpreter.
const GRACE: Duration = Duration::from_secs(120);
/// How many times a trial is sent before the bisection gives up on the agents.
const ATTEMPTS: u32 = 3;

type Waiting = Arc<Mutex<HashMap<String, oneshot::Sender<Reply>>>>;
type Files = Arc<Mutex<HashMap<String, Arc<Vec<u8>>>>>;

/// The requester's connection to the agents: one per command, shared by its cases.
pub struct Agents {
    channel: Channel,
    reply_queue: String,
    waiting: Waiting,
    /// The case files of this requester's cases by SHA-256, for the agents that ask.
    files: Files,
    key: Vec<u8>,
    /// The probe's broker: the requester resolves it as a local run would.
    brokers: Brokers,
    _connection: Connection,
}

/// The trials of one case, sent to the agents.
pub struct RemoteRunner {
    agents: Arc<Agents>,
    /// The case's folder, packed once: agents ask for it by its hash.
    case_dir: String,
    files_sha256: String,
    requirements: Option<String>,
}

impl Agents {
    pub async fn connect(
        work_url: &str,
        given_broker: Option<String>,
        key: Vec<u8>,
    ) -> Result<Arc<Agents>, Error> {
        let lost = |err: lapin::Error| {
            Error::infra(format!(
                "cannot use the agents' broker at {}: {err}\n  = help: check --agents / MINREPRO_AGENTS",
                redact_url(work_url)
            ))
        };
        let connection = Connection::connect(work_url, ConnectionProperties::default())
            .await
            .map_err(lost)?;
        let channel = connection.create_channel().await.map_err(lost)?;
        declare_queue(&channel).await.map_err(lost)?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(lost)?;
        // A queue of this requester's own: gone with its connection.
        let replies = connection.create_channel().await.map_err(lost)?;
        let (reply_queue, mut consumer) = private_queue(&replies).await.map_err(lost)?;
        let waiting: Waiting = Arc::default();
        let routing = waiting.clone();
        let files: Files = Arc::default();
        let sending = (files.clone(), channel.clone());
        tokio::spawn(async move {
            while let Some(Ok(delivery)) = consumer.next().await {
                match serde_json::from_slice::<ToRequester>(&delivery.data) {
                    Ok(ToRequester::Reply(reply)) => {
                        // A reply nobody waits for any more (a duplicate) is dropped here.
                        if let Some(sender) = routing.lock().unwrap().remove(&reply.id) {
                            let _ = sender.send(*reply);
                        }
                    }
                    Ok(ToRequester::FilesWanted { sha256, send_to }) => {
                        let (files, channel) = &sending;
                        let Some(bytes) = files.lock().unwrap().get(&sha256).cloned() else {
                            continue;
                        };
                        let properties =
                            BasicProperties::default().with_correlation_id(sha256.as_str().into());
                        let _ = channel
                            .basic_publish(
                                "".into(),
                                send_to.as_str().into(),
                                BasicPublishOptions::default(),
                                &bytes,
                                properties,
                            )
                            .await;
                    }
                    Err(_) => {}
                }
            }
        });
        Ok(Arc::new(Agents {
            channel,
            reply_queue,
            waiting,
            files,
            key,
            brokers: Brokers::new(given_broker),
            _connection: connection,
        }))
    }

    /// A runner for `case`'s trials, which run here on `python`: its folder packed once,
    /// and unless `python` is a template's provisioned environment (which agents provision
    /// alike), that interpreter's packages for the agents to provision.
    pub async fn for_case(
        self: &Arc<Self>,
        case: &Case,
        python: &Path,
    ) -> Result<RemoteRunner, Error> {
        let dir = case.dir.clone();
        let python = python.to_path_buf();
        let (files, files_sha256, requirements) = tokio::task::spawn_blocking(move || {
            let (files, sha) = pack(&dir)?;
            let requirements = if crate::python::is_provisioned(&python) {
                None
            } else {
                Some(crate::python::pinned_requirements(&python)?)
            };
            Ok::<_, Error>((files, sha, requirements))
        })
        .await
        .map_err(|err| Error::infra(format!("cannot pack the case: {err}")))??;
        self.files
            .lock()
            .unwrap()
            .insert(files_sha256.clone(), Arc::new(files));
        Ok(RemoteRunner {
            agents: self.clone(),
            case_dir: case.dir.display().to_string(),
            files_sha256,
            requirements,
        })
    }

    async fn send(&self, request: &Request) -> Result<oneshot::Receiver<Reply>, Error> {
        let body = serde_json::to_vec(request)
            .map_err(|err| Error::infra(format!("cannot write a trial request: {err}")))?;
        let mut headers = FieldTable::default();
        headers.insert(
            SIGNATURE.into(),
            AMQPValue::LongString(sign(&self.key, &body).into()),
        );
        let (sender, receiver) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap()
            .insert(request.id.clone(), sender);
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_correlation_id(request.id.as_str().into())
            .with_reply_to(self.reply_queue.as_str().into())
            .with_headers(headers);
        let lost = |err: lapin::Error| Error::BrokerLost(format!("the agents' broker: {err}"));
        self.channel
            .basic_publish(
                "".into(),
                super::QUEUE.into(),
                BasicPublishOptions::default(),
                &body,
                properties,
            )
            .await
            .map_err(lost)?
            .await
            .map_err(lost)?;
        Ok(receiver)
    }
}

impl RemoteRunner {
    async fn run_remote(
        &self,
        spec: &TrialSpec<'_>,
        cancel: &CancellationToken,
    ) -> Result<TrialRecord, Error> {
        let deadline = spec.timeout * 3 + GRACE;
        for attempt in 1..=ATTEMPTS {
            let request = Request {
                id: format!("{}-{attempt}", crate::trial::new_trial_id()),
                case_name: spec.case_name.to_string(),
                config: spec.config.clone(),
                case_dir: self.case_dir.clone(),
                files_sha256: self.files_sha256.clone(),
                template: spec.config.template.clone(),
                requirements: self.requirements.clone(),
                broker_url: spec.broker_url.to_string(),
                timeout_ms: spec.timeout.as_millis() as u64,
                messages: spec.messages,
                replay: spec.replay.to_vec(),
                early_verdicts: spec.early_verdicts,
            };
            let receiver = self.agents.send(&request).await?;
            let answered = tokio::select! {
                _ = cancel.cancelled() => {
                    self.agents.waiting.lock().unwrap().remove(&request.id);
                    return Err(Error::Interrupted);
                }
                reply = tokio::time::timeout(deadline, receiver) => reply,
            };
            match answered {
                Ok(Ok(Reply {
                    record: Some(record),
                    agent,
                    ..
                })) => {
                    return Ok(TrialRecord {
                        agent: Some(agent),
                        ..record
                    });
                }
                Ok(Ok(Reply {
                    error,
                    error_kind,
                    agent,
                    ..
                })) => {
                    let why = error.unwrap_or_default();
                    return Err(error_kind.error(&format!(
                        "the agent {agent} could not run the trial: {}",
                        why.trim_start_matches("error: ")
                    )));
                }
                // No reply in time: sent again (a late reply to this one is ignored).
                _ => {
                    self.agents.waiting.lock().unwrap().remove(&request.id);
                }
            }
        }
        Err(Error::infra(format!(
            "no agent answered a trial of `{}` in {} tries of {}s\n  = help: start agents (`minrepro agent --broker URL`) on the broker given to --agents",
            spec.case_name,
            ATTEMPTS,
            deadline.as_secs()
        )))
    }
}

impl Runner for RemoteRunner {
    fn run<'a>(
        &'a self,
        spec: &'a TrialSpec<'a>,
        cancel: &'a CancellationToken,
    ) -> Pin<Box<dyn Future<Output = Result<TrialRecord, Error>> + Send + 'a>> {
        Box::pin(self.run_remote(spec, cancel))
    }

    fn broker_url(&self, case_broker: Option<&str>) -> String {
        self.agents.brokers.url_for(case_broker)
    }

    fn broker_identity<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<String, Error>> + Send + 'a>> {
        Box::pin(async move { Ok(self.agents.brokers.get(url).await?.identity()) })
    }
}

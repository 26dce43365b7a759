//! RabbitMQ over AMQP (lapin): one connection per minrepro process and broker URL, a channel
//! per operation. minrepro never declares a worker's queue: the worker declares it with the
//! arguments its own configuration gives, and any declaration of ours could differ (406) and
//! make its consumer retry forever. What it declares is what the launch's sender declared,
//! under the trial's names, as the sender did before publishing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

use super::{ANSWER_WITHIN, Address, AmqpMessage, CONNECT_TIMEOUT, Declaration, reconnect};
use crate::error::Error;
use crate::redact::redact_url;

pub struct Amqp {
    /// The connection, and how many times it was made anew.
    live: tokio::sync::Mutex<Live>,
    generation: AtomicU64,
    /// The broker stopped answering on the connection: make it anew.
    stale: AtomicBool,
    url: String,
    /// The RabbitMQ version the broker announced (`None`: it could not be read).
    version: Option<String>,
    /// Held while an operation the broker may refuse (closing its channel) runs.
    refusals: tokio::sync::Mutex<()>,
}

struct Live {
    connection: Arc<Connection>,
    generation: u64,
    /// Set once the broker stayed away past the patience: from then on, nothing waits.
    gone: Option<String>,
}

impl Amqp {
    pub async fn connect(url: &str) -> Result<Amqp, Error> {
        let unreachable = |why: String| {
            Error::infra(format!(
                "cannot reach the broker at {}: {why}\n  = help: start RabbitMQ (`rabbitmq-server -detached`) or point --broker / MINREPRO_BROKER at a running one",
                redact_url(url)
            ))
        };
        let connection = open(url).await.map_err(unreachable)?;
        let version = match url.parse::<lapin::uri::AMQPUri>() {
            Ok(uri) if uri.scheme == lapin::uri::AMQPScheme::AMQP => {
                server_version(&uri.authority.host, uri.authority.port).await
            }
            _ => None,
        };
        Ok(Amqp {
            live: tokio::sync::Mutex::new(Live {
                connection: Arc::new(connection),
                generation: 0,
                gone: None,
            }),
            generation: AtomicU64::new(0),
            stale: AtomicBool::new(false),
            url: url.to_string(),
            version,
            refusals: tokio::sync::Mutex::new(()),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many times the connection was made anew: a trial that saw it change ran while
    /// the broker was away.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The connection; if the broker dropped it (a restart), a new one, waiting up to
    /// [`patience`] for the broker to come back.
    async fn connection(&self) -> Result<Arc<Connection>, Error> {
        let mut live = self.live.lock().await;
        let stale = self.stale.swap(false, Ordering::SeqCst);
        if live.connection.status().connected() && !stale {
            return Ok(live.connection.clone());
        }
        if let Some(gone) = &live.gone {
            return Err(Error::infra(gone.clone()));
        }
        match reconnect(|| open(&self.url)).await {
            Ok(connection) => {
                live.connection = Arc::new(connection);
                live.generation += 1;
                self.generation.store(live.generation, Ordering::SeqCst);
                Ok(live.connection.clone())
            }
            Err((why, patience)) => {
                let gone = format!(
                    "the broker at {} went away and stayed away for {}s ({why})\n  = help: check that RabbitMQ is running (`rabbitmqctl status`); run the same command again to resume from what was recorded",
                    redact_url(&self.url),
                    patience.as_secs()
                );
                live.gone = Some(gone.clone());
                Err(Error::infra(gone))
            }
        }
    }

    /// The RabbitMQ version, as the broker announces it.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The host, port and vhost of this broker's URL.
    pub fn address(&self) -> Option<Address> {
        let uri: lapin::uri::AMQPUri = self.url.parse().ok()?;
        Some(Address {
            host: uri.authority.host,
            port: uri.authority.port,
            vhost: uri.vhost,
        })
    }

    /// A new channel. With many trials at once, the broker's closing of another channel (a
    /// 404 or 406 answer) can surface here; that is no reason to fail, so it is tried again.
    async fn channel(&self) -> Result<Channel, Error> {
        let mut attempts = 0;
        loop {
            let connection = self.connection().await?;
            match self.answered(connection.create_channel()).await? {
                Ok(channel) => return Ok(channel),
                Err(err) if is_soft_error(&err) && attempts < 3 => attempts += 1,
                Err(err) => return Err(self.lost(err)),
            }
        }
    }

    /// An exchange with the broker, given [`ANSWER_WITHIN`] to answer: a connection that
    /// died without lapin noticing would leave it waiting for ever. A broker that does not
    /// answer makes the next operation make the connection anew.
    async fn answered<T>(
        &self,
        exchange: impl Future<Output = Result<T, lapin::Error>>,
    ) -> Result<Result<T, lapin::Error>, Error> {
        match tokio::time::timeout(ANSWER_WITHIN, exchange).await {
            Ok(result) => Ok(result),
            Err(_) => {
                self.stale.store(true, Ordering::SeqCst);
                Err(Error::BrokerLost(format!(
                    "the broker at {} did not answer within {}s",
                    redact_url(&self.url),
                    ANSWER_WITHIN.as_secs()
                )))
            }
        }
    }

    /// Closes a channel we are done with, without waiting for ever.
    async fn close(&self, channel: Channel, why: &str) {
        let _ = tokio::time::timeout(ANSWER_WITHIN, channel.close(200, why.into())).await;
    }

    /// The broker failed an operation: most likely it went away (a restart), and the next
    /// operation makes the connection anew.
    fn lost(&self, err: lapin::Error) -> Error {
        Error::BrokerLost(format!(
            "the connection to the broker at {} was lost: {err}",
            redact_url(&self.url)
        ))
    }

    /// A channel whose publications the broker confirms.
    async fn confirmed_channel(&self) -> Result<Channel, Error> {
        let channel = self.channel().await?;
        self.answered(channel.confirm_select(ConfirmSelectOptions::default()))
            .await?
            .map_err(|err| self.lost(err))?;
        Ok(channel)
    }

    /// Publishes `message` to its exchange with its routing key, confirmed; `false` when the
    /// broker could route it nowhere (it returns the message): no queue is bound there yet.
    pub async fn publish_routed(&self, message: &AmqpMessage) -> Result<bool, Error> {
        let channel = self.confirmed_channel().await?;
        let lost = |err| self.lost(err);
        let confirm = self
            .answered(channel.basic_publish(
                message.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &message.body,
                properties(message),
            ))
            .await?;
        let confirm = match confirm {
            Ok(confirm) => confirm,
            // No such exchange (404): nothing can route it yet.
            Err(err) if is_soft_error(&err) => return Ok(false),
            Err(err) => return Err(lost(err)),
        };
        let confirmation = match self.answered(confirm).await? {
            Ok(confirmation) => confirmation,
            Err(err) if is_soft_error(&err) => return Ok(false),
            Err(err) => return Err(lost(err)),
        };
        self.close(channel, "message published").await;
        match confirmation {
            Confirmation::Ack(None) => Ok(true),
            Confirmation::Ack(Some(_returned)) => Ok(false),
            _ => Err(Error::infra(format!(
                "the broker at {} did not accept a replayed message for {}",
                redact_url(&self.url),
                message.routing_key
            ))),
        }
    }

    /// Makes what a sender declared (under the trial's names): a queue, an exchange, a
    /// binding. `Err` with the broker's refusal when it refuses (a queue that exists with
    /// other arguments: 406), which is the sender's failure to report, not the broker's.
    pub async fn declare(&self, declaration: &Declaration) -> Result<Result<(), String>, Error> {
        use lapin::options::{ExchangeDeclareOptions, QueueBindOptions};
        let _one_at_a_time = self.refusals.lock().await;
        let channel = self.channel().await?;
        let table = |arguments: &serde_json::Map<String, serde_json::Value>| {
            let mut table = FieldTable::default();
            for (key, value) in arguments {
                table.insert(key.as_str().into(), field_value(value));
            }
            table
        };
        let answered = match declaration {
            Declaration::Queue {
                name,
                durable,
                exclusive,
                auto_delete,
                arguments,
            } => self
                .answered(channel.queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions {
                        durable: *durable,
                        exclusive: *exclusive,
                        auto_delete: *auto_delete,
                        ..QueueDeclareOptions::default()
                    },
                    table(arguments),
                ))
                .await?
                .map(|_| ()),
            Declaration::Exchange {
                name,
                kind,
                durable,
                auto_delete,
                arguments,
            } => {
                self.answered(channel.exchange_declare(
                    name.as_str().into(),
                    exchange_kind(kind),
                    ExchangeDeclareOptions {
                        durable: *durable,
                        auto_delete: *auto_delete,
                        ..ExchangeDeclareOptions::default()
                    },
                    table(arguments),
                ))
                .await?
            }
            Declaration::Binding {
                queue,
                exchange,
                routing_key,
                arguments,
            } => {
                self.answered(channel.queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    routing_key.as_str().into(),
                    QueueBindOptions::default(),
                    table(arguments),
                ))
                .await?
            }
        };
        match answered {
            Ok(()) => {
                self.close(channel, "declared").await;
                Ok(Ok(()))
            }
            Err(err) if is_soft_error(&err) => Ok(Err(err.to_string())),
            Err(err) => Err(self.lost(err)),
        }
    }

    /// Publishes `body` to `queue` on the default exchange, persistent and confirmed, if the
    /// queue exists; `false` when it does not exist yet (the broker returns the message).
    ///
    /// The queue is not declared here: the worker declares it (and its `.DQ` and `.XQ`)
    /// with the arguments its own configuration gives (a dead-message TTL or a max priority
    /// set through env vars); any declaration of ours could differ and make its consumer
    /// fail. Nor is it looked up with a passive declare, whose 404 closes the channel: with
    /// many trials at once, such closes race with channels being opened.
    pub async fn publish_if_routable(
        &self,
        queue: &str,
        message: &AmqpMessage,
    ) -> Result<bool, Error> {
        let channel = self.confirmed_channel().await?;
        let lost = |err| self.lost(err);
        let confirm = self
            .answered(channel.basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                &message.body,
                properties(message),
            ))
            .await?
            .map_err(lost)?;
        let confirmation = self.answered(confirm).await?.map_err(lost)?;
        self.close(channel, "probe published").await;
        match confirmation {
            Confirmation::Ack(None) => Ok(true),
            Confirmation::Ack(Some(_returned)) => Ok(false),
            _ => Err(Error::infra(format!(
                "the broker at {} did not accept the probe message for {queue}",
                redact_url(&self.url)
            ))),
        }
    }

    /// Publishes `messages` to `queue` (which exists) as one burst on one channel, persistent,
    /// and waits until the broker has confirmed every one.
    pub async fn publish_all(&self, queue: &str, messages: &[AmqpMessage]) -> Result<(), Error> {
        let channel = self.confirmed_channel().await?;
        let lost = |err| self.lost(err);
        let mut confirms = Vec::with_capacity(messages.len());
        for message in messages {
            confirms.push(
                self.answered(channel.basic_publish(
                    "".into(),
                    queue.into(),
                    BasicPublishOptions::default(),
                    &message.body,
                    properties(message),
                ))
                .await?
                .map_err(lost)?,
            );
        }
        for confirm in confirms {
            if !matches!(
                self.answered(confirm).await?.map_err(lost)?,
                Confirmation::Ack(_)
            ) {
                return Err(Error::infra(format!(
                    "the broker at {} did not accept a probe message for {queue}",
                    redact_url(&self.url)
                )));
            }
        }
        self.close(channel, "probes published").await;
        Ok(())
    }

    /// How many consumers `queue` has; `None` if it does not exist. A missing queue closes
    /// the channel (404), so each call uses a channel of its own; callers ask about queues
    /// they know to exist.
    pub async fn consumer_count(&self, queue: &str) -> Result<Option<u32>, Error> {
        Ok(self.counts(queue).await?.map(|(_, consumers)| consumers))
    }

    /// Messages and consumers of `queue`, `None` if it does not exist.
    pub async fn counts(&self, queue: &str) -> Result<Option<(u32, u32)>, Error> {
        let channel = self.channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let result = self
            .answered(channel.queue_declare(queue.into(), passive, FieldTable::default()))
            .await?;
        match result {
            Ok(declared) => {
                self.close(channel, "checked").await;
                Ok(Some((declared.message_count(), declared.consumer_count())))
            }
            Err(err) if is_soft_error(&err) => Ok(None),
            Err(err) => Err(self.lost(err)),
        }
    }

    /// Deletes `queues`, whatever they hold (a trial's probe queues).
    pub async fn delete_queues(&self, queues: &[String]) -> Result<(), Error> {
        let channel = self.channel().await?;
        for name in queues {
            self.answered(
                channel.queue_delete(name.as_str().into(), QueueDeleteOptions::default()),
            )
            .await?
            .map_err(|err| self.lost(err))?;
        }
        self.close(channel, "trial done").await;
        Ok(())
    }

    /// Deletes `exchanges` (a trial's, under its names).
    pub async fn delete_exchanges(&self, exchanges: &[String]) -> Result<(), Error> {
        let channel = self.channel().await?;
        for name in exchanges {
            self.answered(channel.exchange_delete(
                name.as_str().into(),
                lapin::options::ExchangeDeleteOptions::default(),
            ))
            .await?
            .map_err(|err| self.lost(err))?;
        }
        self.close(channel, "trial done").await;
        Ok(())
    }
}

/// lapin's exchange kind for the type a sender declared.
fn exchange_kind(kind: &str) -> lapin::ExchangeKind {
    match kind {
        "direct" => lapin::ExchangeKind::Direct,
        "fanout" => lapin::ExchangeKind::Fanout,
        "topic" => lapin::ExchangeKind::Topic,
        "headers" => lapin::ExchangeKind::Headers,
        other => lapin::ExchangeKind::Custom(other.into()),
    }
}

/// A new connection to `url`, given [`CONNECT_TIMEOUT`]; `Err`: why not.
async fn open(url: &str) -> Result<Connection, String> {
    match tokio::time::timeout(
        CONNECT_TIMEOUT,
        Connection::connect(url, ConnectionProperties::default()),
    )
    .await
    {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())),
    }
}

/// The version a broker announces in its greeting (AMQP's connection.start), read on a
/// connection of its own that goes no further: lapin does not expose it.
async fn server_version(host: &str, port: u16) -> Option<String> {
    use amq_protocol::frame::{AMQPFrame, parse_frame};
    use amq_protocol::protocol::{AMQPClass, connection::AMQPMethod};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let read = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await.ok()?;
        stream.write_all(b"AMQP\x00\x00\x09\x01").await.ok()?;
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.ok()?;
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&buffer[..n]);
            match parse_frame(bytes.as_slice()) {
                Ok((_, AMQPFrame::Method(_, AMQPClass::Connection(AMQPMethod::Start(start))))) => {
                    return match start.server_properties.inner().get("version") {
                        Some(lapin::types::AMQPValue::LongString(v)) => Some(v.to_string()),
                        _ => None,
                    };
                }
                Ok(_) => return None,
                Err(_) if bytes.len() < 64 * 1024 => continue, // incomplete: read more
                Err(_) => return None,
            }
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, read)
        .await
        .ok()
        .flatten()
}

/// The properties a message carries: persistent, with what the framework's protocol puts in
/// them (Celery's task headers and correlation id, say).
fn properties(message: &AmqpMessage) -> BasicProperties {
    let mut properties = BasicProperties::default().with_delivery_mode(message.delivery_mode);
    if let Some(value) = &message.content_type {
        properties = properties.with_content_type(value.as_str().into());
    }
    if let Some(value) = &message.content_encoding {
        properties = properties.with_content_encoding(value.as_str().into());
    }
    if let Some(value) = &message.correlation_id {
        properties = properties.with_correlation_id(value.as_str().into());
    }
    if let Some(value) = message.priority {
        properties = properties.with_priority(value);
    }
    if let Some(value) = &message.reply_to {
        properties = properties.with_reply_to(value.as_str().into());
    }
    if let Some(value) = &message.expiration {
        properties = properties.with_expiration(value.as_str().into());
    }
    if let Some(value) = &message.kind {
        properties = properties.with_type(value.as_str().into());
    }
    if let Some(value) = &message.app_id {
        properties = properties.with_app_id(value.as_str().into());
    }
    if !message.headers.is_empty() {
        let mut table = FieldTable::default();
        for (key, value) in &message.headers {
            table.insert(key.as_str().into(), field_value(value));
        }
        properties = properties.with_headers(table);
    }
    properties
}

/// A JSON value as an AMQP field value (what pika and py-amqp decode back to the same value).
fn field_value(value: &serde_json::Value) -> lapin::types::AMQPValue {
    use lapin::types::{AMQPValue, FieldArray};
    use serde_json::Value as J;
    match value {
        J::Null => AMQPValue::Void,
        J::Bool(b) => AMQPValue::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => AMQPValue::LongLongInt(i),
            None => AMQPValue::Double(n.as_f64().unwrap_or_default()),
        },
        J::String(text) => AMQPValue::LongString(text.as_str().into()),
        J::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items.iter().map(field_value).collect::<Vec<_>>(),
        )),
        J::Object(map) => {
            let mut table = FieldTable::default();
            for (key, value) in map {
                table.insert(key.as_str().into(), field_value(value));
            }
            AMQPValue::FieldTable(table)
        }
    }
}

/// A channel-level refusal (404 NOT_FOUND, 406 PRECONDITION_FAILED), as opposed to a
/// broken connection: whatever operation it surfaces in.
fn is_soft_error(err: &lapin::Error) -> bool {
    match err.kind() {
        lapin::ErrorKind::ProtocolError(amqp) => matches!(amqp.kind().get_id(), 404 | 406),
        _ => {
            let text = err.to_string();
            text.contains("NOT_FOUND") || text.contains("PRECONDITION_FAILED")
        }
    }
}

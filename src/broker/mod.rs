//! The tool's side of the brokers workers use: RabbitMQ over AMQP ([`amqp`]) and Redis
//! ([`redis`]). A trial hands its broker what the framework encodes (a [`Delivery`]) and
//! what the framework says a probe queue leaves behind ([`Leftovers`]); the broker knows how
//! to send and delete, never what a framework's messages look like.

pub mod amqp;
pub mod redis;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::redact::redact_url;

/// The broker used when neither `--broker`, `MINREPRO_BROKER` nor the case names one.
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// How long connecting may take before the broker counts as unreachable; well under the
/// 5 seconds in which a run against a dead broker must have ended.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the broker gets to answer one request before its connection counts as dead.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// How long a broker may stay away (a restart) before minrepro gives up on it, unless
/// `MINREPRO_BROKER_PATIENCE` says otherwise (a duration such as "2m").
const PATIENCE: Duration = Duration::from_secs(60);
/// How often a broker that went away is tried again.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);

/// Connects with `open` again and again until it succeeds or the patience runs out, for a
/// broker that went away (a restart); `Err`: the last reason, and the patience spent.
async fn reconnect<T, Open, Opening>(open: Open) -> Result<T, (String, Duration)>
where
    Open: Fn() -> Opening,
    Opening: Future<Output = Result<T, String>>,
{
    let patience = std::env::var("MINREPRO_BROKER_PATIENCE")
        .ok()
        .and_then(|text| humantime::parse_duration(&text).ok())
        .unwrap_or(PATIENCE);
    let deadline = Instant::now() + patience;
    let mut why = String::from("no answer");
    while Instant::now() < deadline {
        match open().await {
            Ok(connection) => return Ok(connection),
            Err(err) => why = err,
        }
        tokio::time::sleep(RECONNECT_EVERY).await;
    }
    Err((why, patience))
}

/// What protocol a broker speaks, from its URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Amqp,
    Redis,
}

impl Kind {
    pub fn of(url: &str) -> Option<Kind> {
        let scheme = url.split_once("://")?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "amqp" | "amqps" => Some(Kind::Amqp),
            "redis" | "rediss" => Some(Kind::Redis),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Amqp => "RabbitMQ",
            Kind::Redis => "Redis",
        }
    }
}

/// Where a broker lives, to tell whether a worker's broker is this one. For Redis, `vhost`
/// is the database number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub port: u16,
    pub vhost: String,
}

/// One AMQP message: where it goes, its body and the properties a framework's protocol uses.
#[derive(Debug, Clone)]
pub struct AmqpMessage {
    /// `""`: the default exchange, where the routing key is a queue's name.
    pub exchange: String,
    pub routing_key: String,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub correlation_id: Option<String>,
    pub priority: Option<u8>,
    /// 2: persistent.
    pub delivery_mode: u8,
    pub reply_to: Option<String>,
    pub expiration: Option<String>,
    /// AMQP's `type` property.
    pub kind: Option<String>,
    pub app_id: Option<String>,
    /// Header name → value; JSON null is AMQP's void.
    pub headers: serde_json::Map<String, serde_json::Value>,
}

impl AmqpMessage {
    /// A persistent message to `queue` through the default exchange (a probe's).
    pub fn to_queue(queue: &str, body: Vec<u8>) -> AmqpMessage {
        AmqpMessage {
            exchange: String::new(),
            routing_key: queue.to_string(),
            body,
            content_type: None,
            content_encoding: None,
            correlation_id: None,
            priority: None,
            delivery_mode: 2,
            reply_to: None,
            expiration: None,
            kind: None,
            app_id: None,
            headers: serde_json::Map::new(),
        }
    }
}

/// One probe message as the framework encodes it for the trial's broker.
#[derive(Debug, Clone)]
pub enum Delivery {
    Amqp(Box<AmqpMessage>),
    /// Redis commands (each its words), run in order as one transaction.
    Redis(Vec<Vec<Vec<u8>>>),
}

/// Something the sender declared on an AMQP broker before publishing. Part of the broker's
/// vocabulary, as [`Broker::declare`] makes it again for a trial; the launch's messages
/// record their declarations in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "declare", rename_all = "lowercase")]
pub enum Declaration {
    Queue {
        name: String,
        #[serde(default)]
        durable: bool,
        #[serde(default)]
        exclusive: bool,
        #[serde(default)]
        auto_delete: bool,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        arguments: serde_json::Map<String, Value>,
    },
    Exchange {
        name: String,
        #[serde(rename = "type", default = "direct")]
        kind: String,
        #[serde(default)]
        durable: bool,
        #[serde(default)]
        auto_delete: bool,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        arguments: serde_json::Map<String, Value>,
    },
    Binding {
        queue: String,
        exchange: String,
        #[serde(default)]
        routing_key: String,
        #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
        arguments: serde_json::Map<String, Value>,
    },
}

fn direct() -> String {
    "direct".into()
}

/// What a trial's probe queue leaves on the broker, deleted when the trial ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leftovers {
    /// AMQP queues.
    Queues(Vec<String>),
    /// Redis keys, key patterns (`SCAN MATCH`) for keys whose names hold an id minrepro
    /// does not choose, and members of shared sets or sorted sets (key, member).
    Keys {
        keys: Vec<String>,
        patterns: Vec<String>,
        members: Vec<(String, String)>,
    },
}

impl Leftovers {
    /// Nothing to delete.
    pub fn none() -> Leftovers {
        Leftovers::Keys {
            keys: Vec::new(),
            patterns: Vec::new(),
            members: Vec::new(),
        }
    }

    /// One line per item, patterns marked, for the write-ahead record.
    fn to_lines(&self) -> Vec<String> {
        match self {
            Leftovers::Queues(queues) => queues.iter().map(|q| format!("queue {q}")).collect(),
            Leftovers::Keys {
                keys,
                patterns,
                members,
            } => keys
                .iter()
                .map(|k| format!("key {k}"))
                .chain(patterns.iter().map(|p| format!("match {p}")))
                .chain(members.iter().map(|(set, m)| format!("member {set} {m}")))
                .collect(),
        }
    }

    fn from_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Leftovers {
        let (mut queues, mut keys, mut patterns, mut members) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for line in lines {
            match line.split_once(' ') {
                Some(("queue", name)) => queues.push(name.to_string()),
                Some(("key", name)) => keys.push(name.to_string()),
                Some(("match", pattern)) => patterns.push(pattern.to_string()),
                Some(("member", pair)) => {
                    if let Some((set, member)) = pair.split_once(' ') {
                        members.push((set.to_string(), member.to_string()));
                    }
                }
                _ => {}
            }
        }
        if queues.is_empty() {
            Leftovers::Keys {
                keys,
                patterns,
                members,
            }
        } else {
            Leftovers::Queues(queues)
        }
    }
}

/// A connected broker of either kind.
pub enum Broker {
    Amqp(amqp::Amqp),
    Redis(redis::Redis),
}

impl Broker {
    /// Connects, then deletes what trials of a minrepro that died left on this broker.
    pub async fn connect(url: &str) -> Result<Broker, Error> {
        let broker = match Kind::of(url) {
            Some(Kind::Amqp) => Broker::Amqp(amqp::Amqp::connect(url).await?),
            Some(Kind::Redis) => Broker::Redis(redis::Redis::connect(url).await?),
            None => {
                return Err(Error::input(format!(
                    "the broker URL {} is neither amqp:// (RabbitMQ) nor redis:// (Redis)\n  = help: give --broker (or MINREPRO_BROKER, or `broker` in the case file) as amqp://user:password@host:5672/vhost or redis://host:6379/0",
                    redact_url(url)
                )));
            }
        };
        broker.delete_orphans().await;
        Ok(broker)
    }

    pub fn kind(&self) -> Kind {
        match self {
            Broker::Amqp(_) => Kind::Amqp,
            Broker::Redis(_) => Kind::Redis,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Broker::Amqp(b) => b.url(),
            Broker::Redis(b) => b.url(),
        }
    }

    /// How many times the connection was made anew: a trial that saw it change ran while
    /// the broker was away.
    pub fn generation(&self) -> u64 {
        match self {
            Broker::Amqp(b) => b.generation(),
            Broker::Redis(b) => b.generation(),
        }
    }

    /// The broker's own version, as it announces it.
    pub fn version(&self) -> Option<&str> {
        match self {
            Broker::Amqp(b) => b.version(),
            Broker::Redis(b) => b.version(),
        }
    }

    /// What a recorded outcome was observed on: address, vhost or database, product and
    /// version (never credentials).
    pub fn identity(&self) -> String {
        let address = self
            .address()
            .map(|a| format!("{}:{}/{}", a.host, a.port, a.vhost))
            .unwrap_or_else(|| redact_url(self.url()));
        format!(
            "{address} {} {}",
            self.kind().name(),
            self.version().unwrap_or("?")
        )
    }

    pub fn address(&self) -> Option<Address> {
        match self {
            Broker::Amqp(b) => b.address(),
            Broker::Redis(b) => b.address(),
        }
    }

    /// Sends a probe message if its queue can take it: on RabbitMQ, once the worker has
    /// declared the queue (`false` before); on Redis, at once.
    pub async fn deliver_if_routable(
        &self,
        queue: &str,
        delivery: &Delivery,
    ) -> Result<bool, Error> {
        match (self, delivery) {
            (Broker::Amqp(b), Delivery::Amqp(message)) => {
                b.publish_if_routable(queue, message).await
            }
            (Broker::Redis(b), Delivery::Redis(commands)) => b.run(commands).await.map(|()| true),
            _ => Err(mismatch()),
        }
    }

    /// Sends probe messages to a queue that takes them, as one burst.
    pub async fn deliver_all(&self, queue: &str, deliveries: &[Delivery]) -> Result<(), Error> {
        match self {
            Broker::Amqp(b) => {
                let messages = deliveries
                    .iter()
                    .map(|d| match d {
                        Delivery::Amqp(message) => Ok((**message).clone()),
                        Delivery::Redis(_) => Err(mismatch()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                b.publish_all(queue, &messages).await
            }
            Broker::Redis(b) => {
                for delivery in deliveries {
                    match delivery {
                        Delivery::Redis(commands) => b.run(commands).await?,
                        Delivery::Amqp(_) => return Err(mismatch()),
                    }
                }
                Ok(())
            }
        }
    }

    /// Sends a replayed message where it goes; `false` when nothing there can take it yet
    /// (no queue bound on RabbitMQ). On Redis it always lands.
    pub async fn deliver_routed(&self, delivery: &Delivery) -> Result<bool, Error> {
        match (self, delivery) {
            (Broker::Amqp(b), Delivery::Amqp(message)) => b.publish_routed(message).await,
            (Broker::Redis(b), Delivery::Redis(commands)) => b.run(commands).await.map(|()| true),
            _ => Err(mismatch()),
        }
    }

    /// Makes what a sender declared (RabbitMQ; nothing to declare on Redis). The inner
    /// `Err` is the broker's refusal.
    pub async fn declare(&self, declaration: &Declaration) -> Result<Result<(), String>, Error> {
        match self {
            Broker::Amqp(b) => b.declare(declaration).await,
            Broker::Redis(_) => Ok(Ok(())),
        }
    }

    /// How many messages wait at `key` (a RabbitMQ queue, or a Redis list) and how many
    /// consumers it has (`None`: Redis cannot tell); `None` when the queue does not exist.
    pub async fn queue_state(&self, key: &str) -> Result<Option<(u32, Option<u32>)>, Error> {
        match self {
            Broker::Amqp(b) => Ok(b
                .counts(key)
                .await?
                .map(|(depth, consumers)| (depth, Some(consumers)))),
            Broker::Redis(b) => Ok(Some((b.length(key).await?, None))),
        }
    }

    /// Whether the broker tells how many consumers a queue has (RabbitMQ does; nobody sees
    /// who waits on a Redis list).
    pub fn sees_consumers(&self) -> bool {
        matches!(self, Broker::Amqp(_))
    }

    /// How many consumers a queue has (`None`: the queue does not exist, or the broker
    /// cannot tell).
    pub async fn consumer_count(&self, queue: &str) -> Result<Option<u32>, Error> {
        match self {
            Broker::Amqp(b) => b.consumer_count(queue).await,
            Broker::Redis(_) => Ok(None),
        }
    }

    /// A trial is about to make `leftovers`: written down first, so that if this minrepro
    /// dies before it deletes them, the next one that connects here does.
    pub fn claim(&self, trial: &str, leftovers: &Leftovers) {
        orphans::claim(&self.identity(), trial, leftovers);
    }

    /// Deletes what a trial left, whatever it holds. If the broker is away, it stays
    /// written down, and the next minrepro that connects deletes it.
    pub async fn delete(&self, trial: &str, leftovers: &Leftovers) -> Result<(), Error> {
        let deleted = self.delete_now(leftovers).await;
        if deleted.is_ok() {
            orphans::release(&self.identity(), trial);
        }
        deleted
    }

    /// Deletes what was not written down first (it was learnt from the worker's reports).
    pub async fn delete_now(&self, leftovers: &Leftovers) -> Result<(), Error> {
        match (self, leftovers) {
            (Broker::Amqp(b), Leftovers::Queues(queues)) => b.delete_queues(queues).await,
            (
                Broker::Redis(b),
                Leftovers::Keys {
                    keys,
                    patterns,
                    members,
                },
            ) => b.delete_keys(keys, patterns, members).await,
            _ => Ok(()),
        }
    }

    /// Deletes what one trial made here under its names: the queues and exchanges it
    /// declared (RabbitMQ); every key holding the trial's id, and the members holding it in
    /// the frameworks' shared collections `shared` (Redis).
    pub async fn sweep(
        &self,
        trial: &str,
        queues: &[String],
        exchanges: &[String],
        shared: &[&str],
    ) -> Result<(), Error> {
        match self {
            Broker::Amqp(b) => {
                b.delete_queues(queues).await?;
                b.delete_exchanges(exchanges).await
            }
            Broker::Redis(b) => {
                b.delete_keys(&[], &[format!("*{trial}*")], &[]).await?;
                b.remove_members_holding(shared, trial).await
            }
        }
    }

    async fn delete_orphans(&self) {
        for (trial, leftovers) in orphans::orphans(&self.identity()) {
            if self.delete_now(&leftovers).await.is_ok() {
                orphans::release(&self.identity(), &trial);
            }
        }
    }
}

fn mismatch() -> Error {
    Error::infra("a probe message was encoded for another kind of broker (a bug in minrepro)")
}

/// The brokers of one command, connected on first use and shared by its trials: cases of
/// one nightly may use different ones.
pub struct Brokers {
    /// `--broker` / `MINREPRO_BROKER`, when given.
    given: Option<String>,
    connected: tokio::sync::Mutex<HashMap<String, Arc<Broker>>>,
}

impl Brokers {
    pub fn new(given: Option<String>) -> Brokers {
        Brokers {
            given,
            connected: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The URL a case's trials use: the one given on the command line, unless the case
    /// names a broker of another kind (a Redis case under a RabbitMQ `--broker`); else the
    /// case's; else the default.
    pub fn url_for(&self, case_broker: Option<&str>) -> String {
        match (&self.given, case_broker) {
            (Some(given), Some(case)) if Kind::of(given) != Kind::of(case) => case.to_string(),
            (Some(given), _) => given.clone(),
            (None, Some(case)) => case.to_string(),
            (None, None) => DEFAULT_URL.to_string(),
        }
    }

    /// The broker at `url`, connected on first use.
    pub async fn get(&self, url: &str) -> Result<Arc<Broker>, Error> {
        let mut connected = self.connected.lock().await;
        if let Some(broker) = connected.get(url) {
            return Ok(broker.clone());
        }
        let broker = Arc::new(Broker::connect(url).await?);
        connected.insert(url.to_string(), broker.clone());
        Ok(broker)
    }
}

/// A write-ahead record of what trials in flight will leave on a broker, per broker
/// (address, vhost, version), under minrepro's cache folder: a file per trial holding the
/// pid of the minrepro that owns it and what to delete, made before the worker starts and
/// removed once it is deleted. What an owner that died left (killed with SIGKILL, or the
/// broker away at the end) is deleted by the next minrepro that connects to the broker; a
/// live owner's is left alone.
mod orphans {
    use std::path::PathBuf;

    use sha2::{Digest, Sha256};

    use super::Leftovers;

    fn dir(broker: &str) -> PathBuf {
        let key = format!("{:x}", Sha256::digest(broker.as_bytes()));
        crate::cache_dir::cache_root()
            .join("probe-queues")
            .join(&key[..16])
    }

    pub fn claim(broker: &str, trial: &str, leftovers: &Leftovers) {
        let dir = dir(broker);
        if std::fs::create_dir_all(&dir).is_ok() {
            let mut text = std::process::id().to_string();
            for line in leftovers.to_lines() {
                text.push('\n');
                text.push_str(&line);
            }
            let _ = std::fs::write(dir.join(trial), text);
        }
    }

    pub fn release(broker: &str, trial: &str) {
        let _ = std::fs::remove_file(dir(broker).join(trial));
    }

    /// Whether `pid` is a minrepro still running.
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{}/comm", pid.trim()))
            .is_ok_and(|comm| comm.trim() == "minrepro")
    }

    /// What trials whose owners are gone left, by trial.
    pub fn orphans(broker: &str) -> Vec<(String, Leftovers)> {
        let Ok(entries) = std::fs::read_dir(dir(broker)) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| {
                let text = std::fs::read_to_string(entry.path()).ok()?;
                let mut lines = text.lines();
                let owner = lines.next()?;
                if alive(owner) {
                    return None;
                }
                let trial = entry.file_name().to_string_lossy().into_owned();
                Some((trial, Leftovers::from_lines(lines)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_kind_comes_from_the_scheme() {
        assert_eq!(Kind::of("amqp://guest:guest@h:5672/%2f"), Some(Kind::Amqp));
        assert_eq!(Kind::of("redis://127.0.0.1:6379/0"), Some(Kind::Redis));
        assert_eq!(Kind::of("kafka://x"), None);
    }

    #[test]
    fn a_case_naming_another_kind_of_broker_keeps_it() {
        let given = Brokers::new(Some("amqp://u:p@rabbit:5672/%2f".into()));
        assert_eq!(given.url_for(Some("redis://r:6379/0")), "redis://r:6379/0");
        assert_eq!(
            given.url_for(Some("amqp://guest:guest@other:5672/%2f")),
            "amqp://u:p@rabbit:5672/%2f"
        );
        assert_eq!(given.url_for(None), "amqp://u:p@rabbit:5672/%2f");
        let none = Brokers::new(None);
        assert_eq!(none.url_for(None), DEFAULT_URL);
        assert_eq!(none.url_for(Some("redis://r:6379/1")), "redis://r:6379/1");
    }

    #[test]
    fn leftovers_survive_their_written_record() {
        let keys = Leftovers::Keys {
            keys: vec!["rq:queue:minrepro.probe.x".into()],
            patterns: vec!["dramatiq:__acks__.*.minrepro.probe.x".into()],
            members: vec![("rq:queues".into(), "rq:queue:minrepro.probe.x".into())],
        };
        assert_eq!(
            Leftovers::from_lines(keys.to_lines().iter().map(String::as_str)),
            keys
        );
        let queues = Leftovers::Queues(vec!["q".into(), "q.DQ".into()]);
        assert_eq!(
            Leftovers::from_lines(queues.to_lines().iter().map(String::as_str)),
            queues
        );
    }
}

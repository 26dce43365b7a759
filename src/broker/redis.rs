//! Redis: one multiplexed connection per minrepro process, made anew when Redis goes away
//! (a restart) within the same patience as RabbitMQ's. A framework's probe is a few
//! commands (a list push, a hash of the job), run as one transaction.

use std::sync::atomic::{AtomicU64, Ordering};

use redis::aio::MultiplexedConnection;

use super::{ANSWER_WITHIN, Address, CONNECT_TIMEOUT, reconnect};
use crate::error::Error;
use crate::redact::redact_url;

pub struct Redis {
    url: String,
    client: redis::Client,
    live: tokio::sync::Mutex<Live>,
    generation: AtomicU64,
    version: Option<String>,
}

struct Live {
    connection: Option<MultiplexedConnection>,
    /// Set once Redis stayed away past the patience: from then on, nothing waits.
    gone: Option<String>,
}

impl Redis {
    pub async fn connect(url: &str) -> Result<Redis, Error> {
        let unreachable = |why: String| {
            Error::infra(format!(
                "cannot reach Redis at {}: {why}\n  = help: start Redis (`redis-server --daemonize yes`) or point --broker (or the case's `broker`) at a running one",
                redact_url(url)
            ))
        };
        let client = redis::Client::open(url).map_err(|err| unreachable(err.to_string()))?;
        let mut connection = open(&client).await.map_err(unreachable)?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query_async(&mut connection)
            .await
            .unwrap_or_default();
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_string());
        Ok(Redis {
            url: url.to_string(),
            client,
            live: tokio::sync::Mutex::new(Live {
                connection: Some(connection),
                gone: None,
            }),
            generation: AtomicU64::new(0),
            version,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Host, port and database number of the URL.
    pub fn address(&self) -> Option<Address> {
        let rest = self.url.split_once("://")?.1;
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        let (authority, db) = rest.split_once('/').unwrap_or((rest, "0"));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().ok()?),
            None => (authority, 6379),
        };
        let db = db
            .split('?')
            .next()
            .filter(|d| !d.is_empty())
            .unwrap_or("0");
        Some(Address {
            host: host.to_string(),
            port,
            vhost: db.to_string(),
        })
    }

    /// The connection; if Redis dropped it, a new one, waiting up to the patience for Redis
    /// to come back.
    async fn connection(&self) -> Result<MultiplexedConnection, Error> {
        let mut live = self.live.lock().await;
        if let Some(connection) = &live.connection {
            return Ok(connection.clone());
        }
        if let Some(gone) = &live.gone {
            return Err(Error::infra(gone.clone()));
        }
        match reconnect(|| open(&self.client)).await {
            Ok(connection) => {
                live.connection = Some(connection.clone());
                self.generation.fetch_add(1, Ordering::SeqCst);
                Ok(connection)
            }
            Err((why, patience)) => {
                let gone = format!(
                    "Redis at {} went away and stayed away for {}s ({why})\n  = help: check that Redis is running (`redis-cli ping`); run the same command again to resume from what was recorded",
                    redact_url(&self.url),
                    patience.as_secs()
                );
                live.gone = Some(gone.clone());
                Err(Error::infra(gone))
            }
        }
    }

    /// A failed exchange: most likely Redis went away; the next one connects anew.
    async fn lost(&self, why: String) -> Error {
        self.live.lock().await.connection = None;
        Error::BrokerLost(format!(
            "the connection to Redis at {} was lost: {why}",
            redact_url(&self.url)
        ))
    }

    /// Runs `commands` as one transaction (MULTI … EXEC).
    pub async fn run(&self, commands: &[Vec<Vec<u8>>]) -> Result<(), Error> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for words in commands {
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let command = pipe.cmd(&String::from_utf8_lossy(name));
            for arg in args {
                command.arg(arg.as_slice());
            }
            command.ignore();
        }
        let mut connection = self.connection().await?;
        match tokio::time::timeout(ANSWER_WITHIN, pipe.query_async::<()>(&mut connection)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) if err.is_io_error() || err.is_connection_dropped() => {
                Err(self.lost(err.to_string()).await)
            }
            Ok(Err(err)) => Err(Error::infra(format!(
                "Redis at {} refused a probe command: {err}",
                redact_url(&self.url)
            ))),
            Err(_) => Err(self
                .lost(format!("no answer within {}s", ANSWER_WITHIN.as_secs()))
                .await),
        }
    }

    /// How many items the list at `key` holds (0 when there is none).
    pub async fn length(&self, key: &str) -> Result<u32, Error> {
        let mut connection = self.connection().await?;
        let asked: Result<u32, _> = redis::cmd("LLEN")
            .arg(key)
            .query_async(&mut connection)
            .await;
        match asked {
            Ok(length) => Ok(length),
            // Not a list (another kind of key of the same name): nothing waits in it.
            Err(err) if matches!(err.kind(), redis::ErrorKind::Server(_)) => Ok(0),
            Err(err) => Err(self.lost(err.to_string()).await),
        }
    }

    /// Removes from each of the shared collections `keys` (sets, sorted sets, hashes) the
    /// members (hash fields, or fields whose value) holding `needle`.
    pub async fn remove_members_holding(&self, keys: &[&str], needle: &str) -> Result<(), Error> {
        let mut connection = self.connection().await?;
        for key in keys {
            let kind: String = match redis::cmd("TYPE")
                .arg(*key)
                .query_async(&mut connection)
                .await
            {
                Ok(kind) => kind,
                Err(err) => return Err(self.lost(err.to_string()).await),
            };
            let (scan, remove) = match kind.as_str() {
                "set" => ("SSCAN", "SREM"),
                "zset" => ("ZSCAN", "ZREM"),
                "hash" => ("HSCAN", "HDEL"),
                _ => continue,
            };
            let mut doomed: Vec<Vec<u8>> = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let page: Result<(u64, Vec<Vec<u8>>), _> = redis::cmd(scan)
                    .arg(*key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await;
                let (next, items) = match page {
                    Ok(page) => page,
                    Err(err) => return Err(self.lost(err.to_string()).await),
                };
                // Sorted sets and hashes come as pairs: member and score, field and value.
                let step = if kind == "set" { 1 } else { 2 };
                for pair in items.chunks(step) {
                    let holds =
                        |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
                    if pair.iter().any(|item| holds(item)) {
                        doomed.push(pair[0].clone());
                    }
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            if !doomed.is_empty() {
                let removed: Result<(), _> = redis::cmd(remove)
                    .arg(*key)
                    .arg(&doomed)
                    .query_async(&mut connection)
                    .await;
                if let Err(err) = removed {
                    return Err(self.lost(err.to_string()).await);
                }
            }
        }
        Ok(())
    }

    /// Deletes `keys`, every key matching one of `patterns`, and `members` from their sets.
    pub async fn delete_keys(
        &self,
        keys: &[String],
        patterns: &[String],
        members: &[(String, String)],
    ) -> Result<(), Error> {
        let mut connection = self.connection().await?;
        let mut doomed: Vec<String> = keys.to_vec();
        for pattern in patterns {
            let mut cursor: u64 = 0;
            loop {
                let scanned: Result<(u64, Vec<String>), _> = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await;
                let (next, found) = match scanned {
                    Ok(page) => page,
                    Err(err) => return Err(self.lost(err.to_string()).await),
                };
                doomed.extend(found);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        let mut pipe = redis::pipe();
        let mut empty = true;
        if !doomed.is_empty() {
            pipe.cmd("DEL").arg(&doomed).ignore();
            empty = false;
        }
        for (set, member) in members {
            let kind: Result<String, _> = redis::cmd("TYPE")
                .arg(set)
                .query_async(&mut connection)
                .await;
            let remove = match kind {
                Ok(kind) if kind == "zset" => "ZREM",
                Ok(kind) if kind == "set" => "SREM",
                Ok(_) => continue, // gone already
                Err(err) => return Err(self.lost(err.to_string()).await),
            };
            pipe.cmd(remove).arg(set).arg(member).ignore();
            empty = false;
        }
        if empty {
            return Ok(());
        }
        let deleted: Result<(), _> = pipe.query_async(&mut connection).await;
        match deleted {
            Ok(_) => Ok(()),
            Err(err) => Err(self.lost(err.to_string()).await),
        }
    }
}

async fn open(client: &redis::Client) -> Result<MultiplexedConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection()).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {}s", CONNECT_TIMEOUT.as_secs())),
    }
}

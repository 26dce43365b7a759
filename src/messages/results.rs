//! Where results are, as their sender reads them: a result backend's URL made comparable
//! (scheme, host resolved, port, database or vhost, credentials dropped), so that a
//! worker's result counts only where its sender reads it.

use crate::messages::{ResultWait, address, same_host};

/// A result location for people: a URL without credentials.
pub fn location_words(backend: &str, sender_broker: &str) -> String {
    match normalized(backend, sender_broker) {
        Some(location) => location.to_string(),
        None => crate::redact::redact_url(backend),
    }
}

/// Where a result backend keeps results: scheme, host, port and the rest (database,
/// namespace, vhost), credentials dropped. The sender's `rpc://` keeps them on its own broker.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    scheme: String,
    host: String,
    port: u16,
    rest: String,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}://{}:{}/{}",
            self.scheme, self.host, self.port, self.rest
        )
    }
}

fn normalized(url: &str, sender_broker: &str) -> Option<Location> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme.to_ascii_lowercase().as_str() {
        "rediss" | "redis" => "redis".to_string(),
        "rpc" if rest.trim_matches('/').is_empty() => {
            // Celery's rpc:// backend: results come back over the sender's own broker.
            let broker = address(sender_broker);
            return normalized(&format!("rpc://{broker}"), sender_broker);
        }
        other => other.to_string(),
    };
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().ok()?),
        None => (
            authority,
            match scheme.as_str() {
                "redis" => 6379,
                _ => 5672,
            },
        ),
    };
    let mut path = path.split('?').next().unwrap_or_default().to_string();
    if scheme == "redis" && (path.is_empty() || path.starts_with('#')) {
        path = format!("0{path}");
    }
    Some(Location {
        scheme,
        host: host.to_string(),
        port,
        rest: path.replace("%2f", "").replace("%2F", ""),
    })
}

/// A result backend's URL as comparable text (`redis://127.0.0.1:6379/1`), for a launcher
/// that compares without minrepro: no credentials, the host as written.
pub fn comparable(backend: &str, sender_broker: &str) -> String {
    location_words(backend, sender_broker)
}

/// Whether a result stored at `stored` (the worker's report; `None`: nowhere) is where the
/// sender reads it (`wait`, on `sender_broker`).
pub fn readable(wait: &ResultWait, sender_broker: &str, stored: Option<&str>) -> bool {
    let Some(stored) = stored else {
        return false;
    };
    match (
        normalized(&wait.backend, sender_broker),
        normalized(stored, sender_broker),
    ) {
        (Some(theirs), Some(ours)) => {
            theirs.scheme == ours.scheme
                && theirs.port == ours.port
                && theirs.rest == ours.rest
                && same_host(&theirs.host, &ours.host).unwrap_or(theirs.host == ours.host)
        }
        _ => crate::redact::redact_url(&wait.backend) == crate::redact::redact_url(stored),
    }
}

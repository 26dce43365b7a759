//! Trials on other machines, with RabbitMQ as the work queue: `minrepro agent` consumes
//! trial requests from one durable quorum queue and runs each with the local runner
//! ([`serve`]); a bisection's [`remote::RemoteRunner`] publishes them and waits for the
//! replies. What goes over the broker is this module's: the request (the rendered
//! configuration, the case's files by content, the interpreter to use), the reply (the
//! trial record, or an error that is never a verdict), and their signature.

pub mod remote;
pub mod serve;

use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::case::{Config, folder};
use crate::error::Error;
use crate::trial::TrialRecord;

/// The queue agents consume trial requests from.
pub const QUEUE: &str = "minrepro.trials";
/// The header that carries a message's signature.
const SIGNATURE: &str = "minrepro-signature";
/// The env var holding the key shared by requesters and agents.
pub const KEY_VAR: &str = "MINREPRO_AGENT_KEY";

/// One trial to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Also the message's correlation id: a reply is matched to its request by it.
    pub id: String,
    pub case_name: String,
    /// The configuration as the requester rendered it: paths under the requester's case
    /// folder (`case_dir`) are rewritten to the agent's copy of the files.
    pub config: Config,
    pub case_dir: String,
    /// The SHA-256 of the case folder's gzipped tarball: agents keep the files by content,
    /// and one that does not have them yet asks the requester once ([`ToRequester`]).
    pub files_sha256: String,
    /// The template whose pinned requirements the agent provisions (unless the agent was
    /// started with a named interpreter).
    pub template: String,
    /// The packages of the case's own interpreter (pinned), provisioned instead of the
    /// template's when the requester runs the case on an interpreter of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirements: Option<String>,
    /// The broker the probe goes to.
    pub broker_url: String,
    pub timeout_ms: u64,
    pub messages: u32,
    /// The launch's messages to replay, to the brokers their sender used (which must be
    /// reachable from the agent under the same URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replay: Vec<crate::messages::LaunchMessage>,
    /// Stall rules may end the trial before its timeout (absent from older requesters).
    #[serde(default = "early_verdicts_by_default")]
    pub early_verdicts: bool,
}

fn early_verdicts_by_default() -> bool {
    true
}

/// What an agent answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply {
    pub id: String,
    /// The trial's record, or why the agent could not run it (never a verdict).
    pub record: Option<TrialRecord>,
    pub error: Option<String>,
    /// The error's kind: a broker that went away is retried, a case no worker can run is
    /// bad input (absent from an older agent: infrastructure).
    #[serde(default)]
    pub error_kind: crate::error::Kind,
    /// Which agent ran it: host, pid, interpreter.
    pub agent: String,
}

/// What agents send to a requester's reply queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToRequester {
    Reply(Box<Reply>),
    /// An agent lacks the case's files of this SHA-256: the requester sends the tarball
    /// to `send_to` (the agent's own queue), with the hash as correlation id. The agent
    /// checks the bytes against the hash its signed request named.
    FilesWanted {
        sha256: String,
        send_to: String,
    },
}

/// The key agents and requesters share, from `MINREPRO_AGENT_KEY`.
pub fn key() -> Result<Vec<u8>, Error> {
    match std::env::var(KEY_VAR) {
        Ok(key) if key.len() >= 16 => Ok(key.into_bytes()),
        Ok(_) => Err(Error::input(format!(
            "{KEY_VAR} is too short\n  = help: use at least 16 random characters, the same for every agent and requester (e.g. `openssl rand -hex 32`)"
        ))),
        Err(_) => Err(Error::input(format!(
            "{KEY_VAR} is not set: agents run only signed requests\n  = help: set it to the same secret for every agent and requester (e.g. `openssl rand -hex 32`)"
        ))),
    }
}

/// HMAC-SHA256 of `body`, hex.
fn sign(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// Whether `signature` is `body`'s under `key` (compared in constant time).
fn verify(key: &[u8], body: &[u8], signature: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    let Some(bytes) = unhex(signature) else {
        return false;
    };
    mac.verify_slice(&bytes).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The case folder as a gzipped tarball, with its SHA-256: the application's files
/// (`case::folder`; virtual environments and caches are left out, the agent provisions its
/// own interpreter).
pub fn pack(dir: &Path) -> Result<(Vec<u8>, String), Error> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    // By content only: the same files give the same hash whatever their times and owners.
    builder.mode(tar::HeaderMode::Deterministic);
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !folder::foreign(e.path(), e.file_type().is_dir(), dir));
    for entry in walker.flatten() {
        let Ok(relative) = entry.path().strip_prefix(dir) else {
            continue;
        };
        if entry.file_type().is_file() {
            builder
                .append_path_with_name(entry.path(), relative)
                .map_err(|err| {
                    Error::infra(format!("cannot pack {}: {err}", entry.path().display()))
                })?;
        }
    }
    let bytes = builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .map_err(|err| Error::infra(format!("cannot pack {}: {err}", dir.display())))?;
    let digest = format!("{:x}", Sha256::digest(&bytes));
    Ok((bytes, digest))
}

/// Where the agent keeps the case's files of `sha256`.
fn files_dir(sha256: &str) -> PathBuf {
    crate::cache_dir::cache_root()
        .join("agent-files")
        .join(sha256)
}

/// The agent's copy of the case's files of `sha256`, if it has one already.
pub(crate) fn unpacked(sha256: &str) -> Option<PathBuf> {
    let dir = files_dir(sha256);
    // A hash is a file name only when it is one: nothing else may name a path here.
    let is_hash = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hash && dir.join(".complete").is_file()).then_some(dir)
}

/// The agent's copy of a case folder, unpacked once per content.
fn unpack(bytes: &[u8], sha256: &str) -> Result<PathBuf, Error> {
    if format!("{:x}", Sha256::digest(bytes)) != sha256 {
        return Err(Error::infra("the case's files do not match their SHA-256"));
    }
    if let Some(dir) = unpacked(sha256) {
        return Ok(dir);
    }
    let dir = files_dir(sha256);
    let partial = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    tar::Archive::new(flate2::read::GzDecoder::new(bytes))
        .unpack(&partial)
        .and_then(|()| std::fs::write(partial.join(".complete"), sha256))
        .map_err(|err| Error::infra(format!("cannot unpack the case's files: {err}")))?;
    if std::fs::rename(&partial, &dir).is_err() {
        // Another slot unpacked the same files first.
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(dir)
}

/// `config` with the requester's case folder replaced by `local` wherever it appears.
fn relocate(config: &Config, from: &str, local: &Path) -> Config {
    let local = local.display().to_string();
    let moved = |text: &str| text.replace(from, &local);
    let mut config = config.clone();
    for value in config.env.values_mut() {
        *value = moved(value);
    }
    if let Some(cwd) = &config.options.cwd {
        config.options.cwd = Some(PathBuf::from(moved(&cwd.display().to_string())));
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_body_and_key() {
        let key = b"0123456789abcdef0123";
        let signature = sign(key, b"request");
        assert!(verify(key, b"request", &signature));
        assert!(!verify(key, b"request!", &signature));
        assert!(!verify(b"another key of 16+", b"request", &signature));
        assert!(!verify(key, b"request", "not hex"));
    }

    #[test]
    fn files_travel_by_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg/app")).unwrap();
        std::fs::create_dir_all(dir.path().join(".tox/py")).unwrap();
        std::fs::write(dir.path().join("pkg/app/settings.py"), "X = 1\n").unwrap();
        std::fs::write(dir.path().join(".tox/py/big"), "venv").unwrap();
        let (bytes, sha) = pack(dir.path()).unwrap();
        assert_eq!(
            pack(dir.path()).unwrap().1,
            sha,
            "the same files, the same hash"
        );
        let cache = tempfile::tempdir().unwrap();
        // SAFETY: tests in this binary that read MINREPRO_CACHE_DIR do not run here.
        unsafe { std::env::set_var("MINREPRO_CACHE_DIR", cache.path()) };
        assert_eq!(unpacked(&sha), None, "not before the files came");
        let local = unpack(&bytes, &sha).unwrap();
        assert_eq!(unpacked(&sha), Some(local.clone()), "kept once they came");
        assert_eq!(
            std::fs::read_to_string(local.join("pkg/app/settings.py")).unwrap(),
            "X = 1\n"
        );
        assert!(!local.join(".tox").exists());
        assert!(unpack(&bytes, "0000").is_err());
    }
}

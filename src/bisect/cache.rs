//! Outcomes of trials kept on disk, keyed by what the trial ran, so that a re-run of an
//! interrupted `bisect` (or tomorrow's `nightly`) does not repeat them. A key covers
//! everything that can change a verdict: the rendered configuration, the worker template,
//! the interpreter and the packages installed for it, the broker (address, vhost, RabbitMQ
//! version), the number of probe messages and the files of the case folder (its Python
//! packages). The timeout is not in the key but in the rule of reuse: a `pending` recorded
//! under a timeout shorter than today's proves nothing (the worker might have made it in
//! the longer time); any other outcome stands.
//!
//! Several bisections of one case may run at once: each line is appended whole, under a
//! lock, and a line cut short by a kill is skipped when read.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::case::{Case, Config};
use crate::trial::Outcome;

/// Files larger than this in a case folder are left out of its fingerprint.
const FINGERPRINT_MAX_FILE: u64 = 1 << 20;

/// One line of the file: an outcome, or a bisection's result.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Outcome {
        key: String,
        outcome: Outcome,
    },
    Result {
        mode: String,
        causes: Vec<Vec<String>>,
    },
}

pub struct OutcomeCache {
    file: Option<File>,
    outcomes: HashMap<String, Vec<Outcome>>,
    /// The timeout the last pending on record (in this scope) waited.
    last_pending: Option<Duration>,
    /// The causes last found in each mode ("minimize", "isolate").
    results: HashMap<String, Vec<Vec<String>>>,
    /// What every key of this case shares: template, interpreter, broker, load, case files.
    salt: String,
}

/// What the trials of one bisection run on, beyond the configuration itself.
pub struct Scope<'a> {
    /// minrepro's cache folder (see `cache_dir::cache_root`).
    pub cache_dir: &'a Path,
    /// The interpreter and its installed packages (see `python::identity`).
    pub interpreter: &'a str,
    /// The brokers' addresses, vhosts and versions.
    pub broker: &'a str,
    /// What each trial sends: the number of probe messages, or the launch's messages.
    pub load: &'a str,
}

impl OutcomeCache {
    /// The cache of `case` in `scope`; `fresh` ignores what was recorded before (and
    /// records anew, beside it).
    pub fn open(case: &Case, scope: &Scope<'_>, fresh: bool) -> OutcomeCache {
        let case_key = hex(case.path.as_os_str().as_encoded_bytes());
        let path = scope.cache_dir.join("outcomes").join(format!(
            "{}-{}.jsonl",
            case.name,
            &case_key[..12]
        ));
        let mut outcomes: HashMap<String, Vec<Outcome>> = HashMap::new();
        let mut last_pending = None;
        let mut results = HashMap::new();
        if !fresh && let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines().map_while(Result::ok) {
                // A line cut short by an interruption is skipped, not fatal.
                match serde_json::from_str::<Line>(&line) {
                    Ok(Line::Outcome { key, outcome }) => {
                        if let Outcome::Pending { timeout, .. } = &outcome {
                            last_pending = Some(*timeout);
                        }
                        outcomes.entry(key).or_default().push(outcome)
                    }
                    Ok(Line::Result { mode, causes }) => {
                        results.insert(mode, causes);
                    }
                    Err(_) => {}
                }
            }
        }
        let file = path.parent().and_then(|dir| {
            std::fs::create_dir_all(dir).ok()?;
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok()
        });
        // The worker is rendered from the template's source and the configuration: the
        // source is part of every key, the configuration of each.
        let salt = format!(
            "{}\n{}\n{}\n{}\n{}\n{}",
            case.template,
            crate::template::worker_source(&case.template).unwrap_or_default(),
            scope.interpreter,
            scope.broker,
            scope.load,
            folder_fingerprint(&case.dir)
        );
        OutcomeCache {
            file,
            outcomes,
            last_pending,
            results,
            salt,
        }
    }

    pub fn key(&self, config: &Config) -> String {
        hex(format!(
            "{}\n{}",
            self.salt,
            serde_json::to_string(config).unwrap_or_default()
        )
        .as_bytes())
    }

    /// The timeout the last pending on record waited (a resumed bisection keeps it).
    pub fn last_pending_timeout(&self) -> Option<Duration> {
        self.last_pending
    }

    /// The `index`-th outcome recorded for `key` that holds under `timeout`.
    pub fn get(&self, key: &str, index: usize, timeout: Duration) -> Option<&Outcome> {
        self.outcomes
            .get(key)?
            .iter()
            .filter(|outcome| holds_under(outcome, timeout))
            .nth(index)
    }

    pub fn record(&mut self, key: &str, outcome: &Outcome) {
        self.outcomes
            .entry(key.to_string())
            .or_default()
            .push(outcome.clone());
        self.append(&Line::Outcome {
            key: key.to_string(),
            outcome: outcome.clone(),
        });
    }

    /// The causes last found in `mode`, as element names.
    pub fn last_result(&self, mode: &str) -> &[Vec<String>] {
        self.results
            .get(mode)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn record_result(&mut self, mode: &str, causes: &[Vec<String>]) {
        self.results.insert(mode.to_string(), causes.to_vec());
        self.append(&Line::Result {
            mode: mode.to_string(),
            causes: causes.to_vec(),
        });
    }

    fn append(&mut self, line: &Line) {
        let Some(file) = &self.file else {
            return;
        };
        let Ok(text) = serde_json::to_string(line) else {
            return;
        };
        // One write per line, whole, while no other bisection of the case writes: an
        // interruption loses at most this line, and lines never interleave.
        let Ok(mut locked) = file
            .try_clone()
            .map_err(|_| ())
            .and_then(|f| Flock::lock(f, FlockArg::LockExclusive).map_err(|_| ()))
        else {
            return;
        };
        let _ = locked.write_all(format!("{text}\n").as_bytes());
    }
}

/// Whether a recorded outcome answers a trial with `timeout`: a worker seen pending for a
/// shorter time might have processed the probe in the longer one, unless it was proven
/// stuck for good.
fn holds_under(outcome: &Outcome, timeout: Duration) -> bool {
    match outcome {
        Outcome::Pending { stall: Some(_), .. } => true,
        Outcome::Pending {
            timeout: waited, ..
        } => *waited + Duration::from_millis(1) >= timeout,
        _ => true,
    }
}

fn hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A digest of the case folder's files (its Python packages), so that editing them makes
/// recorded outcomes stale. Case files are left out: the configurations they describe
/// are part of each key already, and editing `[expected]` changes no outcome.
fn folder_fingerprint(dir: &Path) -> String {
    let mut hasher = Sha256::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0 || !(name.starts_with('.') || name == "__pycache__")
        });
    for entry in walker.filter_map(Result::ok) {
        let is_case_file =
            entry.depth() == 1 && entry.path().extension().is_some_and(|e| e == "toml");
        if !entry.file_type().is_file() || is_case_file {
            continue;
        }
        let small = entry
            .metadata()
            .is_ok_and(|m| m.len() <= FINGERPRINT_MAX_FILE);
        if !small {
            continue;
        }
        hasher.update(entry.path().as_os_str().as_encoded_bytes());
        if let Ok(bytes) = std::fs::read(entry.path()) {
            hasher.update(&bytes);
        }
    }
    format!("{:x}", hasher.finalize())
}

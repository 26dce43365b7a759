//! Outcomes of trials kept on disk, keyed by what the trial ran, so that a re-run of an
//! interrupted `bisect` (or tomorrow's `nightly`) does not repeat them. A key covers the
//! rendered configuration, the worker template, the interpreter, the number of probe
//! messages and the files of the case folder (its Python packages): change any of them and
//! the old outcomes no longer apply.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::case::{Case, Config};
use crate::python;
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
    /// The causes last found in each mode ("minimize", "isolate").
    results: HashMap<String, Vec<Vec<String>>>,
    /// What every key of this case shares: template, interpreter, case files.
    salt: String,
}

impl OutcomeCache {
    /// The cache of `case`; `fresh` forgets what was recorded before.
    pub fn open(case: &Case, interpreter: &Path, fresh: bool) -> OutcomeCache {
        let case_key = hex(case.path.as_os_str().as_encoded_bytes());
        let path = python::cache_root().join("outcomes").join(format!(
            "{}-{}.jsonl",
            case.name,
            &case_key[..12]
        ));
        let mut outcomes: HashMap<String, Vec<Outcome>> = HashMap::new();
        let mut results = HashMap::new();
        if !fresh && let Ok(file) = File::open(&path) {
            for line in BufReader::new(file).lines().map_while(Result::ok) {
                // A line cut short by an interruption is skipped, not fatal.
                match serde_json::from_str::<Line>(&line) {
                    Ok(Line::Outcome { key, outcome }) => {
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
                .append(!fresh)
                .write(true)
                .truncate(fresh)
                .open(&path)
                .ok()
        });
        // The worker is rendered from the template's source and the configuration: the
        // source is part of every key, the configuration of each.
        let salt = format!(
            "{}\n{}\n{}\n{} messages\n{}",
            case.template,
            crate::template::worker_source(&case.template).unwrap_or_default(),
            interpreter.display(),
            case.oracle.messages,
            folder_fingerprint(&case.dir)
        );
        OutcomeCache {
            file,
            outcomes,
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

    /// The `index`-th outcome recorded for `key`.
    pub fn get(&self, key: &str, index: usize) -> Option<&Outcome> {
        self.outcomes.get(key)?.get(index)
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
        if let Some(file) = &mut self.file
            && let Ok(text) = serde_json::to_string(line)
        {
            // One write per line, so that an interruption loses at most this one.
            let _ = file.write_all(format!("{text}\n").as_bytes());
        }
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

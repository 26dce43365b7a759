//! Where minrepro keeps what outlives a run. A module of its own, below everything that
//! keeps something there: the brokers' records of trials in flight, the interpreters, the
//! recorded outcomes and latencies, the agents' case files.

use std::path::PathBuf;

/// Where minrepro keeps what outlives a run: interpreters, verdict caches.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MINREPRO_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("minrepro");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("minrepro"),
        None => std::env::temp_dir().join("minrepro-cache"),
    }
}

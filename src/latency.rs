//! `timeout = "auto"`: how long a worker may take before it counts as pending, derived from
//! how fast passing configurations were processed here, with a safe floor. Latencies are
//! remembered per template, interpreter and number of probe messages, so that a one-off `run` benefits too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::python;

/// Never less: a Python start-up on a loaded machine can take this long.
pub const FLOOR: Duration = Duration::from_secs(3);
/// Never more, however slow the history.
const CEILING: Duration = Duration::from_secs(60);
/// Before any passing trial was seen.
pub const WITHOUT_HISTORY: Duration = Duration::from_secs(10);
/// A slow pass is this many times the usual one before it is called a hang.
const FACTOR: f64 = 4.0;
const KEPT: usize = 50;

/// The timeout for latencies seen so far (seconds).
pub fn auto_timeout(latencies: &[f64]) -> Duration {
    match percentile_90(latencies) {
        None => WITHOUT_HISTORY,
        Some(p90) => Duration::from_secs_f64(p90 * FACTOR).clamp(FLOOR, CEILING),
    }
}

fn percentile_90(latencies: &[f64]) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted[((sorted.len() - 1) as f64 * 0.9).round() as usize])
}

/// Latencies of passing trials, kept on disk.
pub struct LatencyHistory {
    path: PathBuf,
    samples: Vec<f64>,
}

impl LatencyHistory {
    /// The history of `template` on `interpreter` with `messages` probe messages per
    /// trial (processing 500 messages takes longer than one).
    pub fn load(template: &str, interpreter: &Path, messages: u32) -> LatencyHistory {
        let key = format!(
            "{:x}",
            Sha256::digest(interpreter.as_os_str().as_encoded_bytes())
        );
        let load = if messages > 1 {
            format!("-{messages}msg")
        } else {
            String::new()
        };
        let path = python::cache_root()
            .join("latency")
            .join(format!("{template}-{}{load}.json", &key[..12]));
        let samples = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        LatencyHistory { path, samples }
    }

    pub fn timeout(&self) -> Duration {
        auto_timeout(&self.samples)
    }

    /// How long a passing trial takes at most, usually (the 90th percentile).
    pub fn usual_pass(&self) -> Option<Duration> {
        percentile_90(&self.samples).map(Duration::from_secs_f64)
    }

    /// Remembers a passing trial's latency. Losing one to a concurrent writer is harmless,
    /// so the file is replaced atomically without a lock.
    pub fn record(&mut self, latency: Duration) {
        self.samples.push(latency.as_secs_f64());
        if self.samples.len() > KEPT {
            self.samples.drain(..self.samples.len() - KEPT);
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(file) = tempfile::NamedTempFile::new_in(dir)
            && serde_json::to_writer(&file, &self.samples).is_ok()
        {
            let _ = file.persist(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_follows_slow_passes_between_floor_and_ceiling() {
        assert_eq!(auto_timeout(&[]), WITHOUT_HISTORY);
        assert_eq!(auto_timeout(&[0.5, 0.6, 0.7]), FLOOR);
        assert_eq!(auto_timeout(&[2.0; 10]), Duration::from_secs(8));
        assert_eq!(auto_timeout(&[100.0]), CEILING);
    }
}

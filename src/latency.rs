//! `timeout = "auto"`: how long a worker may take before it counts as pending, derived from
//! how fast passing configurations were processed here, with a safe floor. Latencies are
//! remembered per case (and per template, interpreter and number of probe messages), so
//! that a one-off `run` benefits too; a case without its own yet starts from the median of
//! every case's on this interpreter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Never less: a Python start-up on a loaded machine can take this long.
pub const FLOOR: Duration = Duration::from_secs(3);
/// Never more, however slow the history.
const CEILING: Duration = Duration::from_secs(60);
/// Before any passing trial was seen.
pub const WITHOUT_HISTORY: Duration = Duration::from_secs(10);
/// A slow pass is this many times the usual one before it is called a hang.
const FACTOR: f64 = 4.0;
const KEPT: usize = 50;

fn percentile_90(latencies: &[f64]) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted[((sorted.len() - 1) as f64 * 0.9).round() as usize])
}

/// The median, for a history of other cases: less swayed by a burst of slow passes (a
/// loaded machine) than a high quantile.
fn median(latencies: &[f64]) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(sorted[sorted.len() / 2])
}

/// Samples of a case's own before its history is trusted over the machine's.
const OWN_SAMPLES: usize = 5;

/// Latencies of passing trials, kept on disk: the case's own, and those of every case on
/// this interpreter (a prior for a case not seen yet).
pub struct LatencyHistory {
    own: Samples,
    machine: Samples,
}

struct Samples {
    path: PathBuf,
    values: Vec<f64>,
}

impl Samples {
    fn load(path: PathBuf) -> Samples {
        let values = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Samples { path, values }
    }

    /// Losing one sample to a concurrent writer is harmless, so the file is replaced
    /// atomically without a lock.
    fn record(&mut self, latency: f64) {
        self.values.push(latency);
        if self.values.len() > KEPT {
            self.values.drain(..self.values.len() - KEPT);
        }
        let Some(dir) = self.path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(file) = tempfile::NamedTempFile::new_in(dir)
            && serde_json::to_writer(&file, &self.values).is_ok()
        {
            let _ = file.persist(&self.path);
        }
    }
}

impl LatencyHistory {
    /// The history of `case` (a case file, known by its content: a copy elsewhere is the
    /// same worker) with `template` on `interpreter` with `messages` probe messages per
    /// trial (processing 500 messages takes longer than one).
    pub fn load(
        cache_dir: &Path,
        template: &str,
        interpreter: &Path,
        messages: u32,
        case: &Path,
    ) -> LatencyHistory {
        let digest = |bytes: &[u8]| format!("{:x}", Sha256::digest(bytes))[..12].to_string();
        let load = if messages > 1 {
            format!("-{messages}msg")
        } else {
            String::new()
        };
        let base = format!(
            "{template}-{}{load}",
            digest(interpreter.as_os_str().as_encoded_bytes())
        );
        let dir = cache_dir.join("latency");
        LatencyHistory {
            own: Samples::load(dir.join(format!(
                    "{base}-case-{}.json",
                    digest(
                        &std::fs::read(case)
                            .unwrap_or_else(|_| case.as_os_str().as_encoded_bytes().to_vec())
                    )
                ))),
            machine: Samples::load(dir.join(format!("{base}.json"))),
        }
    }

    /// The typical slow pass: the case's own 90th percentile once it has a few, else the
    /// median of every case's.
    fn typical(&self) -> Option<f64> {
        if self.own.values.len() >= OWN_SAMPLES {
            percentile_90(&self.own.values)
        } else {
            median(&self.machine.values)
        }
    }

    /// Until the case has passes of its own, never less than `WITHOUT_HISTORY`: other
    /// cases say little about one whose start-up is slow (an app importing for seconds).
    pub fn timeout(&self) -> Duration {
        let Some(typical) = self.typical() else {
            return WITHOUT_HISTORY;
        };
        let timeout = Duration::from_secs_f64(typical * FACTOR).clamp(FLOOR, CEILING);
        if self.own.values.len() < OWN_SAMPLES {
            timeout.max(WITHOUT_HISTORY)
        } else {
            timeout
        }
    }

    /// How long a passing trial takes at most, usually.
    pub fn usual_pass(&self) -> Option<Duration> {
        self.typical().map(Duration::from_secs_f64)
    }

    /// Remembers a passing trial's latency, for this case and for the machine.
    pub fn record(&mut self, latency: Duration) {
        self.own.record(latency.as_secs_f64());
        self.machine.record(latency.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(own: &[f64], machine: &[f64]) -> LatencyHistory {
        let samples = |values: &[f64]| Samples {
            path: PathBuf::new(),
            values: values.to_vec(),
        };
        LatencyHistory {
            own: samples(own),
            machine: samples(machine),
        }
    }

    #[test]
    fn the_timeout_follows_slow_passes_between_floor_and_ceiling() {
        assert_eq!(history(&[], &[]).timeout(), WITHOUT_HISTORY);
        assert_eq!(history(&[0.5, 0.6, 0.7, 0.6, 0.5], &[]).timeout(), FLOOR);
        assert_eq!(history(&[2.0; 10], &[]).timeout(), Duration::from_secs(8));
        assert_eq!(history(&[100.0; 5], &[]).timeout(), CEILING);
    }

    #[test]
    fn a_new_case_waits_safely_until_its_own_passes_decide() {
        // Fast passes elsewhere say nothing of this case's start-up: the safe timeout.
        let mut machine = vec![0.3; 30];
        machine.extend([3.0; 10]);
        assert_eq!(history(&[], &machine).timeout(), WITHOUT_HISTORY);
        assert_eq!(history(&[0.3; 4], &machine).timeout(), WITHOUT_HISTORY);
        // Slow ones everywhere: longer still.
        assert_eq!(history(&[], &[5.0; 10]).timeout(), Duration::from_secs(20));
        // Once the case has its own, they decide.
        assert_eq!(
            history(&[2.0; 5], &machine).timeout(),
            Duration::from_secs(8)
        );
    }
}

//! `--reduce-messages`: the smallest load that still shows the failure. Once a cause is
//! found with the case's N messages (probe messages, or the launch's own replayed: the first
//! ones of its shapes, in order), the cause's configuration is run with fewer,
//! by binary search between 1 (which must pass, or the load does not matter) and N. More
//! load is taken to fail at least as readily as less, which is what a pipe or a pool that
//! fills up does.

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::messages::LaunchMessage;
use crate::reduce::Verdict;
use crate::trial::{Runner, TrialSpec};
use crate::verdict::Judge;

/// What the search found.
#[derive(Debug, Clone, Serialize)]
pub struct LoadFinding {
    /// The fewest messages that showed the failure.
    pub fails_from: u32,
    /// The most messages seen processed (`None`: even one message fails).
    pub passes_up_to: Option<u32>,
    /// Trials the search ran.
    pub trials: u32,
}

/// The number of messages a trial of `spec` sends.
pub fn size(spec: &TrialSpec<'_>) -> u32 {
    count(spec.messages, spec.replay)
}

/// The number of messages a trial sends: the launch's own where it replays them, else
/// `probe` probe messages.
pub fn count(probe: u32, replay: &[LaunchMessage]) -> u32 {
    if replay.is_empty() {
        probe
    } else {
        replay.iter().map(|m| m.count).sum()
    }
}

/// The first `n` of the launch's messages, shape after shape.
fn first_messages(replay: &[LaunchMessage], n: u32) -> Vec<LaunchMessage> {
    let mut left = n;
    let mut kept = Vec::new();
    for message in replay {
        if left == 0 {
            break;
        }
        let count = message.count.min(left);
        left -= count;
        kept.push(LaunchMessage {
            count,
            until: if count == message.count {
                message.until
            } else {
                message.at
            },
            ..message.clone()
        });
    }
    kept
}

/// The smallest number of messages, up to all of `spec`'s (which fails), with which
/// `spec`'s configuration still fails the same way.
pub async fn smallest_load(
    runner: &dyn Runner,
    spec: TrialSpec<'_>,
    judge: &Judge,
    stop: &CancellationToken,
) -> Result<LoadFinding, Error> {
    let mut trials = 0;
    let fails = async |messages: u32| -> Result<bool, Error> {
        let replay = first_messages(spec.replay, messages);
        let trial = TrialSpec {
            messages,
            replay: if spec.replay.is_empty() { &[] } else { &replay },
            ..spec
        };
        let record = runner.run(&trial, stop).await?;
        Ok(judge.verdict(&record.outcome) == Verdict::Fail)
    };
    trials += 1;
    if fails(1).await? {
        return Ok(LoadFinding {
            fails_from: 1,
            passes_up_to: None,
            trials,
        });
    }
    let (mut passes, mut failing) = (1, size(&spec).max(2));
    while failing - passes > 1 {
        let middle = passes + (failing - passes) / 2;
        trials += 1;
        if fails(middle).await? {
            failing = middle;
        } else {
            passes = middle;
        }
    }
    Ok(LoadFinding {
        fails_from: failing,
        passes_up_to: Some(passes),
        trials,
    })
}

//! `--reduce-messages`: the smallest load that still shows the failure. Once a cause is
//! found with the case's N probe messages, the cause's configuration is run with fewer,
//! by binary search between 1 (which must pass, or the load does not matter) and N. More
//! load is taken to fail at least as readily as less, which is what a pipe or a pool that
//! fills up does.

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
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

/// The smallest number of probe messages, up to `messages` (which fails), with which
/// `spec`'s configuration still fails the same way.
pub async fn smallest_load(
    runner: &dyn Runner,
    spec: TrialSpec<'_>,
    judge: &Judge,
    stop: &CancellationToken,
) -> Result<LoadFinding, Error> {
    let mut trials = 0;
    let fails = async |messages: u32| -> Result<bool, Error> {
        let record = runner.run(&TrialSpec { messages, ..spec }, stop).await?;
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
    let (mut passes, mut failing) = (1, spec.messages.max(2));
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

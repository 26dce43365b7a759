//! `minrepro agent`: serve trial requests until stopped.

use crate::agent::{self, serve::Agent};
use crate::cli::AgentArgs;
use crate::error::{Error, Exit};

pub async fn agent(args: AgentArgs) -> Result<Exit, Error> {
    let agent = Agent {
        work_url: args.broker,
        slots: args.slots,
        python: args.python,
        key: agent::key()?,
        stop: super::cancel_on_signals(),
    };
    agent.serve().await?;
    Ok(Exit::Done)
}

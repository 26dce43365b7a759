//! `minrepro capture --out FILE [--match MODULE] -- COMMAND...`

use crate::capture::{self, Request};
use crate::cli::CaptureArgs;
use crate::error::Error;

pub async fn capture(args: CaptureArgs) -> Result<i32, Error> {
    let interrupted = crate::commands::cancel_on_signals();
    let captured = capture::capture(
        Request {
            out: args.out.clone(),
            trigger: args.trigger,
            duration: args.duration,
            python_envs: args.python_envs,
            command: args.command,
        },
        interrupted,
    )
    .await?;
    eprintln!(
        "minrepro: wrote {}: process {}, {} env vars, {} imports, {} probe message{} per trial{}",
        args.out.display(),
        captured.pid,
        captured.env_vars,
        captured.imports,
        captured.messages,
        if captured.messages == 1 { "" } else { "s" },
        captured
            .command_status
            .map(|code| format!("; the command exited with {code}"))
            .unwrap_or_default()
    );
    for note in &captured.notes {
        eprintln!("  {note}");
    }
    Ok(0)
}

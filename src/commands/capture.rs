//! `minrepro capture --out FILE [--match MODULE] -- COMMAND...`, and `capture --clean`.

use crate::capture::{self, Request};
use crate::cli::CaptureArgs;
use crate::error::{Error, Exit};

pub async fn capture(args: CaptureArgs) -> Result<Exit, Error> {
    if args.clean {
        let removed = capture::clean(&args.python_envs);
        eprintln!(
            "minrepro: removed {} hook{} left by earlier captures{}",
            removed.len(),
            if removed.len() == 1 { "" } else { "s" },
            removed
                .iter()
                .map(|p| format!("\n  {}", p.display()))
                .collect::<String>()
        );
        return Ok(Exit::Done);
    }
    let out = args
        .out
        .clone()
        .expect("clap requires --out without --clean");
    let interrupted = crate::commands::cancel_on_signals();
    let captured = capture::capture(
        Request {
            out: out.clone(),
            trigger: args.trigger,
            duration: args.duration,
            python_envs: args.python_envs,
            command: args.command,
        },
        interrupted,
    )
    .await?;
    let load = match captured.messages {
        0 => "minrepro's probe".to_string(),
        1 => "the launch's 1 message replayed".to_string(),
        n => format!("the launch's {n} messages replayed"),
    };
    eprintln!(
        "minrepro: wrote {}: process {}, {} env vars, {} imports, {load} per trial{}",
        out.display(),
        captured.pid,
        captured.env_vars,
        captured.imports,
        captured
            .command_status
            .map(|code| format!("; the command exited with {code}"))
            .unwrap_or_default()
    );
    for note in &captured.notes {
        eprintln!("  {note}");
    }
    if let Some(why) = &captured.not_pending {
        eprintln!("minrepro: warning: {why}");
    }
    Ok(Exit::Done)
}

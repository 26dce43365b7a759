//! minrepro: runs real Dramatiq, Celery and RQ workers against their brokers to find the
//! smallest configuration that still shows a failure. This file parses the command line, runs one function per
//! subcommand and maps errors to exit statuses.

mod agent;
mod bisect;
mod broker;
mod cache_dir;
mod capture;
mod case;
mod cli;
mod commands;
mod error;
mod framework;
mod latency;
mod launch;
mod lines;
mod messages;
mod nightly;
mod process_tree;
mod python;
mod redact;
mod reduce;
mod report;
mod template;
mod trial;
mod verdict;

use std::io::IsTerminal;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            std::process::exit(error::Exit::Infra.code());
        }
    };
    let code = match runtime.block_on(commands::dispatch(cli.command)) {
        Ok(exit) => exit.code(),
        Err(err) => {
            if !matches!(err, error::Error::Interrupted) {
                eprintln!("{}", err.render(std::io::stderr().is_terminal()));
            }
            err.exit().code()
        }
    };
    // Trials clean up before their command returns; nothing of theirs is left to wait for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    std::process::exit(code);
}

//! `mxauth`: the command-line entry point. Parses arguments, loads the
//! configuration and runs one command. Errors end the process with a
//! non-zero exit code and a one-line reason.

mod args;
mod commands;
mod config_loader;
mod dev_mode;
mod generate;
mod prompt;
mod resolve;
mod sqlite_lock;

use clap::Parser;

fn init_logging() {
    use tracing_subscriber::{fmt, EnvFilter};
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    use std::io::IsTerminal;
    fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn main() -> std::process::ExitCode {
    let args = args::Args::parse_from(args::split_joined_flags(std::env::args_os()));
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(args)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes, joined.
            let causes: Vec<String> = e.chain().skip(1).map(|c| c.to_string()).collect();
            let mut line = e.to_string();
            for cause in causes {
                if !line.contains(&cause) {
                    line.push_str(": ");
                    line.push_str(&cause);
                }
            }
            eprintln!("error: {line}");
            std::process::ExitCode::FAILURE
        }
    }
}

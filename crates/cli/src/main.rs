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
mod telemetry;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = args::Args::parse_from(args::split_joined_flags(std::env::args_os()));
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
    let log_format = args.log_format;
    let preloaded = commands::preload(&args);
    let tracing = preloaded
        .as_ref()
        .and_then(|loaded| loaded.as_ref().ok())
        .map(|config| &config.telemetry.tracing);
    let telemetry = telemetry::init(log_format, tracing, runtime.handle());
    let outcome = runtime.block_on(commands::run(args, preloaded));
    // The last spans leave while the runtime still runs their requests.
    drop(telemetry);
    match outcome {
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
            if log_format == args::LogFormat::Json {
                // Still one JSON object per line.
                tracing::error!("{line}");
            } else {
                eprintln!("error: {line}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

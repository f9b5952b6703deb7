//! `dmil`: train, compare and probe DMIL from the command line (DESIGN.md section 4).
//!
//! Results go to stdout (a table, or one JSON object with `--json`); progress bars, epoch
//! lines and errors go to stderr. Exit status 0 on success, 1 on an error the user can fix,
//! with the message on stderr.

#[macro_use]
mod output;
mod alloc;
mod cli;
mod commands;
mod outdir;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version requests succeed; a usage error is one the user can fix.
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Train(args) => commands::train::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Eval(args) => commands::checkpoint::eval(args),
        Command::Predict(args) => commands::checkpoint::predict(args),
        Command::Pid(args) => commands::pid::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Synth(args) => commands::synth::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

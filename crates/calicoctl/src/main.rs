//! `calicoctl`: parses the command line, runs one command, prints its result.
//!
//! Errors are rendered once, here: the message on stderr followed by a newline, exit code 1,
//! as Calico's calicoctl does.

mod cli;
mod clientmgr;
mod cobra;
mod cobra_spec;
mod commands;
mod gotemplate;
mod input;
mod output;
mod progress;
mod registry;
mod report;
mod resources;
mod table;
mod tabwriter;

use std::io::Write;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        cli::Parsed::Run(cli) => cli,
        cli::Parsed::Exit {
            stdout,
            stderr,
            code,
        } => {
            print!("{stdout}");
            eprint!("{stderr}");
            return ExitCode::from(code);
        }
    };
    match commands::run(cli) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            // A closed stdout (e.g. piped into `head`) is not worth a second error.
            let _ = stdout.write_all(output.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(failure.stdout.as_bytes());
            let _ = stdout.flush();
            eprintln!("{}", failure.message);
            ExitCode::from(1)
        }
    }
}

//! `calicoctl`: parses the command line, runs one command, prints its result.
//!
//! Errors are rendered once, here: the message on stderr followed by a newline, exit code 1,
//! as Calico's calicoctl does.

mod cli;
mod clientmgr;
mod cobra;
mod cobra_spec;
mod commands;
// `ipam show` will use these (Go's number formats, go-pretty's tables).
#[allow(dead_code)]
mod gofmt;
mod gotemplate;
mod input;
mod logging;
mod output;
#[allow(dead_code)]
mod prettytable;
mod progress;
mod registry;
mod report;
mod resources;
mod table;
mod tabwriter;

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
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
            write_out(&stdout);
            eprint!("{}", terminal_safe(&stderr));
            return ExitCode::from(code);
        }
    };
    logging::init(&cli.log_level);
    // `diff` (kubectl's contract): 1 means "differences", so its errors exit with 2.
    let error_code = if matches!(cli.command, cli::Command::Diff(_)) {
        2
    } else {
        1
    };
    match commands::run(cli) {
        Ok(output) => {
            write_out(&output);
            ExitCode::SUCCESS
        }
        Err(failure) => {
            write_out(&failure.stdout);
            // A failure Calico reports on stdout alone (e.g. an invalid `--ip`) has no message.
            if !failure.message.is_empty() {
                eprintln!("{}", terminal_safe(&failure.message));
                return ExitCode::from(error_code);
            }
            ExitCode::from(1)
        }
    }
}

/// Writes to stdout: as it is into a pipe or file (byte-identical with Calico's), with control
/// characters escaped on a terminal.
fn write_out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let text = if stdout.is_terminal() {
        terminal_safe(text)
    } else {
        Cow::Borrowed(text)
    };
    // A closed stdout (e.g. piped into `head`) is not worth a second error.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Control characters other than newline and tab (escape sequences that could rewrite the
/// terminal, quoted from input into an error) escaped as `\x1b`, `\u{9b}`. Used for stderr
/// always (Calico prints them raw) and for stdout on a terminal.
pub(crate) fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if (c as u32) < 0x80 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal_safe("plain\n\ttext"), "plain\n\ttext");
        assert_eq!(
            terminal_safe("name \u{1b}[31mred\u{7}\r\u{9b}2J"),
            "name \\x1b[31mred\\x07\\x0d\\u{9b}2J"
        );
    }
}

//! `gbb`: the command line. A thin shell over the library crates: parse arguments (`cli`),
//! turn them into typed settings, call the library, print the result (`printer`), and map
//! errors to exit codes (`exit`).

mod cli;
mod commands;
mod context;
mod exit;
mod orphans;
mod printer;
mod progress;
mod shell_session;
mod signals;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let printer = printer::Printer::new(args.verbose);
    match commands::run(args, &printer) {
        Ok(code) => code,
        Err(error) => {
            printer.error(&error);
            exit::code_for(&error)
        }
    }
}

//! The `main` every command-line guest writes: parse the arguments, print
//! the usage on `--help` or on a bad argument, run, and turn the outcome
//! into an exit status.

use std::error::Error;
use std::process::ExitCode;

/// Runs a command-line guest called `name`.
///
/// `parse` gets the arguments after argv[0] and returns `Ok(None)` when the
/// help text was asked for; its `Err` is printed with `usage` and exits 2
/// (1 under WASI 0.2's success-or-failure `exit`). An error from `run` is
/// printed as `name: error` and exits 1.
pub fn main<A>(
    name: &str,
    usage: &str,
    parse: impl FnOnce(std::iter::Skip<std::env::Args>) -> Result<Option<A>, String>,
    run: impl FnOnce(&A) -> Result<(), Box<dyn Error>>,
) -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint!("{name}: {message}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {error}");
            ExitCode::FAILURE
        }
    }
}

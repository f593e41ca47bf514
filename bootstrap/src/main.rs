//! The multi-call Lambda binary: one `bootstrap` that every function deploys. Lambda sets
//! `_HANDLER` to the function's `Handler` property (template.yaml: the function's name, e.g.
//! `create-booking`); this runs that function exactly as its own `main.rs` does. One link of
//! every handler instead of 31 (see README, Deploying), while each function stays its own Lambda
//! with its own role and settings.
//!
//! The table of functions is the library's (`src/lib.rs`), shared with the local stack.

use boxoffice::runtime::{self, Error};
use boxoffice_bootstrap::{function, names};
use std::process::ExitCode;

/// The named function's runtime loop (what its own `main.rs` runs); `None` for an unknown name.
fn run(name: &str) -> Option<Result<(), Error>> {
    let (_, function) = function(name)?;
    Some(runtime::run(function))
}

fn main() -> ExitCode {
    let Ok(handler) = std::env::var("_HANDLER") else {
        eprintln!(
            "bootstrap: _HANDLER is not set; Lambda sets it to the function's Handler, one of: {}",
            names().join(", ")
        );
        return ExitCode::from(2);
    };
    match run(&handler) {
        Some(Ok(())) => ExitCode::SUCCESS,
        // What a function's own `main` (returning `Result`) prints before exiting with 1.
        Some(Err(e)) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!(
                "bootstrap: _HANDLER={handler:?} names no function; the function's Handler must be one of: {}",
                names().join(", ")
            );
            ExitCode::from(2)
        }
    }
}

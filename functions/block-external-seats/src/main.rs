//! The `block-external-seats` Lambda binary: configuration, secrets and SDK clients built once per cold
//! start, then the runtime loop around the library's handler.

use block_external_seats::FUNCTION;
use boxoffice::{runtime, Deps};

fn main() -> Result<(), runtime::Error> {
    runtime::block_on(async {
        let deps = Deps::from_env(FUNCTION.secrets).await?;
        runtime::serve(deps, FUNCTION.handler).await
    })
}

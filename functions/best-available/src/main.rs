//! The `best-available` Lambda binary: configuration, secrets and SDK clients built once per cold
//! start, then the runtime loop around the library's handler.

use best_available::FUNCTION;
use boxoffice::{runtime, Deps};

fn main() -> Result<(), runtime::Error> {
    runtime::block_on(async {
        let deps = Deps::from_env(FUNCTION.secrets).await?;
        runtime::serve(deps, FUNCTION.handler).await
    })
}

//! The `put-show-queue` Lambda binary: configuration, secrets and SDK clients built once per cold
//! start, then the runtime loop around the library's handler.

use boxoffice::{runtime, Deps};
use put_show_queue::FUNCTION;

fn main() -> Result<(), runtime::Error> {
    runtime::block_on(async {
        let deps = Deps::from_env(FUNCTION.secrets).await?;
        runtime::serve(deps, FUNCTION.handler).await
    })
}

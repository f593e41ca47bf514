//! The cold-start floor: the smallest function `lambda_runtime` can run (it echoes its event).
//! `make bench` starts it on the same Runtime API stub as the real functions.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}

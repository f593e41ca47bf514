//! SDK clients from one `SdkConfig`, loaded from the standard environment only, so that
//! `AWS_ENDPOINT_URL_DYNAMODB` / `_SQS` / `_EVENTBRIDGE` point them at emulators locally.

use aws_config::{timeout::TimeoutConfig, BehaviorVersion, SdkConfig};
use std::time::Duration;

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}

/// Every AWS call ends well inside the functions' 10 s timeout, so a stuck call becomes the
/// contract's 503 (with Retry-After) or a retried message, never a Lambda timeout. A hung attempt
/// is retried by the SDK (3 attempts); writes that are not naturally idempotent carry a client
/// request token, so a retry after a lost response cannot apply twice.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(7))
        .build()
}

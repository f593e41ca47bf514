//! SDK clients from one `SdkConfig`, loaded from the standard environment only, so that
//! `AWS_ENDPOINT_URL_DYNAMODB` / `_SQS` / `_EVENTBRIDGE` point them at emulators locally.

use aws_config::{BehaviorVersion, SdkConfig};

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

//! SDK-level failure injection (the only kind of mock used): DynamoDB answers a genuine
//! `ThrottlingException` to every request whose body mentions a chosen string.

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            context::{
                BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
            },
            Intercept,
        },
        runtime_components::RuntimeComponents,
    },
    http::{Response, StatusCode},
};
use aws_smithy_types::{
    body::SdkBody,
    config_bag::{ConfigBag, Storable, StoreReplace},
};

#[derive(Debug, Clone)]
pub struct ThrottleWhen(pub String);

#[derive(Debug, Clone)]
struct Throttled;

impl Storable for Throttled {
    type Storer = StoreReplace<Self>;
}

impl Intercept for ThrottleWhen {
    fn name(&self) -> &'static str {
        "ThrottleWhen"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let hit = ctx
            .request()
            .body()
            .bytes()
            .is_some_and(|b| String::from_utf8_lossy(b).contains(&self.0));
        if hit {
            cfg.interceptor_state().store_put(Throttled);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        ctx: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Throttled>().is_some() {
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
            let mut resp = Response::new(StatusCode::try_from(400u16)?, SdkBody::from(body));
            resp.headers_mut()
                .insert("content-type", "application/x-amz-json-1.0");
            resp.headers_mut()
                .insert("x-amzn-query-error", "ThrottlingException;Sender");
            *ctx.response_mut() = resp;
        }
        Ok(())
    }
}

//! One error type for every handler: each variant knows its HTTP status and its contract code,
//! and `ApiError::to_response` renders the contract's error JSON with the correlation id.

use lambda_http::{http::StatusCode, Body, Response};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation {
        message: String,
        details: Option<Value>,
    },
    #[error("invalid signature")]
    InvalidSignature,
    #[error("{0}")]
    Unauthorized(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<String> },
    #[error("email taken")]
    EmailTaken,
    #[error("seats unavailable")]
    SeatLockFailed {
        show_id: String,
        unavailable_seat_ids: Vec<String>,
    },
    #[error("payment pending")]
    PaymentPending,
    #[error("{0}")]
    InvalidState(String),
    /// The hold redeems more loyalty points than the balance holds (an `INVALID_STATE`: the
    /// balance is state, and a concurrent redemption may have spent it).
    #[error("not enough points")]
    NotEnoughPoints { balance: i64, redeeming: i64 },
    #[error("already admitted")]
    AlreadyAdmitted { admitted_at: String },
    #[error("seats available")]
    SeatsAvailable { available_seats: u32 },
    #[error("booking expired")]
    BookingExpired,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("{0}")]
    NotPayable(String),
    #[error("{0}")]
    ShowNotBookable(String),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// The per-customer cap of seats held plus bought for one show.
    #[error("seat limit reached")]
    SeatLimitReached { limit: u32 },
    /// A queue-mode show refuses bookings without a valid admission token.
    #[error("{0}")]
    QueueRequired(String),
    /// A bug or an outage. The inner text is logged, never sent to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// A dependency is throttling or timing out: the client may retry.
    #[error("service unavailable: {0}")]
    ServiceUnavailable(String),
}

impl From<crate::domain::booking::HoldRefusal> for ApiError {
    fn from(r: crate::domain::booking::HoldRefusal) -> Self {
        use crate::domain::booking::{HoldRefusal::*, MAX_SEATS};
        match r {
            SeatCount => ApiError::validation(format!("seatIds must list 1–{MAX_SEATS} seats.")),
            DuplicateSeats(ids) => ApiError::validation_with(
                "seatIds must be distinct.",
                json!({ "duplicateSeatIds": ids }),
            ),
            NotBookable(reason) => ApiError::ShowNotBookable(reason.into()),
            UnknownSeats(ids) => ApiError::validation_with(
                "Some seats are not in this show.",
                json!({ "unknownSeatIds": ids }),
            ),
            Offer(message) | Points(message) => ApiError::validation(message),
            BadShowRecord(message) => ApiError::Internal(message),
        }
    }
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            details: None,
        }
    }

    pub fn validation_with(message: impl Into<String>, details: Value) -> Self {
        ApiError::Validation {
            message: message.into(),
            details: Some(details),
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            Validation { .. } | InvalidSignature => StatusCode::BAD_REQUEST,
            Unauthorized(_) | InvalidCredentials => StatusCode::UNAUTHORIZED,
            Forbidden(_) | QueueRequired(_) => StatusCode::FORBIDDEN,
            NotFound(_) => StatusCode::NOT_FOUND,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            EmailTaken
            | SeatLockFailed { .. }
            | PaymentPending
            | InvalidState(_)
            | NotEnoughPoints { .. }
            | AlreadyAdmitted { .. }
            | SeatsAvailable { .. } => StatusCode::CONFLICT,
            BookingExpired => StatusCode::GONE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IdempotencyKeyReused | NotPayable(_) | ShowNotBookable(_) | SeatLimitReached { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            Validation { .. } => "VALIDATION_ERROR",
            InvalidSignature => "INVALID_SIGNATURE",
            Unauthorized(_) => "UNAUTHORIZED",
            InvalidCredentials => "INVALID_CREDENTIALS",
            Forbidden(_) => "FORBIDDEN",
            NotFound(_) => "NOT_FOUND",
            MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            EmailTaken => "EMAIL_TAKEN",
            SeatLockFailed { .. } => "SEAT_LOCK_FAILED",
            PaymentPending => "PAYMENT_PENDING",
            InvalidState(_) | NotEnoughPoints { .. } => "INVALID_STATE",
            AlreadyAdmitted { .. } => "ALREADY_ADMITTED",
            SeatsAvailable { .. } => "SEATS_AVAILABLE",
            BookingExpired => "BOOKING_EXPIRED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            NotPayable(_) => "NOT_PAYABLE",
            ShowNotBookable(_) => "SHOW_NOT_BOOKABLE",
            RateLimited { .. } => "RATE_LIMITED",
            SeatLimitReached { .. } => "SEAT_LIMIT_REACHED",
            QueueRequired(_) => "QUEUE_REQUIRED",
            Internal(_) => "INTERNAL_ERROR",
            ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
        }
    }

    /// The message a client sees. Server-side failures get a generic text.
    pub fn public_message(&self) -> String {
        use ApiError::*;
        match self {
            Validation { message, .. } => message.clone(),
            InvalidSignature => {
                "The webhook signature is missing, malformed, stale or wrong.".into()
            }
            Unauthorized(m) | Forbidden(m) | NotFound(m) | InvalidState(m) | NotPayable(m)
            | ShowNotBookable(m) | QueueRequired(m) => m.clone(),
            InvalidCredentials => "Email or password is wrong.".into(),
            MethodNotAllowed { .. } => "This method is not allowed on this path.".into(),
            EmailTaken => "An account with this email already exists.".into(),
            SeatLockFailed { .. } => "One or more seats are no longer available.".into(),
            NotEnoughPoints { balance, redeeming } => {
                format!("You have {balance} loyalty points; this booking redeems {redeeming}.")
            }
            PaymentPending => "Another payment for this booking is already in progress.".into(),
            AlreadyAdmitted { .. } => "This ticket has already been admitted.".into(),
            SeatsAvailable { .. } => {
                "Seats are still available for this show; book them instead.".into()
            }
            BookingExpired => "The hold on this booking has expired.".into(),
            PayloadTooLarge => "The request body is larger than 64 KiB.".into(),
            UnsupportedMediaType => "The request body must be application/json.".into(),
            IdempotencyKeyReused => {
                "This Idempotency-Key was used with a different request.".into()
            }
            RateLimited { .. } => "Too many requests; retry later.".into(),
            SeatLimitReached { limit } => {
                format!("You may hold or buy at most {limit} seats of this show.")
            }
            Internal(_) => "An internal error occurred.".into(),
            ServiceUnavailable(_) => "The service is temporarily unavailable; retry later.".into(),
        }
    }

    pub fn details(&self) -> Option<Value> {
        use ApiError::*;
        match self {
            Validation { details, .. } => details.clone(),
            MethodNotAllowed { allowed } => Some(json!({ "allowedMethods": allowed })),
            SeatLockFailed {
                show_id,
                unavailable_seat_ids,
            } => Some(json!({ "showId": show_id, "unavailableSeatIds": unavailable_seat_ids })),
            AlreadyAdmitted { admitted_at } => Some(json!({ "admittedAt": admitted_at })),
            SeatsAvailable { available_seats } => {
                Some(json!({ "availableSeats": available_seats }))
            }
            RateLimited { retry_after_secs } => {
                Some(json!({ "retryAfterSeconds": retry_after_secs }))
            }
            SeatLimitReached { limit } => Some(json!({ "maxSeatsPerCustomer": limit })),
            NotEnoughPoints { balance, redeeming } => {
                Some(json!({ "pointsBalance": balance, "redeemPoints": redeeming }))
            }
            _ => None,
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            ApiError::ServiceUnavailable(_) => Some(1),
            _ => None,
        }
    }

    /// The contract's error JSON.
    pub fn body(&self, correlation_id: &str) -> Value {
        let mut error = json!({
            "code": self.code(),
            "message": self.public_message(),
            "correlationId": correlation_id,
        });
        if let (Some(details), Some(obj)) = (self.details(), error.as_object_mut()) {
            obj.insert("details".into(), details);
        }
        json!({ "error": error })
    }

    pub fn to_response(&self, correlation_id: &str) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status())
            .header("content-type", "application/json")
            .header(crate::http::CORRELATION_HEADER, correlation_id);
        if let Some(secs) = self.retry_after() {
            builder = builder.header("retry-after", secs.to_string());
        }
        if let ApiError::MethodNotAllowed { allowed } = self {
            builder = builder.header("allow", allowed.join(", "));
        }
        let body = Body::Text(self.body(correlation_id).to_string());
        builder
            .body(body)
            .unwrap_or_else(|_| Response::new(Body::Empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_renders_the_contract_shape() {
        let errors = [
            (ApiError::validation("bad"), 400, "VALIDATION_ERROR"),
            (ApiError::Unauthorized("no".into()), 401, "UNAUTHORIZED"),
            (ApiError::Forbidden("no".into()), 403, "FORBIDDEN"),
            (ApiError::NotFound("no".into()), 404, "NOT_FOUND"),
            (
                ApiError::MethodNotAllowed {
                    allowed: vec!["GET".into()],
                },
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (ApiError::PayloadTooLarge, 413, "PAYLOAD_TOO_LARGE"),
            (
                ApiError::UnsupportedMediaType,
                415,
                "UNSUPPORTED_MEDIA_TYPE",
            ),
            (
                ApiError::RateLimited {
                    retry_after_secs: 7,
                },
                429,
                "RATE_LIMITED",
            ),
            (
                ApiError::Internal("db password=hunter2".into()),
                500,
                "INTERNAL_ERROR",
            ),
        ];
        for (e, status, code) in errors {
            let body = e.body("cid-1");
            assert_eq!(e.status().as_u16(), status);
            assert_eq!(body["error"]["code"], code);
            assert_eq!(body["error"]["correlationId"], "cid-1");
            assert!(
                !body.to_string().contains("hunter2"),
                "internal detail leaked: {body}"
            );
        }
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let resp = ApiError::RateLimited {
            retry_after_secs: 42,
        }
        .to_response("c");
        assert_eq!(resp.headers()["retry-after"], "42");
        assert_eq!(resp.headers()[crate::http::CORRELATION_HEADER], "c");
    }
}

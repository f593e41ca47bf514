//! Where notifications go besides the inbox: a structured log line by default, email through
//! SES when `NOTIFICATION_EMAIL_FROM` names a verified sender.

use aws_sdk_sesv2::{
    error::SdkError,
    operation::send_email::SendEmailError,
    types::{Body, Content, Destination, EmailContent, Message},
};
use boxoffice::{store::inbox::Notification, Deps};
use std::{future::Future, pin::Pin};

pub type Delivery<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth another try (throttling, timeouts, the provider's own failures): the invocation
    /// fails, so EventBridge delivers the event again and the send is retried.
    #[error("delivery failed for now: {0}")]
    Transient(String),
    /// Will fail the same way every time (unverified sender, bad address): logged, not retried.
    #[error("delivery rejected: {0}")]
    Rejected(String),
}

pub trait Channel: Send + Sync {
    fn name(&self) -> &'static str;
    fn deliver<'a>(&'a self, deps: &'a Deps, user_id: &'a str, n: &'a Notification)
        -> Delivery<'a>;
}

/// The default channel: a structured log line (no message text, which may carry personal data).
pub struct LogChannel;

impl Channel for LogChannel {
    fn name(&self) -> &'static str {
        "log"
    }

    fn deliver<'a>(&'a self, _: &'a Deps, user_id: &'a str, n: &'a Notification) -> Delivery<'a> {
        tracing::info!(user_id, notification_id = %n.notification_id, kind = %n.kind, "notification delivered");
        Box::pin(async { Ok(()) })
    }
}

/// Email through SES v2: the customer's address is read from their account at send time.
pub struct EmailChannel {
    ses: aws_sdk_sesv2::Client,
    from: String,
}

impl EmailChannel {
    pub fn new(ses: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        EmailChannel {
            ses,
            from: from.into(),
        }
    }

    async fn send(
        &self,
        deps: &Deps,
        user_id: &str,
        n: &Notification,
    ) -> Result<(), DeliveryError> {
        let user = deps
            .store
            .get_user(user_id)
            .await
            .map_err(|e| DeliveryError::Transient(e.to_string()))?
            .ok_or_else(|| DeliveryError::Rejected("no such account".into()))?;
        let text = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| DeliveryError::Rejected(e.to_string()))
        };
        let message = Message::builder()
            .subject(text(&subject(&n.kind))?)
            .body(Body::builder().text(text(&n.message)?).build())
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(user.email).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(classify)?;
        tracing::info!(user_id, notification_id = %n.notification_id, kind = %n.kind, "notification emailed");
        Ok(())
    }
}

impl Channel for EmailChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    fn deliver<'a>(
        &'a self,
        deps: &'a Deps,
        user_id: &'a str,
        n: &'a Notification,
    ) -> Delivery<'a> {
        Box::pin(self.send(deps, user_id, n))
    }
}

/// Which SES failures a retry can cure, by their type.
fn classify(e: SdkError<SendEmailError>) -> DeliveryError {
    let reason = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
    match e.as_service_error() {
        Some(
            SendEmailError::MessageRejected(_)
            | SendEmailError::MailFromDomainNotVerifiedException(_)
            | SendEmailError::AccountSuspendedException(_)
            | SendEmailError::SendingPausedException(_)
            | SendEmailError::BadRequestException(_)
            | SendEmailError::NotFoundException(_),
        ) => DeliveryError::Rejected(reason),
        _ => DeliveryError::Transient(reason),
    }
}

/// The email subject for a notification type.
pub fn subject(kind: &str) -> String {
    let what = match kind {
        "BOOKING_CONFIRMED" => "Your booking is confirmed",
        "BOOKING_CANCELLED" => "Your booking is cancelled",
        "BOOKING_EXPIRED" => "Your seat hold expired",
        "PAYMENT_FAILED" => "Your payment failed",
        "REFUND_INITIATED" => "Your refund is on its way",
        "SHOW_CANCELLED" => "Your show is cancelled",
        "SHOW_REMINDER" => "Your show starts soon",
        "WAITLIST_SEATS_AVAILABLE" => "Seats came free for your show",
        _ => "A message about your booking",
    };
    format!("BoxOffice: {what}")
}

/// The channel this container delivers through, chosen by configuration once per cold start.
pub struct Delivering(pub Box<dyn Channel>);

pub fn channel_for(deps: &Deps) -> std::sync::Arc<Delivering> {
    deps.extension(|deps| match &deps.config.notification_email_from {
        Some(from) => Delivering(Box::new(EmailChannel::new(
            aws_sdk_sesv2::Client::new(&deps.sdk),
            from.clone(),
        ))),
        None => Delivering(Box::new(LogChannel)),
    })
}

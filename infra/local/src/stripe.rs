//! localstripe, the local stand-in for Stripe: the stack registers its gateway's Stripe webhook
//! there, signed with the stage's `stripeWebhookSecret`, as an operator does in Stripe's dashboard.

use boxoffice::Deps;

/// Registers `gateway_api` (`http://127.0.0.1:PORT/api/v1`) + `/payments/webhooks/stripe` under
/// `name` (one registration per stack: several stacks share one localstripe in the tests).
pub async fn register_webhook(deps: &Deps, name: &str, gateway_api: &str) -> Result<(), String> {
    let secret = deps
        .config
        .stripe_webhook_secret
        .as_ref()
        .ok_or("the stack has no stripeWebhookSecret")?;
    let stripe = deps.stripe().map_err(|e| e.to_string())?;
    let form = [
        ("url", format!("{gateway_api}/payments/webhooks/stripe")),
        ("secret", secret.expose().to_owned()),
    ];
    match stripe
        .send(&format!("/_config/webhooks/{name}"), &form, None)
        .await
    {
        Ok((200, _)) => Ok(()),
        Ok((status, body)) => Err(format!(
            "localstripe at {} refused the webhook: {status} {}",
            stripe.base(),
            String::from_utf8_lossy(&body)
        )),
        Err(e) => Err(format!("localstripe at {}: {e}", stripe.base())),
    }
}

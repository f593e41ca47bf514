//! `make run`: provisions the emulators from template.yaml, seeds demo data and serves every
//! function on http://127.0.0.1:$PORT until Ctrl-C.

use boxoffice::{auth::hash_password, config::AdminAccount};
use boxoffice_local::{
    gateway::Gateway,
    seed::{self, seed_accounts, seed_catalog, seed_loyalty, seed_offers},
    LocalStack,
};
use std::{collections::HashMap, sync::Arc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    boxoffice::logging::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // Schedules run every SCHEDULE_SECONDS locally (10 by default) instead of their AWS rates.
    let schedule_seconds: u64 = std::env::var("SCHEDULE_SECONDS")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(10);
    let admin_password = format!("admin-{}", &boxoffice_local::random_secret()[..12]);
    let admin = AdminAccount {
        email: "admin@boxoffice.local".into(),
        name: "Local Admin".into(),
        password_hash: hash_password(&admin_password)?,
    };
    let mut overrides = HashMap::new();
    overrides.insert(
        "ADMIN_ACCOUNTS",
        serde_json::to_string(&serde_json::json!([{
            "email": admin.email, "name": admin.name, "passwordHash": admin.password_hash
        }]))?,
    );
    let stack = LocalStack::start("boxoffice-local", &overrides).await?;
    let (accounts, users) = seed_accounts(&stack.deps, &admin, &admin_password).await?;
    let gateway = Arc::new(Gateway::new(&stack.template, stack.deps.clone()));
    let catalog = seed_catalog(&gateway, &stack.deps, &users[0], &users[1]).await?;
    let (shows, queued) = (catalog.shows, catalog.queued);
    let offers = seed_offers(&gateway, &stack.deps, &users[0]).await?;
    // Confirmed (and its points earned) once the triggers below deliver its payment.
    if let Some(show) = &catalog.first_show {
        seed_loyalty(&gateway, &stack.deps, &users[2], show).await?;
    }
    let triggers = boxoffice_local::triggers::start(
        &stack.template,
        &stack.provisioned,
        &stack.deps,
        aws_sdk_sqs::Client::new(&stack.sdk),
        boxoffice_local::triggers::TriggerOptions {
            schedule_interval: Some(std::time::Duration::from_secs(schedule_seconds)),
            ..Default::default()
        },
    );

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://127.0.0.1:{port}");
    let server = tokio::spawn(gateway.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    // localstripe delivers its signed events to this gateway, as Stripe would to the stage's.
    let stripe_base = stack.deps.stripe()?.base().to_owned();
    boxoffice_local::stripe::register_webhook(
        &stack.deps,
        "boxoffice-local",
        &format!("{base}/api/v1"),
    )
    .await?;

    println!("\nBoxOffice is running at {base}/api/v1  (Ctrl-C stops everything)");
    println!("Demo data: 2 cities, 4 theatres, 6 movies, {shows} shows over the next 7 days, {offers} offers\n");
    println!("Local-only demo accounts (new passwords every run):");
    for a in &accounts {
        println!(
            "  {:<9} {:<28} {}",
            format!("{:?}", a.role).to_uppercase(),
            a.email,
            a.password
        );
    }
    let api = format!("{base}/api/v1");
    println!("\nTry it (bash):");
    println!("{}", seed::walkthrough(&api, port));
    if let Some(q) = &queued {
        println!("\nThe waiting room: show {q} is in queue mode, on sale 3 minutes after start-up, 2 admissions a second:");
        println!("  curl -s -X POST {api}/shows/{q}/queue -H \"authorization: Bearer $TOKEN\"      # join (again: the same entry)");
        println!("  curl -s {api}/shows/{q}/queue/me -H \"authorization: Bearer $TOKEN\"           # poll every 5 s: place, ahead, estimate");
        println!("  # places are drawn {}s after the on-sale time (the sequencer runs every {schedule_seconds}s); once admitted:", boxoffice::domain::queue::JOIN_GRACE_SECONDS);
        println!("  ADMISSION=$(curl -s {api}/shows/{q}/queue/me -H \"authorization: Bearer $TOKEN\" | sed -E 's/.*\"token\":\"([^\"]+)\".*/\\1/')");
        println!("  curl -s -X POST {api}/bookings -H \"authorization: Bearer $TOKEN\" -H \"x-admission-token: $ADMISSION\" \\");
        println!("       -H 'content-type: application/json' -d '{{\"showId\":\"{q}\",\"seatIds\":[\"C5\",\"C6\"]}}'   # without the token: 403 QUEUE_REQUIRED");
    }
    println!(
        "Holds last {}s here (HOLD_SECONDS); the expiry sweep and reminders run every {schedule_seconds}s (SCHEDULE_SECONDS).
",
        stack.deps.config.hold_seconds
    );
    print_card_payment_walkthrough(&api, &stripe_base);
    server.await?;
    triggers.stop().await;
    println!("stopped");
    Ok(())
}

/// Paying for a booking with a test card on localstripe: the way Stripe.js would, in curl.
fn print_card_payment_walkthrough(api: &str, stripe: &str) {
    println!(
        "Pay with a card (localstripe at {stripe}, webhooks to {api}/payments/webhooks/stripe):"
    );
    println!("  BOOKING=<bookingId from POST /bookings>");
    println!("  PI=$(curl -s -X POST {api}/bookings/$BOOKING/payments -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\");
    println!("       -H \"idempotency-key: $(uuidgen || date +%s%N)\" -d '{{\"provider\":\"stripe\",\"returnUrl\":\"https://example.com/done\"}}' \\");
    println!("       | sed -E 's/.*\"paymentIntentId\":\"([^\"]+)\".*/\\1/')");
    println!("  PM=$(curl -s -u sk_test_local: {stripe}/v1/payment_methods -d type=card -d 'card[number]=4242424242424242' \\");
    println!("       -d 'card[exp_month]=12' -d 'card[exp_year]=2030' -d 'card[cvc]=123' | grep -o 'pm_[A-Za-z0-9]*' | head -1)");
    println!("  curl -s -u sk_test_local: {stripe}/v1/payment_intents/$PI -d payment_method=$PM >/dev/null");
    println!("  curl -s -u sk_test_local: -X POST {stripe}/v1/payment_intents/$PI/confirm >/dev/null   # 4000000000000341 declines");
    println!("  curl -s {api}/bookings/$BOOKING -H \"authorization: Bearer $TOKEN\"   # CONFIRMED, with its ticket, a second later\n");
}

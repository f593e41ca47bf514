//! `make run`: provisions the emulators from template.yaml, seeds demo data and serves every
//! function on http://127.0.0.1:$PORT until Ctrl-C.

use boxoffice::{auth::hash_password, config::AdminAccount};
use boxoffice_local::{
    gateway::Gateway,
    seed::{self, seed_accounts, seed_catalog, seed_offers},
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
    let shows = seed_catalog(&gateway, &stack.deps, &users[0], &users[1]).await?;
    let offers = seed_offers(&gateway, &stack.deps, &users[0]).await?;
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
    println!(
        "Holds last {}s here (HOLD_SECONDS); the expiry sweep and reminders run every {schedule_seconds}s (SCHEDULE_SECONDS).
",
        stack.deps.config.hold_seconds
    );
    server.await?;
    triggers.stop().await;
    println!("stopped");
    Ok(())
}

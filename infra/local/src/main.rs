//! `make run`: provisions the emulators from template.yaml, seeds demo data and serves every
//! function on http://127.0.0.1:$PORT until Ctrl-C.

use boxoffice::{auth::hash_password, config::AdminAccount};
use boxoffice_local::{gateway::Gateway, seed::seed_demo, LocalStack};
use std::{collections::HashMap, sync::Arc};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    boxoffice::logging::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
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
    let accounts = seed_demo(&stack.deps, &admin, &admin_password).await?;

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://127.0.0.1:{port}");
    let gateway = Arc::new(Gateway::new(&stack.template, stack.deps.clone()));
    let server = tokio::spawn(gateway.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    }));

    println!("\nBoxOffice is running at {base}/api/v1  (Ctrl-C stops everything)\n");
    println!("Local-only demo accounts (new passwords every run):");
    for a in &accounts {
        println!(
            "  {:<9} {:<28} {}",
            format!("{:?}", a.role).to_uppercase(),
            a.email,
            a.password
        );
    }
    println!("\nTry it:");
    println!(
        "  curl -s -X POST {base}/api/v1/auth/register -H 'content-type: application/json' \\"
    );
    println!("       -d '{{\"email\":\"me@example.com\",\"password\":\"correct-horse-1\",\"name\":\"Me\"}}'");
    println!(
        "  TOKEN=$(curl -s -X POST {base}/api/v1/auth/login -H 'content-type: application/json' \\"
    );
    println!("       -d '{{\"email\":\"me@example.com\",\"password\":\"correct-horse-1\"}}' | sed 's/.*\"accessToken\":\"\\([^\"]*\\)\".*/\\1/')");
    println!("  curl -s {base}/api/v1/cities");
    println!("  curl -s -X PUT {base}/api/v1/admin/cities/pune -H \"authorization: Bearer $TOKEN\" -H 'content-type: application/json' \\");
    println!("       -d '{{\"name\":\"Pune\",\"timeZone\":\"Asia/Kolkata\",\"currency\":\"INR\",\"convenienceFeePerTicket\":2500,\"taxPercent\":18}}'   # 403: customers are not admins");
    println!(
        "  cargo lambda invoke register -A 127.0.0.1 -P {port} --data-file events/register.json\n"
    );
    server.await?;
    println!("stopped");
    Ok(())
}

//! Demo data for `make run`: cities and one account of each role with local-only credentials.

use boxoffice::{
    accounts::{create_account, ensure_admin, NewAccount},
    clock::rfc3339,
    config::AdminAccount,
    domain::{city::City, user::Role},
    ApiError, Deps,
};

pub struct DemoAccount {
    pub role: Role,
    pub email: String,
    pub password: String,
}

pub fn demo_cities() -> Vec<City> {
    vec![
        City {
            city_id: "blr".into(),
            name: "Bengaluru".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
            convenience_fee_per_ticket: 3000,
            tax_basis_points: 1800,
        },
        City {
            city_id: "nyc".into(),
            name: "New York".into(),
            time_zone: "America/New_York".into(),
            currency: "USD".into(),
            convenience_fee_per_ticket: 150,
            tax_basis_points: 887,
        },
    ]
}

/// Seeds cities and the three demo accounts. Passwords are generated per run and printed once.
pub async fn seed_demo(
    deps: &Deps,
    admin: &AdminAccount,
    admin_password: &str,
) -> Result<Vec<DemoAccount>, ApiError> {
    for city in demo_cities() {
        deps.store.put_city(&city).await?;
    }
    ensure_admin(&deps.store, admin, rfc3339(deps.clock.now())).await?;
    let mut accounts = vec![DemoAccount {
        role: Role::Admin,
        email: admin.email.clone(),
        password: admin_password.to_owned(),
    }];
    for (role, email, name, company) in [
        (
            Role::Partner,
            "partner@boxoffice.local",
            "Priya Partner",
            Some("Demo Cinemas"),
        ),
        (
            Role::Customer,
            "customer@boxoffice.local",
            "Chris Customer",
            None,
        ),
    ] {
        let password = format!("local-{}", &crate::random_secret()[..12]);
        let account = NewAccount {
            email: email.into(),
            password: password.clone(),
            name: name.into(),
            company: company.map(str::to_owned),
        };
        match create_account(deps, account, role).await {
            Ok(_) => accounts.push(DemoAccount {
                role,
                email: email.into(),
                password,
            }),
            // Re-seeding a stack that already has the account: keep its old password.
            Err(ApiError::EmailTaken) => accounts.push(DemoAccount {
                role,
                email: email.into(),
                password: "(unchanged from an earlier run)".into(),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(accounts)
}

//! Creating accounts and checking credentials: shared by register, create-partner, login and the
//! admin seeding, so every path applies the same validation and hashing.

use crate::{
    auth,
    clock::rfc3339,
    config::AdminAccount,
    domain::user::{normalize_email, validate_name, validate_password, Role, User},
    error::ApiError,
    ids::new_id,
    store::{users::CreateUser, Store},
    Deps,
};

pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: String,
    pub company: Option<String>,
}

/// Validates, hashes (argon2id, off the async threads) and stores a new account; 409 when the
/// email is taken in any letter case.
pub async fn create_account(
    deps: &Deps,
    account: NewAccount,
    role: Role,
) -> Result<User, ApiError> {
    let email = normalize_email(&account.email).map_err(ApiError::validation)?;
    validate_password(&account.password).map_err(ApiError::validation)?;
    let name = validate_name("name", &account.name).map_err(ApiError::validation)?;
    let company = account
        .company
        .map(|c| validate_name("company", &c))
        .transpose()
        .map_err(ApiError::validation)?;
    let password = account.password;
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(ApiError::internal)??;
    let user = User {
        user_id: new_id("usr"),
        email,
        name,
        role,
        company,
        password_hash,
        created_at: rfc3339(deps.clock.now()),
    };
    match deps.store.create_user(&user).await? {
        CreateUser::Created => Ok(user),
        CreateUser::EmailTaken => Err(ApiError::EmailTaken),
    }
}

/// The user whose credentials these are, or `INVALID_CREDENTIALS`, taking about as long for an
/// unknown email as for a wrong password. An admin defined in configuration is seeded on first use.
pub async fn check_credentials(deps: &Deps, email: &str, password: &str) -> Result<User, ApiError> {
    let email = normalize_email(email).ok();
    let user = match &email {
        Some(e) => match deps.store.find_user_by_email(e).await? {
            Some(user) => Some(user),
            None => match deps
                .config
                .admin_accounts
                .iter()
                .find(|a| a.email.eq_ignore_ascii_case(e))
            {
                Some(admin) => {
                    Some(ensure_admin(&deps.store, admin, rfc3339(deps.clock.now())).await?)
                }
                None => None,
            },
        },
        None => None,
    };
    let password = password.to_owned();
    let verified = tokio::task::spawn_blocking(move || match user {
        Some(user) if auth::verify_password(&password, &user.password_hash) => Some(user),
        Some(_) => None,
        None => {
            auth::verify_against_dummy(&password);
            None
        }
    })
    .await
    .map_err(ApiError::internal)?;
    verified.ok_or(ApiError::InvalidCredentials)
}

/// Stores a configured admin account unless its email is already taken; returns the stored user.
pub async fn ensure_admin(
    store: &Store,
    admin: &AdminAccount,
    now: String,
) -> Result<User, ApiError> {
    let email = normalize_email(&admin.email)
        .map_err(|e| ApiError::Internal(format!("ADMIN_ACCOUNTS: {e}")))?;
    let user = User {
        user_id: new_id("usr"),
        email: email.clone(),
        name: admin.name.clone(),
        role: Role::Admin,
        company: None,
        password_hash: admin.password_hash.clone(),
        created_at: now,
    };
    match store.create_user(&user).await? {
        CreateUser::Created => Ok(user),
        CreateUser::EmailTaken => store
            .find_user_by_email(&email)
            .await?
            .ok_or_else(|| ApiError::Internal("admin email item vanished".into())),
    }
}

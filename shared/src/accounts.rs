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
    // A configured admin's address is reserved even before the admin's first login.
    if configured_admin(deps.config.admins()?, &email).is_some() {
        return Err(ApiError::EmailTaken);
    }
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

/// The configured admin with this (normalized) email.
fn configured_admin<'a>(admins: &'a [AdminAccount], email: &str) -> Option<&'a AdminAccount> {
    admins
        .iter()
        .find(|a| normalize_email(&a.email).is_ok_and(|e| e == email))
}

/// The user whose credentials these are, or `INVALID_CREDENTIALS`, taking about as long for an
/// unknown email as for a wrong password. Configuration is authoritative at every login: a
/// configured admin's stored account is created or brought in line with it (role, name, password
/// hash), and a stored admin no longer configured becomes a customer.
pub async fn check_credentials(deps: &Deps, email: &str, password: &str) -> Result<User, ApiError> {
    let admins = deps.config.admins()?;
    let user = match normalize_email(email) {
        Ok(email) => match configured_admin(admins, &email) {
            Some(admin) => Some(ensure_admin(&deps.store, admin, rfc3339(deps.clock.now())).await?),
            None => match deps.store.find_user_by_email(&email).await? {
                Some(user) if user.role == Role::Admin => Some(demote(&deps.store, user).await?),
                other => other,
            },
        },
        Err(_) => None,
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

/// A stored admin whom configuration no longer names keeps the account, as a customer.
async fn demote(store: &Store, user: User) -> Result<User, ApiError> {
    let user = User {
        role: Role::Customer,
        ..user
    };
    store.update_account(&user).await?;
    tracing::warn!(user_id = %user.user_id, "admin no longer configured: now a customer");
    Ok(user)
}

/// The stored account of a configured admin, created on first use and otherwise brought in line
/// with the configuration (role, name, password hash); returns it as configured.
pub async fn ensure_admin(
    store: &Store,
    admin: &AdminAccount,
    now: String,
) -> Result<User, ApiError> {
    let email = normalize_email(&admin.email)
        .map_err(|e| ApiError::Internal(format!("adminAccounts: {e}")))?;
    let configured = |stored: User| User {
        role: Role::Admin,
        name: admin.name.clone(),
        password_hash: admin.password_hash.clone(),
        ..stored
    };
    let stored = match store.find_user_by_email(&email).await? {
        Some(stored) => stored,
        None => {
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
                CreateUser::Created => return Ok(user),
                // Created concurrently (another login, or a registration that raced the
                // configuration): bring that one in line below.
                CreateUser::EmailTaken => store
                    .find_user_by_email(&email)
                    .await?
                    .ok_or_else(|| ApiError::Internal("admin email item vanished".into()))?,
            }
        }
    };
    let wanted = configured(stored.clone());
    if wanted != stored {
        store.update_account(&wanted).await?;
        tracing::info!(user_id = %wanted.user_id, "admin account updated from configuration");
    }
    Ok(wanted)
}

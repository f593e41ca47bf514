use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Customer,
    Partner,
    Admin,
}

impl Role {
    /// Every role: for endpoints open to any signed-in user.
    pub const ANY: [Role; 3] = [Role::Customer, Role::Partner, Role::Admin];
}

/// A user as stored (the password only as an argon2id hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub company: Option<String>,
    pub password_hash: String,
    pub created_at: String,
}

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that hashing it is no denial of service.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Lower-cased, trimmed email when it is plausibly an address; emails are unique case-insensitively.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err("email must be an email address");
    };
    let ok = email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.contains('#')
        && email.chars().all(|c| c.is_ascii_graphic())
        && !domain.contains('@');
    if ok {
        Ok(email)
    } else {
        Err("email must be an email address")
    }
}

pub fn validate_password(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err("password must be at least 10 characters")
    } else if n > MAX_PASSWORD_CHARS {
        Err("password must be at most 256 characters")
    } else {
        Ok(())
    }
}

/// A display name: 1–100 characters after trimming, no control characters.
pub fn validate_name(field: &'static str, name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        Err(format!(
            "{field} must be 1–100 characters without control characters"
        ))
    } else {
        Ok(name.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email("  Alice@Example.COM ").as_deref(),
            Ok("alice@example.com")
        );
        for bad in [
            "",
            "alice",
            "@x.com",
            "a@b",
            "a@.com",
            "a@b..com",
            "a b@c.com",
            "a@b@c.com",
            "a#b@c.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_need_ten_characters() {
        assert!(validate_password("123456789").is_err());
        assert!(validate_password("1234567890").is_ok());
        assert!(validate_password(&"x".repeat(257)).is_err());
    }
}

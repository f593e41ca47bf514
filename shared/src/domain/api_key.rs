//! Partner API keys, for the other platforms that sell a partner's seats: shown once when made,
//! stored only as the SHA-256 of their secret, revocable, and scoped to the partner's theatres
//! (all of them, or the ones named when the key was made).
//!
//! A key reads `bxk.<keyId>.<secret>`: the key id names its record (one GetItem), the secret (32
//! random bytes, base64url) is checked against the stored hash in constant time. A plain hash is
//! enough for a secret of 256 random bits (no dictionary to guess from; a slow password hash
//! would only slow every request).

use super::catalog::Show;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "bxk";
/// At most this many theatres named on one key.
pub const MAX_THEATRES: usize = 50;

/// A key's stored record (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub key_id: String,
    pub partner_id: String,
    pub name: String,
    /// The theatres it may act on; `None`: every theatre of its partner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theatre_ids: Option<Vec<String>>,
    pub secret_hash: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// The key as its partner sees it once: the record, and the whole key to hand to the platform.
pub struct IssuedKey {
    pub record: ApiKey,
    pub api_key: String,
}

/// The key `key_id` of `partner_id` made from `secret` (random bytes from the caller).
pub fn issue(
    key_id: &str,
    partner_id: &str,
    name: &str,
    theatre_ids: Option<Vec<String>>,
    secret: &[u8; 32],
    at: &str,
) -> IssuedKey {
    let secret = URL_SAFE_NO_PAD.encode(secret);
    IssuedKey {
        record: ApiKey {
            key_id: key_id.to_owned(),
            partner_id: partner_id.to_owned(),
            name: name.to_owned(),
            theatre_ids,
            secret_hash: secret_hash(&secret),
            created_at: at.to_owned(),
            revoked_at: None,
        },
        api_key: format!("{PREFIX}.{key_id}.{secret}"),
    }
}

/// The key id and secret of a presented key, if it has a key's shape.
pub fn parse(presented: &str) -> Option<(&str, &str)> {
    let mut parts = presented.trim().split('.');
    let (Some(PREFIX), Some(key_id), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (crate::ids::is_id("key", key_id) && secret.len() == 43).then_some((key_id, secret))
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Why a presented key may not act on a show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRefusal {
    /// Unknown, revoked, or the wrong secret: all the same to the caller (401).
    NotValid,
    /// A valid key, but not for this show's theatre (403).
    OutOfScope,
}

/// Whether `key` (as stored, if it exists) with `secret` may act on `show`.
pub fn check(key: Option<&ApiKey>, secret: &str, show: &Show) -> Result<(), KeyRefusal> {
    let key = key.ok_or(KeyRefusal::NotValid)?;
    if !is_live(key, secret) {
        return Err(KeyRefusal::NotValid);
    }
    let in_scope = key.partner_id == show.partner_id
        && key
            .theatre_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&show.theatre_id));
    if in_scope {
        Ok(())
    } else {
        Err(KeyRefusal::OutOfScope)
    }
}

/// Not revoked, and `secret` is its secret.
pub fn is_live(key: &ApiKey, secret: &str) -> bool {
    key.revoked_at.is_none() && equal_in_constant_time(&key.secret_hash, &secret_hash(secret))
}

fn equal_in_constant_time(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::hold_tests::show;

    const KEY_ID: &str = "key_01JD3Q7H6Z8B1D4F7H0K3N6Q9S";

    fn issued(theatres: Option<Vec<String>>) -> IssuedKey {
        issue(
            KEY_ID,
            "usr_p",
            "Other platform",
            theatres,
            &[7; 32],
            "2027-01-15T08:00:00Z",
        )
    }

    #[test]
    fn a_key_is_shown_once_and_stored_as_a_hash_of_its_secret() {
        let k = issued(None);
        let (key_id, secret) = parse(&k.api_key).expect("a key's shape");
        assert_eq!(key_id, KEY_ID);
        assert!(!k.api_key.contains(&k.record.secret_hash));
        assert_ne!(k.record.secret_hash, secret);
        assert_eq!(k.record.secret_hash.len(), 64);
        let stored = serde_json::to_string(&k.record).expect("json");
        assert!(!stored.contains(secret), "{stored}");
        assert_eq!(check(Some(&k.record), secret, &show()), Ok(()));
    }

    #[test]
    fn only_a_live_key_with_its_secret_for_its_partners_theatres_acts() {
        let k = issued(None);
        let (_, secret) = parse(&k.api_key).expect("shape");
        let mut wrong = secret.to_owned();
        wrong.replace_range(0..1, if secret.starts_with('A') { "B" } else { "A" });
        let revoked = ApiKey {
            revoked_at: Some("2027-01-15T09:00:00Z".into()),
            ..k.record.clone()
        };
        let other_partner = ApiKey {
            partner_id: "usr_q".into(),
            ..k.record.clone()
        };
        let this_theatre = issued(Some(vec!["th_2".into(), "th_1".into()])).record;
        let other_theatre = issued(Some(vec!["th_2".into()])).record;
        let cases = [
            ("no such key", None, secret, Err(KeyRefusal::NotValid)),
            (
                "the wrong secret",
                Some(&k.record),
                wrong.as_str(),
                Err(KeyRefusal::NotValid),
            ),
            ("revoked", Some(&revoked), secret, Err(KeyRefusal::NotValid)),
            (
                "another partner's show",
                Some(&other_partner),
                secret,
                Err(KeyRefusal::OutOfScope),
            ),
            ("scoped to its theatre", Some(&this_theatre), secret, Ok(())),
            (
                "scoped to another theatre",
                Some(&other_theatre),
                secret,
                Err(KeyRefusal::OutOfScope),
            ),
            (
                "every theatre of its partner",
                Some(&k.record),
                secret,
                Ok(()),
            ),
        ];
        for (case, key, secret, want) in cases {
            assert_eq!(check(key, secret, &show()), want, "{case}");
        }
    }

    #[test]
    fn malformed_keys_are_not_keys() {
        let k = issued(None);
        let (_, secret) = parse(&k.api_key).expect("shape");
        for bad in [
            String::new(),
            "bxk".into(),
            format!("bxk.{KEY_ID}"),
            format!("xyz.{KEY_ID}.{secret}"),
            format!("bxk.key_123.{secret}"),
            format!("bxk.{KEY_ID}.short"),
            format!("bxk.{KEY_ID}.{secret}.more"),
        ] {
            assert!(parse(&bad).is_none(), "{bad}");
        }
    }
}

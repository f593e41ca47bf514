//! Ticket codes a gate scanner verifies offline.
//!
//! `BX2.<kid>.<payload>.<signature>` (issued now): the payload is base64url JSON naming the
//! ticket, booking, show, theatre and seats; the signature is base64url Ed25519 over
//! `BX2.<kid>.<payload>` by the key `kid` names. Anyone can verify it with the public keys of
//! `GET /.well-known/ticket-keys`; only the holder of the stage's ticket secret can sign.
//!
//! `BX1.<payload>.<signature>` (issued before): the signature is base64url HMAC-SHA256 under the
//! ticket secret itself. Still accepted by `POST /tickets/verify` until the ticket's show has
//! ended (verify-ticket checks the show), never issued any more.
//!
//! The Ed25519 key is derived from the ticket secret (`ticketSigningKey`, 64 random characters
//! the template generates): seed = HKDF-SHA256(ikm = the secret's UTF-8 bytes, salt =
//! `boxoffice ticket-signing`, info = `ed25519 v1`), 32 bytes; its key id is the base64url of
//! the first 6 bytes of SHA-256(public key). Rotation: put a new `ticketSigningKey` and move the
//! old one to `ticketPreviousSigningKey`: codes signed by either verify, both are published, new
//! codes use the new one; drop the previous once the shows of its codes have passed.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "BX1";
const PREFIX_V2: &str = "BX2";
/// Longest code looked at: a 10-seat ticket is under 600 characters.
const MAX_CODE_CHARS: usize = 4096;
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    #[serde(rename = "t")]
    pub ticket_id: String,
    #[serde(rename = "b")]
    pub booking_id: String,
    #[serde(rename = "s")]
    pub show_id: String,
    #[serde(rename = "th")]
    pub theatre_id: String,
    #[serde(rename = "seats")]
    pub seat_ids: Vec<String>,
}

fn mac(prefix: &str, key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC key"); // infallible: HMAC takes any key length
    m.update(prefix.as_bytes());
    m.update(b".");
    m.update(payload.as_bytes());
    m
}

/// `<prefix>.<base64url JSON>.<base64url HMAC-SHA256 of prefix.payload>`: the BX1 ticket codes'
/// and the waiting room's tokens' one format.
pub(crate) fn sign_claims<T: Serialize>(prefix: &str, key: &[u8], claims: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = URL_SAFE_NO_PAD.encode(mac(prefix, key, &payload).finalize().into_bytes());
    format!("{prefix}.{payload}.{sig}")
}

/// A BX1 code (HMAC): what codes were before BX2; kept to test that old codes still verify.
pub fn issue_legacy(key: &[u8], claims: &TicketClaims) -> String {
    sign_claims(PREFIX, key, claims)
}

/// The claims of a genuine BX1 code; `None` for anything forged, altered or malformed.
pub fn verify_legacy(key: &[u8], code: &str) -> Option<TicketClaims> {
    verify_claims(PREFIX, key, code, MAX_CODE_CHARS)
}

/// The ticket `ticket_id` of a booking being confirmed: its BX2 code signed by `key`.
pub fn ticket_for(
    booking: &super::booking::Booking,
    ticket_id: String,
    key: &TicketKey,
) -> super::booking::TicketInfo {
    let claims = TicketClaims {
        ticket_id: ticket_id.clone(),
        booking_id: booking.booking_id.clone(),
        show_id: booking.show_id.clone(),
        theatre_id: booking.theatre_id.clone(),
        seat_ids: booking.seat_ids(),
    };
    super::booking::TicketInfo {
        ticket_id,
        qr_code_data: key.issue(&claims),
        seat_ids: booking.seat_ids(),
    }
}

/// The claims of a genuine `sign_claims` code; `None` for anything forged, altered or malformed.
pub(crate) fn verify_claims<T: serde::de::DeserializeOwned>(
    prefix: &str,
    key: &[u8],
    code: &str,
    max_len: usize,
) -> Option<T> {
    if key.is_empty() || code.len() > max_len {
        return None;
    }
    let mut parts = code.trim().split('.');
    let (Some(p), Some(payload), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if p != prefix {
        return None;
    }
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(prefix, key, payload).verify_slice(&sig).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// One Ed25519 ticket key and its id.
pub struct TicketKey {
    pub kid: String,
    signing: SigningKey,
}

impl TicketKey {
    /// The key derived from a ticket secret (see the module doc for the KDF).
    pub fn derive(secret: &str) -> TicketKey {
        let mut seed = [0u8; 32];
        // Infallible: 32 bytes is far below HKDF-SHA256's 8,160-byte output limit.
        let _ = hkdf::Hkdf::<Sha256>::new(Some(b"boxoffice ticket-signing"), secret.as_bytes())
            .expand(b"ed25519 v1", &mut seed);
        let signing = SigningKey::from_bytes(&seed);
        let kid = key_id(&signing.verifying_key());
        TicketKey { kid, signing }
    }

    pub fn public(&self) -> PublicTicketKey {
        PublicTicketKey {
            kid: self.kid.clone(),
            public_key: URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes()),
        }
    }

    /// A BX2 code for `claims`, signed by this key.
    pub fn issue(&self, claims: &TicketClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signed = format!("{PREFIX_V2}.{}.{payload}", self.kid);
        let sig = URL_SAFE_NO_PAD.encode(self.signing.sign(signed.as_bytes()).to_bytes());
        format!("{signed}.{sig}")
    }
}

fn key_id(key: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(key.as_bytes())[..6])
}

/// A published key, as `GET /.well-known/ticket-keys` lists it: `publicKey` is the base64url of
/// the 32-byte Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicTicketKey {
    pub kid: String,
    pub public_key: String,
}

/// What a scanner does offline: the claims of a genuine BX2 code signed by one of `keys`;
/// `None` for anything forged, altered, malformed or signed by an unknown key.
pub fn verify_offline(keys: &[PublicTicketKey], code: &str) -> Option<TicketClaims> {
    if code.len() > MAX_CODE_CHARS {
        return None;
    }
    let code = code.trim();
    let (signed, sig) = code.rsplit_once('.')?;
    let mut parts = signed.split('.');
    let (Some(PREFIX_V2), Some(kid), Some(payload), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let key = keys.iter().find(|k| k.kid == kid)?;
    let public: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&key.public_key)
        .ok()?
        .try_into()
        .ok()?;
    let public = VerifyingKey::from_bytes(&public).ok()?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).ok()?.try_into().ok()?;
    public
        .verify(signed.as_bytes(), &Signature::from_bytes(&sig))
        .ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// The stage's ticket keys: the current one (signs) and the previous one (still verifies).
pub struct TicketKeys {
    pub current: TicketKey,
    pub previous: Option<TicketKey>,
    /// The raw secrets, for BX1 codes (HMAC under the secret itself).
    legacy: Vec<Vec<u8>>,
}

/// A genuine code's claims, and whether it is an old BX1 code (valid only until its show ends).
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub claims: TicketClaims,
    pub legacy: bool,
}

impl TicketKeys {
    pub fn from_secrets(current: &str, previous: Option<&str>) -> TicketKeys {
        let mut legacy = vec![current.as_bytes().to_vec()];
        legacy.extend(previous.map(|p| p.as_bytes().to_vec()));
        TicketKeys {
            current: TicketKey::derive(current),
            previous: previous.map(TicketKey::derive),
            legacy,
        }
    }

    /// Every key a code may be signed by, as published.
    pub fn public(&self) -> Vec<PublicTicketKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .map(TicketKey::public)
            .collect()
    }

    /// A BX2 code verified by the published keys, or a BX1 code by the secrets.
    pub fn verify(&self, code: &str) -> Option<Verified> {
        if let Some(claims) = verify_offline(&self.public(), code) {
            return Some(Verified {
                claims,
                legacy: false,
            });
        }
        self.legacy
            .iter()
            .find_map(|key| verify_legacy(key, code))
            .map(|claims| Verified {
                claims,
                legacy: true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> TicketClaims {
        TicketClaims {
            ticket_id: "tkt_1".into(),
            booking_id: "bk_1".into(),
            show_id: "sh_1".into(),
            theatre_id: "th_1".into(),
            seat_ids: vec!["A1".into(), "A2".into()],
        }
    }

    #[test]
    fn genuine_codes_verify_and_altered_ones_do_not() {
        let code = issue_legacy(b"key", &claims());
        assert_eq!(verify_legacy(b"key", &code), Some(claims()));
        assert_eq!(verify_legacy(b"other", &code), None, "another key");
        let mut altered = claims();
        altered.seat_ids.push("A3".into());
        let forged_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap_or_default());
        let sig = code.rsplit('.').next().unwrap_or("");
        assert_eq!(
            verify_legacy(b"key", &format!("BX1.{forged_payload}.{sig}")),
            None,
            "payload swapped"
        );
        let mut flipped = code.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            verify_legacy(b"key", &String::from_utf8_lossy(&flipped)),
            None,
            "signature altered"
        );
        for junk in [
            "",
            "BX1",
            "BX1..",
            "BX2.a.b",
            &format!("{code}.x"),
            "not a ticket",
        ] {
            assert_eq!(verify_legacy(b"key", junk), None, "{junk}");
        }
        assert_eq!(verify_legacy(b"", &code), None, "no key configured");
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OTHER: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    #[test]
    fn bx2_codes_verify_offline_by_the_published_key_only() {
        let keys = TicketKeys::from_secrets(SECRET, None);
        let code = keys.current.issue(&claims());
        assert!(code.starts_with(&format!("BX2.{}.", keys.current.kid)));
        let published = keys.public();
        assert_eq!(verify_offline(&published, &code), Some(claims()));
        assert_eq!(
            keys.verify(&code),
            Some(Verified {
                claims: claims(),
                legacy: false
            })
        );
        // Derivation is stable: the same secret gives the same key in every container.
        assert_eq!(TicketKeys::from_secrets(SECRET, None).public(), published);
        let stranger = TicketKeys::from_secrets(OTHER, None);
        assert_eq!(
            verify_offline(&stranger.public(), &code),
            None,
            "another key"
        );
        // Another key that claims this key's id.
        let mut impostor = stranger.public();
        impostor[0].kid = keys.current.kid.clone();
        assert_eq!(
            verify_offline(&impostor, &code),
            None,
            "same kid, other key"
        );
        let (signed, sig) = code.rsplit_once('.').unwrap_or_default();
        let mut altered = claims();
        altered.seat_ids.push("A3".into());
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap_or_default());
        let kid = &keys.current.kid;
        for tampered in [
            format!("BX2.{kid}.{forged}.{sig}"),
            format!("{signed}x.{sig}"),
            format!(
                "{signed}.{}{}",
                if sig.starts_with('A') { 'B' } else { 'A' },
                &sig[1..]
            ),
            format!("BX2.zzzzzzzz.{}", &code[(kid.len() + 5)..]),
            code.replacen("BX2", "BX1", 1),
            format!("{code}.x"),
            String::new(),
            "BX2...".into(),
        ] {
            assert_eq!(verify_offline(&published, &tampered), None, "{tampered}");
            assert_eq!(keys.verify(&tampered), None, "{tampered}");
        }
    }

    #[test]
    fn rotation_keeps_old_codes_and_bx1_codes_verify_as_legacy() {
        let old = TicketKeys::from_secrets(SECRET, None);
        let old_code = old.current.issue(&claims());
        let rotated = TicketKeys::from_secrets(OTHER, Some(SECRET));
        assert_eq!(rotated.public().len(), 2);
        assert_eq!(rotated.verify(&old_code).map(|v| v.legacy), Some(false));
        let new_code = rotated.current.issue(&claims());
        assert_ne!(rotated.current.kid, old.current.kid);
        assert_eq!(
            old.verify(&new_code),
            None,
            "the old keys do not know the new one"
        );
        let bx1 = issue_legacy(SECRET.as_bytes(), &claims());
        assert_eq!(
            rotated.verify(&bx1),
            Some(Verified {
                claims: claims(),
                legacy: true
            })
        );
        assert_eq!(
            verify_offline(&rotated.public(), &bx1),
            None,
            "BX1 is no public-key code"
        );
        assert_eq!(TicketKeys::from_secrets(OTHER, None).verify(&bx1), None);
    }
}

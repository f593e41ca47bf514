//! Ticket codes a scanner can verify offline: `BX1.<payload>.<signature>`, where the payload is
//! base64url JSON naming the ticket, booking, show, theatre and seats, and the signature is
//! base64url HMAC-SHA256 of the payload under the ticket signing key.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "BX1";

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

/// `<prefix>.<base64url JSON>.<base64url HMAC-SHA256 of prefix.payload>`: the ticket codes' and
/// the waiting room's tokens' one format.
pub(crate) fn sign_claims<T: Serialize>(prefix: &str, key: &[u8], claims: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = URL_SAFE_NO_PAD.encode(mac(prefix, key, &payload).finalize().into_bytes());
    format!("{prefix}.{payload}.{sig}")
}

/// The ticket `ticket_id` of a booking being confirmed: its code signed under `key`.
pub fn ticket_for(
    booking: &super::booking::Booking,
    ticket_id: String,
    key: &[u8],
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
        qr_code_data: issue(key, &claims),
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

pub fn issue(key: &[u8], claims: &TicketClaims) -> String {
    sign_claims(PREFIX, key, claims)
}

/// The claims of a genuine code; `None` for anything forged, altered or malformed.
pub fn verify(key: &[u8], code: &str) -> Option<TicketClaims> {
    verify_claims(PREFIX, key, code, 4096)
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
        let code = issue(b"key", &claims());
        assert_eq!(verify(b"key", &code), Some(claims()));
        assert_eq!(verify(b"other", &code), None, "another key");
        let mut altered = claims();
        altered.seat_ids.push("A3".into());
        let forged_payload =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&altered).unwrap_or_default());
        let sig = code.rsplit('.').next().unwrap_or("");
        assert_eq!(
            verify(b"key", &format!("BX1.{forged_payload}.{sig}")),
            None,
            "payload swapped"
        );
        let mut flipped = code.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            verify(b"key", &String::from_utf8_lossy(&flipped)),
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
            assert_eq!(verify(b"key", junk), None, "{junk}");
        }
        assert_eq!(verify(b"", &code), None, "no key configured");
    }
}

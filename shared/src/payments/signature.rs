//! Stripe-style webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`,
//! possibly with several `v1` entries (during a secret rotation). Pure: no I/O, no clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, PartialEq, Eq)]
pub enum SignatureError {
    Missing,
    Malformed,
    Stale,
    Mismatch,
}

/// The header value a provider sends for `body` at time `t`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC key"); // infallible: HMAC takes any key length
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// Verifies `header` over the raw `body`: the timestamp within `TOLERANCE_SECONDS` of `now`, and
/// one of its `v1` signatures equal (in constant time) to ours.
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    if secret.is_empty() {
        return Err(SignatureError::Mismatch);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => timestamp = Some(v.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            "v1" => signatures.push(hex::decode(v).map_err(|_| SignatureError::Malformed)?),
            _ => {} // other schemes (v0) are ignored, as Stripe does
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - t).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    if signatures
        .iter()
        .any(|sig| mac(secret, t, body).verify_slice(sig).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const NOW: i64 = 1_795_000_000;

    #[test]
    fn a_fresh_signature_verifies() {
        let body = br#"{"eventId":"evt_1"}"#;
        let h = sign(SECRET, NOW, body);
        assert_eq!(verify(SECRET, Some(&h), body, NOW + 10), Ok(()));
    }

    #[test]
    fn every_kind_of_bad_signature_is_refused() {
        let body = br#"{"eventId":"evt_1","amount":100}"#;
        let h = sign(SECRET, NOW, body);
        assert_eq!(
            verify(b"another-secret", Some(&h), body, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&h), br#"{"eventId":"evt_1","amount":1}"#, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(&h), body, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some(&h), body, NOW - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, None, body, NOW),
            Err(SignatureError::Missing)
        );
        for bad in [
            "",
            "garbage",
            "t=abc,v1=00",
            "t=1",
            "v1=00",
            &format!("t={NOW},v1=zz"),
        ] {
            assert_eq!(
                verify(SECRET, Some(bad), body, NOW),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(b"", Some(&h), body, NOW),
            Err(SignatureError::Mismatch),
            "no secret configured"
        );
    }

    #[test]
    fn any_of_several_v1_entries_may_match() {
        let body = b"{}";
        let good = sign(SECRET, NOW, body);
        let other = sign(b"old-secret", NOW, body);
        let both = format!("{},{}", other, good.split(',').nth(1).unwrap_or(""));
        assert_eq!(verify(SECRET, Some(&both), body, NOW), Ok(()));
        let neither = format!("t={NOW},v1={},v1={}", "00".repeat(32), "11".repeat(32));
        assert_eq!(
            verify(SECRET, Some(&neither), body, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    /// Stripe's documented scheme, with a vector computed independently (Python's hmac module):
    /// hmac.new(b"whsec_test_secret", b"1795000000.{\"id\":\"evt_test\"}", sha256).hexdigest().
    #[test]
    fn the_stripe_test_vector_verifies() {
        let body = br#"{"id":"evt_test"}"#;
        assert_eq!(
            sign(SECRET, NOW, body),
            format!("t=1795000000,v1={STRIPE_VECTOR}")
        );
        assert_eq!(
            verify(
                SECRET,
                Some(&format!("t=1795000000,v0=deadbeef,v1={STRIPE_VECTOR}")),
                body,
                NOW
            ),
            Ok(())
        );
    }

    const STRIPE_VECTOR: &str = "7409556023b3ab036c0221f449d61a0ef883cf8c684fa819ebcb3d2a56146214";
}

//! Admitting a ticket at the door (verify-ticket): whose theatre it is, whether an old BX1 code
//! is still accepted, whether it is this booking's ticket, whether the booking is confirmed. The code's signature is checked before
//! (`TicketKeys::verify`), the once-only admission after, by the store's condition
//! (`CONFIRMED AND attribute_not_exists(admitted_at)`). Not the waiting room's admission.

use super::{
    booking::{Booking, BookingStatus},
    catalog::Show,
    ticket::TicketClaims,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionRefusal {
    /// Forged, altered, or naming what does not exist: told apart from nothing else, so a
    /// scanner learns nothing about the records behind a bad code.
    Forged,
    /// A genuine ticket for another partner's theatre.
    OtherPartner,
    /// A genuine ticket whose booking is not (or no longer) CONFIRMED.
    NotConfirmed(BookingStatus),
    /// A genuine old-format (BX1) code whose show has ended.
    LegacyExpired,
}

/// The code's format: a BX1 code (HMAC, issued before BX2) admits only until its show has ended
/// (`show_end`, RFC 3339; one that cannot be read counts as ended); a BX2 code is not limited here.
pub fn check_code_age(
    legacy: bool,
    show_end: &str,
    now_epoch: i64,
) -> Result<(), AdmissionRefusal> {
    let running =
        chrono::DateTime::parse_from_rfc3339(show_end).is_ok_and(|end| end.timestamp() > now_epoch);
    if legacy && !running {
        return Err(AdmissionRefusal::LegacyExpired);
    }
    Ok(())
}

/// The show's side, checked before the booking is read: the scanning partner owns the show's
/// theatre and the ticket names that theatre.
pub fn check_theatre(
    show: &Show,
    claims: &TicketClaims,
    partner_id: &str,
) -> Result<(), AdmissionRefusal> {
    if show.partner_id != partner_id || show.theatre_id != claims.theatre_id {
        return Err(AdmissionRefusal::OtherPartner);
    }
    Ok(())
}

/// The booking's side: the ticket is the booking's current ticket and the booking is CONFIRMED.
pub fn check_booking(booking: &Booking, claims: &TicketClaims) -> Result<(), AdmissionRefusal> {
    if booking.ticket.as_ref().map(|t| &t.ticket_id) != Some(&claims.ticket_id) {
        return Err(AdmissionRefusal::Forged);
    }
    if booking.status != BookingStatus::Confirmed {
        return Err(AdmissionRefusal::NotConfirmed(booking.status));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::TicketInfo;

    fn claims() -> TicketClaims {
        serde_json::from_value(serde_json::json!({
            "t": "tkt_1", "b": "bk_1", "s": "sh_1", "th": "th_1", "seats": ["A1"]
        }))
        .expect("claims")
    }

    fn booking(status: BookingStatus, ticket_id: Option<&str>) -> Booking {
        let json = serde_json::json!({
            "booking_id": "bk_1", "user_id": "usr_1", "show_id": "sh_1", "theatre_id": "th_1",
            "city_id": "blr", "show_start": "2027-01-16T18:00:00Z", "time_zone": "Asia/Kolkata",
            "status": status, "seats": [], "hold_expires_at": 0, "created_at": "x",
            "pricing": { "currency": "INR", "subtotal": 0, "discount": 0, "fees": 0, "tax": 0,
                         "total": 0, "appliedOffers": [] },
        });
        let mut b: Booking = serde_json::from_value(json).expect("a booking");
        b.ticket = ticket_id.map(|t| TicketInfo {
            ticket_id: t.into(),
            qr_code_data: String::new(),
            seat_ids: vec![],
        });
        b
    }

    #[test]
    fn bx1_codes_admit_until_their_show_ends_and_bx2_codes_after() {
        let end = "2027-01-16T21:00:00Z";
        let at_end = chrono::DateTime::parse_from_rfc3339(end)
            .expect("an instant")
            .timestamp();
        let cases = [
            (true, end, at_end - 1, Ok(())),
            (true, end, at_end, Err(AdmissionRefusal::LegacyExpired)),
            (true, "not a time", 0, Err(AdmissionRefusal::LegacyExpired)),
            (false, end, at_end + 86_400, Ok(())),
        ];
        for (legacy, show_end, now, want) in cases {
            assert_eq!(
                check_code_age(legacy, show_end, now),
                want,
                "{legacy} {show_end} {now}"
            );
        }
    }

    #[test]
    fn only_a_confirmed_bookings_current_ticket_is_admitted() {
        use BookingStatus::*;
        let cases = [
            (Confirmed, Some("tkt_1"), Ok(())),
            (Confirmed, Some("tkt_other"), Err(AdmissionRefusal::Forged)),
            (Confirmed, None, Err(AdmissionRefusal::Forged)),
            (
                Cancelled,
                Some("tkt_1"),
                Err(AdmissionRefusal::NotConfirmed(Cancelled)),
            ),
            (PaymentPending, None, Err(AdmissionRefusal::Forged)),
        ];
        for (status, ticket, want) in cases {
            assert_eq!(
                check_booking(&booking(status, ticket), &claims()),
                want,
                "{status:?} {ticket:?}"
            );
        }
    }
}

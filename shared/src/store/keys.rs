//! Every key format of the single table, in one place.

use crate::domain::layout::Block;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI2: &str = "gsi2";

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}
pub const USER_SK: &str = "PROFILE";

/// The email-uniqueness item: exists once per lower-cased email and carries the credentials,
/// so a login is one GetItem.
pub fn email_pk(normalized_email: &str) -> String {
    format!("EMAIL#{normalized_email}")
}
pub const EMAIL_SK: &str = "EMAIL";

pub fn city_pk(city_id: &str) -> String {
    format!("CITY#{city_id}")
}
pub const CITY_SK: &str = "CITY";
/// GSI1 partition listing every city (a handful of items: never a hot partition).
pub const CITIES_GSI1PK: &str = "CITIES";

pub fn movie_pk(movie_id: &str) -> String {
    format!("MOVIE#{movie_id}")
}
pub const MOVIE_SK: &str = "MOVIE";
/// GSI1 partition listing every movie, newest first by id (ULIDs sort by creation).
pub const MOVIES_GSI1PK: &str = "MOVIES";

pub fn theatre_pk(theatre_id: &str) -> String {
    format!("THEATRE#{theatre_id}")
}
pub const THEATRE_SK: &str = "THEATRE";
pub fn screen_sk(screen_id: &str) -> String {
    format!("SCREEN#{screen_id}")
}

pub fn show_pk(show_id: &str) -> String {
    format!("SHOW#{show_id}")
}
pub const SHOW_SK: &str = "SHOW";
/// The small per-show item the browse GSI reads (no layout), with the availability bookkeeping.
pub const LISTING_SK: &str = "LISTING";
/// A show's sold-seat counters (`store::catalog::SOLD_SHARDS` of them), each its own partition
/// key: the show's partition would cap all of a show's confirms at one partition's 1,000 writes
/// a second.
pub fn sold_pk(show_id: &str, shard: u32) -> String {
    format!("SHOW#{show_id}#SOLD#{shard}")
}
pub const SOLD_SK: &str = "SOLD";
/// The partition of one block of a show's seat items (`domain::layout::Layout::blocks`): a
/// show's seats spread over one partition key per block, apart from the show's own items.
pub fn seat_pk(show_id: &str, block: Block) -> String {
    format!("SHOW#{show_id}#B{block}")
}
pub fn seat_sk(seat_id: &str) -> String {
    format!("SEAT#{seat_id}")
}

/// Browse GSI: shows of a city on a local date, by movie and start time.
pub fn browse_gsi1pk(city_id: &str, local_date: &str) -> String {
    format!("CITY#{city_id}#DATE#{local_date}")
}
pub fn browse_gsi1sk_prefix(movie_id: &str) -> String {
    format!("MOVIE#{movie_id}#")
}
pub fn browse_gsi1sk(movie_id: &str, start_utc: &str, show_id: &str) -> String {
    format!("MOVIE#{movie_id}#{start_utc}#{show_id}")
}
/// The movie id and start time a `browse_gsi1sk` names.
pub fn browse_gsi1sk_movie_and_start(sk: &str) -> Option<(&str, &str)> {
    let mut parts = sk.strip_prefix("MOVIE#")?.split('#');
    Some((parts.next()?, parts.next()?))
}

/// A claimed scheduling slot of a screen (see `domain::show::SLOT_MINUTES`).
pub fn screen_slot_pk(screen_id: &str) -> String {
    format!("SCREEN#{screen_id}")
}
pub fn slot_sk(slot: i64) -> String {
    format!("SLOT#{slot:012}")
}

pub fn booking_pk(booking_id: &str) -> String {
    format!("BOOKING#{booking_id}")
}
pub const BOOKING_SK: &str = "BOOKING";
pub fn user_bookings_gsi1pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}
/// Sparse GSI2: only PAYMENT_PENDING bookings carry these keys.
pub fn pending_gsi2pk(shard: u32) -> String {
    format!("PENDING#{shard}")
}
pub fn pending_gsi2sk(hold_expires_at: i64, booking_id: &str) -> String {
    format!("{hold_expires_at:012}#{booking_id}")
}

pub fn idempotency_pk(user_id: &str, key: &str) -> String {
    format!("IDEMP#{user_id}#{key}")
}
pub const IDEMPOTENCY_SK: &str = "IDEMP";

/// A user's fixed one-minute window of booking attempts.
pub fn rate_pk(user_id: &str, minute: i64) -> String {
    format!("RATE#{user_id}#{minute}")
}
pub const RATE_SK: &str = "RATE";

pub fn offer_pk(code: &str) -> String {
    format!("OFFER#{code}")
}
pub const OFFER_SK: &str = "OFFER";
pub const OFFERS_GSI1PK: &str = "OFFERS";
pub fn offer_use_pk(code: &str, user_id: &str) -> String {
    format!("OFFERUSE#{code}#{user_id}")
}
pub const OFFER_USE_SK: &str = "OFFERUSE";

/// The processed-event marker of a provider's webhook event.
pub fn processed_event_pk(provider: &str, event_id: &str) -> String {
    format!("EVENT#{provider}#{event_id}")
}
pub const PROCESSED_EVENT_SK: &str = "EVENT";

/// A customer's notification inbox; the sort key orders by time and names the source event, so
/// the same event delivered twice writes the same item once.
pub fn inbox_pk(user_id: &str) -> String {
    format!("INBOX#{user_id}")
}
pub fn inbox_sk(created_at: &str, notification_id: &str) -> String {
    format!("{created_at}#{notification_id}")
}

/// GSI2 for confirmed bookings, by the UTC hour their show starts, for reminders, sharded
/// (`store::bookings::REMINDER_SHARDS`): every confirm of every show starting in one hour would
/// otherwise write one GSI partition, and a GSI partition past its 1,000 writes a second
/// throttles the table's writes behind it.
pub fn reminder_gsi2pk(show_start_utc: &str, shard: u32) -> String {
    format!(
        "REMIND#{}#{shard}",
        show_start_utc.get(..13).unwrap_or(show_start_utc)
    )
}
pub fn reminder_gsi2sk(show_start_utc: &str, booking_id: &str) -> String {
    format!("{show_start_utc}#{booking_id}")
}

pub fn waitlist_pk(show_id: &str) -> String {
    format!("WAITLIST#{show_id}")
}
pub fn waitlist_sk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// A domain event waiting to be published (the transactional outbox), one item per event id:
/// written in the transaction that made the change, deleted once EventBridge has the event.
pub fn outbox_pk(event_id: &str) -> String {
    format!("OUTBOX#{event_id}")
}
pub const OUTBOX_SK: &str = "OUTBOX";
/// Sparse GSI1 keys of an outbox item (only outbox items carry `OUTBOX#` there), sharded so the
/// re-drive reads a few small partitions and no one partition takes every event's writes.
pub fn outbox_gsi1pk(shard: u32) -> String {
    format!("OUTBOX#{shard}")
}
pub fn outbox_gsi1sk(created_at: i64, event_id: &str) -> String {
    format!("{created_at:012}#{event_id}")
}
/// Everything of an outbox shard written before `created_before` sorts below this.
pub fn outbox_gsi1sk_before(created_before: i64) -> String {
    format!("{created_before:012}#")
}

/// A refund's own record (`store::refunds`): one per (booking, payment intent).
pub fn refund_pk(refund_id: &str) -> String {
    format!("REFUND#{refund_id}")
}
pub const REFUND_SK: &str = "REFUND";
/// A customer's count of seats held plus bought for one show (the per-customer seat cap).
pub fn seat_cap_pk(show_id: &str, user_id: &str) -> String {
    format!("SEATCAP#{show_id}#{user_id}")
}
pub const SEAT_CAP_SK: &str = "SEATCAP";

/// A partner's API key record (`domain::api_key`): its id is in the presented key, so a request
/// with a key reads it with one GetItem.
pub fn api_key_pk(key_id: &str) -> String {
    format!("APIKEY#{key_id}")
}
pub const API_KEY_SK: &str = "APIKEY";

/// An external platform's block of a show's seats, by its reference: the block's booking, so a
/// repeated block or a release finds it (one per show and reference, for good).
pub fn external_ref_pk(show_id: &str, external_ref: &str) -> String {
    format!("EXTREF#{show_id}#{external_ref}")
}
pub const EXTERNAL_REF_SK: &str = "EXTREF";

/// A customer's loyalty balance (`store::loyalty`): one small item, read and written only for
/// that customer (no hot item).
pub fn points_balance_pk(user_id: &str) -> String {
    format!("POINTS#{user_id}")
}
pub const POINTS_BALANCE_SK: &str = "BALANCE";
/// A customer's loyalty ledger: one partition per customer, its entries in the order they were
/// written (`at`, the move's RFC 3339 second, then the writer's milliseconds within it, then the
/// booking and its move), so they list newest first.
pub fn points_ledger_pk(user_id: &str) -> String {
    format!("LEDGER#{user_id}")
}
pub fn points_ledger_sk(at: &str, written_ms: i64, booking_id: &str, seq: u8) -> String {
    format!("{at}#{:03}#{booking_id}#{seq}", written_ms.rem_euclid(1000))
}

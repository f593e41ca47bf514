//! Opaque identifiers with a type prefix (`bk_01H…`): a ULID behind the prefix, so ids sort by creation.

pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new())
}

/// True when `id` looks like an id of ours with this prefix. Path values that fail this are
/// answered 404 without touching the store, and can never smuggle a key separator into a key.
pub fn is_id(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| ulid.len() == 26 && ulid.parse::<ulid::Ulid>().is_ok())
}

/// A human-chosen slug (city ids, offer codes): 2–40 of `[A-Za-z0-9_-]`.
pub fn is_slug(s: &str) -> bool {
    (2..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_lookalikes() {
        let id = new_id("bk");
        assert!(is_id("bk", &id));
        assert!(!is_id("sh", &id));
        assert!(!is_id("bk", "bk_"));
        assert!(!is_id("bk", "bk_01H#SEAT#A1"));
        assert!(!is_id("bk", &format!("{id}x")));
        assert!(is_slug("blr"));
        assert!(!is_slug("b"));
        assert!(!is_slug("CITY#x"));
    }
}

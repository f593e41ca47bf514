//! Time source. Production uses the system clock; tests move a shared offset forward to make
//! holds expire without sleeping.

use chrono::{DateTime, Duration, Utc};
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    /// When non-zero, the epoch milliseconds the clock stands still at (before `offset_ms`).
    pinned_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Clock::default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        let base = match self.pinned_ms.load(Ordering::Relaxed) {
            0 => Utc::now(),
            ms => DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now),
        };
        base + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    pub fn now_epoch(&self) -> i64 {
        self.now().timestamp()
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// Stops this clock (and every clone of it) at `at`: `now()` answers `at` until `advance`
    /// moves it. For tests whose outcome depends on where in a minute they run.
    pub fn pin(&self, at: DateTime<Utc>) {
        let offset = self.offset_ms.load(Ordering::Relaxed);
        self.pinned_ms
            .store(at.timestamp_millis() - offset, Ordering::Relaxed);
    }
}

/// RFC 3339 in UTC with second precision, the API's timestamp format.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_stands_still_until_advanced() {
        let clock = Clock::system();
        let twin = clock.clone();
        clock.advance(Duration::seconds(90));
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        clock.pin(at);
        assert_eq!(twin.now(), at);
        assert_eq!(twin.now(), at, "still");
        twin.advance(Duration::seconds(7));
        assert_eq!(clock.now(), at + Duration::seconds(7));
    }
}

//! Glue of the waiting room: the token keys from the stage's JWT secret, the admission check
//! of `POST /bookings`, and a warm-container cache of each queue's state (config and progress,
//! kept `STATE_TTL`: the status endpoint's only shared read).

use crate::{
    config::JwtConfig,
    domain::queue::{token_key, verify_admission},
    store::{queue::QueueState, Store, StoreError},
    ApiError,
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

pub const ADMISSION_HEADER: &str = "x-admission-token";
/// How long a container reuses a queue's config and progress (the frontier moves by the rate
/// between reads, so this only delays a rate change or a sequencer run by as much).
pub const STATE_TTL: Duration = Duration::from_secs(2);

/// The keys queue tokens are signed with (the first) and accepted under (any): derived from the
/// current and the previous JWT key, so a JWT key rotation rotates them too.
pub fn token_keys(jwt: &JwtConfig) -> Result<Vec<Vec<u8>>, ApiError> {
    let keys = jwt
        .keys
        .as_ref()
        .ok_or_else(|| ApiError::Internal("no JWT keys: queue tokens cannot be signed".into()))?;
    let mut out = vec![token_key(keys.current.expose().as_bytes())];
    if let Some(prev) = &keys.previous {
        out.push(token_key(prev.expose().as_bytes()));
    }
    Ok(out)
}

/// `POST /bookings` on a queue-mode show: 403 QUEUE_REQUIRED unless the request carries a valid
/// admission token of this customer for this show.
pub fn require_admission(
    jwt: &JwtConfig,
    token: Option<&str>,
    customer: &str,
    show: &str,
    now: i64,
) -> Result<(), ApiError> {
    verify_admission(&token_keys(jwt)?, token, customer, show, now)
        .map_err(|r| ApiError::QueueRequired(r.message().into()))
}

type Cached = Mutex<HashMap<String, (Instant, Arc<QueueState>)>>;

fn cache() -> &'static Cached {
    static CACHE: OnceLock<Cached> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// A queue's state, from this container's cache when younger than `STATE_TTL`.
pub async fn cached_state(store: &Store, show_id: &str) -> Result<Arc<QueueState>, StoreError> {
    let key = format!("{}/{show_id}", store.table());
    if let Ok(guard) = cache().lock() {
        if let Some((at, state)) = guard.get(&key) {
            if at.elapsed() < STATE_TTL {
                return Ok(state.clone());
            }
        }
    }
    let state = Arc::new(store.queue_state(show_id).await?);
    if let Ok(mut guard) = cache().lock() {
        if guard.len() > 1000 {
            guard.clear();
        }
        guard.insert(key, (Instant::now(), state.clone()));
    }
    Ok(state)
}

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
/// Longest admission token accepted (openapi.yaml's `AdmissionToken` maxLength).
pub const MAX_ADMISSION_TOKEN_CHARS: usize = 2048;
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

/// The request's `X-Admission-Token` header, on any show: absent, or 400 past
/// `MAX_ADMISSION_TOKEN_CHARS` (as documented), before anything is read.
pub fn admission_token(req: &lambda_http::Request) -> Result<Option<&str>, ApiError> {
    let token = crate::http::header(req, ADMISSION_HEADER);
    if token.is_some_and(|t| t.len() > MAX_ADMISSION_TOKEN_CHARS) {
        return Err(ApiError::validation(format!(
            "X-Admission-Token is longer than {MAX_ADMISSION_TOKEN_CHARS} characters."
        )));
    }
    Ok(token)
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

/// Admitted places a run reads to find admission windows that ended unused.
pub const WINDOW_CHECKS_PER_RUN: u64 = 20_000;

/// What one sequencer run did to one queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SequencerRun {
    pub show_id: String,
    pub drawn: u64,
    pub placed_late: u64,
    pub admitted: u64,
    pub unused: u64,
    pub waiting: u64,
    /// Another run wrote the progress first: this run's progress was not written.
    pub lost_race: bool,
}

/// One sequencer run for one queue at `now`: the draw once the on-sale time has passed, the
/// later arrivals placed in arrival order, the admissions up to the frontier recorded (each with
/// its inbox notification through the outbox), the windows that ended unused counted, and the
/// progress written once. Safe to run twice at once (the progress is version-locked; places and
/// admissions are written idempotently).
pub async fn sequence(
    deps: &crate::Deps,
    config: &crate::domain::queue::QueueConfig,
) -> Result<SequencerRun, ApiError> {
    let now = deps.clock.now_epoch();
    let show_id = config.show_id.as_str();
    let store = &deps.store;
    let state = store.queue_state(show_id).await?;
    let config = state.config.as_ref().unwrap_or(config);
    let mut run = SequencerRun {
        show_id: show_id.to_owned(),
        ..Default::default()
    };
    let mut version = state.version;
    let mut progress = state.progress.clone();
    if !progress.drawn {
        if !crate::domain::queue::can_draw(config, now) {
            return Ok(run);
        }
        match draw(deps, config, &mut progress, version).await? {
            Some((drawn, seeded)) => {
                run.drawn = drawn;
                version += u64::from(seeded);
            }
            None => {
                run.lost_race = true;
                return Ok(run);
            }
        }
    }
    let (placed_late, cursor) = place_late_arrivals(deps, config, &progress, now).await?;
    run.placed_late = placed_late;
    run.admitted = admit(deps, config, &progress, now).await?;
    let (unused, checked) = ended_windows(deps, config, &progress, now).await?;
    run.unused = unused;

    let next = progress.advance(config, now, run.placed_late, cursor, run.unused, checked);
    run.waiting = next.sequenced.saturating_sub(next.frontier(config, now));
    if !store.put_progress(show_id, &next, version).await? {
        run.lost_race = true;
    }
    Ok(run)
}

/// The draw among the customers who arrived before the on-sale time: their places, and the
/// progress after it. `None` when another run stored a seed first; otherwise how many were
/// drawn and whether this run stored the seed (a progress version of its own).
async fn draw(
    deps: &crate::Deps,
    config: &crate::domain::queue::QueueConfig,
    progress: &mut crate::domain::queue::QueueProgress,
    version: u64,
) -> Result<Option<(u64, bool)>, ApiError> {
    use crate::domain::queue::{draw_order, QueueProgress};
    let show_id = config.show_id.as_str();
    let store = &deps.store;
    let (seed, seeded) = match &progress.seed {
        Some(seed) => (seed.clone(), false),
        None => {
            // Nobody chooses the seed: it is generated here, after the on-sale time, and
            // stored before any place is given, so a rerun gives the same places.
            use rand::RngCore;
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let seeded = QueueProgress {
                seed: Some(hex::encode(bytes)),
                ..progress.clone()
            };
            if !store.put_progress(show_id, &seeded, version).await? {
                return Ok(None);
            }
            *progress = seeded;
            (hex::encode(bytes), true)
        }
    };
    let seed_bytes = hex::decode(&seed).map_err(ApiError::internal)?;
    let early: Vec<String> = store
        .arrivals(show_id, 0, config.on_sale_at - 1, None)
        .await?
        .into_iter()
        .map(|e| e.user_id)
        .collect();
    let places: Vec<(String, u64)> = draw_order(&seed_bytes, &early)
        .into_iter()
        .enumerate()
        .map(|(i, u)| (u, i as u64 + 1))
        .collect();
    store.assign_places(show_id, &places).await?;
    let drawn = places.len() as u64;
    *progress = QueueProgress {
        drawn: true,
        early_count: drawn,
        sequenced: drawn,
        anchor_at: config.on_sale_at,
        ..progress.clone()
    };
    Ok(Some((drawn, seeded)))
}

/// Places for the customers who arrived after the on-sale time, in arrival order, up to the late
/// horizon: how many were placed, and the last one placed (the next run's cursor).
async fn place_late_arrivals(
    deps: &crate::Deps,
    config: &crate::domain::queue::QueueConfig,
    progress: &crate::domain::queue::QueueProgress,
    now: i64,
) -> Result<(u64, Option<(i64, String)>), ApiError> {
    use crate::domain::queue::{late_horizon, late_order};
    let show_id = config.show_id.as_str();
    let horizon = late_horizon(now);
    let candidates = deps
        .store
        .arrivals(
            show_id,
            config.on_sale_at,
            horizon,
            progress.late_cursor.as_ref(),
        )
        .await?
        .into_iter()
        .map(|e| (e.joined_at, e.user_id))
        .collect();
    let late = late_order(config, progress.late_cursor.as_ref(), horizon, candidates);
    let places: Vec<(String, u64)> = late
        .iter()
        .enumerate()
        .map(|(i, (_, u))| (u.clone(), progress.sequenced + i as u64 + 1))
        .collect();
    deps.store.assign_places(show_id, &places).await?;
    Ok((places.len() as u64, late.last().cloned()))
}

/// Admissions since the last run, recorded on each entry with its notification. The frontier
/// of the progress as it was: the arrivals placed in this run are admitted from now on
/// (`QueueProgress::advance`), never in a burst from an old anchor.
async fn admit(
    deps: &crate::Deps,
    config: &crate::domain::queue::QueueConfig,
    progress: &crate::domain::queue::QueueProgress,
    now: i64,
) -> Result<u64, ApiError> {
    let store = &deps.store;
    let frontier = progress.frontier(config, now);
    let newly = store
        .entries_by_place(&config.show_id, progress.recorded, frontier)
        .await?;
    let mut events = Vec::new();
    for entry in &newly {
        let Some(place) = entry.place else { continue };
        if entry.admitted_at.is_some() {
            continue;
        }
        let at = progress
            .admission_time(config, place)
            .unwrap_or(now)
            .min(now);
        let event =
            crate::events::queue_admitted(entry, place, at + config.admission_window_seconds);
        let outbox = crate::events::outbox(deps, vec![event]);
        if store.record_admission(entry, at, &outbox).await? {
            events.extend(outbox);
        }
    }
    crate::events::publish(deps, &events).await;
    Ok(newly.len() as u64)
}

/// Admission windows that ended since the last run: how many went unused (to be replaced, if
/// configured), and the last place checked. Bounded per run (the windows still open are read
/// again next run).
async fn ended_windows(
    deps: &crate::Deps,
    config: &crate::domain::queue::QueueConfig,
    progress: &crate::domain::queue::QueueProgress,
    now: i64,
) -> Result<(u64, u64), ApiError> {
    let checked_upto = progress
        .recorded
        .min(progress.window_checked + WINDOW_CHECKS_PER_RUN);
    let ended = deps
        .store
        .entries_by_place(&config.show_id, progress.window_checked, checked_upto)
        .await?;
    let (mut unused, mut checked) = (0, progress.window_checked);
    for e in &ended {
        let Some(at) = e.admitted_at else { break };
        if at + config.admission_window_seconds > now {
            break;
        }
        if crate::domain::queue::window_unused(
            at,
            config.admission_window_seconds,
            e.used_at.is_some(),
            now,
        ) {
            unused += 1;
        }
        checked = e.place.unwrap_or(checked);
    }
    Ok((unused, checked))
}

/// An epoch second as the contract's RFC 3339.
pub fn epoch_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(crate::clock::rfc3339)
        .unwrap_or_default()
}

/// The status JSON of the join and the status endpoints (`admission` with its token once
/// admitted; nulls while the place or the estimate is not known yet).
pub fn status_view(
    s: &crate::domain::queue::WaitStatus,
    admission: Option<(String, i64)>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "place": s.place,
        "ahead": s.ahead,
        "estimatedAdmissionAt": s.estimated_admission_at.map(epoch_time),
    });
    if let Some(d) = s.draw_at {
        v["drawAt"] = epoch_time(d).into();
    }
    if let Some((token, exp)) = admission {
        v["admission"] = serde_json::json!({ "token": token, "expiresAt": epoch_time(exp) });
    }
    v
}

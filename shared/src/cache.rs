//! Warm-container caches for data that changes rarely: cities (name, time zone, fees) and shows
//! (layout and prices never change after creation). Entries expire, so a change is seen within
//! the TTL; correctness never depends on them (every write is conditional on the stored state).

use crate::{
    domain::{
        catalog::{Movie, Show},
        city::City,
        pricing::Offer,
    },
    store::{Store, StoreError},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const CITY_TTL: Duration = Duration::from_secs(60);
const SHOW_TTL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct Caches {
    cities: Mutex<Option<(Instant, Arc<Vec<City>>)>>,
    shows: Mutex<HashMap<String, (Instant, Arc<Show>)>>,
    movies: Mutex<HashMap<String, (Instant, Arc<Movie>)>>,
    offers: Mutex<HashMap<String, (Instant, Arc<Offer>)>>,
    /// Seats lately answered taken (the hold path's cheaper losers).
    pub taken: crate::taken::TakenSeats,
    /// The losers' rate-window counts, sent together while one is in flight.
    pub attempts: crate::attempts::AttemptCounts,
}

impl Caches {
    pub async fn cities(&self, store: &Store) -> Result<Arc<Vec<City>>, StoreError> {
        if let Ok(guard) = self.cities.lock() {
            if let Some((at, cities)) = guard.as_ref() {
                if at.elapsed() < CITY_TTL {
                    return Ok(cities.clone());
                }
            }
        }
        let cities = Arc::new(store.list_cities().await?);
        if let Ok(mut guard) = self.cities.lock() {
            *guard = Some((Instant::now(), cities.clone()));
        }
        Ok(cities)
    }

    pub async fn city(&self, store: &Store, city_id: &str) -> Result<Option<City>, StoreError> {
        Ok(self
            .cities(store)
            .await?
            .iter()
            .find(|c| c.city_id == city_id)
            .cloned())
    }

    /// The show, from the cache when fresh (the hold path's only read).
    pub async fn show(
        &self,
        store: &Store,
        show_id: &str,
    ) -> Result<Option<Arc<Show>>, StoreError> {
        cached(&self.shows, show_id, SHOW_TTL, store.get_show(show_id)).await
    }

    /// The show and its city, for the hold path. In a cold container both reads go out at once
    /// (the cities list needs no key from the show), so a cold hold waits for one read before its
    /// transaction, as a warm one waits for none.
    pub async fn show_and_city(
        &self,
        store: &Store,
        show_id: &str,
    ) -> Result<Option<(Arc<Show>, Option<City>)>, StoreError> {
        let (show, cities) = tokio::join!(self.show(store, show_id), self.cities(store));
        let Some(show) = show? else {
            return Ok(None);
        };
        let city = cities?.iter().find(|c| c.city_id == show.city_id).cloned();
        Ok(Some((show, city)))
    }

    /// Drops a show so the next read sees its new status (after a cancellation).
    pub fn forget_show(&self, show_id: &str) {
        if let Ok(mut guard) = self.shows.lock() {
            guard.remove(show_id);
        }
    }

    /// An offer by code (admins' changes are seen within a minute).
    pub async fn offer(&self, store: &Store, code: &str) -> Result<Option<Arc<Offer>>, StoreError> {
        cached(&self.offers, code, CITY_TTL, store.get_offer(code)).await
    }

    pub async fn movie(
        &self,
        store: &Store,
        movie_id: &str,
    ) -> Result<Option<Arc<Movie>>, StoreError> {
        cached(&self.movies, movie_id, CITY_TTL, store.get_movie(movie_id)).await
    }
}

/// A read-through entry of `map`; only found values are cached.
async fn cached<T>(
    map: &Mutex<HashMap<String, (Instant, Arc<T>)>>,
    id: &str,
    ttl: Duration,
    load: impl std::future::Future<Output = Result<Option<T>, StoreError>>,
) -> Result<Option<Arc<T>>, StoreError> {
    if let Ok(guard) = map.lock() {
        if let Some((at, value)) = guard.get(id) {
            if at.elapsed() < ttl {
                return Ok(Some(value.clone()));
            }
        }
    }
    let Some(value) = load.await? else {
        return Ok(None);
    };
    let value = Arc::new(value);
    if let Ok(mut guard) = map.lock() {
        if guard.len() >= MAX_ENTRIES {
            guard.retain(|_, (at, _)| at.elapsed() < ttl);
        }
        guard.insert(id.to_owned(), (Instant::now(), value.clone()));
    }
    Ok(Some(value))
}

use super::{classify, cursor, keys, query_all, s, Item, Store, StoreError, TransactOutcome};
use crate::domain::show::SeatState;
use crate::domain::{
    catalog::{Movie, Screen, Show, Theatre},
    channel::Source,
    layout::Block,
    show::ShowStatus,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct MovieItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    movie: Movie,
}

#[derive(Serialize, Deserialize)]
struct TheatreItem {
    pk: String,
    sk: String,
    theatre_id: String,
    partner_id: String,
    name: String,
    city_id: String,
    area: String,
    address: String,
}

#[derive(Serialize, Deserialize)]
struct ScreenItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    screen: Screen,
}

#[derive(Serialize, Deserialize)]
struct ShowItem {
    pk: String,
    sk: String,
    #[serde(flatten)]
    show: Show,
}

/// What browse reads for a show: small (no layout), on the browse GSI. Nothing on the booking
/// path writes it: the seats sold are counted on the show's `SOLD_SHARDS` sold counters (each
/// sale and unsale on one, by booking id, in its transaction), which browse reads beside it, so
/// no item is written by every confirmation of a show or grows with its bookings. Live holds
/// are not counted (that would put a shared item into every hold's transaction); browse's
/// availability is therefore "not sold", the seat map shows the holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listing {
    pub show_id: String,
    pub theatre_id: String,
    pub theatre_name: String,
    pub screen_name: String,
    pub movie_id: String,
    pub start_time: String,
    pub time_zone: String,
    pub language: String,
    pub format: String,
    pub currency: String,
    pub price_from: i64,
    pub capacity: i64,
    pub status: ShowStatus,
    /// The sum of the show's sold counters, as read beside the listing (not stored on it).
    #[serde(skip)]
    pub sold_seats: i64,
}

impl Listing {
    /// A new show's listing: nothing sold yet.
    pub fn of(show: &Show) -> Listing {
        Listing {
            show_id: show.show_id.clone(),
            theatre_id: show.theatre_id.clone(),
            theatre_name: show.theatre_name.clone(),
            screen_name: show.screen_name.clone(),
            movie_id: show.movie_id.clone(),
            start_time: show.start_time.clone(),
            time_zone: show.time_zone.clone(),
            language: show.language.clone(),
            format: show.format.clone(),
            currency: show.currency.clone(),
            price_from: show.price_from(),
            capacity: show.capacity,
            status: show.status,
            sold_seats: 0,
        }
    }

    /// Seats not sold.
    pub fn available(&self) -> i64 {
        (self.capacity - self.sold_seats).max(0)
    }
}

/// Sold counters per show: each takes the sales of the bookings whose id falls on it, so a
/// show's confirmations spread over this many items (an item takes at most 1,000 writes a
/// second, and concurrent transactions on one item conflict).
pub const SOLD_SHARDS: u32 = 8;

/// The sold counter a booking's sale is counted on (FNV-1a of its id: the same in every
/// container and release).
pub fn sold_shard(booking_id: &str) -> u32 {
    let hash = booking_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // The high half: an FNV product's low bits depend only on the low bits of each byte.
    ((hash >> 32) % u64::from(SOLD_SHARDS)) as u32
}

/// One of a show's sold counters, as create-show writes it.
#[derive(Serialize)]
struct SoldCounter {
    pk: String,
    sk: String,
    status: ShowStatus,
    seats: i64,
}

/// What a sold counter's readers need of it (its status is only ever a condition).
#[derive(Deserialize)]
struct SoldCount {
    pk: String,
    #[serde(default)]
    seats: i64,
}

#[derive(Serialize, Deserialize)]
struct ListingItem {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    #[serde(flatten)]
    listing: Listing,
}

/// The state of one seat that has an item (a seat without one is available).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatItem {
    pub(crate) pk: String,
    pub(crate) sk: String,
    pub seat_id: String,
    pub state: SeatState,
    pub booking_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// The channel that sold or holds it; the app's own (most seats) is left unwritten.
    #[serde(default, skip_serializing_if = "Source::is_app")]
    pub source: Source,
}

/// The stored states, for condition expressions.
pub(crate) const HELD: &str = SeatState::Held.as_str();
pub(crate) const SOLD: &str = SeatState::Sold.as_str();

impl SeatItem {
    /// Held by a live booking (an expired hold counts as available).
    pub fn is_held_at(&self, now_epoch: i64) -> bool {
        self.state == SeatState::Held && self.expires_at.is_some_and(|e| e >= now_epoch)
    }
    pub fn is_sold(&self) -> bool {
        self.state == SeatState::Sold
    }
}

/// Everything in a show's item collection, from one Query.
pub struct ShowCollection {
    pub show: Show,
    pub seats: Vec<SeatItem>,
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub const GSI1_KEY_NAMES: [&str; 4] = [keys::PK, keys::SK, "gsi1pk", "gsi1sk"];

#[derive(Debug, PartialEq, Eq)]
pub enum CreateShow {
    Created,
    /// Another show holds a slot of this screen in the time range.
    Overlaps,
}

impl Store {
    pub async fn put_movie(&self, movie: &Movie) -> Result<(), StoreError> {
        let item = MovieItem {
            pk: keys::movie_pk(&movie.movie_id),
            sk: keys::MOVIE_SK.into(),
            gsi1pk: keys::MOVIES_GSI1PK.into(),
            gsi1sk: movie.movie_id.clone(),
            movie: movie.clone(),
        };
        self.put_new(&item).await
    }

    /// Writes `item`, which must be new (`attribute_not_exists(pk)`): its id was just made, so a
    /// failed condition is a bug, not a race, and is an error.
    pub(crate) async fn put_new<T: Serialize>(&self, item: &T) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(serde_dynamo::to_item(item)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    pub async fn get_movie(&self, movie_id: &str) -> Result<Option<Movie>, StoreError> {
        let item: Option<MovieItem> = self
            .get_as(keys::movie_pk(movie_id), keys::MOVIE_SK, false)
            .await?;
        Ok(item.map(|i| i.movie))
    }

    /// Movies for these ids (BatchGetItem, ≤100 at a time), in no particular order.
    pub async fn get_movies(&self, ids: &[String]) -> Result<Vec<Movie>, StoreError> {
        let keys = ids
            .iter()
            .map(|id| (keys::movie_pk(id), keys::MOVIE_SK.to_owned()))
            .collect();
        self.batch_get(keys)
            .await?
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item::<_, MovieItem>(item)?.movie))
            .collect()
    }

    /// The items of these (pk, sk) keys that exist, in any order: BatchGetItem, 100 keys a call
    /// (the calls at once), asking again for what DynamoDB left unprocessed.
    async fn batch_get(&self, wanted: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        let calls = wanted.chunks(100).map(|chunk| self.batch_get_chunk(chunk));
        Ok(futures::future::try_join_all(calls)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    async fn batch_get_chunk(&self, chunk: &[(String, String)]) -> Result<Vec<Item>, StoreError> {
        let mut keys_and_attrs = aws_sdk_dynamodb::types::KeysAndAttributes::builder();
        for (pk, sk) in chunk {
            let key: Item = [
                (keys::PK.to_owned(), s(pk.clone())),
                (keys::SK.to_owned(), s(sk.clone())),
            ]
            .into_iter()
            .collect();
            keys_and_attrs = keys_and_attrs.keys(key);
        }
        let mut request: Option<std::collections::HashMap<String, _>> = Some(
            [(
                self.table().to_owned(),
                keys_and_attrs.build().map_err(super::build_err)?,
            )]
            .into_iter()
            .collect(),
        );
        let mut found = Vec::new();
        while let Some(req) = request.take().filter(|r| !r.is_empty()) {
            let out = self
                .client()
                .batch_get_item()
                .set_request_items(Some(req))
                .send()
                .await
                .map_err(classify)?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(self.table()))
                    .unwrap_or_default(),
            );
            request = out.unprocessed_keys;
        }
        Ok(found)
    }

    /// Each listing's `sold_seats`: the sum of its show's sold counters (one BatchGetItem per
    /// 12 shows of the page, all at once).
    async fn count_sold(&self, listings: &mut [Listing]) -> Result<(), StoreError> {
        // Counter partition key → its show.
        let counters: std::collections::HashMap<String, String> = listings
            .iter()
            .flat_map(|l| {
                (0..SOLD_SHARDS).map(|shard| (keys::sold_pk(&l.show_id, shard), l.show_id.clone()))
            })
            .collect();
        let wanted = counters
            .keys()
            .map(|pk| (pk.clone(), keys::SOLD_SK.to_owned()))
            .collect();
        let mut sold: std::collections::HashMap<&str, i64> = Default::default();
        for item in self.batch_get(wanted).await? {
            let counter = serde_dynamo::from_item::<_, SoldCount>(item)?;
            if let Some(show_id) = counters.get(&counter.pk) {
                *sold.entry(show_id.as_str()).or_default() += counter.seats;
            }
        }
        for l in listings {
            l.sold_seats = sold.get(l.show_id.as_str()).copied().unwrap_or(0);
        }
        Ok(())
    }

    /// One page of the movie catalogue, newest first, keeping only movies `keep` accepts.
    pub async fn list_movies(
        &self,
        limit: i32,
        cursor: Option<&str>,
        keep: impl Fn(&Movie) -> bool,
    ) -> Result<Page<Movie>, StoreError> {
        let mut start = cursor
            .map(|c| cursor::decode(c, &GSI1_KEY_NAMES, "gsi1pk", keys::MOVIES_GSI1PK))
            .transpose()?;
        let mut items = Vec::new();
        loop {
            let out = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(keys::GSI1)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(keys::MOVIES_GSI1PK))
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            let page = out.items.unwrap_or_default();
            let page_len = page.len();
            let more = out
                .last_evaluated_key
                .as_ref()
                .is_some_and(|k| !k.is_empty());
            for (i, item) in page.into_iter().enumerate() {
                let key: Item = GSI1_KEY_NAMES
                    .iter()
                    .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
                    .collect();
                let movie = serde_dynamo::from_item::<_, MovieItem>(item)
                    .map_err(StoreError::from)?
                    .movie;
                if keep(&movie) {
                    items.push(movie);
                    if items.len() as i32 == limit {
                        let at_end = i + 1 == page_len && !more;
                        return Ok(Page {
                            items,
                            next_cursor: if at_end { None } else { cursor::encode(&key) },
                        });
                    }
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    })
                }
            }
        }
    }

    /// Creates a theatre and its screens in one transaction.
    pub async fn create_theatre(&self, theatre: &Theatre) -> Result<(), StoreError> {
        let pk = keys::theatre_pk(&theatre.theatre_id);
        let head = TheatreItem {
            pk: pk.clone(),
            sk: keys::THEATRE_SK.into(),
            theatre_id: theatre.theatre_id.clone(),
            partner_id: theatre.partner_id.clone(),
            name: theatre.name.clone(),
            city_id: theatre.city_id.clone(),
            area: theatre.area.clone(),
            address: theatre.address.clone(),
        };
        let mut items = vec![super::tx_put(
            self.table(),
            serde_dynamo::to_item(&head)?,
            Some("attribute_not_exists(pk)"),
        )?];
        for screen in &theatre.screens {
            let item = ScreenItem {
                pk: pk.clone(),
                sk: keys::screen_sk(&screen.screen_id),
                screen: screen.clone(),
            };
            items.push(super::tx_put(
                self.table(),
                serde_dynamo::to_item(&item)?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        match self.transact(items).await? {
            TransactOutcome::Committed { .. } => Ok(()),
            TransactOutcome::ConditionFailed { .. } => {
                Err(StoreError::Other("theatre id collision".into()))
            }
        }
    }

    /// A theatre with its screens, from one Query of its item collection.
    pub async fn get_theatre(&self, theatre_id: &str) -> Result<Option<Theatre>, StoreError> {
        let items = self.query_collection(&keys::theatre_pk(theatre_id)).await?;
        let mut head = None;
        let mut screens = Vec::new();
        for item in items {
            match item
                .get(keys::SK)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some(keys::THEATRE_SK) => {
                    head = Some(serde_dynamo::from_item::<_, TheatreItem>(item)?)
                }
                Some(sk) if sk.starts_with("SCREEN#") => {
                    screens.push(serde_dynamo::from_item::<_, ScreenItem>(item)?.screen)
                }
                _ => {}
            }
        }
        Ok(head.map(|h| Theatre {
            theatre_id: h.theatre_id,
            partner_id: h.partner_id,
            name: h.name,
            city_id: h.city_id,
            area: h.area,
            address: h.address,
            screens,
        }))
    }

    /// Every item of one partition (a theatre or a show collection).
    async fn query_collection(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.query_all(None, keys::PK, pk.to_owned()).await
    }

    /// Creates a show, its listing and its screen-slot claims in one transaction: an overlapping
    /// show on the same screen (even one created at the same moment) fails the slot conditions.
    pub async fn create_show(&self, show: &Show) -> Result<CreateShow, StoreError> {
        let pk = keys::show_pk(&show.show_id);
        let show_item = ShowItem {
            pk: pk.clone(),
            sk: keys::SHOW_SK.into(),
            show: show.clone(),
        };
        let listing_item = ListingItem {
            pk: pk.clone(),
            sk: keys::LISTING_SK.into(),
            gsi1pk: keys::browse_gsi1pk(&show.city_id, &show.local_date),
            gsi1sk: keys::browse_gsi1sk(&show.movie_id, &show.start_time, &show.show_id),
            listing: Listing::of(show),
        };
        let mut items = vec![
            super::tx_put(
                self.table(),
                serde_dynamo::to_item(&show_item)?,
                Some("attribute_not_exists(pk)"),
            )?,
            super::tx_put(
                self.table(),
                serde_dynamo::to_item(&listing_item)?,
                Some("attribute_not_exists(pk)"),
            )?,
        ];
        for shard in 0..SOLD_SHARDS {
            let counter = SoldCounter {
                pk: keys::sold_pk(&show.show_id, shard),
                sk: keys::SOLD_SK.to_owned(),
                status: show.status,
                seats: 0,
            };
            items.push(super::tx_put(
                self.table(),
                serde_dynamo::to_item(&counter)?,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        for slot in &show.slots {
            let item: Item = [
                (
                    keys::PK.to_owned(),
                    s(keys::screen_slot_pk(&show.screen_id)),
                ),
                (keys::SK.to_owned(), s(keys::slot_sk(*slot))),
                ("show_id".to_owned(), s(show.show_id.clone())),
            ]
            .into_iter()
            .collect();
            items.push(super::tx_put(
                self.table(),
                item,
                Some("attribute_not_exists(pk)"),
            )?);
        }
        Ok(match self.transact(items).await? {
            TransactOutcome::Committed { .. } => CreateShow::Created,
            TransactOutcome::ConditionFailed { .. } => CreateShow::Overlaps,
        })
    }

    /// The show item only (GetItem): what the hold path reads (and caches).
    pub async fn get_show(&self, show_id: &str) -> Result<Option<Show>, StoreError> {
        let item: Option<ShowItem> = self
            .get_as(keys::show_pk(show_id), keys::SHOW_SK, false)
            .await?;
        Ok(item.map(|i| i.show))
    }

    /// The show's seat items (held or sold seats; a seat with no item is available): one Query
    /// per block of its layout, all at once (each one page: a block has at most 100 seats).
    pub async fn get_seat_items(&self, show: &Show) -> Result<Vec<SeatItem>, StoreError> {
        let blocks = (0..show.layout.block_count())
            .map(|block| self.query_all(None, keys::PK, keys::seat_pk(&show.show_id, block)));
        let mut seats = Vec::new();
        for items in futures::future::try_join_all(blocks).await? {
            for item in items {
                seats.push(serde_dynamo::from_item(item)?);
            }
        }
        Ok(seats)
    }

    /// The seat items of one block of a show, read consistently: a cancelled show's part sees
    /// every sale committed before the cancellation.
    pub async fn seat_items_in_block(
        &self,
        show_id: &str,
        block: Block,
    ) -> Result<Vec<SeatItem>, StoreError> {
        self.query_all_consistent(keys::seat_pk(show_id, block))
            .await?
            .into_iter()
            .map(|item| Ok(serde_dynamo::from_item(item)?))
            .collect()
    }

    /// The show (read fresh) and every seat item: a GetItem, then its blocks' Queries at once.
    pub async fn get_show_collection(
        &self,
        show_id: &str,
    ) -> Result<Option<ShowCollection>, StoreError> {
        let Some(show) = self.get_show(show_id).await? else {
            return Ok(None);
        };
        let seats = self.get_seat_items(&show).await?;
        Ok(Some(ShowCollection { show, seats }))
    }

    /// One page of a city's shows of a movie on a local date (the browse GSI), in start order.
    pub async fn browse_listings(
        &self,
        city_id: &str,
        local_date: &str,
        movie_id: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Listing>, StoreError> {
        let partition = keys::browse_gsi1pk(city_id, local_date);
        let start = cursor
            .map(|c| cursor::decode(c, &GSI1_KEY_NAMES, "gsi1pk", &partition))
            .transpose()?;
        let out = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :m)")
            .expression_attribute_values(":p", s(partition.clone()))
            .expression_attribute_values(":m", s(keys::browse_gsi1sk_prefix(movie_id)))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let mut items = Vec::new();
        for item in out.items.unwrap_or_default() {
            items.push(
                serde_dynamo::from_item::<_, ListingItem>(item)
                    .map_err(StoreError::from)?
                    .listing,
            );
        }
        self.count_sold(&mut items).await?;
        let next_cursor = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .as_ref()
            .and_then(cursor::encode);
        Ok(Page { items, next_cursor })
    }

    /// Movie ids with shows in a city on a local date starting after `starts_after` (epoch
    /// seconds): the browse GSI, keys only, whose sort key carries each show's start, so a movie
    /// whose shows of the day have all begun is left out without reading a show.
    pub async fn movie_ids_showing(
        &self,
        city_id: &str,
        local_date: &str,
        starts_after: i64,
    ) -> Result<Vec<String>, StoreError> {
        let query = self
            .client()
            .query()
            .table_name(self.table())
            .index_name(keys::GSI1)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", s(keys::browse_gsi1pk(city_id, local_date)))
            .projection_expression("gsi1sk");
        let mut ids: Vec<String> = Vec::new();
        for item in query_all(query).await? {
            let sk = item
                .get("gsi1sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            let Some((id, start)) = keys::browse_gsi1sk_movie_and_start(&sk) else {
                continue;
            };
            let upcoming = chrono::DateTime::parse_from_rfc3339(start)
                .is_ok_and(|t| t.timestamp() > starts_after);
            if upcoming && !ids.iter().any(|i| i == id) {
                ids.push(id.to_owned());
            }
        }
        Ok(ids)
    }
}

/// A layout's screen lookup helper for create-show.
pub fn find_screen<'a>(theatre: &'a Theatre, screen_id: &str) -> Option<&'a Screen> {
    theatre.screens.iter().find(|s| s.screen_id == screen_id)
}

/// The catalogue cursor that continues after `movie_id` (newest-first order).
pub fn movie_cursor(movie_id: &str) -> Option<String> {
    let key: Item = [
        (keys::PK, keys::movie_pk(movie_id)),
        (keys::SK, keys::MOVIE_SK.to_owned()),
        ("gsi1pk", keys::MOVIES_GSI1PK.to_owned()),
        ("gsi1sk", movie_id.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), s(v)))
    .collect();
    cursor::encode(&key)
}

/// The movie id a catalogue cursor continues after; 400 for anything else.
pub fn movie_cursor_position(c: &str) -> Result<String, StoreError> {
    let key = cursor::decode(c, &GSI1_KEY_NAMES, "gsi1pk", keys::MOVIES_GSI1PK)?;
    key.get("gsi1sk")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or(StoreError::BadCursor)
}

#[cfg(test)]
mod tests {
    use super::{sold_shard, SOLD_SHARDS};

    #[test]
    fn bookings_spread_over_every_sold_counter_and_each_keeps_its_own() {
        let ids: Vec<String> = (0..8_000).map(|_| crate::ids::new_id("bk")).collect();
        let mut per_shard = [0u32; SOLD_SHARDS as usize];
        for id in &ids {
            let shard = sold_shard(id);
            assert_eq!(sold_shard(id), shard, "the same counter every time");
            per_shard[shard as usize] += 1;
        }
        // 1,000 a counter on average; a counter with under 800 or over 1,200 would be a skew.
        assert!(
            per_shard.iter().all(|n| (800..=1_200).contains(n)),
            "{per_shard:?}"
        );
        // FNV-1a is fixed: the same id lands on the same counter in every build.
        assert_eq!(
            sold_shard(""),
            ((0xcbf2_9ce4_8422_2325_u64 >> 32) % 8) as u32
        );
    }
}

//! The catalog the benchmark books from, made through the real handlers: a city, movies,
//! theatres with large screens, shows.

use crate::util::{expect, BoxError, Req};
use boxoffice::{auth::issue_token, domain::user::Role, Deps};
use boxoffice_local::gateway::Gateway;
use serde_json::{json, Value};

pub const CITY: &str = "bench";

pub struct Catalog {
    pub admin: String,
    pub partner: String,
}

/// `rows` rows of `cols` seats named `R<row>-<n>`; the first `premium_rows` rows PREMIUM.
pub fn layout(rows: usize, cols: usize, premium_rows: usize) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|r| {
            let seats: Vec<Value> = (0..cols)
                .map(|i| {
                    let t = if r < premium_rows {
                        "PREMIUM"
                    } else {
                        "REGULAR"
                    };
                    json!({"seatId": format!("R{r}-{i}"), "type": t})
                })
                .collect();
            json!({"rowLabel": format!("R{r}"), "seats": seats})
        })
        .collect();
    json!({ "rows": rows })
}

/// The city (Asia/Kolkata, INR, a fee and tax so that pricing does real work, loyalty terms so
/// that every confirmation earns points as in a deployed city with them) and the accounts.
pub async fn setup(gw: &Gateway, deps: &Deps) -> Result<Catalog, BoxError> {
    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    let admin = issue_token(jwt, "usr_benchadmin", "a@bench", Role::Admin, now)?;
    let partner = issue_token(jwt, "usr_benchpartner", "p@bench", Role::Partner, now)?;
    let city = json!({"name": "Bench City", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 3000, "taxPercent": 18,
        "loyalty": {"earnPercent": 5, "pointValue": 100}});
    expect(
        gw,
        Req::new("PUT", &format!("/api/v1/admin/cities/{CITY}"))
            .token(&admin)
            .json(&city),
        200,
    )
    .await?;
    Ok(Catalog { admin, partner })
}

impl Catalog {
    pub async fn movie(&self, gw: &Gateway, title: &str) -> Result<String, BoxError> {
        let body = json!({"title": title, "languages": ["english"], "genres": ["action"], "durationMins": 120, "releaseDate": "2026-01-01"});
        let movie = expect(
            gw,
            Req::new("POST", "/api/v1/movies")
                .token(&self.admin)
                .json(&body),
            201,
        )
        .await?;
        Ok(movie["movieId"].as_str().ok_or("no movieId")?.to_owned())
    }

    /// A theatre with one screen of this layout: (theatreId, screenId).
    pub async fn theatre(
        &self,
        gw: &Gateway,
        name: &str,
        layout: Value,
    ) -> Result<(String, String), BoxError> {
        let body = json!({"name": name, "cityId": CITY, "area": "A", "address": "B",
            "screens": [{"name": "Screen 1", "layout": layout}]});
        let t = expect(
            gw,
            Req::new("POST", "/api/v1/theatres")
                .token(&self.partner)
                .json(&body),
            201,
        )
        .await?;
        Ok((
            t["theatreId"].as_str().ok_or("no theatreId")?.to_owned(),
            t["screens"][0]["screenId"]
                .as_str()
                .ok_or("no screenId")?
                .to_owned(),
        ))
    }

    pub async fn show(
        &self,
        gw: &Gateway,
        movie: &str,
        (theatre, screen): &(String, String),
        start: &str,
    ) -> Result<String, BoxError> {
        // The flow's users book a show again and again (1–4 seats a booking over a minute): a
        // cap above what they reach keeps the flow measuring what it did before the cap existed.
        let body = json!({"theatreId": theatre, "screenId": screen, "movieId": movie,
            "startTime": start, "language": "english", "format": "2D", "currency": "INR",
            "prices": {"REGULAR": 18000, "PREMIUM": 25000}, "maxSeatsPerCustomer": 100});
        let show = expect(
            gw,
            Req::new("POST", "/api/v1/shows")
                .token(&self.partner)
                .json(&body),
            201,
        )
        .await?;
        Ok(show["showId"].as_str().ok_or("no showId")?.to_owned())
    }
}

/// The city's calendar date `days` from now (India, UTC+05:30).
pub fn ist_date(days: i64) -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::minutes(330) + chrono::Duration::days(days))
        .date_naive()
}

//! Catalog fixtures built through the real endpoints: a city, a movie, a partner's theatre, shows.

use crate::{Reply, TestStack};
use boxoffice::domain::user::Role;
use serde_json::{json, Value};

pub struct Fixture {
    pub admin: String,
    pub partner: String,
    pub partner_id: String,
    pub city_id: String,
    pub movie_id: String,
    pub theatre_id: String,
    pub screen_id: String,
}

/// A layout of `seats` seats in rows of 20: the first row PREMIUM, one WHEELCHAIR seat, the rest REGULAR.
pub fn layout(seats: usize) -> Value {
    let rows: Vec<Value> = (0..seats.div_ceil(20))
        .map(|r| {
            let label = format!("R{r}");
            let row_seats: Vec<Value> = (0..20.min(seats - r * 20))
                .map(|i| {
                    let t = if r == 0 {
                        "PREMIUM"
                    } else if r == 1 && i == 0 {
                        "WHEELCHAIR"
                    } else {
                        "REGULAR"
                    };
                    json!({"seatId": format!("{label}-{i}"), "type": t})
                })
                .collect();
            json!({"rowLabel": label, "seats": row_seats})
        })
        .collect();
    json!({ "rows": rows })
}

pub fn prices() -> Value {
    json!({"REGULAR": 18000, "PREMIUM": 25000, "WHEELCHAIR": 15000})
}

fn created(r: Reply, what: &str) -> Value {
    assert_eq!(r.status, 201, "creating {what}: {}", r.text);
    r.body
}

impl TestStack {
    /// A city (Asia/Kolkata), a movie, and a partner's theatre with one screen of `seats` seats.
    pub async fn catalog(&self, seats: usize) -> Fixture {
        let (_, admin) = self.user(Role::Admin).await;
        let (partner_id, partner) = self.user(Role::Partner).await;
        let city = json!({"name": "Bengaluru", "timeZone": "Asia/Kolkata", "currency": "INR", "convenienceFeePerTicket": 3000, "taxPercent": 18});
        let r = self
            .call("PUT", "/api/v1/admin/cities/blr")
            .token(&admin)
            .json(&city)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let movie = json!({"title": "Night Train", "languages": ["English", "Hindi"], "genres": ["Thriller"], "durationMins": 120, "releaseDate": "2026-11-01"});
        let movie = created(
            self.call("POST", "/api/v1/movies")
                .token(&admin)
                .json(&movie)
                .send()
                .await,
            "a movie",
        );
        let theatre = json!({"name": "Orion", "cityId": "blr", "area": "Rajajinagar", "address": "1 Main Rd",
            "screens": [{"name": "Screen 1", "layout": layout(seats)}]});
        let theatre = created(
            self.call("POST", "/api/v1/theatres")
                .token(&partner)
                .json(&theatre)
                .send()
                .await,
            "a theatre",
        );
        Fixture {
            admin,
            partner,
            partner_id,
            city_id: "blr".into(),
            movie_id: movie["movieId"].as_str().unwrap_or_default().into(),
            theatre_id: theatre["theatreId"].as_str().unwrap_or_default().into(),
            screen_id: theatre["screens"][0]["screenId"]
                .as_str()
                .unwrap_or_default()
                .into(),
        }
    }

    pub fn show_body(&self, f: &Fixture, start: &str) -> Value {
        json!({"theatreId": f.theatre_id, "screenId": f.screen_id, "movieId": f.movie_id, "startTime": start,
               "language": "english", "format": "2D", "currency": "INR", "prices": prices()})
    }

    /// Schedules a show starting at `start` (RFC 3339) and returns its id.
    pub async fn show_at(&self, f: &Fixture, start: &str) -> String {
        let r = self
            .call("POST", "/api/v1/shows")
            .token(&f.partner)
            .json(&self.show_body(f, start))
            .send()
            .await;
        created(r, "a show")["showId"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// Today's date in India (UTC+05:30), read from the system clock once per test run: every date
/// the fixtures compute comes from that one instant, so a test that schedules a show with `ist`
/// and browses its day with `ist_date` agrees with itself even when it runs across midnight.
pub fn ist_today() -> chrono::NaiveDate {
    static TODAY: std::sync::OnceLock<chrono::NaiveDate> = std::sync::OnceLock::new();
    *TODAY.get_or_init(|| (chrono::Utc::now() + chrono::Duration::minutes(330)).date_naive())
}

/// `days` days after `ist_today()` at `hh:mm` in India (UTC+05:30), as RFC 3339.
pub fn ist(days: i64, hh: u32, mm: u32) -> String {
    format!("{}T{hh:02}:{mm:02}:00+05:30", ist_date(days))
}

/// `days` days after `ist_today()`, as `YYYY-MM-DD`.
pub fn ist_date(days: i64) -> String {
    (ist_today() + chrono::Duration::days(days)).to_string()
}

//! Demo data for `make run`: two cities, an admin, a partner and a customer (local-only passwords,
//! new every run), four theatres with two or three screens each, six movies and shows over the
//! next seven days, and the contract's offers (`DEMO_OFFERS`). The catalogue and the offers are
//! created through the real handlers; `walkthrough` is what `make run` prints to try them.

use crate::gateway::Gateway;
use boxoffice::{
    accounts::{create_account, ensure_admin, NewAccount},
    auth::issue_token,
    clock::rfc3339,
    config::AdminAccount,
    domain::{
        city::City,
        loyalty::LoyaltyRate,
        user::{Role, User},
    },
    ApiError, Deps,
};
use bytes::Bytes;
use chrono::{Duration, TimeZone};
use lambda_http::Body;
use serde_json::{json, Value};

pub struct DemoAccount {
    pub role: Role,
    pub email: String,
    pub password: String,
}

pub fn demo_cities() -> Vec<City> {
    vec![
        City {
            city_id: "blr".into(),
            name: "Bengaluru".into(),
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
            convenience_fee_per_ticket: 3000,
            tax_basis_points: 1800,
            // 5 % back as points worth ₹1 each.
            loyalty: Some(LoyaltyRate {
                earn_basis_points: 500,
                point_value: 100,
            }),
        },
        City {
            city_id: "nyc".into(),
            name: "New York".into(),
            time_zone: "America/New_York".into(),
            currency: "USD".into(),
            convenience_fee_per_ticket: 150,
            tax_basis_points: 887,
            // 5 % back; a point is worth a cent here (about what ₹1 is).
            loyalty: Some(LoyaltyRate {
                earn_basis_points: 500,
                point_value: 1,
            }),
        },
    ]
}

/// Seeds cities and the three demo accounts. Passwords are generated per run and printed once.
pub async fn seed_accounts(
    deps: &Deps,
    admin: &AdminAccount,
    admin_password: &str,
) -> Result<(Vec<DemoAccount>, Vec<User>), ApiError> {
    for city in demo_cities() {
        deps.store.put_city(&city).await?;
    }
    let admin_user = ensure_admin(&deps.store, admin, rfc3339(deps.clock.now())).await?;
    let mut accounts = vec![DemoAccount {
        role: Role::Admin,
        email: admin.email.clone(),
        password: admin_password.to_owned(),
    }];
    let mut users = vec![admin_user];
    for (role, email, name, company) in [
        (
            Role::Partner,
            "partner@boxoffice.local",
            "Priya Partner",
            Some("Demo Cinemas"),
        ),
        (
            Role::Customer,
            "customer@boxoffice.local",
            "Chris Customer",
            None,
        ),
    ] {
        let password = format!("local-{}", &crate::random_secret()[..12]);
        let account = NewAccount {
            email: email.into(),
            password: password.clone(),
            name: name.into(),
            company: company.map(str::to_owned),
        };
        let user = create_account(deps, account, role).await?;
        accounts.push(DemoAccount {
            role,
            email: email.into(),
            password,
        });
        users.push(user);
    }
    Ok((accounts, users))
}

/// The offers of the contract's pricing section, as `PUT /admin/offers/{code}` takes them:
/// (code, body). Amounts are minor units of the Bengaluru shows' INR, so the two with amounts are
/// scoped to that city; THIRD50 applies everywhere. No per-user limit: the walkthrough can be
/// run again.
pub fn demo_offers() -> Vec<(&'static str, Value)> {
    vec![
        (
            "THIRD50",
            json!({"description": "Every third ticket of a booking at half price", "rule": {"type": "THIRD50"}}),
        ),
        (
            "SAVE20",
            json!({"description": "20 % off, up to ₹150", "rule": {"type": "PERCENT_OFF", "percent": 20, "maxDiscount": 15000},
                   "scope": {"cityIds": ["blr"]}}),
        ),
        (
            "FLAT100",
            json!({"description": "₹100 off a booking of ₹500 or more", "rule": {"type": "FLAT_OFF", "amount": 10000, "minSubtotal": 50000},
                   "scope": {"cityIds": ["blr"]}}),
        ),
    ]
}

/// Creates `demo_offers` as the admin, through `PUT /admin/offers/{code}`.
pub async fn seed_offers(gw: &Gateway, deps: &Deps, admin: &User) -> Result<usize, String> {
    let now = deps.clock.now_epoch();
    let token = issue_token(
        &deps.config.jwt,
        &admin.user_id,
        &admin.email,
        Role::Admin,
        now,
    )
    .map_err(|e| e.to_string())?;
    let offers = demo_offers();
    for (code, body) in &offers {
        post(
            gw,
            "PUT",
            &format!("/api/v1/admin/offers/{code}"),
            &token,
            body.clone(),
        )
        .await?;
    }
    Ok(offers.len())
}

/// The body of the walkthrough's THIRD50 booking (three seats of a Bengaluru show, `<showId>`
/// to fill in): the flow test books exactly this.
pub const THIRD50_BOOKING: &str =
    r#"{"showId":"<showId>","seatIds":["C5","C6","C7"],"couponCode":"THIRD50"}"#;

/// The body of the walkthrough's booking that spends the demo customer's points (`<showId>` to
/// fill in): the flow test books exactly this.
pub const REDEEM_BOOKING: &str = r#"{"showId":"<showId>","seatIds":["C8"],"redeemPoints":20}"#;

/// The seats of the demo's counter sale, on the first show seeded.
pub const COUNTER_SALE_SEATS: [&str; 2] = ["D1", "D2"];

/// What `make run` prints to try the stack (bash), against `api` (`…/api/v1`) on `port`.
pub fn walkthrough(api: &str, port: u16) -> String {
    let auth = r#"-H "authorization: Bearer $TOKEN" -H 'content-type: application/json'"#;
    let offers: Vec<String> = demo_offers()
        .iter()
        .map(|(code, body)| {
            format!(
                "{code} ({})",
                body["description"].as_str().unwrap_or_default()
            )
        })
        .collect();
    [
        format!("  curl -s {api}/cities"),
        format!("  curl -s -X POST {api}/auth/register -H 'content-type: application/json' \\"),
        r#"       -d '{"email":"me@example.com","password":"correct-horse-1","name":"Me"}'"#.to_owned(),
        format!("  TOKEN=$(curl -s -X POST {api}/auth/login -H 'content-type: application/json' \\"),
        r#"       -d '{"email":"me@example.com","password":"correct-horse-1"}' | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')"#.to_owned(),
        format!(r#"  MOVIE=$(curl -s '{api}/movies?city=blr' | sed -E 's/.*"movieId":"([^"]+)".*/\1/')"#),
        format!(r#"  curl -s "{api}/cities/blr/movies/$MOVIE/shows"            # today's shows; add ?date=YYYY-MM-DD"#),
        format!("  curl -s {api}/shows/<showId>/seats"),
        format!(r#"  curl -s -X POST {api}/shows/<showId>/best-available {auth} -d '{{"count":2}}'   # the best free pair; add "hold":true to hold it"#),
        format!("  # Offers: {}", offers.join(", ")),
        format!("  curl -s -X POST {api}/bookings {auth} \\"),
        format!(r#"       -H "idempotency-key: $(uuidgen || date +%s%N)" -d '{THIRD50_BOOKING}'   # THIRD50 on a Bengaluru show"#),
        format!(r#"  curl -s -X POST {api}/bookings/<bookingId>/payments {auth} -d '{{"provider":"sandbox","returnUrl":"https://example.com/done"}}'"#),
        format!(r#"  curl -s -X POST {api}/sandbox/payments/<paymentIntentId>/complete {auth} -d '{{"outcome":"succeeded"}}'"#),
        format!(r#"  curl -s {api}/bookings/<bookingId>/ticket.png -H "authorization: Bearer $TOKEN" -o ticket.png   # the QR ticket (or ticket.svg)"#),
        format!("  curl -s {api}/.well-known/ticket-keys   # the public keys a gate verifies tickets with, offline"),
        format!(r#"  curl -s {api}/me/bookings -H "authorization: Bearer $TOKEN""#),
        "  # As the demo customer (log in with its printed password into $CUSTOMER_TOKEN): the loyalty points its paid booking earned, and 20 of them spent".to_owned(),
        format!(r#"  curl -s {api}/me/loyalty -H "authorization: Bearer $CUSTOMER_TOKEN""#),
        format!(r#"  curl -s -X POST {api}/bookings -H "authorization: Bearer $CUSTOMER_TOKEN" -H 'content-type: application/json' -d '{REDEEM_BOOKING}'   # ₹1 a point in Bengaluru"#),
        "  # As the partner (log in with its printed password into $PARTNER_TOKEN): a counter sale, and the show's sales by channel".to_owned(),
        format!(r#"  curl -s -X POST {api}/partner/shows/<showId>/sales -H "authorization: Bearer $PARTNER_TOKEN" -H 'content-type: application/json' -d '{{"seatIds":["D3","D4"],"paymentMethod":"CASH"}}'"#),
        format!(r#"  curl -s {api}/shows/<showId>/stats -H "authorization: Bearer $PARTNER_TOKEN""#),
        format!("  cargo lambda invoke register -A 127.0.0.1 -P {port} --data-file events/register.json   # the Lambda Invoke API"),
        format!(r#"  curl -s {api}/me/notifications -H "authorization: Bearer $TOKEN"   # confirmations, expiries, reminders"#),
    ]
    .join("\n")
}

async fn post(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
    body: Value,
) -> Result<Value, String> {
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Bytes::from(body.to_string()))
        .map_err(|e| e.to_string())?;
    let resp = gw.call(req).await;
    let status = resp.status();
    let text = match resp.into_body() {
        Body::Text(t) => t,
        _ => String::new(),
    };
    if !status.is_success() {
        return Err(format!("{method} {path}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn screen(rows: usize, per_row: usize) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|r| {
            let label = ((b'A' + r as u8) as char).to_string();
            let seats: Vec<Value> = (1..=per_row)
                .map(|n| {
                    let kind = if r + 1 == rows {
                        "RECLINER"
                    } else if r + 2 >= rows {
                        "PREMIUM"
                    } else if r == 0 && n <= 2 {
                        "WHEELCHAIR"
                    } else {
                        "REGULAR"
                    };
                    json!({"seatId": format!("{label}{n}"), "type": kind})
                })
                .collect();
            json!({"rowLabel": label, "seats": seats})
        })
        .collect();
    json!({ "rows": rows })
}

/// What `seed_catalog` created.
pub struct SeededCatalog {
    pub shows: usize,
    /// The waiting room's queue-mode show.
    pub queued: Option<String>,
    /// The first Bengaluru show (its counter sale, the demo customer's booking).
    pub first_show: Option<String>,
}

/// Movies, theatres and a week of shows, created through the handlers as an admin and a partner.
pub async fn seed_catalog(
    gw: &Gateway,
    deps: &Deps,
    admin: &User,
    partner: &User,
) -> Result<SeededCatalog, String> {
    let now = deps.clock.now_epoch();
    let jwt = &deps.config.jwt;
    let admin_token = issue_token(jwt, &admin.user_id, &admin.email, Role::Admin, now)
        .map_err(|e| e.to_string())?;
    let partner_token = issue_token(jwt, &partner.user_id, &partner.email, Role::Partner, now)
        .map_err(|e| e.to_string())?;
    let movies = [
        ("Monsoon Letters", ["hindi", "english"], "romance", 128),
        ("The Last Orbit", ["english", "hindi"], "sci-fi", 142),
        ("Kaveri Nights", ["kannada", "english"], "drama", 117),
        ("Ledger of Lies", ["english", "tamil"], "thriller", 109),
        ("Paper Kites", ["english", "hindi"], "family", 96),
        ("Steel Raga", ["tamil", "english"], "action", 151),
    ];
    let mut movie_ids = Vec::new();
    for (title, langs, genre, mins) in movies {
        let body = json!({"title": title, "languages": langs, "genres": [genre], "durationMins": mins, "certification": "UA", "releaseDate": "2026-11-01"});
        let m = post(gw, "POST", "/api/v1/movies", &admin_token, body).await?;
        movie_ids.push(m["movieId"].as_str().unwrap_or_default().to_owned());
    }
    let theatres = [
        (
            "blr",
            "Orion Screens",
            "Rajajinagar",
            vec![(10, 20), (6, 18), (15, 20)],
        ),
        (
            "blr",
            "Lakeside Cinemas",
            "Indiranagar",
            vec![(8, 16), (12, 25)],
        ),
        (
            "nyc",
            "Hudson Picture House",
            "Chelsea",
            vec![(10, 22), (6, 20)],
        ),
        (
            "nyc",
            "Queensboro Cinema",
            "Astoria",
            vec![(14, 21), (5, 20), (7, 20)],
        ),
    ];
    let mut shows = 0;
    let mut queued = None;
    let mut first_show = None;
    for (t, (city, name, area, screens)) in theatres.into_iter().enumerate() {
        let layouts: Vec<Value> = screens.iter().enumerate().map(|(i, (r, n))| json!({"name": format!("Screen {}", i + 1), "layout": screen(*r, *n)})).collect();
        let body = json!({"name": name, "cityId": city, "area": area, "address": format!("{} {area}", 10 + t), "screens": layouts});
        let theatre = post(gw, "POST", "/api/v1/theatres", &partner_token, body).await?;
        let city_def = demo_cities()
            .into_iter()
            .find(|c| c.city_id == city)
            .ok_or("city")?;
        let tz = boxoffice::domain::city::parse_time_zone(&city_def.time_zone)?;
        // The demo cities keep one offset all year, so today's offset places every show.
        let tz = tz.offset_at(deps.clock.now());
        let today = deps.clock.now().with_timezone(&tz).date_naive();
        let (regular, premium, recliner) = if city == "blr" {
            (18000, 25000, 40000)
        } else {
            (1400, 1900, 2600)
        };
        for (s, scr) in theatre["screens"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            for day in 0..7 {
                for (slot, hour) in [10u32, 14, 19].into_iter().enumerate() {
                    let Some(start) = tz
                        .from_local_datetime(
                            &(today + Duration::days(day))
                                .and_hms_opt(hour, 30, 0)
                                .unwrap_or_default(),
                        )
                        .single()
                    else {
                        continue;
                    };
                    if start.timestamp() < now + 3600 {
                        continue;
                    }
                    let movie = &movie_ids[(t + s + slot + day as usize) % movie_ids.len()];
                    let lang = movies[(t + s + slot + day as usize) % movies.len()].1[0];
                    let body = json!({"theatreId": theatre["theatreId"], "screenId": scr["screenId"], "movieId": movie,
                        "startTime": start.to_rfc3339(), "language": lang, "format": if s == 0 { "IMAX 2D" } else { "2D" },
                        "currency": city_def.currency, "prices": {"REGULAR": regular, "PREMIUM": premium, "RECLINER": recliner, "WHEELCHAIR": regular}});
                    let show = post(gw, "POST", "/api/v1/shows", &partner_token, body).await?;
                    shows += 1;
                    // The first Bengaluru show has a counter sale (channel WALK_IN in its stats).
                    if shows == 1 {
                        let id = show["showId"].as_str().unwrap_or_default();
                        first_show = Some(id.to_owned());
                        post(
                            gw,
                            "POST",
                            &format!("/api/v1/partner/shows/{id}/sales"),
                            &partner_token,
                            json!({"seatIds": COUNTER_SALE_SEATS, "paymentMethod": "CASH"}),
                        )
                        .await?;
                    }
                    // The waiting room's demo: tomorrow's 19:30 IMAX show at Orion Screens
                    // goes on sale three minutes after start-up, at 2 customers a second.
                    if (t, s, day, hour) == (0, 0, 1, 19) {
                        let id = show["showId"].as_str().unwrap_or_default().to_owned();
                        let on_sale = boxoffice::queue::epoch_time(now + 180);
                        let q = json!({"onSaleAt": on_sale, "admissionRatePerSecond": 2, "admissionWindowSeconds": 600});
                        post(
                            gw,
                            "PUT",
                            &format!("/api/v1/shows/{id}/queue"),
                            &partner_token,
                            q,
                        )
                        .await?;
                        queued = Some(id);
                    }
                }
            }
        }
    }
    Ok(SeededCatalog {
        shows,
        queued,
        first_show,
    })
}

/// The seats of the demo customer's paid booking, on the first show seeded.
pub const LOYALTY_BOOKING_SEATS: [&str; 2] = ["E1", "E2"];

/// The demo customer's loyalty balance: a booking of `LOYALTY_BOOKING_SEATS` on `show`, paid with
/// the sandbox provider through the handlers. It confirms, and earns its points, as soon as the
/// confirm function takes the payment's message from its queue (the stack's triggers); the
/// booking's id is returned.
pub async fn seed_loyalty(
    gw: &Gateway,
    deps: &Deps,
    customer: &User,
    show: &str,
) -> Result<String, String> {
    let token = issue_token(
        &deps.config.jwt,
        &customer.user_id,
        &customer.email,
        Role::Customer,
        deps.clock.now_epoch(),
    )
    .map_err(|e| e.to_string())?;
    let booking = post(
        gw,
        "POST",
        "/api/v1/bookings",
        &token,
        json!({"showId": show, "seatIds": LOYALTY_BOOKING_SEATS}),
    )
    .await?;
    let booking_id = booking["bookingId"].as_str().unwrap_or_default().to_owned();
    let payment = post(
        gw,
        "POST",
        &format!("/api/v1/bookings/{booking_id}/payments"),
        &token,
        json!({"provider": "sandbox", "returnUrl": "https://example.com/done"}),
    )
    .await?;
    let intent = payment["providerPayload"]["paymentIntentId"]
        .as_str()
        .unwrap_or_default();
    post(
        gw,
        "POST",
        &format!("/api/v1/sandbox/payments/{intent}/complete"),
        &token,
        json!({"outcome": "succeeded"}),
    )
    .await?;
    Ok(booking_id)
}

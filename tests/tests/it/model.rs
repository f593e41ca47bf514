//! The hold → pay → expire / cancel / refund protocol, checked exhaustively (stateright, BFS) for
//! 2 seats and 3 customers: every interleaving of holds, payment starts, provider captures,
//! webhook deliveries (duplicated under another event id, redelivered by SQS, in any order, late,
//! after expiry, of a wrong amount: `FAULTS` of these per run, anywhere), the sweep's expiries,
//! cancellations (with refunds) and the clock. Declined payments and admissions are left to the
//! history run (`history.rs`): neither touches a seat nor money. Customers are interchangeable
//! (a symmetry reduction), so a discovered path names them by their place in the canonical state. Its transitions decide with the code's own rules: `domain::seat::can_hold` /
//! `can_sell` (the store's seat conditions, held equal by `seat_conformance`) and the booking state
//! machine `domain::booking::Transition`; a webhook is applied by confirm-payment's own decision
//! (`domain::payment::decide`, and `refuse_lost_sale` when the sell condition refuses). The same invariants as the history checker (`history.rs`).

use boxoffice::domain::{
    booking::{BookedSeat, BookingStatus, PaymentInfo, PaymentStatus, Transition},
    layout::SeatType,
    payment::{decide, refuse_lost_sale, Decision, PaymentMessage, PaymentOutcome},
    pricing::Pricing,
    seat::{can_hold, can_sell, SeatState},
};
use stateright::{Checker, Model, Property};

const SEATS: usize = 2;
const CUSTOMERS: usize = 3;
/// The clock runs 0..=MAX_NOW; a hold lasts one tick (live while `expires_at >= now`).
const MAX_NOW: i64 = 2;
const HOLD: i64 = 1;
const PRICE: i64 = 10;
/// Faults the provider and the queue may inject over one run, in any places: a capture of the
/// wrong amount, the same capture reported again under a new event id, an SQS redelivery.
const FAULTS: u8 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Provider {
    /// No payment started.
    Idle,
    /// A payment intent is open.
    Open,
    Captured(i64),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Booking {
    id: String,
    status: BookingStatus,
    /// Bit i: seat i.
    seats: u8,
    expires_at: i64,
    provider: Provider,
    /// The refund record (one per booking, as `Booking::refund`): its amount.
    refund: Option<i64>,
    ticket: bool,
    /// Webhook event ids applied (the processed markers).
    markers: u8,
}

impl Booking {
    fn total(&self) -> i64 {
        i64::from(self.seats.count_ones()) * PRICE
    }
    fn has(&self, seat: usize) -> bool {
        self.seats & (1 << seat) != 0
    }
    fn live(&self, now: i64) -> bool {
        self.status == BookingStatus::PaymentPending && self.expires_at >= now
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Outcome {
    Succeeded(i64),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Webhook {
    customer: usize,
    event: u8,
    /// Whether SQS will deliver it once more after this delivery.
    redeliver: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct State {
    now: i64,
    seats: [Option<SeatState>; SEATS],
    bookings: [Option<Booking>; CUSTOMERS],
    /// Webhooks queued and not yet applied (delivered in any order).
    queued: Vec<(Webhook, Outcome)>,
    /// A hold answered against the seats as they were (invariant 7): false once one was not.
    holds_honest: bool,
    faults_left: u8,
}

/// The customers are interchangeable: of the states that differ only by who is who, the
/// smallest stands for all (a symmetry reduction, sound for properties that name no customer).
fn canonical(s: State) -> State {
    const PERMUTATIONS: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    let id = |c: usize| format!("b{c}");
    PERMUTATIONS
        .iter()
        .map(|p| {
            let rename = |b: &str| {
                (0..CUSTOMERS)
                    .find(|c| id(*c) == b)
                    .map_or_else(|| b.to_owned(), |c| id(p[c]))
            };
            let mut t = s.clone();
            for (c, to) in p.iter().enumerate() {
                t.bookings[*to] = s.bookings[c].clone().map(|mut b| {
                    b.id = id(*to);
                    b
                });
            }
            for seat in t.seats.iter_mut().flatten() {
                match seat {
                    SeatState::Held { booking_id, .. } | SeatState::Sold { booking_id } => {
                        *booking_id = rename(booking_id)
                    }
                }
            }
            for (w, _) in &mut t.queued {
                w.customer = p[w.customer];
            }
            t.queued.sort();
            t
        })
        .min()
        .unwrap_or(s)
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Action {
    Hold(usize, u8),
    StartPayment(usize),
    Capture {
        customer: usize,
        wrong_amount: bool,
    },
    /// The provider reports the same capture again under a new event id.
    ReportAgain(usize),
    Deliver(usize),
    /// SQS delivers it and will deliver it again (a visibility timeout, a lost delete).
    DeliverAndKeep(usize),
    Expire(usize),
    Cancel(usize),
    Tick,
}

struct Protocol;

/// The booking moves `to` only where the state machine allows it from where it is (the store's
/// `#status = :from` condition).
fn move_to(b: &mut Booking, to: BookingStatus) -> bool {
    match Transition::between(b.status, to) {
        Some(t) if t.from() == b.status => {
            b.status = to;
            true
        }
        _ => false,
    }
}

/// The model's clock as the code's: tick `t` is second `BASE + t`.
const BASE: i64 = 1_800_000_000;
fn clock(t: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(BASE + t, 0).unwrap_or_default()
}

/// The model's booking as the code's `Booking`, for the code's decisions.
fn domain_booking(b: &Booking) -> boxoffice::domain::booking::Booking {
    let seat_ids: Vec<String> = (0..SEATS)
        .filter(|i| b.has(*i))
        .map(|i| format!("S{i}"))
        .collect();
    let payment = match b.provider {
        Provider::Idle => None,
        Provider::Open | Provider::Captured(_) => Some(PaymentInfo {
            payment_id: format!("pay_{}", b.id),
            provider: "sandbox".into(),
            payment_intent_id: format!("pi_{}", b.id),
            amount: b.total(),
            currency: "INR".into(),
            status: if b.status == BookingStatus::Confirmed {
                PaymentStatus::Succeeded
            } else {
                PaymentStatus::Initiated
            },
            redirect_url: String::new(),
            created_at: String::new(),
        }),
    };
    boxoffice::domain::booking::Booking {
        booking_id: b.id.clone(),
        user_id: format!("usr_{}", b.id),
        show_id: "sh_model".into(),
        theatre_id: "th_model".into(),
        city_id: "blr".into(),
        show_start: "2030-01-01T18:00:00Z".into(),
        time_zone: "Asia/Kolkata".into(),
        status: b.status,
        seats: seat_ids
            .iter()
            .map(|id| BookedSeat {
                seat_id: id.clone(),
                seat_type: SeatType::Regular,
                price: PRICE,
                block: 0,
            })
            .collect(),
        pricing: Pricing {
            currency: "INR".into(),
            subtotal: b.total(),
            discount: 0,
            fees: 0,
            tax: 0,
            total: b.total(),
            applied_offers: vec![],
            points_redeemed: 0,
        },
        coupon: None,
        hold_expires_at: BASE + b.expires_at,
        created_at: String::new(),
        confirmed_at: None,
        cancelled_at: None,
        payment,
        refund: None,
        ticket: None,
        admitted_at: None,
        counts_toward_seat_cap: true,
        source: Default::default(),
        customer_email: None,
        points: None,
    }
}

/// The provider's capture of `amount` for `b`, reported as event `event`.
fn captured(b: &Booking, amount: i64, event: u8) -> PaymentMessage {
    PaymentMessage {
        provider: "sandbox".into(),
        event_id: format!("evt_{}_{event}", b.id),
        outcome: PaymentOutcome::Succeeded,
        payment_intent_id: format!("pi_{}", b.id),
        booking_id: b.id.clone(),
        amount,
        currency: "INR".into(),
        occurred_at: 0,
        provider_refund_id: None,
    }
}

/// Deletes the seat items this booking still holds (`booking_id = :b AND #state = :held`).
fn release(seats: &mut [Option<SeatState>; SEATS], b: &Booking) {
    for (i, seat) in seats.iter_mut().enumerate() {
        if b.has(i)
            && matches!(seat, Some(SeatState::Held { booking_id, .. }) if *booking_id == b.id)
        {
            *seat = None;
        }
    }
}

impl Protocol {
    /// confirm-payment's `apply` for one webhook: the code's own decision
    /// (`domain::payment::decide`), the store's sell condition (`can_sell` on every seat), and on a
    /// refused sale the code's own second decision (`refuse_lost_sale`).
    fn deliver(s: &mut State, w: &Webhook, outcome: &Outcome) {
        let Some(mut b) = s.bookings[w.customer].clone() else {
            return;
        };
        if b.markers & (1 << w.event) != 0 {
            return; // the processed marker: a duplicate changes nothing
        }
        b.markers |= 1 << w.event;
        let Outcome::Succeeded(amount) = outcome;
        let now = clock(s.now);
        let booking = domain_booking(&b);
        let m = captured(&b, *amount, w.event);
        let decision = match decide(&booking, &m, now, "pay_model") {
            Decision::Sell { payment, .. } => {
                let sellable = (0..SEATS)
                    .filter(|i| b.has(*i))
                    .all(|i| can_sell(s.seats[i].as_ref(), &b.id));
                if sellable {
                    move_to(&mut b, BookingStatus::Confirmed);
                    for i in (0..SEATS).filter(|i| b.has(*i)) {
                        s.seats[i] = Some(SeatState::Sold {
                            booking_id: b.id.clone(),
                        });
                    }
                    b.ticket = true;
                    s.bookings[w.customer] = Some(b);
                    return;
                }
                refuse_lost_sale(&booking, &payment, &m, now)
            }
            other => other,
        };
        match decision {
            Decision::Refund { refund, .. } => Self::refund(s, &mut b, refund.amount),
            Decision::Fail { .. } => {
                if move_to(&mut b, BookingStatus::Failed) {
                    release(&mut s.seats, &b);
                }
            }
            // The model's provider only captures: a refund it never reports is never decided.
            Decision::IgnoreDuplicate { .. }
            | Decision::Record { .. }
            | Decision::Sell { .. }
            | Decision::RefundedByProvider { .. } => {}
        }
        s.bookings[w.customer] = Some(b);
    }

    /// `refund_payment`: a pending booking expires and gives back what it holds; any other keeps
    /// its state; the refund record is written (one slot).
    fn refund(s: &mut State, b: &mut Booking, amount: i64) {
        if move_to(b, BookingStatus::Expired) {
            release(&mut s.seats, b);
        }
        b.refund = Some(amount);
    }
}

impl Model for Protocol {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State {
            now: 0,
            seats: Default::default(),
            bookings: Default::default(),
            queued: Vec::new(),
            holds_honest: true,
            faults_left: FAULTS,
        }]
    }

    fn actions(&self, s: &State, actions: &mut Vec<Action>) {
        for c in 0..CUSTOMERS {
            match &s.bookings[c] {
                None => {
                    for mask in 1..(1u8 << SEATS) {
                        actions.push(Action::Hold(c, mask));
                    }
                }
                Some(b) => {
                    match b.provider {
                        Provider::Idle => actions.push(Action::StartPayment(c)),
                        Provider::Open => {
                            actions.push(Action::Capture {
                                customer: c,
                                wrong_amount: false,
                            });
                            if s.faults_left > 0 {
                                actions.push(Action::Capture {
                                    customer: c,
                                    wrong_amount: true,
                                });
                            }
                        }
                        Provider::Captured(_)
                            if s.faults_left > 0
                                && b.markers & 2 == 0
                                && !s
                                    .queued
                                    .iter()
                                    .any(|(w, _)| w.customer == c && w.event == 1) =>
                        {
                            actions.push(Action::ReportAgain(c))
                        }
                        _ => {}
                    }
                    if b.status == BookingStatus::PaymentPending && b.expires_at < s.now {
                        actions.push(Action::Expire(c));
                    }
                    if !b.status.is_terminal() {
                        actions.push(Action::Cancel(c));
                    }
                }
            }
        }
        for (i, (w, _)) in s.queued.iter().enumerate() {
            actions.push(Action::Deliver(i));
            if w.redeliver && s.faults_left > 0 {
                actions.push(Action::DeliverAndKeep(i));
            }
        }
        if s.now < MAX_NOW {
            actions.push(Action::Tick);
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        let mut s = last.clone();
        let now = s.now;
        match action {
            Action::Hold(c, mask) => {
                let id = format!("b{c}");
                let wanted: Vec<usize> = (0..SEATS).filter(|i| mask & (1 << i) != 0).collect();
                let free = wanted.iter().all(|i| can_hold(s.seats[*i].as_ref(), now));
                if free {
                    for i in &wanted {
                        s.seats[*i] = Some(SeatState::Held {
                            booking_id: id.clone(),
                            expires_at: now + HOLD,
                        });
                    }
                    s.bookings[c] = Some(Booking {
                        id: id.clone(),
                        status: BookingStatus::PaymentPending,
                        seats: mask,
                        expires_at: now + HOLD,
                        provider: Provider::Idle,
                        refund: None,
                        ticket: false,
                        markers: 0,
                    });
                    // A 201: every seat is this booking's now, and no live booking had it before.
                    let taken_from_live = last
                        .bookings
                        .iter()
                        .flatten()
                        .any(|o| o.live(now) && wanted.iter().any(|i| o.has(*i)));
                    if taken_from_live {
                        s.holds_honest = false;
                    }
                } else {
                    // A 409: refused, so a seat was really taken (a refusal changes nothing; the
                    // customer may try again).
                    if wanted
                        .iter()
                        .all(|i| can_hold(last.seats[*i].as_ref(), now))
                    {
                        s.holds_honest = false;
                    }
                    return None;
                }
            }
            Action::StartPayment(c) => {
                let b = s.bookings[c].as_mut()?;
                // start_payment: still pending and within its hold, every seat still its own.
                let own = (0..SEATS).filter(|i| b.has(*i)).all(|i| {
                    matches!(&s.seats[i], Some(SeatState::Held { booking_id, .. }) if *booking_id == b.id)
                });
                if b.status != BookingStatus::PaymentPending || b.expires_at < now || !own {
                    return None;
                }
                b.provider = Provider::Open;
                b.expires_at = now + HOLD;
                for i in (0..SEATS).filter(|i| b.has(*i)) {
                    s.seats[i] = Some(SeatState::Held {
                        booking_id: b.id.clone(),
                        expires_at: now + HOLD,
                    });
                }
            }
            Action::Capture {
                customer,
                wrong_amount,
            } => {
                let b = s.bookings[customer].as_mut()?;
                let amount = b.total() + i64::from(wrong_amount);
                s.faults_left -= u8::from(wrong_amount);
                b.provider = Provider::Captured(amount);
                s.queued.push((
                    Webhook {
                        customer,
                        event: 0,
                        redeliver: true,
                    },
                    Outcome::Succeeded(amount),
                ));
            }
            Action::ReportAgain(c) => {
                let Provider::Captured(amount) = s.bookings[c].as_ref()?.provider else {
                    return None;
                };
                s.faults_left -= 1;
                s.queued.push((
                    Webhook {
                        customer: c,
                        event: 1,
                        redeliver: false,
                    },
                    Outcome::Succeeded(amount),
                ));
            }
            Action::Deliver(i) | Action::DeliverAndKeep(i) => {
                let (w, outcome) = s.queued.remove(i);
                Protocol::deliver(&mut s, &w, &outcome);
                if matches!(action, Action::DeliverAndKeep(_)) {
                    s.faults_left -= 1;
                    s.queued.push((
                        Webhook {
                            redeliver: false,
                            ..w
                        },
                        outcome,
                    ));
                }
            }
            Action::Expire(c) => {
                let mut b = s.bookings[c].clone()?;
                if b.expires_at >= now || !move_to(&mut b, BookingStatus::Expired) {
                    return None;
                }
                release(&mut s.seats, &b);
                s.bookings[c] = Some(b);
            }
            Action::Cancel(c) => {
                let mut b = s.bookings[c].clone()?;
                let was = b.status;
                if !move_to(&mut b, BookingStatus::Cancelled) {
                    return None;
                }
                if was == BookingStatus::Confirmed {
                    // cancel_with_refund: the sold seats are deleted, the payment refunded.
                    for i in (0..SEATS).filter(|i| b.has(*i)) {
                        if matches!(&s.seats[i], Some(SeatState::Sold { booking_id }) if *booking_id == b.id)
                        {
                            s.seats[i] = None;
                        }
                    }
                    if let Provider::Captured(amount) = b.provider {
                        b.refund = Some(amount);
                    }
                } else {
                    release(&mut s.seats, &b);
                }
                s.bookings[c] = Some(b);
            }
            Action::Tick => s.now += 1,
        }
        Some(canonical(s))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always(
                "1 no seat sold twice nor held by two live bookings",
                |_, s: &State| {
                    (0..SEATS).all(|i| {
                        let with = |f: &dyn Fn(&Booking) -> bool| {
                            s.bookings
                                .iter()
                                .flatten()
                                .filter(|b| b.has(i) && f(b))
                                .count()
                        };
                        with(&|b| b.status == BookingStatus::Confirmed) <= 1
                            && with(&|b| b.live(s.now)) <= 1
                    })
                },
            ),
            Property::always(
                "2 every seat item's booking agrees with it",
                |_, s: &State| {
                    s.seats.iter().enumerate().all(|(i, seat)| {
                        let Some(seat) = seat else { return true };
                        let Some(b) = s
                            .bookings
                            .iter()
                            .flatten()
                            .find(|b| b.id == seat.booking_id())
                        else {
                            return false;
                        };
                        b.has(i)
                            && match seat {
                                SeatState::Held { .. } => b.status == BookingStatus::PaymentPending,
                                SeatState::Sold { .. } => b.status == BookingStatus::Confirmed,
                            }
                    })
                },
            ),
            Property::always(
                "3 a settled capture is one confirmed booking or one refund",
                |_, s: &State| {
                    s.bookings.iter().flatten().all(|b| {
                        let Provider::Captured(amount) = b.provider else {
                            return b.refund.is_none();
                        };
                        if s.queued
                            .iter()
                            .any(|(w, _)| format!("b{}", w.customer) == b.id)
                        {
                            return true; // not settled yet
                        }
                        let confirmed =
                            b.status == BookingStatus::Confirmed && b.ticket && b.refund.is_none();
                        let refunded = b.refund == Some(amount);
                        confirmed != refunded
                    })
                },
            ),
            Property::always(
                "4 captured minus refunded is the confirmed totals",
                |_, s: &State| {
                    if !s.queued.is_empty() {
                        return true;
                    }
                    let captured: i64 = s
                        .bookings
                        .iter()
                        .flatten()
                        .map(|b| match b.provider {
                            Provider::Captured(a) => a,
                            _ => 0,
                        })
                        .sum();
                    let refunded: i64 = s.bookings.iter().flatten().filter_map(|b| b.refund).sum();
                    let confirmed: i64 = s
                        .bookings
                        .iter()
                        .flatten()
                        .filter(|b| b.status == BookingStatus::Confirmed)
                        .map(Booking::total)
                        .sum();
                    captured - refunded == confirmed
                },
            ),
            Property::always(
                "5 no seat held by a booking in a final state",
                |_, s: &State| {
                    s.seats.iter().flatten().all(|seat| {
                        s.bookings
                            .iter()
                            .flatten()
                            .find(|b| b.id == seat.booking_id())
                            .is_some_and(|b| !b.status.is_terminal())
                    })
                },
            ),
            Property::always(
                "7 every hold's answer agreed with the seats",
                |_, s: &State| s.holds_honest,
            ),
            Property::sometimes("a booking confirms", |_, s: &State| {
                s.bookings
                    .iter()
                    .flatten()
                    .any(|b| b.status == BookingStatus::Confirmed)
            }),
            Property::sometimes(
                "a late payment is refunded after its seat was taken over",
                |_, s: &State| {
                    s.bookings
                        .iter()
                        .flatten()
                        .any(|b| b.status == BookingStatus::Expired && b.refund.is_some())
                        && s.bookings
                            .iter()
                            .flatten()
                            .any(|b| b.status == BookingStatus::Confirmed)
                },
            ),
        ]
    }
}

#[test]
fn the_protocol_model_keeps_every_invariant_for_two_seats_and_three_customers() {
    // It stops at the first violation (a mutated rule is caught without exploring the rest).
    let checker = Protocol
        .checker()
        .finish_when(stateright::HasDiscoveries::AnyFailures)
        .threads(2)
        .spawn_bfs();
    while !checker.is_done() {
        std::thread::sleep(std::time::Duration::from_secs(5));
        eprintln!(
            "protocol model: {} unique states so far",
            checker.unique_state_count()
        );
    }
    let checker = checker.join();
    eprintln!(
        "protocol model: {} states explored, {} unique, max depth {}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth()
    );
    for (name, path) in checker.discoveries() {
        let steps = path.into_actions();
        eprintln!("discovered \"{name}\" in {} steps: {steps:?}", steps.len());
    }
    checker.assert_properties();
}

//! The store's seat conditions against DynamoDB Local equal the domain's seat predicates
//! (`domain::seat::can_hold`, `can_sell`), over every kind of seat state: the protocol model runs
//! the predicates, so a change to either side that breaks their agreement fails here.

use aws_sdk_dynamodb::types::AttributeValue as A;
use boxoffice::{
    domain::{
        layout::SeatPlace,
        seat::{can_hold, can_sell, SeatState},
    },
    store::{keys, seats, TransactOutcome},
};
use boxoffice_tests::stack;

const SHOW: &str = "shw_conformance";
const NOW: i64 = 1_800_000_000;

/// Every seat state the rules tell apart, seen from booking `b1` at `NOW`.
fn states() -> Vec<Option<SeatState>> {
    let mut all = vec![None];
    for b in ["b1", "b2"] {
        for expires_at in [NOW - 60, NOW - 1, NOW, NOW + 1, NOW + 60] {
            all.push(Some(SeatState::Held {
                booking_id: b.into(),
                expires_at,
            }));
        }
        all.push(Some(SeatState::Sold {
            booking_id: b.into(),
        }));
    }
    all
}

/// Puts seat `seat` in `state` (unconditionally), as the store writes seat items.
async fn put_state(s: &boxoffice_tests::TestStack, seat: &SeatPlace, state: &Option<SeatState>) {
    let store = &s.deps().store;
    let key = (
        keys::seat_pk(SHOW, seat.block),
        keys::seat_sk(&seat.seat_id),
    );
    let Some(state) = state else {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .key(keys::PK, A::S(key.0))
            .key(keys::SK, A::S(key.1))
            .send()
            .await
            .expect("delete");
        return;
    };
    let mut put = store
        .client()
        .put_item()
        .table_name(store.table())
        .item(keys::PK, A::S(key.0))
        .item(keys::SK, A::S(key.1))
        .item("seat_id", A::S(seat.seat_id.clone()))
        .item("booking_id", A::S(state.booking_id().into()));
    put = match state {
        SeatState::Held { expires_at, .. } => put
            .item("state", A::S("HELD".into()))
            .item("expires_at", A::N(expires_at.to_string())),
        SeatState::Sold { .. } => put.item("state", A::S("SOLD".into())),
    };
    put.send().await.expect("put");
}

async fn committed(
    s: &boxoffice_tests::TestStack,
    item: aws_sdk_dynamodb::types::TransactWriteItem,
) -> bool {
    match s.deps().store.transact(vec![item]).await.expect("transact") {
        TransactOutcome::Committed { .. } => true,
        TransactOutcome::ConditionFailed { .. } => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seat_conditions_are_the_domain_predicates() {
    let s = stack().await;
    let table = s.deps().store.table().to_owned();
    let mut checked = 0;
    for (i, state) in states().into_iter().enumerate() {
        // Seats in several blocks, as a show's seats are.
        let place = |prefix: &str| SeatPlace {
            block: i % 3,
            seat_id: format!("{prefix}-{i}"),
        };
        let seat = place("H");
        put_state(&s, &seat, &state).await;
        let item = seats::hold_seat(&table, SHOW, &seat, "b1", NOW + 600, NOW).expect("item");
        assert_eq!(
            committed(&s, item).await,
            can_hold(state.as_ref(), NOW),
            "hold over {state:?}: the condition and domain::seat::can_hold disagree"
        );
        let seat = place("S");
        put_state(&s, &seat, &state).await;
        let item = seats::sell_seat(&table, SHOW, &seat, "b1").expect("item");
        assert_eq!(
            committed(&s, item).await,
            can_sell(state.as_ref(), "b1"),
            "sell over {state:?}: the condition and domain::seat::can_sell disagree"
        );
        checked += 2;
    }
    eprintln!("seat conformance: {checked} (state, write) pairs agree");
}

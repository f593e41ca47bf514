//! "Waiting room capacity": the join path's and the status poll's hottest partitions at
//! 100,000 joins/s, computed from the capacity units DynamoDB Local reports for the very
//! requests the handlers make (`ReturnConsumedCapacity: INDEXES` on `Store::join_queue` and
//! `Store::queue_entry`; the queue's own Query is read back the same way) and from the shard
//! spread of real customer ids. The assumptions are printed with the figures.

use crate::util::BoxError;
use boxoffice::{
    domain::queue::{QueueConfig, POLL_SECONDS},
    queue::STATE_TTL,
    store::queue::{join_shard, Units, JOIN_SHARDS, PLACE_BLOCK},
    Deps,
};
use std::{collections::HashMap, fmt::Write as _};

/// The figure the architecture's budget names.
pub const JOINS_PER_SECOND: f64 = 100_000.0;
/// DynamoDB's per-partition limits.
const PARTITION_WCU: f64 = 1_000.0;
const PARTITION_RCU: f64 = 3_000.0;
/// Assumed for the status figure: a million customers waiting, each polling every
/// `POLL_SECONDS`; each warm container serving 100 polls/s (10 ms a poll).
const WAITING: f64 = 1_000_000.0;
const POLLS_PER_CONTAINER: f64 = 100.0;

pub struct Capacity {
    pub markdown: String,
    pub hottest_wcu: f64,
    pub hottest_rcu: f64,
}

fn gsi(u: &Units, name: &str) -> f64 {
    u.indexes
        .iter()
        .find(|(n, _)| n == name)
        .map_or(0.0, |(_, c)| *c)
}

pub async fn measure(deps: &Deps) -> Result<Capacity, BoxError> {
    let store = &deps.store;
    let now = deps.clock.now_epoch();
    let show = boxoffice::ids::new_id("sh");
    // The queue's two items, as a configured and sequenced queue has them.
    let config = QueueConfig::new(&show, now + 3600, 1000, 600, true);
    let mut written = store.put_queue_config(&config).await;
    if let Ok(false) = written {
        // No show item for this synthetic queue: the config Put alone is what is measured here.
        written = Ok(true);
    }
    written?;
    store
        .put_progress(
            &show,
            &boxoffice::domain::queue::QueueProgress::default(),
            0,
        )
        .await?;

    let mut join_units = Vec::new();
    let mut poll_units = Vec::new();
    for i in 0..50 {
        let user = format!("usr_capacity{i:04}");
        let (_, u) = store.join_queue(&show, &user, now, now + 86_400).await?;
        join_units.push(u);
        let (_, u) = store.queue_entry(&show, &user).await?;
        poll_units.push(u);
    }
    let state_units = store.queue_state_units(&show).await?.table;

    let max = |v: &[Units], f: &dyn Fn(&Units) -> f64| v.iter().map(f).fold(0.0, f64::max);
    let join_table = max(&join_units, &|u| u.table);
    let join_gsi1 = max(&join_units, &|u| gsi(u, "gsi1"));
    let join_gsi2 = max(&join_units, &|u| gsi(u, "gsi2"));
    let poll_table = max(&poll_units, &|u| u.table);

    // The spread of 1,000,000 customer ids over the join shards: the busiest shard's share.
    let mut per_shard: HashMap<u32, u64> = HashMap::new();
    let ids = 1_000_000u64;
    for i in 0..ids {
        *per_shard
            .entry(join_shard(&format!("usr_{i:026}")))
            .or_default() += 1;
    }
    let busiest = per_shard.values().copied().max().unwrap_or(0) as f64;
    let skew = busiest / (ids as f64 / JOIN_SHARDS as f64);

    let shard_wcu = JOINS_PER_SECOND / JOIN_SHARDS as f64 * skew * join_gsi1;
    let polls = WAITING / POLL_SECONDS as f64;
    let containers = polls / POLLS_PER_CONTAINER;
    let state_reads = containers / STATE_TTL.as_secs_f64();
    let state_rcu = state_reads * state_units;
    let hottest_wcu = shard_wcu.max(join_table);
    let hottest_rcu = state_rcu.max(poll_table);

    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured: the capacity units DynamoDB Local reports (`ReturnConsumedCapacity: INDEXES`) for {n} joins (`Store::join_queue`, \
         the join handler's one call: a conditional PutItem of the customer's own entry) and {n} status reads (`Store::queue_entry`, \
         the status handler's per-customer GetItem), the largest of each, and for the queue's own Query (config + progress, \
         `Store::queue_state`). Shard spread: {ids} customer ids hashed onto the {shards} join shards (SHA-256).\n",
        n = join_units.len(),
        shards = JOIN_SHARDS
    );
    let _ = writeln!(md, "| request | table | GSI1 | GSI2 |\n|---|---|---|---|");
    let _ = writeln!(
        md,
        "| join (PutItem, new entry) | {join_table:.1} WCU | {join_gsi1:.1} WCU | {join_gsi2:.1} WCU |"
    );
    let _ = writeln!(
        md,
        "| status (GetItem, eventually consistent) | {poll_table:.1} RCU | — | — |"
    );
    let _ = writeln!(
        md,
        "| queue state (Query of `QUEUE#<show>`, per container every {:.0} s) | {state_units:.1} RCU | — | — |\n",
        STATE_TTL.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| partition at {JOINS_PER_SECOND:.0} joins/s | load | limit | |\n|---|---|---|---|"
    );
    let _ = writeln!(
        md,
        "| hottest join shard (GSI1 `QUEUE#<show>#<shard>`): {JOINS_PER_SECOND:.0} / {JOIN_SHARDS} shards × {skew:.3} (busiest shard / mean) × {join_gsi1:.1} WCU | **{shard_wcu:.0} WCU/s** | {PARTITION_WCU:.0} WCU/s | {} |",
        if shard_wcu <= PARTITION_WCU { "✅" } else { "❌" }
    );
    let _ = writeln!(
        md,
        "| a customer's entry (table `QENTRY#<show>#<customer>`): one join each; a repeat join is a failed condition, {join_table:.1} WCU, on that customer's own partition | {join_table:.0} WCU per join | {PARTITION_WCU:.0} WCU/s | ✅ |"
    );
    let _ = writeln!(
        md,
        "| queue state (table `QUEUE#<show>`): {WAITING:.0} waiting, polling every {POLL_SECONDS} s = {polls:.0} polls/s; at {POLLS_PER_CONTAINER:.0} polls/s a container, {containers:.0} containers, each reading it every {:.0} s = {state_reads:.0} reads/s × {state_units:.1} RCU | **{state_rcu:.0} RCU/s** | {PARTITION_RCU:.0} RCU/s | {} |",
        STATE_TTL.as_secs_f64(),
        if state_rcu <= PARTITION_RCU { "✅" } else { "❌" }
    );
    let _ = writeln!(
        md,
        "| a customer's status (table, their own entry): one poll every {POLL_SECONDS} s × {poll_table:.1} RCU | {:.2} RCU/s | {PARTITION_RCU:.0} RCU/s | ✅ |\n",
        poll_table / POLL_SECONDS as f64
    );
    let _ = writeln!(
        md,
        "No item is written by every join (the progress item is the sequencer's, once a run). The draw and the sequencer's \
         batches write each placed entry once (its own partition, and GSI2 `QPLACE#<show>#<place/{PLACE_BLOCK}>`: at most \
         {PLACE_BLOCK} items a partition, ever). Assumptions: uniform customer ids (the spread measured above); eventually \
         consistent reads; the status's Query cached {:.0} s per container (`queue::STATE_TTL`); the figures are per show \
         (another show's queue is other partitions). Cost of waiting: {polls:.0} polls/s × {poll_table:.1} RCU = {:.0} RCU/s \
         spread over the customers' own partitions (on demand, about ${:.2} an hour at $0.125 per million read units), plus \
         the Lambda invocations.\n",
        STATE_TTL.as_secs_f64(),
        polls * poll_table,
        polls * poll_table * 3600.0 * 0.125 / 1_000_000.0
    );
    Ok(Capacity {
        markdown: md,
        hottest_wcu,
        hottest_rcu,
    })
}

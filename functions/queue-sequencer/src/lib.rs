//! `queue-sequencer`, on an EventBridge schedule: for every queue-mode show, the waiting room's
//! one writer of its progress (`boxoffice::queue::sequence`): the draw after the on-sale time,
//! later arrivals placed in arrival order, admissions recorded and notified, unused admission
//! windows replaced. Emits QueueLength, QueueAdmissions and QueueAdmittedUnused per show.

use boxoffice::{
    metrics,
    queue::sequence,
    runtime::{Function, Handler},
    ApiError, Deps,
};
use serde_json::{json, Value};

/// This function's entry point (see `boxoffice::runtime`): its handler, and the secrets it
/// reads at cold start.
pub const FUNCTION: Function = Function {
    handler: Handler::Event(|deps, event| Box::pin(handler(deps, event))),
    secrets: &[],
};

pub async fn handler(deps: &Deps, _event: Value) -> Result<Value, ApiError> {
    let now = deps.clock.now_epoch();
    let mut runs = Vec::new();
    for config in deps.store.list_queues().await? {
        // A queue whose show has long started needs no more work (its entries expire by TTL).
        if config.rates.is_empty() || now > config.on_sale_at + 7 * 24 * 3600 {
            continue;
        }
        let run = sequence(deps, &config).await?;
        metrics::emit(&[
            ("QueueLength", run.waiting as f64, "Count"),
            ("QueueAdmissions", run.admitted as f64, "Count"),
            ("QueueAdmittedUnused", run.unused as f64, "Count"),
        ]);
        tracing::info!(show_id = %run.show_id, drawn = run.drawn, placed_late = run.placed_late, admitted = run.admitted, unused = run.unused, waiting = run.waiting, lost_race = run.lost_race, "queue sequenced");
        runs.push(run);
    }
    Ok(json!({ "queues": runs }))
}

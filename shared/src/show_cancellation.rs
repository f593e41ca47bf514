//! Cancelling a show in parts. cancel-show turns the show and its listing CANCELLED in one
//! transaction (from then on no booking of the show is confirmed: the confirm's own transaction
//! checks the listing, `store::payments::confirm_booking`) and queues one [`Part`] per block of
//! seats on CancelShowQueue; cancel-show-seats reads each block's seat items and cancels or
//! refunds every booking on them (`domain::booking::cancel_for_show`). Each step is idempotent,
//! so a redelivered part changes nothing twice and a repeated cancel-show finishes whatever an
//! earlier call or a dead-lettered part left. A show of any size is cancelled by many short
//! invocations, never by one loop racing a 10 s timeout.

use crate::{
    domain::{
        booking::{cancel_for_show, Cancellation},
        catalog::Show,
        layout::Block,
        show::ShowStatus,
    },
    events::EventKind,
    refunds::{cancel_pending, cancel_with_refund},
    ApiError, Deps,
};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::{stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One message of a show's cancellation: the seats of one block of its layout (at most
/// `domain::layout::SEATS_PER_BLOCK`: one Query, and a worker well inside its timeout even when
/// every seat is a different booking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Part {
    pub show_id: String,
    pub block: Block,
}

/// SendMessageBatch takes at most ten messages; a few batches in flight at once keep even a
/// 1,000-seat show's queueing to one round trip's time.
const BATCH: usize = 10;
const BATCHES_IN_FLIGHT: usize = 4;
/// Bookings of one part cancelled or refunded at once (each is a read and a transaction).
const BOOKINGS_IN_FLIGHT: usize = 8;

/// The parts of `show`'s cancellation, every seat in exactly one.
pub fn parts(show: &Show) -> Vec<Part> {
    (0..show.layout.block_count())
        .map(|block| Part {
            show_id: show.show_id.clone(),
            block,
        })
        .collect()
}

/// Queues every part of `show`'s cancellation; the number queued. An SQS failure is a 503, so
/// the caller repeats the (idempotent) cancellation.
pub async fn queue_parts(deps: &Deps, show: &Show) -> Result<usize, ApiError> {
    let parts = parts(show);
    // Collected first, as in `cancel_part`.
    let batches = parts
        .chunks(BATCH)
        .map(|batch| send_batch(deps, batch))
        .collect::<Vec<_>>();
    stream::iter(batches)
        .buffer_unordered(BATCHES_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(parts.len())
}

async fn send_batch(deps: &Deps, batch: &[Part]) -> Result<(), ApiError> {
    let entries = batch
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let body = serde_json::to_string(part)
                .map_err(|e| ApiError::Internal(format!("a cancellation part: {e}")))?;
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .map_err(|e| ApiError::Internal(format!("a cancellation part: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let unavailable = |what: String| ApiError::ServiceUnavailable(what);
    let out = deps
        .sqs
        .send_message_batch()
        .queue_url(&deps.config.cancel_show_queue_url)
        .set_entries(Some(entries))
        .send()
        .await
        .map_err(|e| {
            unavailable(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string())
        })?;
    match out.failed.first() {
        Some(failed) => Err(unavailable(format!(
            "SQS refused a cancellation part: {}",
            failed.code
        ))),
        None => Ok(()),
    }
}

/// What one part did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PartDone {
    pub cancelled: usize,
    pub refunded: usize,
}

/// Cancels the pending bookings and refunds the confirmed ones found on `part`'s seats. Only for
/// a show that is CANCELLED: a part naming any other show is refused (logged), never applied.
pub async fn cancel_part(deps: &Deps, part: &Part) -> Result<PartDone, ApiError> {
    let Some(show) = deps.store.get_show(&part.show_id).await? else {
        tracing::error!(show_id = %part.show_id, "cancellation part of an unknown show: dropped");
        return Ok(PartDone::default());
    };
    if show.status != ShowStatus::Cancelled {
        tracing::error!(show_id = %part.show_id, "cancellation part of a show that is not cancelled: dropped");
        return Ok(PartDone::default());
    }
    let seats = deps
        .store
        .seat_items_in_block(&part.show_id, part.block)
        .await?;
    let booking_ids: BTreeSet<String> = seats.into_iter().map(|s| s.booking_id).collect();
    // Collected first: a lazy map in the stream would not be `Send` for every lifetime.
    let cancellations = booking_ids
        .iter()
        .map(|id| cancel_booking(deps, id))
        .collect::<Vec<_>>();
    let outcomes = stream::iter(cancellations)
        .buffer_unordered(BOOKINGS_IN_FLIGHT)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(outcomes
        .into_iter()
        .fold(PartDone::default(), |done, one| PartDone {
            cancelled: done.cancelled + one.cancelled,
            refunded: done.refunded + one.refunded,
        }))
}

async fn cancel_booking(deps: &Deps, booking_id: &str) -> Result<PartDone, ApiError> {
    let Some(booking) = deps.store.get_booking(booking_id).await? else {
        return Ok(PartDone::default());
    };
    Ok(match cancel_for_show(&booking) {
        Cancellation::ReleasePending => PartDone {
            cancelled: usize::from(
                cancel_pending(deps, &booking, EventKind::ShowCancelled)
                    .await?
                    .is_some(),
            ),
            refunded: 0,
        },
        Cancellation::Refund(reason) => PartDone {
            cancelled: 0,
            refunded: usize::from(cancel_with_refund(deps, &booking, reason).await?.is_some()),
        },
        Cancellation::ReleaseBlock => PartDone {
            cancelled: usize::from(
                crate::refunds::release_block(deps, &booking)
                    .await?
                    .is_some(),
            ),
            refunded: 0,
        },
        _ => PartDone::default(),
    })
}

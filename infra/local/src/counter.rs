//! Counts DynamoDB round trips (every HTTP request the SDK transmits, retries included) by
//! operation, through an SDK interceptor on a client the handlers really use. It also notes when
//! each request went out and when its attempt ended, so that calls issued concurrently can be told
//! from calls that wait for one another (`sequential_rounds`).

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        interceptors::{
            context::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef},
            Intercept,
        },
        orchestrator::Metadata,
        runtime_components::RuntimeComponents,
    },
};
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

/// One request: its operation, when it was transmitted and when its attempt ended.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub sent: Instant,
    pub done: Option<Instant>,
}

#[derive(Debug, Default)]
struct Calls {
    /// Bumped by every `take`, so an attempt that ends after a `take` touches nothing.
    generation: u64,
    calls: Vec<Call>,
}

#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<Calls>>);

/// Which entry of which generation the current attempt is (kept in the attempt's config bag).
#[derive(Debug, Clone)]
struct CallSlot {
    generation: u64,
    index: usize,
}

impl Storable for CallSlot {
    type Storer = StoreReplace<Self>;
}

impl CallCounter {
    /// The operations sent since the last `take`, in the order they went out.
    pub fn take(&self) -> Vec<String> {
        self.take_calls().into_iter().map(|c| c.operation).collect()
    }

    /// The requests sent since the last `take`, with their timings.
    pub fn take_calls(&self) -> Vec<Call> {
        self.0
            .lock()
            .map(|mut c| {
                c.generation += 1;
                std::mem::take(&mut c.calls)
            })
            .unwrap_or_default()
    }
}

/// How many times the caller waited for DynamoDB: requests that overlap in time are one round,
/// a request sent after every earlier one had answered starts the next. (An attempt with no end
/// recorded counts as still running.)
pub fn sequential_rounds(calls: &[Call]) -> usize {
    let mut spans: Vec<(Instant, Option<Instant>)> =
        calls.iter().map(|c| (c.sent, c.done)).collect();
    spans.sort_by_key(|s| s.0);
    let mut rounds = 0;
    // The end of the current round; None: a request of this round never answered.
    let mut round_end: Option<Option<Instant>> = None;
    for (sent, done) in spans {
        match round_end {
            Some(Some(end)) if sent < end => round_end = Some(done.map(|d| d.max(end))),
            Some(None) => {}
            _ => {
                rounds += 1;
                round_end = Some(done);
            }
        }
    }
    rounds
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_else(|| "?".into());
        if let Ok(mut c) = self.0.lock() {
            let slot = CallSlot {
                generation: c.generation,
                index: c.calls.len(),
            };
            c.calls.push(Call {
                operation,
                sent: Instant::now(),
                done: None,
            });
            cfg.interceptor_state().store_put(slot);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(slot) = cfg.load::<CallSlot>().cloned() else {
            return Ok(());
        };
        if let Ok(mut c) = self.0.lock() {
            if c.generation == slot.generation {
                if let Some(call) = c.calls.get_mut(slot.index) {
                    call.done = Some(Instant::now());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn call(sent_ms: u64, done_ms: Option<u64>) -> Call {
        let t0 = Instant::now();
        Call {
            operation: "X".into(),
            sent: t0 + Duration::from_millis(sent_ms),
            done: done_ms.map(|d| t0 + Duration::from_millis(d)),
        }
    }

    /// (sent, answered) in ms from a common start; None: never answered.
    type Span = (u64, Option<u64>);

    #[test]
    fn overlapping_requests_are_one_round_and_waits_start_the_next() {
        let table: &[(&[Span], usize)] = &[
            (&[], 0),
            (&[(0, Some(5))], 1),
            // Two reads at once, then the write: 2 rounds.
            (&[(0, Some(5)), (1, Some(7)), (8, Some(12))], 2),
            // Strictly one after another: 3 rounds.
            (&[(0, Some(5)), (6, Some(9)), (10, Some(12))], 3),
            // Chained overlaps stay one round.
            (&[(0, Some(5)), (4, Some(9)), (8, Some(12))], 1),
            // Out of order input.
            (&[(8, Some(12)), (0, Some(5))], 2),
            // One never answered: everything after it overlaps it.
            (&[(0, None), (6, Some(9))], 1),
        ];
        for (spans, rounds) in table {
            let calls: Vec<Call> = spans.iter().map(|&(s, d)| call(s, d)).collect();
            assert_eq!(sequential_rounds(&calls), *rounds, "{spans:?}");
        }
    }
}

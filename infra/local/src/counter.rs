//! Counts DynamoDB round trips (every HTTP request the SDK transmits, retries included) by
//! operation, through an SDK interceptor on a client the handlers really use. It also notes when
//! the handler issued each request (the SDK call's start, before serialising and signing) and
//! when its attempt ended, so that calls issued concurrently can be told from calls that wait for
//! one another (`sequential_rounds`). The issue time, not the transmit time: on two loaded cores
//! a loopback answer can come back before the SDK has signed the fifth of five calls the handler
//! started together, which is scheduling, not a round trip the handler waited for.
//!
//! The same interceptor accounts DynamoDB capacity (`take_usage`): every request it sees asks for
//! `ReturnConsumedCapacity: INDEXES`, and each attempt's units are recorded against the partition
//! keys (table and each GSI) and items the request names. DynamoDB's reported units are used
//! where it reports them; where it reports none (a cancelled transaction, a failed condition) the
//! units are computed from the item sizes by AWS's billing rules, so a loser is never free.

use aws_sdk_dynamodb::{
    operation::{
        batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
        batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
        delete_item::{DeleteItemError, DeleteItemInput, DeleteItemOutput},
        get_item::{GetItemInput, GetItemOutput},
        put_item::{PutItemError, PutItemInput, PutItemOutput},
        query::{QueryInput, QueryOutput},
        transact_write_items::{
            TransactWriteItemsError, TransactWriteItemsInput, TransactWriteItemsOutput,
        },
        update_item::{UpdateItemError, UpdateItemInput, UpdateItemOutput},
    },
    types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity},
};
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, Error as ErasedError, Output as ErasedOutput,
};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
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
use std::collections::HashMap;
use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

/// One request: its operation, when it was transmitted and when its attempt ended.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    /// When the handler issued the call (its first attempt's start, for every attempt).
    pub sent: Instant,
    pub done: Option<Instant>,
}

#[derive(Debug, Default)]
struct Calls {
    /// Bumped by every `take`, so an attempt that ends after a `take` touches nothing.
    generation: u64,
    calls: Vec<Call>,
    /// Capacity records since the last `take_usage` (apart from `calls`: `take` leaves them).
    usage: Vec<Usage>,
    /// Records not kept once `MAX_USAGE` were waiting (a caller that never takes them).
    usage_dropped: usize,
}

/// At most this many capacity records wait for `take_usage` (a few hundred bytes each).
const MAX_USAGE: usize = 2_000_000;

#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<Calls>>);

/// When the SDK call began (kept in the operation's config bag).
#[derive(Debug, Clone, Copy)]
struct Issued(Instant);

impl Storable for Issued {
    type Storer = StoreReplace<Self>;
}

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

    /// The DynamoDB requests' capacity records since the last `take_usage`, in the order their
    /// attempts ended, and how many were dropped past `MAX_USAGE`.
    pub fn take_usage(&self) -> (Vec<Usage>, usize) {
        self.0
            .lock()
            .map(|mut c| {
                let dropped = std::mem::take(&mut c.usage_dropped);
                (std::mem::take(&mut c.usage), dropped)
            })
            .unwrap_or_default()
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

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Issued(Instant::now()));
        if let Some(plan) = plan(context.input_mut()) {
            cfg.interceptor_state().store_put(plan);
        }
        Ok(())
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
        let sent = cfg.load::<Issued>().map_or_else(Instant::now, |i| i.0);
        if let Ok(mut c) = self.0.lock() {
            let slot = CallSlot {
                generation: c.generation,
                index: c.calls.len(),
            };
            c.calls.push(Call {
                operation,
                sent,
                done: None,
            });
            cfg.interceptor_state().store_put(slot);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(plan) = cfg.load::<Plan>() {
            let usage = plan.settle(context.output_or_error());
            if let Ok(mut c) = self.0.lock() {
                if c.usage.len() < MAX_USAGE {
                    c.usage.push(usage);
                } else {
                    c.usage_dropped += 1;
                }
            }
        }
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

/// What a request did to one item or partition key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Put,
    Update,
    Delete,
    /// A transaction's ConditionCheck (billed as a write).
    Check,
    Get,
    Query,
}

impl Action {
    pub fn is_write(self) -> bool {
        !matches!(self, Action::Get | Action::Query)
    }
}

/// How a request ended, for billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A cancelled transaction or a conditional write whose condition failed: nothing written,
    /// billed all the same.
    Refused,
    /// Any other failure (throttled, invalid, no answer): not billed.
    Failed,
}

/// One item (or, for a Query, one partition) of a request in one table or index, with its units.
#[derive(Debug, Clone)]
pub struct Touch {
    /// `None`: the table; else the GSI's name.
    pub index: Option<String>,
    /// The partition key value (`pk`, or the index's `<index>pk`); `?` when the request does not
    /// name it (an index entry an update removes, say).
    pub pk: String,
    /// The item's sort key, when the request names one item.
    pub sk: Option<String>,
    pub action: Action,
    pub rcu: f64,
    pub wcu: f64,
    /// The size the units were weighed or computed by (AWS's rules: attribute names plus values):
    /// the larger of the item written and the item as it was (when the error carries it); the
    /// response's items for a read.
    pub bytes: usize,
    /// Items a read returned.
    pub items: usize,
}

/// The capacity one DynamoDB request attempt consumed, by partition key.
#[derive(Debug, Clone)]
pub struct Usage {
    pub operation: &'static str,
    /// When the attempt ended.
    pub at: Instant,
    pub outcome: Outcome,
    /// Whether DynamoDB reported the units (`ConsumedCapacity`); otherwise they are computed.
    pub reported: bool,
    pub transactional: bool,
    pub consistent: bool,
    pub touches: Vec<Touch>,
}

impl Usage {
    pub fn rcu(&self) -> f64 {
        self.touches.iter().map(|t| t.rcu).sum()
    }

    pub fn wcu(&self) -> f64 {
        self.touches.iter().map(|t| t.wcu).sum()
    }

    /// The units AWS bills for this request by its rules, from the item sizes alone (what a
    /// refused request is billed; for a committed one, a check of the reported units).
    pub fn computed(&self) -> (f64, f64) {
        let mut r = 0.0;
        let mut w = 0.0;
        for t in self.touches.iter().filter(|t| t.index.is_none()) {
            let (tr, tw) = computed_units(t, self.transactional, self.consistent);
            r += tr;
            w += tw;
        }
        (r, w)
    }
}

/// A write's 1 KB units or a read's 4 KB units, at least one.
fn kb_units(bytes: usize, unit: usize) -> f64 {
    bytes.div_ceil(unit).max(1) as f64
}

/// AWS's rules: a write 1 WCU per KB (2 in a transaction); a read 1 RCU per 4 KB strongly
/// consistent, half eventually consistent, double in a transaction; a Query's items together.
fn computed_units(t: &Touch, transactional: bool, consistent: bool) -> (f64, f64) {
    let tx = if transactional { 2.0 } else { 1.0 };
    if t.action.is_write() {
        (0.0, kb_units(t.bytes, 1024) * tx)
    } else {
        let c = if consistent { 1.0 } else { 0.5 };
        (kb_units(t.bytes, 4096) * c * tx, 0.0)
    }
}

/// A value's size by DynamoDB's rules (numbers: about one byte per two significant digits, plus one).
fn value_size(v: &AttributeValue) -> usize {
    fn number(n: &str) -> usize {
        let digits = n
            .trim_start_matches('-')
            .split(['e', 'E'])
            .next()
            .unwrap_or("")
            .replace('.', "");
        let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
        significant.max(1).div_ceil(2) + 1
    }
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// An item's size: every attribute's name plus its value.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn string_of(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(s) => Some(s.clone()),
        AttributeValue::N(n) => Some(n.clone()),
        _ => None,
    }
}

/// Which request is being accounted: its touches (units still zero), kept in the operation's
/// config bag from serialization to the end of each attempt.
#[derive(Debug, Clone)]
struct Plan {
    operation: &'static str,
    transactional: bool,
    consistent: bool,
    touches: Vec<Touch>,
}

impl Storable for Plan {
    type Storer = StoreReplace<Self>;
}

fn touch(
    index: Option<String>,
    pk: String,
    sk: Option<String>,
    action: Action,
    bytes: usize,
) -> Touch {
    Touch {
        index,
        pk,
        sk,
        action,
        rcu: 0.0,
        wcu: 0.0,
        bytes,
        items: 0,
    }
}

/// The table's touch of an item key and, for a written item, its GSI entries (attributes
/// `gsi<N>pk`/`gsi<N>sk` key index `gsi<N>`).
fn item_touches(
    item: &HashMap<String, AttributeValue>,
    action: Action,
    bytes: usize,
) -> Vec<Touch> {
    let mut out = vec![touch(
        None,
        string_of(item, "pk").unwrap_or_else(|| "?".into()),
        string_of(item, "sk"),
        action,
        bytes,
    )];
    if action == Action::Put {
        let mut gsis: Vec<&String> = item
            .keys()
            .filter(|k| k.starts_with("gsi") && k.ends_with("pk"))
            .collect();
        gsis.sort();
        for attr in gsis {
            let index = attr.trim_end_matches("pk").to_owned();
            let sk = string_of(item, &format!("{index}sk"));
            if let Some(pk) = string_of(item, attr) {
                out.push(touch(Some(index), pk, sk, action, bytes));
            }
        }
    }
    out
}

/// An expression's tokens, `=` and `,` apart, names resolved through `#` placeholders.
fn tokens(expression: &str, names: Option<&HashMap<String, String>>) -> Vec<String> {
    expression
        .replace('=', " = ")
        .replace(',', " , ")
        .replace(['(', ')'], " ")
        .split_whitespace()
        .map(|t| {
            names
                .and_then(|n| n.get(t))
                .cloned()
                .unwrap_or_else(|| t.to_owned())
        })
        .collect()
}

/// An update: its key's touch, sized by the key plus every value it writes (its item after the
/// update is unknown to the request), and the GSI entries it sets (`SET gsi<N>pk = :v`) or
/// removes (`REMOVE gsi<N>pk`: the old entry's key is not in the request, `?`).
fn update_touches(
    key: &HashMap<String, AttributeValue>,
    expression: &str,
    names: Option<&HashMap<String, String>>,
    values: Option<&HashMap<String, AttributeValue>>,
) -> Vec<Touch> {
    let toks = tokens(expression, names);
    let written: usize = values
        .map(|v| v.values().map(value_size).sum())
        .unwrap_or(0)
        + toks
            .iter()
            .filter(|t| !t.starts_with(':') && t.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .map(String::len)
            .sum::<usize>();
    let bytes = item_size(key) + written;
    let mut out = item_touches(key, Action::Update, bytes);
    let mut clause = "";
    for (i, t) in toks.iter().enumerate() {
        match t.to_ascii_uppercase().as_str() {
            "SET" | "REMOVE" | "ADD" | "DELETE" => {
                clause = match t.to_ascii_uppercase().as_str() {
                    "SET" => "SET",
                    "REMOVE" => "REMOVE",
                    _ => "",
                };
                continue;
            }
            _ => {}
        }
        if !(t.starts_with("gsi") && t.ends_with("pk")) {
            continue;
        }
        let index = t.trim_end_matches("pk").to_owned();
        match clause {
            "SET" if toks.get(i + 1).map(String::as_str) == Some("=") => {
                let pk = toks
                    .get(i + 2)
                    .and_then(|v| values?.get(v))
                    .and_then(|v| v.as_s().ok().cloned())
                    .unwrap_or_else(|| "?".into());
                out.push(touch(Some(index), pk, None, Action::Update, bytes));
            }
            "REMOVE" => out.push(touch(Some(index), "?".into(), None, Action::Delete, bytes)),
            _ => {}
        }
    }
    out
}

/// The partition a Query reads: the value its key condition compares the partition key
/// (`pk`, or `<index>pk`) with.
fn query_pk(q: &QueryInput) -> String {
    let pk_attr = q
        .index_name
        .as_deref()
        .map(|i| format!("{i}pk"))
        .unwrap_or_else(|| "pk".into());
    let toks = tokens(
        q.key_condition_expression.as_deref().unwrap_or(""),
        q.expression_attribute_names.as_ref(),
    );
    let value_of = |i: usize| {
        toks.get(i + 2)
            .and_then(|v| q.expression_attribute_values.as_ref()?.get(v))
            .and_then(|v| v.as_s().ok().cloned())
    };
    let equalities: Vec<usize> = (0..toks.len())
        .filter(|&i| toks.get(i + 1).map(String::as_str) == Some("="))
        .collect();
    equalities
        .iter()
        .find(|&&i| toks[i] == pk_attr)
        .or(equalities.first())
        .and_then(|&i| value_of(i))
        .unwrap_or_else(|| "?".into())
}

/// Asks the request for `INDEXES` consumed capacity and notes what it touches.
fn plan(input: &mut aws_smithy_runtime_api::client::interceptors::context::Input) -> Option<Plan> {
    let indexes = Some(ReturnConsumedCapacity::Indexes);
    let plain = |operation, consistent, touches| Plan {
        operation,
        transactional: false,
        consistent,
        touches,
    };
    if let Some(i) = input.downcast_mut::<PutItemInput>() {
        i.return_consumed_capacity = indexes;
        let item = i.item.clone().unwrap_or_default();
        return Some(plain(
            "PutItem",
            false,
            item_touches(&item, Action::Put, item_size(&item)),
        ));
    }
    if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
        i.return_consumed_capacity = indexes;
        let key = i.key.clone().unwrap_or_default();
        let t = update_touches(
            &key,
            i.update_expression.as_deref().unwrap_or(""),
            i.expression_attribute_names.as_ref(),
            i.expression_attribute_values.as_ref(),
        );
        return Some(plain("UpdateItem", false, t));
    }
    if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
        i.return_consumed_capacity = indexes;
        let key = i.key.clone().unwrap_or_default();
        return Some(plain(
            "DeleteItem",
            false,
            item_touches(&key, Action::Delete, item_size(&key)),
        ));
    }
    if let Some(i) = input.downcast_mut::<GetItemInput>() {
        i.return_consumed_capacity = indexes;
        let key = i.key.clone().unwrap_or_default();
        let consistent = i.consistent_read.unwrap_or(false);
        return Some(plain(
            "GetItem",
            consistent,
            item_touches(&key, Action::Get, 0),
        ));
    }
    if let Some(i) = input.downcast_mut::<QueryInput>() {
        i.return_consumed_capacity = indexes;
        let t = touch(i.index_name.clone(), query_pk(i), None, Action::Query, 0);
        return Some(plain("Query", i.consistent_read.unwrap_or(false), vec![t]));
    }
    if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
        i.return_consumed_capacity = indexes;
        let mut consistent = false;
        let mut t = Vec::new();
        for ka in i.request_items.iter().flat_map(|m| m.values()) {
            consistent |= ka.consistent_read.unwrap_or(false);
            for key in &ka.keys {
                t.extend(item_touches(key, Action::Get, 0));
            }
        }
        return Some(plain("BatchGetItem", consistent, t));
    }
    if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
        i.return_consumed_capacity = indexes;
        let mut t = Vec::new();
        for w in i.request_items.iter().flat_map(|m| m.values()).flatten() {
            if let Some(p) = &w.put_request {
                t.extend(item_touches(&p.item, Action::Put, item_size(&p.item)));
            }
            if let Some(d) = &w.delete_request {
                t.extend(item_touches(&d.key, Action::Delete, item_size(&d.key)));
            }
        }
        return Some(plain("BatchWriteItem", false, t));
    }
    if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
        i.return_consumed_capacity = indexes;
        let mut t = Vec::new();
        for item in i.transact_items.iter().flatten() {
            if let Some(p) = &item.put {
                t.extend(item_touches(&p.item, Action::Put, item_size(&p.item)));
            } else if let Some(u) = &item.update {
                t.extend(update_touches(
                    &u.key,
                    &u.update_expression,
                    u.expression_attribute_names.as_ref(),
                    u.expression_attribute_values.as_ref(),
                ));
            } else if let Some(d) = &item.delete {
                t.extend(item_touches(&d.key, Action::Delete, item_size(&d.key)));
            } else if let Some(c) = &item.condition_check {
                t.extend(item_touches(&c.key, Action::Check, item_size(&c.key)));
            } else {
                // An empty entry: DynamoDB rejects the request.
            }
        }
        return Some(Plan {
            operation: "TransactWriteItems",
            transactional: true,
            consistent: false,
            touches: t,
        });
    }
    None
}

/// Spreads `units` over `touches` by weight (each at least one unit of its size), as DynamoDB
/// reports one figure per table or index.
fn spread(touches: &mut [&mut Touch], units: f64, write: bool) {
    let unit = if write { 1024 } else { 4096 };
    let weights: Vec<f64> = touches.iter().map(|t| kb_units(t.bytes, unit)).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return;
    }
    for (t, w) in touches.iter_mut().zip(weights) {
        if write {
            t.wcu += units * w / total;
        } else {
            t.rcu += units * w / total;
        }
    }
}

fn key_of(item: &HashMap<String, AttributeValue>) -> (Option<String>, Option<String>) {
    (string_of(item, "pk"), string_of(item, "sk"))
}

impl Plan {
    /// The attempt's usage from its answer: DynamoDB's reported units where it reports them,
    /// else AWS's rules over the item sizes; nothing for a failure DynamoDB does not bill.
    fn settle(
        &self,
        answer: Option<Result<&ErasedOutput, &OrchestratorError<ErasedError>>>,
    ) -> Usage {
        let mut usage = Usage {
            operation: self.operation,
            at: Instant::now(),
            outcome: Outcome::Failed,
            reported: false,
            transactional: self.transactional,
            consistent: self.consistent,
            touches: self.touches.clone(),
        };
        let reported: Vec<ConsumedCapacity> = match answer {
            Some(Ok(out)) => {
                usage.outcome = Outcome::Done;
                self.read_output(out, &mut usage)
            }
            Some(Err(e)) => {
                let old = refused_items(e);
                match old {
                    Some(old) => {
                        usage.outcome = Outcome::Refused;
                        for (t, old) in usage
                            .touches
                            .iter_mut()
                            .filter(|t| t.index.is_none())
                            .zip(old)
                        {
                            t.bytes = t.bytes.max(old);
                        }
                        // Nothing was written: no index entry is billed.
                        usage.touches.retain(|t| t.index.is_none());
                    }
                    None => return usage,
                }
                Vec::new()
            }
            None => return usage,
        };
        if reported.is_empty() {
            let (tx, consistent) = (usage.transactional, usage.consistent);
            for t in &mut usage.touches {
                let (r, w) = computed_units(t, tx, consistent);
                t.rcu = r;
                t.wcu = w;
            }
            return usage;
        }
        usage.reported = true;
        let write = self.touches.first().is_some_and(|t| t.action.is_write());
        for cc in &reported {
            let gsi: Vec<(String, f64)> = cc
                .global_secondary_indexes()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.capacity_units().unwrap_or(0.0)))
                        .collect()
                })
                .unwrap_or_default();
            let table = cc
                .table()
                .and_then(|t| t.capacity_units())
                .unwrap_or_else(|| {
                    cc.capacity_units().unwrap_or(0.0) - gsi.iter().map(|g| g.1).sum::<f64>()
                });
            let mut mine: Vec<&mut Touch> = usage
                .touches
                .iter_mut()
                .filter(|t| t.index.is_none())
                .collect();
            spread(&mut mine, table, write);
            for (name, units) in gsi {
                let mut mine: Vec<&mut Touch> = usage
                    .touches
                    .iter_mut()
                    .filter(|t| t.index.as_deref() == Some(name.as_str()))
                    .collect();
                if mine.is_empty() {
                    if units > 0.0 {
                        let action = if write { Action::Update } else { Action::Query };
                        let mut t = touch(Some(name), "?".into(), None, action, 0);
                        if write {
                            t.wcu = units;
                        } else {
                            t.rcu = units;
                        }
                        usage.touches.push(t);
                    }
                } else {
                    spread(&mut mine, units, write);
                }
            }
        }
        // AWS bills a read at least its minimum (half a unit eventually consistent), an empty
        // Query or a missing item included; DynamoDB Local reports such reads as 0.
        if !write {
            let (tx, consistent) = (usage.transactional, usage.consistent);
            for t in usage.touches.iter_mut().filter(|t| t.index.is_none()) {
                t.rcu = t.rcu.max(computed_units(t, tx, consistent).0);
            }
        }
        usage
    }

    /// Notes what a successful read returned; the capacity DynamoDB reported, if any.
    fn read_output(&self, out: &ErasedOutput, usage: &mut Usage) -> Vec<ConsumedCapacity> {
        let one = |c: Option<&ConsumedCapacity>| c.cloned().into_iter().collect::<Vec<_>>();
        if let Some(o) = out.downcast_ref::<GetItemOutput>() {
            if let (Some(item), Some(t)) = (o.item(), usage.touches.first_mut()) {
                t.bytes = item_size(item);
                t.items = 1;
            }
            return one(o.consumed_capacity());
        }
        if let Some(o) = out.downcast_ref::<QueryOutput>() {
            if let Some(t) = usage.touches.first_mut() {
                t.bytes = o.items().iter().map(item_size).sum();
                t.items = o.items().len();
            }
            return one(o.consumed_capacity());
        }
        if let Some(o) = out.downcast_ref::<BatchGetItemOutput>() {
            let mut sizes: HashMap<(Option<String>, Option<String>), usize> = HashMap::new();
            for item in o.responses().into_iter().flat_map(|m| m.values()).flatten() {
                sizes.insert(key_of(item), item_size(item));
            }
            for t in &mut usage.touches {
                if let Some(b) = sizes.get(&(Some(t.pk.clone()), t.sk.clone())) {
                    t.bytes = *b;
                    t.items = 1;
                }
            }
            return o.consumed_capacity().to_vec();
        }
        if let Some(o) = out.downcast_ref::<PutItemOutput>() {
            return one(o.consumed_capacity());
        }
        if let Some(o) = out.downcast_ref::<UpdateItemOutput>() {
            return one(o.consumed_capacity());
        }
        if let Some(o) = out.downcast_ref::<DeleteItemOutput>() {
            return one(o.consumed_capacity());
        }
        if let Some(o) = out.downcast_ref::<BatchWriteItemOutput>() {
            return o.consumed_capacity().to_vec();
        }
        if let Some(o) = out.downcast_ref::<TransactWriteItemsOutput>() {
            return o.consumed_capacity().to_vec();
        }
        Vec::new()
    }
}

/// For a refused write (billed though nothing was written), the size of each item as it was,
/// in request order (0 where the error does not carry it); `None` for a failure not billed.
fn refused_items(e: &OrchestratorError<ErasedError>) -> Option<Vec<usize>> {
    let e = e.as_operation_error()?;
    if let Some(TransactWriteItemsError::TransactionCanceledException(tc)) =
        e.downcast_ref::<TransactWriteItemsError>()
    {
        return Some(
            tc.cancellation_reasons()
                .iter()
                .map(|r| r.item().map_or(0, item_size))
                .collect(),
        );
    }
    let old = |i: Option<&HashMap<String, AttributeValue>>| Some(vec![i.map_or(0, item_size)]);
    if let Some(PutItemError::ConditionalCheckFailedException(c)) = e.downcast_ref::<PutItemError>()
    {
        return old(c.item());
    }
    if let Some(UpdateItemError::ConditionalCheckFailedException(c)) =
        e.downcast_ref::<UpdateItemError>()
    {
        return old(c.item());
    }
    if let Some(DeleteItemError::ConditionalCheckFailedException(c)) =
        e.downcast_ref::<DeleteItemError>()
    {
        return old(c.item());
    }
    None
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

    #[test]
    fn sizes_and_units_follow_aws_rules() {
        let item: HashMap<String, AttributeValue> = [
            ("pk".to_owned(), AttributeValue::S("SHOW#a#B1".into())),
            ("n".to_owned(), AttributeValue::N("12345".into())),
        ]
        .into();
        // "pk" + 9, "n" + (5 significant digits → 3 + 1).
        assert_eq!(item_size(&item), 2 + 9 + 1 + 4);
        let mut t = touch(None, "p".into(), None, Action::Put, 1025);
        assert_eq!(computed_units(&t, true, false), (0.0, 4.0));
        assert_eq!(computed_units(&t, false, false), (0.0, 2.0));
        t.action = Action::Query;
        t.bytes = 0;
        assert_eq!(computed_units(&t, false, false), (0.5, 0.0));
        assert_eq!(computed_units(&t, false, true), (1.0, 0.0));
    }

    #[test]
    fn a_query_names_its_partition_and_an_update_its_gsi_entries() {
        let q = QueryInput::builder()
            .index_name("gsi2")
            .key_condition_expression("#pk = :pk AND gsi2sk < :cut")
            .expression_attribute_names("#pk", "gsi2pk")
            .expression_attribute_values(":pk", AttributeValue::S("PENDING#3".into()))
            .expression_attribute_values(":cut", AttributeValue::S("9".into()))
            .build()
            .unwrap();
        assert_eq!(query_pk(&q), "PENDING#3");
        let key: HashMap<String, AttributeValue> = [
            ("pk".to_owned(), AttributeValue::S("BOOKING#b".into())),
            ("sk".to_owned(), AttributeValue::S("BOOKING".into())),
        ]
        .into();
        let values: HashMap<String, AttributeValue> =
            [(":r".to_owned(), AttributeValue::S("REMIND#x".into()))].into();
        let t = update_touches(
            &key,
            "SET gsi1pk = :r REMOVE #g",
            Some(&[("#g".to_owned(), "gsi2pk".to_owned())].into()),
            Some(&values),
        );
        let gsi: Vec<(&str, &str)> = t
            .iter()
            .filter_map(|t| Some((t.index.as_deref()?, t.pk.as_str())))
            .collect();
        assert_eq!(gsi, [("gsi1", "REMIND#x"), ("gsi2", "?")]);
    }
}

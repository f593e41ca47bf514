//! Reads template.yaml: the one source of truth for the table, queues, bus, functions, routes,
//! schedules and rules. The local stack builds everything from this model, so local behaviour
//! cannot drift from what SAM deploys.

use serde_yaml::Value;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Http {
        method: String,
        path: String,
    },
    /// The HTTP API's `$default` route.
    HttpDefault,
    Sqs {
        queue: String,
        batch_size: i32,
        report_batch_item_failures: bool,
        /// `MaximumBatchingWindowInSeconds`: how long the poller gathers a batch (0: none).
        batching_window_seconds: u64,
        /// `ScalingConfig.MaximumConcurrency` (with the template's parameter defaults): how many
        /// batches the event source may have in the function at once (`None`: Lambda's own cap).
        maximum_concurrency: Option<u32>,
    },
    Schedule {
        expression: String,
    },
    EventRule {
        bus: Option<String>,
        pattern: serde_json::Value,
    },
}

#[derive(Debug, Clone)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The crate / function name: its `Handler` (with `CodeUri: bootstrap`, the multi-call binary) or
    /// `CodeUri: functions/<name>`.
    pub name: String,
    pub triggers: Vec<Trigger>,
}

#[derive(Debug, Clone)]
pub struct KeyDef {
    pub hash: String,
    pub range: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IndexDef {
    pub name: String,
    pub key: KeyDef,
    pub projection: String,
}

#[derive(Debug, Clone)]
pub struct TableDef {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    pub key: KeyDef,
    pub indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone)]
pub struct QueueDef {
    pub logical_id: String,
    pub visibility_timeout: Option<i64>,
    /// (dead-letter queue logical id, maxReceiveCount)
    pub redrive: Option<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub functions: Vec<FunctionDef>,
    pub table: TableDef,
    pub queues: Vec<QueueDef>,
    pub buses: Vec<String>,
    /// Secrets Manager secrets, by logical id.
    pub secrets: Vec<String>,
    /// EventBridge rules of their own (`AWS::Events::Rule`) that deliver to queues of the template.
    pub queue_rules: Vec<QueueRuleDef>,
}

/// A rule whose targets are queues (a function's own rules are its `Trigger::EventRule`).
#[derive(Debug, Clone)]
pub struct QueueRuleDef {
    pub logical_id: String,
    pub bus: Option<String>,
    pub pattern: serde_json::Value,
    /// The queues' logical ids.
    pub queues: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("template.yaml: {0}")]
pub struct TemplateError(String);

fn err(msg: impl Into<String>) -> TemplateError {
    TemplateError(msg.into())
}

/// `!Ref X` / `!GetAtt X.Arn` / plain string → the referenced logical id or the string.
fn reference(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => t
            .value
            .as_str()
            .map(|s| s.split('.').next().unwrap_or(s).to_owned()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn key_schema(v: &Value) -> Result<KeyDef, TemplateError> {
    let seq = v
        .as_sequence()
        .ok_or_else(|| err("KeySchema must be a list"))?;
    let find = |kind: &str| {
        seq.iter()
            .find(|k| str_at(k, "KeyType") == Some(kind))
            .and_then(|k| str_at(k, "AttributeName"))
            .map(str::to_owned)
    };
    Ok(KeyDef {
        hash: find("HASH").ok_or_else(|| err("KeySchema without HASH"))?,
        range: find("RANGE"),
    })
}

fn yaml_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::to_value(n).unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(s) => serde_json::Value::Array(s.iter().map(yaml_to_json).collect()),
        Value::Mapping(m) => serde_json::Value::Object(
            m.iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_owned(), yaml_to_json(v))))
                .collect(),
        ),
        Value::Tagged(t) => yaml_to_json(&t.value),
    }
}

impl Template {
    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Template::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let doc: Value = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or_else(|| err("no Resources"))?;
        let intrinsics = Intrinsics {
            parameters: doc.get("Parameters"),
            conditions: doc.get("Conditions"),
        };
        let mut functions = Vec::new();
        let mut tables = Vec::new();
        let mut queues = Vec::new();
        let mut buses = Vec::new();
        let mut secrets = Vec::new();
        let mut queue_rules = Vec::new();
        for (id, res) in resources {
            let id = id
                .as_str()
                .ok_or_else(|| err("resource id must be a string"))?
                .to_owned();
            let props = res.get("Properties").cloned().unwrap_or(Value::Null);
            match str_at(res, "Type") {
                Some("AWS::Serverless::Function") => {
                    functions.push(parse_function(&id, &props, &intrinsics)?)
                }
                Some("AWS::DynamoDB::Table") => tables.push(parse_table(&id, &props)?),
                Some("AWS::SQS::Queue") => queues.push(QueueDef {
                    logical_id: id,
                    visibility_timeout: props.get("VisibilityTimeout").and_then(Value::as_i64),
                    redrive: props.get("RedrivePolicy").and_then(|r| {
                        Some((
                            reference(r.get("deadLetterTargetArn")?)?,
                            r.get("maxReceiveCount")?.as_i64()?,
                        ))
                    }),
                }),
                Some("AWS::Events::EventBus") => buses.push(id),
                Some("AWS::SecretsManager::Secret") => secrets.push(id),
                Some("AWS::Events::Rule") => queue_rules.push(QueueRuleDef {
                    bus: props.get("EventBusName").and_then(reference),
                    pattern: yaml_to_json(props.get("EventPattern").unwrap_or(&Value::Null)),
                    queues: props
                        .get("Targets")
                        .and_then(Value::as_sequence)
                        .into_iter()
                        .flatten()
                        .filter_map(|t| t.get("Arn").and_then(reference))
                        .collect(),
                    logical_id: id,
                }),
                _ => {}
            }
        }
        let table = match tables.len() {
            1 => tables.remove(0),
            n => {
                return Err(err(format!(
                    "expected exactly one DynamoDB table, found {n}"
                )))
            }
        };
        Ok(Template {
            functions,
            table,
            queues,
            buses,
            secrets,
            queue_rules,
        })
    }

    pub fn function(&self, name: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// Every (method, path, function) HTTP route.
    pub fn http_routes(&self) -> Vec<(String, String, String)> {
        let mut routes = Vec::new();
        for f in &self.functions {
            for t in &f.triggers {
                if let Trigger::Http { method, path } = t {
                    routes.push((method.clone(), path.clone(), f.name.clone()));
                }
            }
        }
        routes.sort();
        routes
    }

    /// The function behind the `$default` route.
    pub fn default_route_function(&self) -> Option<&str> {
        self.functions
            .iter()
            .find(|f| f.triggers.contains(&Trigger::HttpDefault))
            .map(|f| f.name.as_str())
    }
}

/// The few intrinsic functions an event source's settings use, evaluated with the parameters'
/// defaults (what `sam deploy` uses when samconfig.toml overrides nothing): `!Ref Parameter`,
/// `!If [Condition, a, b]` (`!Ref AWS::NoValue`: no value), and the conditions' `!Equals`/`!Not`.
struct Intrinsics<'a> {
    parameters: Option<&'a Value>,
    conditions: Option<&'a Value>,
}

impl Intrinsics<'_> {
    /// The value `v` stands for; `None` for `AWS::NoValue` or what this cannot evaluate.
    fn value(&self, v: &Value) -> Option<Value> {
        let Value::Tagged(t) = v else {
            return Some(v.clone());
        };
        if t.tag == "Ref" {
            let name = t.value.as_str()?;
            return self.parameters?.get(name)?.get("Default").cloned();
        }
        if t.tag == "If" {
            let args = t.value.as_sequence()?;
            let branch = if self.condition(args.first()?.as_str()?)? {
                args.get(1)?
            } else {
                args.get(2)?
            };
            return self.value(branch);
        }
        None
    }

    fn condition(&self, name: &str) -> Option<bool> {
        self.truth(self.conditions?.get(name)?)
    }

    fn truth(&self, v: &Value) -> Option<bool> {
        let Value::Tagged(t) = v else {
            return v.as_bool();
        };
        let args = t.value.as_sequence();
        if t.tag == "Not" {
            return self.truth(args?.first()?).map(|b| !b);
        }
        if t.tag == "Equals" {
            let args = args?;
            let text = |v: &Value| -> Option<String> {
                match self.value(v)? {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => None,
                }
            };
            return Some(text(args.first()?)? == text(args.get(1)?)?);
        }
        if t.tag == "Condition" {
            return self.condition(t.value.as_str()?);
        }
        None
    }

    fn number(&self, v: &Value) -> Option<u64> {
        match self.value(v)? {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

fn parse_function(
    id: &str,
    props: &Value,
    intrinsics: &Intrinsics<'_>,
) -> Result<FunctionDef, TemplateError> {
    let code_uri = str_at(props, "CodeUri").ok_or_else(|| err(format!("{id}: CodeUri missing")))?;
    // Every function deploys the multi-call binary (CodeUri `bootstrap`), which runs the function
    // its Handler names; a function built on its own would have CodeUri functions/<name>.
    let name = match code_uri.trim_end_matches('/').strip_prefix("functions/") {
        Some(name) => name,
        None => str_at(props, "Handler")
            .filter(|h| !h.is_empty() && *h != "bootstrap")
            .ok_or_else(|| {
                err(format!(
                    "{id}: CodeUri {code_uri} needs Handler: <function name> (or CodeUri functions/<name>)"
                ))
            })?,
    }
    .to_owned();
    let mut triggers = Vec::new();
    if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
        for (_, ev) in events {
            let p = ev.get("Properties").cloned().unwrap_or(Value::Null);
            let trigger = match str_at(ev, "Type") {
                Some("HttpApi") => match (str_at(&p, "Method"), str_at(&p, "Path")) {
                    (_, Some("$default")) | (None, None) => Trigger::HttpDefault,
                    (Some(m), Some(path)) => Trigger::Http {
                        method: m.to_uppercase(),
                        path: path.to_owned(),
                    },
                    _ => return Err(err(format!("{id}: HttpApi event needs Method and Path"))),
                },
                Some("SQS") => Trigger::Sqs {
                    queue: p
                        .get("Queue")
                        .and_then(reference)
                        .ok_or_else(|| err(format!("{id}: SQS Queue")))?,
                    batch_size: p.get("BatchSize").and_then(Value::as_i64).unwrap_or(10) as i32,
                    batching_window_seconds: p
                        .get("MaximumBatchingWindowInSeconds")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    maximum_concurrency: p
                        .get("ScalingConfig")
                        .and_then(|c| intrinsics.value(c))
                        .and_then(|c| c.get("MaximumConcurrency").cloned())
                        .and_then(|m| intrinsics.number(&m))
                        .and_then(|m| u32::try_from(m).ok()),
                    report_batch_item_failures: p
                        .get("FunctionResponseTypes")
                        .and_then(Value::as_sequence)
                        .is_some_and(|s| {
                            s.iter()
                                .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
                        }),
                },
                Some("Schedule") | Some("ScheduleV2") => Trigger::Schedule {
                    expression: p
                        .get("Schedule")
                        .or_else(|| p.get("ScheduleExpression"))
                        .and_then(|v| match v {
                            Value::Tagged(t) => t.value.as_str().map(str::to_owned),
                            other => other.as_str().map(str::to_owned),
                        })
                        .ok_or_else(|| err(format!("{id}: Schedule expression")))?,
                },
                Some("EventBridgeRule") | Some("CloudWatchEvent") => Trigger::EventRule {
                    bus: p.get("EventBusName").and_then(reference),
                    pattern: yaml_to_json(p.get("Pattern").unwrap_or(&Value::Null)),
                },
                _ => continue,
            };
            triggers.push(trigger);
        }
    }
    Ok(FunctionDef {
        logical_id: id.to_owned(),
        name,
        triggers,
    })
}

fn parse_table(id: &str, props: &Value) -> Result<TableDef, TemplateError> {
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| err("table AttributeDefinitions"))?
        .iter()
        .filter_map(|a| {
            Some((
                str_at(a, "AttributeName")?.to_owned(),
                str_at(a, "AttributeType")?.to_owned(),
            ))
        })
        .collect();
    let key = key_schema(
        props
            .get("KeySchema")
            .ok_or_else(|| err("table KeySchema"))?,
    )?;
    let mut indexes = Vec::new();
    for gsi in props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        indexes.push(IndexDef {
            name: str_at(gsi, "IndexName")
                .ok_or_else(|| err("GSI IndexName"))?
                .to_owned(),
            key: key_schema(gsi.get("KeySchema").ok_or_else(|| err("GSI KeySchema"))?)?,
            projection: gsi
                .get("Projection")
                .and_then(|p| str_at(p, "ProjectionType"))
                .unwrap_or("ALL")
                .to_owned(),
        });
    }
    let ttl_attribute = props
        .get("TimeToLiveSpecification")
        .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .and_then(|t| str_at(t, "AttributeName"))
        .map(str::to_owned);
    Ok(TableDef {
        logical_id: id.to_owned(),
        attributes,
        key,
        indexes,
        ttl_attribute,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_sources_read_their_scaling_config_with_the_parameter_defaults() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let template = Template::load(&path).expect("template.yaml parses");
        let concurrency = |name: &str| {
            template
                .function(name)
                .and_then(|f| {
                    f.triggers.iter().find_map(|t| match t {
                        Trigger::Sqs {
                            maximum_concurrency,
                            ..
                        } => Some(*maximum_concurrency),
                        _ => None,
                    })
                })
                .expect("an SQS event source")
        };
        // `!If [ReservesConfirmConcurrency, {MaximumConcurrency: !Ref ...}, !Ref AWS::NoValue]`
        // with ConfirmPaymentReservedConcurrency's default (20).
        assert_eq!(concurrency("confirm-payment"), Some(20));
        assert_eq!(concurrency("refund-payment"), None);
    }

    #[test]
    fn a_false_condition_takes_the_no_value_branch() {
        let doc: Value = serde_yaml::from_str(
            "Parameters: {N: {Type: Number, Default: 0}}\n\
             Conditions: {Reserves: !Not [!Equals [!Ref N, 0]]}\n\
             Config: !If [Reserves, {MaximumConcurrency: !Ref N}, !Ref AWS::NoValue]\n",
        )
        .expect("yaml");
        let i = Intrinsics {
            parameters: doc.get("Parameters"),
            conditions: doc.get("Conditions"),
        };
        assert_eq!(i.condition("Reserves"), Some(false));
        assert_eq!(i.value(doc.get("Config").expect("config")), None);
    }
}

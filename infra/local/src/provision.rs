//! Creates the template's resources in the emulators: the table (GSIs, TTL), the queues (with
//! their redrive policies), the event buses, and for every EventBridge rule a local queue that
//! the rule targets, so the trigger driver can deliver rule matches to the function.

use crate::template::{KeyDef, TableDef, Template, Trigger};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub table_name: String,
    /// Queue logical id → URL.
    pub queue_urls: HashMap<String, String>,
    /// Event bus logical id → bus name.
    pub bus_names: HashMap<String, String>,
    /// Function name → the URL of the local queue its EventBridge rules deliver to.
    pub rule_queues: HashMap<String, String>,
    /// Secret logical id → ARN.
    pub secret_arns: HashMap<String, String>,
}

impl Provisioned {
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.queue_urls.get(logical_id).map(String::as_str)
    }

    /// The first (main) event bus, or "default".
    pub fn bus_name(&self) -> String {
        let mut names: Vec<_> = self.bus_names.values().cloned().collect();
        names.sort();
        names.into_iter().next().unwrap_or_else(|| "default".into())
    }
}

fn key_elements(k: &KeyDef) -> Result<Vec<KeySchemaElement>, BoxError> {
    let mut v = vec![KeySchemaElement::builder()
        .attribute_name(&k.hash)
        .key_type(KeyType::Hash)
        .build()?];
    if let Some(r) = &k.range {
        v.push(
            KeySchemaElement::builder()
                .attribute_name(r)
                .key_type(KeyType::Range)
                .build()?,
        );
    }
    Ok(v)
}

/// Creates the table as the template declares it; an existing table is left as it is.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    def: &TableDef,
    name: &str,
) -> Result<(), BoxError> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest);
    for (attr, ty) in &def.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr)
                .attribute_type(ScalarAttributeType::from(ty.as_str()))
                .build()?,
        );
    }
    req = req.set_key_schema(Some(key_elements(&def.key)?));
    for gsi in &def.indexes {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&gsi.name)
                .set_key_schema(Some(key_elements(&gsi.key)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(gsi.projection.as_str()))
                        .build(),
                )
                .build()?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(())
        }
        Err(e) => return Err(Box::new(e)),
    }
    if let Some(attr) = &def.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
    }
    Ok(())
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<(String, String), BoxError> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await?
        .queue_url
        .unwrap_or_default();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or("queue without an ARN")?;
    Ok((url, arn))
}

/// Creates every resource of the template, named with `prefix` so that stacks never collide;
/// each secret holds `secret_strings[logical id]` (a JSON object, `{}` when not given).
pub async fn provision(
    template: &Template,
    prefix: &str,
    sdk: &aws_config::SdkConfig,
    secret_strings: &HashMap<String, String>,
) -> Result<Provisioned, BoxError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let mut out = Provisioned {
        table_name: format!("{prefix}-table"),
        ..Default::default()
    };
    create_table(&dynamodb, &template.table, &out.table_name).await?;

    // Dead-letter queues first: the queues that redrive to them need their ARNs.
    let mut arns = HashMap::new();
    let mut queues = template.queues.clone();
    queues.sort_by_key(|q| q.redrive.is_some());
    for q in &queues {
        let mut attrs = HashMap::new();
        if let Some(v) = q.visibility_timeout {
            attrs.insert(QueueAttributeName::VisibilityTimeout, v.to_string());
        }
        if let Some((dlq, max)) = &q.redrive {
            let dlq_arn = arns
                .get(dlq)
                .ok_or_else(|| format!("{}: unknown dead-letter queue {dlq}", q.logical_id))?;
            attrs.insert(
                QueueAttributeName::RedrivePolicy,
                serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": max })
                    .to_string(),
            );
        }
        let (url, arn) = create_queue(&sqs, &format!("{prefix}-{}", q.logical_id), attrs).await?;
        out.queue_urls.insert(q.logical_id.clone(), url);
        arns.insert(q.logical_id.clone(), arn);
    }

    for bus in &template.buses {
        let name = format!("{prefix}-{bus}");
        match events.create_event_bus().name(&name).send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
            Err(e) => return Err(Box::new(e)),
        }
        out.bus_names.insert(bus.clone(), name);
    }

    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    for id in &template.secrets {
        let value = secret_strings.get(id).map_or("{}", String::as_str);
        let created = secrets
            .create_secret()
            .name(format!("{prefix}/{id}"))
            .secret_string(value)
            .send()
            .await?;
        let arn = created.arn.ok_or("a secret without an ARN")?;
        out.secret_arns.insert(id.clone(), arn);
    }

    for f in &template.functions {
        for (i, trigger) in f.triggers.iter().enumerate() {
            let Trigger::EventRule { bus, pattern } = trigger else {
                continue;
            };
            let bus_name = bus
                .as_ref()
                .and_then(|b| out.bus_names.get(b).cloned())
                .unwrap_or_else(|| "default".into());
            let queue_name = format!("{prefix}-rule-{}", f.name);
            let (url, arn) = create_queue(&sqs, &queue_name, HashMap::new()).await?;
            let rule_name = format!("{prefix}-{}-{i}", f.name);
            events
                .put_rule()
                .name(&rule_name)
                .event_bus_name(&bus_name)
                .event_pattern(pattern.to_string())
                .send()
                .await?;
            events
                .put_targets()
                .rule(&rule_name)
                .event_bus_name(&bus_name)
                .targets(
                    aws_sdk_eventbridge::types::Target::builder()
                        .id("local-function")
                        .arn(arn)
                        .build()?,
                )
                .send()
                .await?;
            out.rule_queues.insert(f.name.clone(), url);
        }
    }

    // Rules that deliver to the template's own queues (the refund requests).
    for rule in &template.queue_rules {
        let bus_name = rule
            .bus
            .as_ref()
            .and_then(|b| out.bus_names.get(b).cloned())
            .unwrap_or_else(|| "default".into());
        let rule_name = format!("{prefix}-{}", rule.logical_id);
        events
            .put_rule()
            .name(&rule_name)
            .event_bus_name(&bus_name)
            .event_pattern(rule.pattern.to_string())
            .send()
            .await?;
        for (i, queue) in rule.queues.iter().enumerate() {
            let arn = arns
                .get(queue)
                .ok_or_else(|| format!("{}: unknown target queue {queue}", rule.logical_id))?;
            events
                .put_targets()
                .rule(&rule_name)
                .event_bus_name(&bus_name)
                .targets(
                    aws_sdk_eventbridge::types::Target::builder()
                        .id(format!("queue-{i}"))
                        .arn(arn)
                        .build()?,
                )
                .send()
                .await?;
        }
    }
    Ok(out)
}

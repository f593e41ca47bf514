//! The lists that name the functions must stay equal: function crates, template.yaml functions
//! and routes, the local registry, the shared route table and the events/ samples.

use boxoffice_local::{registry, repo_root, template::Trigger};
use std::collections::BTreeSet;

fn crate_dirs() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("functions"))
        .expect("functions/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_function_is_wired_everywhere() {
    let template = boxoffice_local::load_template().expect("template.yaml parses");
    let crates = crate_dirs();
    let in_template: BTreeSet<String> = template.functions.iter().map(|f| f.name.clone()).collect();
    let in_registry: BTreeSet<String> = registry::all_functions()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        crates, in_template,
        "function crates vs template.yaml functions"
    );
    assert_eq!(
        crates, in_registry,
        "function crates vs the local registry (bootstrap/src/lib.rs, through infra/local)"
    );

    let events: Vec<String> = std::fs::read_dir(repo_root().join("events"))
        .expect("events/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for name in &crates {
        assert!(
            events
                .iter()
                .any(|e| e == &format!("{name}.json") || e.starts_with(&format!("{name}-"))),
            "no events/{name}.json sample"
        );
    }
    for e in &events {
        let text = std::fs::read_to_string(repo_root().join("events").join(e)).expect("readable");
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|err| panic!("events/{e} is not JSON: {err}"));
    }

    for f in &template.functions {
        assert_eq!(
            f.logical_id,
            format!("{}Function", pascal(&f.name)),
            "logical id of {}",
            f.name
        );
        assert!(!f.triggers.is_empty(), "{} has no trigger", f.name);
    }
}

/// One artifact for every function: the multi-call `bootstrap` (bootstrap/src/main.rs, its table in bootstrap/src/lib.rs), which
/// runs the function its Handler names. SAM builds it once (equal CodeUri and Metadata make one
/// build definition); each function keeps its own role and settings.
#[test]
fn every_function_deploys_the_multi_call_binary() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    let resources = template["Resources"].as_mapping().expect("Resources");
    let mut handlers = BTreeSet::new();
    for (id, r) in resources {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or_default();
        let props = &r["Properties"];
        assert_eq!(
            props["CodeUri"].as_str(),
            Some("bootstrap"),
            "{id}: CodeUri"
        );
        assert_eq!(
            r["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{id}: Metadata.BuildMethod"
        );
        assert_eq!(
            r["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some("bootstrap"),
            "{id}: Metadata.BuildProperties.Binary"
        );
        let handler = props["Handler"]
            .as_str()
            .expect("every function names its Handler");
        handlers.insert(handler.to_owned());
    }
    let crates = crate_dirs();
    assert_eq!(
        handlers, crates,
        "template.yaml Handlers vs function crates"
    );

    let table = std::fs::read_to_string(repo_root().join("bootstrap/src/lib.rs"))
        .expect("bootstrap/src/lib.rs");
    for name in &crates {
        assert!(
            table.contains(&format!("(\"{name}\", ")),
            "{name} has no row in bootstrap/src/lib.rs's FUNCTIONS table"
        );
    }
}

#[test]
fn template_routes_equal_the_shared_route_table() {
    let template = boxoffice_local::load_template().expect("template.yaml parses");
    let from_template: BTreeSet<(String, String, String)> =
        template.http_routes().into_iter().collect();
    let shared: BTreeSet<(String, String, String)> = boxoffice::routes::ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.function.to_owned(),
            )
        })
        .collect();
    assert_eq!(
        from_template, shared,
        "template.yaml routes vs shared/src/routes.rs"
    );
    assert_eq!(template.default_route_function(), Some("route-not-found"));
    for (_, path, _) in &from_template {
        assert!(
            path.starts_with("/api/v1/"),
            "{path} is outside the base path"
        );
    }
    // Every HTTP function has an HTTP trigger; SQS triggers name a queue of the template.
    for f in &template.functions {
        for t in &f.triggers {
            if let Trigger::Sqs { queue, .. } = t {
                assert!(
                    template.queues.iter().any(|q| &q.logical_id == queue),
                    "{}: unknown queue {queue}",
                    f.name
                );
            }
        }
    }
}

#[test]
fn the_table_matches_the_data_model() {
    let t = boxoffice_local::load_template()
        .expect("template.yaml parses")
        .table;
    assert_eq!(
        (t.key.hash.as_str(), t.key.range.as_deref()),
        ("pk", Some("sk"))
    );
    let gsis: Vec<_> = t
        .indexes
        .iter()
        .map(|i| (i.name.as_str(), i.key.hash.as_str(), i.key.range.as_deref()))
        .collect();
    assert!(
        gsis.contains(&("gsi1", "gsi1pk", Some("gsi1sk"))),
        "{gsis:?}"
    );
    assert!(
        gsis.contains(&("gsi2", "gsi2pk", Some("gsi2sk"))),
        "{gsis:?}"
    );
    assert_eq!(t.ttl_attribute.as_deref(), Some("expires_at"));
}

/// template.yaml as plain YAML (tags such as `!Ref` kept), for the checks the model does not cover.
fn raw_template() -> serde_yaml::Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("readable");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

/// `!Tag value` → (tag, value).
fn tagged(v: &serde_yaml::Value) -> Option<(String, &str)> {
    match v {
        serde_yaml::Value::Tagged(t) => Some((t.tag.to_string(), t.value.as_str()?)),
        _ => None,
    }
}

#[test]
fn every_function_has_a_log_group_with_the_retention_parameter() {
    let doc = raw_template();
    let resources = &doc["Resources"];
    let template = boxoffice_local::load_template().expect("template.yaml parses");
    for f in &template.functions {
        let id = format!("{}LogGroup", f.logical_id);
        let group = &resources[id.as_str()];
        assert_eq!(
            group["Type"].as_str(),
            Some("AWS::Logs::LogGroup"),
            "{id}: every function needs one (see the operations section of template.yaml)"
        );
        assert_eq!(
            tagged(&group["Properties"]["LogGroupName"]),
            Some((
                "!Sub".into(),
                format!("/aws/lambda/${{{}}}", f.logical_id).as_str()
            )),
            "{id}: LogGroupName"
        );
        assert_eq!(
            tagged(&group["Properties"]["RetentionInDays"]),
            Some(("!Ref".into(), "LogRetentionDays")),
            "{id}: RetentionInDays"
        );
        assert_eq!(
            group["Condition"].as_str(),
            resources[f.logical_id.as_str()]["Condition"].as_str(),
            "{id}: the function's Condition"
        );
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic() {
    let doc = raw_template();
    let resources = doc["Resources"].as_mapping().expect("Resources");
    let mut alarms = 0;
    for (id, r) in resources {
        if r["Type"].as_str() != Some("AWS::CloudWatch::Alarm") {
            continue;
        }
        alarms += 1;
        let actions = r["Properties"]["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{id:?}: no AlarmActions"));
        assert!(
            actions
                .iter()
                .any(|a| tagged(a) == Some(("!Ref".into(), "AlarmTopic"))),
            "{id:?}: AlarmActions must include !Ref AlarmTopic"
        );
    }
    assert!(alarms > 0, "no alarms in template.yaml");
}

fn pascal(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

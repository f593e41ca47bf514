//! What a deployed stack would see in template.yaml, checked where the local stack cannot: no
//! secret in any function's environment, each function given exactly the secrets its code reads,
//! and the sandbox provider only in the local and test stages.

use super::cfn::{self, Cfn};
use boxoffice::secrets::SecretSet;
use boxoffice_local::registry;
use serde_yaml::Value;
use std::collections::BTreeSet;

/// Variable names that would hold a secret value (an `*_SECRET_ARN` only names one).
fn looks_secret(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    !n.ends_with("_SECRET_ARN")
        && [
            "SECRET",
            "KEY",
            "PASSWORD",
            "TOKEN",
            "HASH",
            "ADMIN_ACCOUNTS",
            "CREDENTIAL",
        ]
        .iter()
        .any(|w| n.contains(w))
}

fn environments(t: &Cfn) -> Vec<(String, Value)> {
    let mut out = vec![(
        "Globals".to_owned(),
        t.doc()["Globals"]["Function"]["Environment"]["Variables"].clone(),
    )];
    for (id, r) in t.resources() {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            out.push((id, r["Properties"]["Environment"]["Variables"].clone()));
        }
    }
    out
}

#[test]
fn no_function_environment_holds_a_secret_value() {
    let text = std::fs::read_to_string(boxoffice_local::repo_root().join("template.yaml"))
        .expect("template.yaml");
    assert!(
        !text.contains("{{resolve:secretsmanager") && !text.contains("{{resolve:ssm-secure"),
        "a dynamic reference puts a secret's value into the template's output"
    );
    for stage in ["local", "test", "dev", "prod"] {
        let t = Cfn::load(&[("Stage", stage), ("NotificationEmailFrom", "t@example.com")]);
        let secrets: BTreeSet<String> = t
            .resources()
            .into_iter()
            .filter(|(_, r)| r["Type"].as_str() == Some("AWS::SecretsManager::Secret"))
            .map(|(id, _)| id)
            .collect();
        for (owner, vars) in environments(&t) {
            let vars = t.resolve(&vars).unwrap_or(Value::Null);
            for (name, value) in vars.as_mapping().into_iter().flatten() {
                let name = name.as_str().unwrap_or_default();
                assert!(
                    !looks_secret(name),
                    "{stage}: {owner} has {name} in its environment"
                );
                if name.ends_with("_SECRET_ARN") {
                    let target = cfn::resource_ref(value);
                    assert!(
                        secrets.contains(&target),
                        "{stage}: {owner}.{name} must be !Ref to a secret of the template, not {value:?}"
                    );
                }
                let literal = serde_yaml::to_string(value).unwrap_or_default();
                assert!(
                    !literal.contains("resolve:"),
                    "{stage}: {owner}.{name}: {literal}"
                );
            }
        }
    }
}

/// Each function's environment names exactly the secrets its crate lists (`FUNCTION.secrets`), so a
/// deployed cold start finds every ARN it needs and can reach no other secret's.
#[test]
fn every_function_gets_exactly_the_secrets_it_reads() {
    let t = Cfn::load(&[("Stage", "test")]);
    for set in SecretSet::ALL {
        assert!(
            t.resources().iter().any(|(id, r)| id == set.logical_id()
                && r["Type"].as_str() == Some("AWS::SecretsManager::Secret")),
            "template.yaml has no {} secret",
            set.logical_id()
        );
    }
    let mut checked = 0;
    for (id, r) in t.resources() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = function_name(&id);
        let reads: BTreeSet<&str> = registry::secrets_of(&name)
            .unwrap_or_else(|| panic!("{name} is not in the registry"))
            .iter()
            .map(|s| s.arn_variable())
            .collect();
        let vars = t
            .resolve(&r["Properties"]["Environment"]["Variables"])
            .unwrap_or(Value::Null);
        let given: BTreeSet<&str> = vars
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.as_str())
            .filter(|k| k.ends_with("_SECRET_ARN"))
            .collect();
        assert_eq!(
            given, reads,
            "{id}: secret ARNs in its environment vs its FUNCTION.secrets"
        );
        checked += 1;
    }
    assert_eq!(checked, registry::all_functions().len());
}

/// `CreateBookingFunction` → `create-booking`.
pub fn function_name(logical_id: &str) -> String {
    let stem = logical_id.strip_suffix("Function").unwrap_or(logical_id);
    let mut out = String::new();
    for (i, c) in stem.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The sandbox lets its caller decide a payment's outcome: its function and route exist only in
/// the local and test stages, and the setting the functions read agrees.
#[test]
fn the_sandbox_exists_only_in_the_local_and_test_stages() {
    let stages = Cfn::load(&[]).allowed_stages();
    assert_eq!(stages, ["local", "test", "dev", "prod"]);
    for stage in &stages {
        let t = Cfn::load(&[("Stage", stage)]);
        let expected = matches!(stage.as_str(), "local" | "test");
        let has_function = t
            .resources()
            .iter()
            .any(|(id, _)| id == "SandboxCompleteFunction");
        assert_eq!(has_function, expected, "{stage}: SandboxCompleteFunction");
        let setting =
            t.doc()["Mappings"]["StageSettings"][stage.as_str()]["SandboxEnabled"].as_str();
        assert_eq!(
            setting,
            Some(if expected { "true" } else { "false" }),
            "{stage}: SANDBOX_ENABLED"
        );
    }
}

//! openapi.yaml describes exactly the HTTP routes of template.yaml: the same (method, path) set,
//! at least one 2xx per operation, and every error answer in the shared `Error` schema.
//! (infra/contract.sh then checks the real answers against the document with schemathesis.)

use boxoffice_local::repo_root;
use serde_yaml::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
const ERROR_SCHEMA: &str = "#/components/schemas/Error";

fn openapi() -> Value {
    let path = repo_root().join("openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("openapi.yaml is readable");
    serde_yaml::from_str(&text).expect("openapi.yaml parses")
}

/// Follows a local `$ref` (`#/components/...`) to the value it names; other values as they are.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    let Some(reference) = v.get("$ref").and_then(Value::as_str) else {
        return v;
    };
    let pointer = reference
        .strip_prefix("#/")
        .unwrap_or_else(|| panic!("only local references are used: {reference}"));
    let target = pointer
        .split('/')
        .fold(doc, |node, key| node.get(key).unwrap_or(&Value::Null));
    assert!(!target.is_null(), "dangling reference {reference}");
    resolve(doc, target)
}

/// Every operation of the document: (METHOD, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let paths = doc["paths"].as_mapping().expect("paths is a mapping");
    let mut ops = Vec::new();
    for (path, item) in paths {
        let path = path.as_str().expect("paths are strings");
        let item = item.as_mapping().expect("a path item is a mapping");
        for (key, op) in item {
            let key = key.as_str().expect("path item keys are strings");
            if METHODS.contains(&key) {
                ops.push((key.to_uppercase(), path.to_owned(), op));
            } else {
                assert!(
                    matches!(key, "parameters" | "summary" | "description" | "servers"),
                    "{path}: unexpected key {key}"
                );
            }
        }
    }
    ops
}

#[test]
fn openapi_routes_equal_the_template_routes() {
    let doc = openapi();
    let version = doc["openapi"].as_str().expect("openapi version");
    assert!(
        version.starts_with("3.0.") || version.starts_with("3.1."),
        "{version}"
    );
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    // template.yaml read as wiring.rs reads it (serde_yaml, CloudFormation tags kept as tagged
    // values). http_routes() lists the HttpApi events with a Path and Method; the `$default`
    // route (route-not-found, Method ANY) is no operation of the API: it is what API Gateway
    // calls for every path and method no route matches, answering 404/405 in the Error format,
    // so it is described in the document's introduction rather than as a path.
    let template = boxoffice_local::load_template().expect("template.yaml parses");
    assert_eq!(
        template.default_route_function(),
        Some("route-not-found"),
        "the $default route is the only HttpApi event left out of the comparison"
    );
    let routed: BTreeSet<(String, String)> = template
        .http_routes()
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "openapi.yaml vs template.yaml: undocumented routes {missing:?}, documented but not routed {extra:?}"
    );
}

/// The one `image/*` media type of a response's content, if that is what it has.
fn image_content(content: &serde_yaml::Mapping) -> Option<&Value> {
    let mut images = content
        .iter()
        .filter(|(k, _)| k.as_str().is_some_and(|k| k.starts_with("image/")));
    match (images.next(), images.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

#[test]
fn every_operation_documents_a_success_and_errors_in_the_error_schema() {
    let doc = openapi();
    let mut operation_ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        if let Some(id) = op["operationId"].as_str() {
            assert!(
                operation_ids.insert(id.to_owned()),
                "{name}: operationId {id} twice"
            );
        }
        let responses = op["responses"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{name} has no responses"));
        let mut successes = 0;
        for (status, response) in responses {
            let status = match status {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("{name}: status {other:?}"),
            };
            assert!(
                status.len() == 3 && status.chars().all(|c| c.is_ascii_digit()),
                "{name}: status {status} (no `default` or ranges: every answer is listed)"
            );
            let response = resolve(&doc, response);
            // A 304 (a public read's `If-None-Match`) has no body; it names the current tag.
            if status == "304" {
                assert!(
                    response["content"].is_null(),
                    "{name} 304: a 304 has no content"
                );
                assert!(
                    !response["headers"]["ETag"].is_null(),
                    "{name} 304: no ETag header"
                );
                continue;
            }
            let content = response["content"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name} {status}: no content"));
            // A success may be an image (the ticket QR codes); every error is the Error JSON.
            let json = content
                .get("application/json")
                .or_else(|| {
                    status
                        .starts_with('2')
                        .then(|| image_content(content))
                        .flatten()
                })
                .unwrap_or_else(|| panic!("{name} {status}: no application/json content"));
            let schema_ref = json["schema"]["$ref"].as_str();
            if status.starts_with('2') {
                successes += 1;
                assert!(!json["schema"].is_null(), "{name} {status}: no schema");
            } else {
                assert_eq!(
                    schema_ref,
                    Some(ERROR_SCHEMA),
                    "{name} {status}: error answers use the Error schema"
                );
            }
        }
        assert!(successes >= 1, "{name} documents no 2xx answer");
        // Authenticated operations say so; public ones say `security: []`.
        assert!(
            op["security"].is_sequence(),
            "{name}: security must be explicit"
        );
        let secured = op["security"].as_sequence().is_some_and(|s| !s.is_empty());
        if secured && op["security"][0].get("bearerAuth").is_some() {
            assert!(
                responses.contains_key("401"),
                "{name}: a Bearer-authenticated operation documents 401"
            );
        }
    }

    // The Error schema is the contract's error JSON.
    let error = resolve(&doc, &doc["components"]["schemas"]["Error"]);
    let inner = &error["properties"]["error"];
    let required: BTreeSet<&str> = inner["required"]
        .as_sequence()
        .expect("error.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        required,
        BTreeSet::from(["code", "message", "correlationId"])
    );
    assert!(inner["properties"]["details"].is_mapping());
    let codes: BTreeSet<&str> = inner["properties"]["code"]["enum"]
        .as_sequence()
        .expect("error codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in [
        "VALIDATION_ERROR",
        "UNAUTHORIZED",
        "FORBIDDEN",
        "NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "RATE_LIMITED",
        "SERVICE_UNAVAILABLE",
    ] {
        assert!(codes.contains(code), "Error.code lacks {code}");
    }

    // The security schemes the operations name: Bearer JWT and the webhook signatures.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["scheme"].as_str(), Some("bearer"));
    assert_eq!(schemes["bearerAuth"]["bearerFormat"].as_str(), Some("JWT"));
    assert_eq!(
        schemes["sandboxSignature"]["name"].as_str(),
        Some("X-Signature")
    );
    assert_eq!(
        schemes["stripeSignature"]["name"].as_str(),
        Some("Stripe-Signature")
    );
}

/// Every request body and every operation's main (first) 2xx answer carries an example, and every
/// link names an operation of the document and parameters that operation has. (infra/contract.sh
/// also validates each example against its schema.)
#[test]
fn every_operation_has_examples_and_its_links_name_real_operations() {
    let doc = openapi();
    let ops = operations(&doc);
    let params_of = |id: &str| -> Option<BTreeSet<String>> {
        let (_, _, op) = ops
            .iter()
            .find(|(_, _, op)| op["operationId"].as_str() == Some(id))?;
        let params = op["parameters"].as_sequence().cloned().unwrap_or_default();
        Some(
            params
                .iter()
                .filter_map(|p| resolve(&doc, p)["name"].as_str().map(str::to_owned))
                .collect(),
        )
    };
    let mut links = 0;
    for (method, path, op) in &ops {
        let name = format!("{method} {path}");
        if !op["requestBody"].is_null() {
            let body = &resolve(&doc, &op["requestBody"])["content"]["application/json"];
            assert!(
                !body["example"].is_null(),
                "{name}: the request body has no example"
            );
        }
        let responses = op["responses"].as_mapping().expect("responses");
        let (status, success) = responses
            .iter()
            .find(|(s, _)| s.as_str().is_some_and(|s| s.starts_with('2')))
            .unwrap_or_else(|| panic!("{name}: no 2xx"));
        let success = resolve(&doc, success);
        let media = success["content"]
            .as_mapping()
            .and_then(|c| c.get("application/json").or_else(|| image_content(c)));
        assert!(
            media.is_some_and(|m| !m["example"].is_null()),
            "{name} {status:?}: the main success answer has no example"
        );
        for (_, response) in responses {
            let Some(map) = resolve(&doc, response)["links"].as_mapping() else {
                continue;
            };
            for (link_name, link) in map {
                links += 1;
                let target = link["operationId"]
                    .as_str()
                    .expect("a link names its operationId");
                let params = params_of(target)
                    .unwrap_or_else(|| panic!("{name} link {link_name:?}: no operation {target}"));
                for (param, _) in link["parameters"].as_mapping().into_iter().flatten() {
                    let param = param.as_str().expect("parameter names are strings");
                    assert!(
                        params.contains(param.rsplit('.').next().unwrap_or(param)),
                        "{name} link {link_name:?}: {target} has no parameter {param}"
                    );
                }
            }
        }
    }
    assert!(links > 0, "the booking flow is linked");
}

//! Just enough CloudFormation to read template.yaml as a deployed stack would see it: conditions,
//! `!If` and `AWS::NoValue` evaluated for given parameters, and resource references (`!Ref`,
//! `!GetAtt`, `!Sub "${X.Arn}/index/…"`) reduced to logical ids.

use serde_yaml::Value;
use std::collections::HashMap;

pub struct Cfn {
    doc: Value,
    params: HashMap<String, String>,
}

fn tag(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        _ => None,
    }
}

fn is_no_value(v: &Value) -> bool {
    matches!(tag(v), Some((t, inner)) if t == "Ref" && inner.as_str() == Some("AWS::NoValue"))
}

impl Cfn {
    /// template.yaml with these parameter values (the others at their defaults).
    pub fn load(params: &[(&str, &str)]) -> Cfn {
        let path = boxoffice_local::repo_root().join("template.yaml");
        let text = std::fs::read_to_string(&path).expect("template.yaml is readable");
        let doc: Value = serde_yaml::from_str(&text).expect("template.yaml is YAML");
        let mut values: HashMap<String, String> = HashMap::new();
        if let Some(declared) = doc.get("Parameters").and_then(Value::as_mapping) {
            for (k, v) in declared {
                if let (Some(k), Some(d)) = (k.as_str(), v.get("Default")) {
                    let d = match d {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_owned(),
                    };
                    values.insert(k.to_owned(), d);
                }
            }
        }
        for (k, v) in params {
            values.insert((*k).to_owned(), (*v).to_owned());
        }
        Cfn {
            doc,
            params: values,
        }
    }

    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The stage values the template allows.
    pub fn allowed_stages(&self) -> Vec<String> {
        self.doc["Parameters"]["Stage"]["AllowedValues"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    }

    /// Every resource (logical id, definition) that exists under these parameters.
    pub fn resources(&self) -> Vec<(String, &Value)> {
        self.doc["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter(|(_, r)| {
                r.get("Condition")
                    .and_then(Value::as_str)
                    .is_none_or(|c| self.condition(c))
            })
            .filter_map(|(id, r)| Some((id.as_str()?.to_owned(), r)))
            .collect()
    }

    pub fn condition(&self, name: &str) -> bool {
        let expr = &self.doc["Conditions"][name];
        assert!(!expr.is_null(), "template.yaml has no condition {name}");
        self.truth(expr)
    }

    fn scalar(&self, v: &Value) -> String {
        match tag(v) {
            Some((t, inner)) if t == "Ref" => {
                let name = inner.as_str().unwrap_or_default();
                self.params
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| format!("<{name}>"))
            }
            Some((t, inner)) if t == "FindInMap" => {
                let args: Vec<String> = inner
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|a| self.scalar(a))
                    .collect();
                match args.as_slice() {
                    [map, key, attr] => self.doc["Mappings"][map.as_str()][key.as_str()]
                        [attr.as_str()]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                    _ => String::new(),
                }
            }
            _ => v.as_str().map(str::to_owned).unwrap_or_default(),
        }
    }

    fn truth(&self, v: &Value) -> bool {
        let (t, inner) = tag(v).unwrap_or_else(|| panic!("not a condition: {v:?}"));
        let args: Vec<&Value> = inner.as_sequence().into_iter().flatten().collect();
        match t.as_str() {
            "Equals" => self.scalar(args[0]) == self.scalar(args[1]),
            "Not" => !self.truth(args[0]),
            "Or" => args.iter().any(|a| self.truth(a)),
            "And" => args.iter().all(|a| self.truth(a)),
            "Condition" => self.condition(inner.as_str().unwrap_or_default()),
            other => panic!("condition function {other} is not modelled"),
        }
    }

    /// `v` with every `!If` decided and every `AWS::NoValue` removed (`None` when `v` is one).
    pub fn resolve(&self, v: &Value) -> Option<Value> {
        if is_no_value(v) {
            return None;
        }
        if let Some((t, inner)) = tag(v) {
            if t == "If" {
                let args: Vec<&Value> = inner.as_sequence().into_iter().flatten().collect();
                let chosen = if self.condition(args[0].as_str().unwrap_or_default()) {
                    args[1]
                } else {
                    args[2]
                };
                return self.resolve(chosen);
            }
            return Some(v.clone());
        }
        match v {
            Value::Sequence(s) => Some(Value::Sequence(
                s.iter().filter_map(|x| self.resolve(x)).collect(),
            )),
            Value::Mapping(m) => Some(Value::Mapping(
                m.iter()
                    .filter_map(|(k, x)| Some((k.clone(), self.resolve(x)?)))
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }
}

/// A policy resource reduced to what it names: `!GetAtt Table.Arn` → `Table`,
/// `!Sub "${Table.Arn}/index/gsi1"` → `Table/index/gsi1`, `!Ref X` → `X`, an SES identity ARN →
/// `ses:identity`.
pub fn resource_ref(v: &Value) -> String {
    match tag(v) {
        Some((t, inner)) if t == "GetAtt" => inner
            .as_str()
            .unwrap_or_default()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned(),
        Some((t, inner)) if t == "Ref" => inner.as_str().unwrap_or_default().to_owned(),
        Some((t, inner)) if t == "Sub" => {
            let text = inner.as_str().unwrap_or_default();
            if text.contains(":ses:") && text.contains(":identity/") {
                return "ses:identity".into();
            }
            match text.strip_prefix("${").and_then(|r| r.split_once(".Arn}")) {
                Some((id, rest)) => format!("{id}{rest}"),
                None => text.to_owned(),
            }
        }
        _ => v.as_str().unwrap_or_default().to_owned(),
    }
}

/// A list, or a single item as a list of one.
pub fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

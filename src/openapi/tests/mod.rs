mod committed;
mod conventions;
mod email;
mod oas3;
mod serve;
mod validate;

use serde_json::Value;

/// Every `(pointer, object)` in `v`, depth first.
pub(super) fn walk<'a>(
    v: &'a Value,
    at: String,
    out: &mut Vec<(String, &'a serde_json::Map<String, Value>)>,
) {
    match v {
        Value::Object(map) => {
            out.push((at.clone(), map));
            for (k, child) in map {
                walk(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

pub(super) fn objects(v: &Value) -> Vec<(String, &serde_json::Map<String, Value>)> {
    let mut out = Vec::new();
    walk(v, String::new(), &mut out);
    out
}

/// Each operation of a Swagger or OpenAPI document: (path, method, operation).
pub(super) fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op));
            }
        }
    }
    out
}

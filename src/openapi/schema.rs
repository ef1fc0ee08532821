//! Builders for schema objects: every property gets an `x-ms-summary` and a description.

use serde_json::{json, Map, Value};

pub(super) fn typed(ty: &str, summary: &str, description: &str) -> Value {
    json!({"type": ty, "x-ms-summary": summary, "description": description})
}

pub(super) fn string(summary: &str, description: &str) -> Value {
    typed("string", summary, description)
}

pub(super) fn integer(summary: &str, description: &str) -> Value {
    let mut v = typed("integer", summary, description);
    v["format"] = json!("int32");
    v
}

pub(super) fn boolean(summary: &str, description: &str) -> Value {
    typed("boolean", summary, description)
}

pub(super) fn date_time(summary: &str, description: &str) -> Value {
    let mut v = string(
        summary,
        &format!("{description} (yyyy-MM-ddTHH:mm:ss.fffZ, UTC)."),
    );
    v["format"] = json!("date-time");
    v
}

pub(super) fn one_of(summary: &str, description: &str, values: &[&str]) -> Value {
    let mut v = string(summary, description);
    v["enum"] = json!(values);
    v
}

pub(super) fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

/// An object schema with properties (and optionally `required`).
pub(super) fn object(props: Vec<(&str, Value)>, required: &[&str]) -> Value {
    let properties: Map<String, Value> =
        props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let mut v = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        v["required"] = json!(required);
    }
    v
}

/// An object-valued property.
pub(super) fn nested(
    summary: &str,
    description: &str,
    props: Vec<(&str, Value)>,
    required: &[&str],
) -> Value {
    let mut v = object(props, required);
    v["x-ms-summary"] = json!(summary);
    v["description"] = json!(description);
    v
}

pub(super) fn array(summary: &str, description: &str, items: Value) -> Value {
    json!({"type": "array", "x-ms-summary": summary, "description": description, "items": items})
}

pub(super) fn strings(summary: &str, description: &str) -> Value {
    array(summary, description, json!({"type": "string"}))
}

/// Marks a property `x-ms-visibility: important` (shown first to makers).
pub(super) fn important(v: Value) -> Value {
    with(v, "x-ms-visibility", json!("important"))
}

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

/// An optional request field that may also be `null` (taken as "not given", as Power Automate
/// sends it for an empty expression). OpenAPI 3 reads it as `type: [T, "null"]`.
pub(super) fn nullable(v: Value) -> Value {
    with(v, "x-nullable", json!(true))
}

/// A required text: at least one character that is not white space.
pub(super) fn not_blank(v: Value) -> Value {
    with(with(v, "minLength", json!(1)), "pattern", json!(NOT_BLANK))
}

/// What `domain::non_empty` keeps: something besides white space, where white space is
/// what Rust's `trim` removes, named character by character (`\s` differs between regex
/// dialects: ECMA's has U+FEFF and not U+0085, Rust's and Python's the other way round).
pub(super) const NOT_BLANK: &str =
    "[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// What `domain::Email` accepts, as a pattern: white space only around it (it is trimmed);
/// inside, no white space or control character (the class below is Rust's `is_whitespace`
/// and `is_control`); one `@` with something before it; a domain of dot-separated labels.
pub const EMAIL_PATTERN: &str = concat!(
    "^[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*",
    "[^@\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+",
    "@[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+",
    "(\\.[^@.\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+)+",
    "[\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*$",
);

/// An e-mail address as `domain::Email` accepts it: the pattern above, no `format`. Tools
/// read `format: email` each their own way (schemathesis's check is stricter than its
/// generator, which sends control characters), so the pattern is the one definition.
pub(super) fn email(v: Value) -> Value {
    let v = with(v, "maxLength", json!(254));
    with(v, "pattern", json!(EMAIL_PATTERN))
}

/// A field LiveChat v2 cannot update: only the empty string (or leaving it out) is accepted.
pub(super) fn must_be_empty(v: Value) -> Value {
    nullable(with(v, "maxLength", json!(0)))
}

/// An absolute http(s) URL whose host the `url` crate parses as a name (or blank, for "not
/// given", where the field is optional). The gateway accepts more (IP literals, user info):
/// this is the shape the documents promise to work, not the gateway's whole tolerance.
pub(super) const HTTP_URL: &str = concat!(
    "^[Hh][Tt][Tt][Pp][Ss]?://([A-Za-z0-9-]+\\.)*[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*(:[0-9]{1,4})?",
    "(/(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~!$&'()*+,;=:@/-])*)?",
    "(\\?(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~!$&'()*+,;=:@/?-])*)?",
    "(#(%[0-9A-Fa-f]{2}|[A-Za-z0-9._~!$&'()*+,;=:@/?-])*)?$"
);

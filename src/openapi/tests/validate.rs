//! Both connector files validate against Microsoft's JSON schemas (comments stripped, meta-schema
//! references resolved offline by the validator's bundled drafts).

use serde_json::Value;

use crate::openapi::{api_properties, swagger2};

/// Removes `//` and `/* */` comments outside strings, then trailing commas before `}` or `]`.
pub(crate) fn strip_jsonc(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let (mut i, mut in_string) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            out.push(c);
            if c == '\\' && i + 1 < chars.len() {
                out.push(chars[i + 1]);
                i += 1;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            continue;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

fn schema_dir() -> std::path::PathBuf {
    // A copy of Microsoft's schemas ships in the repository (MIT, see SOURCE.md there), so a
    // fresh clone tests offline; SHARED_SCHEMAS points at another copy.
    match std::env::var("SHARED_SCHEMAS") {
        Ok(dir) => dir.into(),
        Err(_) => std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/schemas"),
    }
}

fn load(name: &str) -> Value {
    let path = schema_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut schema =
        serde_json::from_str(&strip_jsonc(&text)).unwrap_or_else(|e| panic!("{name}: {e}"));
    sanitize_names(&mut schema);
    schema
}

fn safe_name(s: &str) -> String {
    s.replace('<', "_lt_").replace('>', "_gt_")
}

/// Definition names like `x-ms-api-annotation<info>` are not valid in URI references: rename them
/// (and the `$ref`s that point at them) consistently.
fn sanitize_names(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                *r = safe_name(r);
            }
            if let Some(Value::Object(defs)) = map.get_mut("definitions") {
                let renamed = std::mem::take(defs)
                    .into_iter()
                    .map(|(k, v)| (safe_name(&k), v))
                    .collect();
                *defs = renamed;
            }
            map.values_mut().for_each(sanitize_names);
        }
        Value::Array(items) => items.iter_mut().for_each(sanitize_names),
        _ => {}
    }
}

fn check(schema: &Value, draft: jsonschema::Draft, instance: &Value, what: &str) {
    let validator = jsonschema::options()
        .with_draft(draft)
        .build(schema)
        .unwrap_or_else(|e| panic!("{what}: schema does not compile: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} is invalid:\n{}",
        errors.join("\n")
    );
}

#[test]
fn strip_keeps_urls_and_drops_comments() {
    let v: Value =
        serde_json::from_str(&strip_jsonc("{\"a\": \"http://x\", // c\n \"b\": [1,2,],}")).unwrap();
    assert_eq!(v, serde_json::json!({"a": "http://x", "b": [1, 2]}));
}

#[test]
fn swagger_validates_against_microsoft_schema() {
    let schema = load("apiDefinition.swagger.schema.json");
    check(
        &schema,
        jsonschema::Draft::Draft4,
        &swagger2(None),
        "apiDefinition.swagger.json",
    );
    let url = url::Url::parse("http://127.0.0.1:8080/").unwrap();
    check(
        &schema,
        jsonschema::Draft::Draft4,
        &swagger2(Some(&url)),
        "served definition",
    );
}

#[test]
fn schema_rejects_unknown_ms_extension() {
    let schema = load("apiDefinition.swagger.schema.json");
    let mut bad = swagger2(None);
    bad["paths"]["/agents"]["get"]["x-ms-made-up"] = serde_json::json!(true);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .unwrap();
    assert!(
        !validator.is_valid(&bad),
        "the validator must catch unknown x-ms-* keys"
    );
}

#[test]
fn api_properties_validate_against_paconn_schema() {
    let schema = load("paconn-apiProperties.schema.json");
    check(
        &schema,
        jsonschema::Draft::Draft7,
        &api_properties(),
        "apiProperties.json",
    );
}

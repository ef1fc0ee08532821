//! OpenAPI 3 view of the same operation table, for Swagger UI.

use serde_json::{json, Map, Value};
use utoipa::openapi::OpenApi;

use super::definitions::{definitions, example};
use super::operations::{
    error_description, Body, In, Kind, Operation, Param, Visibility, OPERATIONS,
};
use super::swagger::{constraints, DESCRIPTION, TITLE, VERSION};

fn component_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn schema_of(body: Body) -> Option<Value> {
    match body {
        Body::None => None,
        Body::Def(name) => Some(component_ref(name)),
        Body::ArrayOf(name) => Some(json!({"type": "array", "items": component_ref(name)})),
    }
}

/// Swagger 2.0 schema → OpenAPI 3 schema: refs move to components, `x-ms-summary` becomes
/// `title`, other `x-ms-*` keys are dropped.
fn convert_schema(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut nullable = false;
            for (k, val) in map {
                match k.as_str() {
                    "$ref" => {
                        let name = val
                            .as_str()
                            .unwrap_or_default()
                            .trim_start_matches("#/definitions/");
                        return component_ref(name);
                    }
                    "x-ms-summary" => {
                        out.insert("title".into(), val.clone());
                    }
                    "x-nullable" => nullable = val == &Value::Bool(true),
                    k if k.starts_with("x-ms-") => {}
                    // Property maps: keys are names, not keywords.
                    "properties" => {
                        let props = val.as_object().into_iter().flatten();
                        let props = props.map(|(n, s)| (n.clone(), convert_schema(s))).collect();
                        out.insert(k.into(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.into(), convert_schema(val));
                    }
                }
            }
            if nullable {
                allow_null(&mut out);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert_schema).collect()),
        other => other.clone(),
    }
}

/// Swagger 2.0's `x-nullable` in JSON Schema 2020-12 terms: `null` joins the type (and enum).
fn allow_null(schema: &mut Map<String, Value>) {
    if let Some(Value::String(ty)) = schema.get("type").cloned() {
        schema.insert("type".into(), json!([ty, "null"]));
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn is_fixed(p: &Param) -> bool {
    p.visibility == Some(Visibility::Internal) && p.default.is_some()
}

fn operation(op: &Operation) -> Value {
    let params: Vec<Value> = op
        .params
        .iter()
        .map(|p| {
            let mut schema = json!({"type": p.ty});
            if let Some(f) = p.format {
                schema["format"] = json!(f);
            }
            if !p.enum_values.is_empty() {
                schema["enum"] = json!(p.enum_values);
            }
            if let Some(d) = p.default {
                schema["default"] = json!(d);
            }
            constraints(&mut schema, p);
            json!({
                "name": p.name,
                "in": match p.location { In::Path => "path", In::Query => "query" },
                // A fixed internal parameter is `required` in Swagger 2.0 only so that the
                // platform sends its default; the gateway fills the default in itself.
                "required": p.required && !is_fixed(p),
                "description": format!("{}: {}", p.summary, p.description),
                "schema": schema,
            })
        })
        .collect();
    let mut responses = Map::new();
    let s = &op.success;
    let mut ok = json!({"description": s.description});
    if let Some(schema) = schema_of(s.body) {
        ok["content"] = json_content(schema);
    }
    if s.location {
        ok["headers"] = json!({"Location": {"description": "Absolute URL of the subscription.", "schema": {"type": "string"}}});
    }
    if !s.links.is_empty() {
        let links: Map<String, Value> = s
            .links
            .iter()
            .map(|l| {
                let link =
                    json!({"operationId": l.operation, "parameters": {l.parameter: l.expression}});
                (l.operation.to_owned(), link)
            })
            .collect();
        ok["links"] = Value::Object(links);
    }
    responses.insert(s.status.to_string(), ok);
    for &status in op.errors {
        let e = json!({"description": error_description(status), "content": json_content(component_ref("Error"))});
        responses.insert(status.to_string(), e);
    }
    let mut description = op.description.to_owned();
    if let Kind::Trigger { notification, .. } = op.kind {
        description.push_str(&format!(
            " Subscribes the `url` callback; each event is then POSTed to it as a `{notification}`."
        ));
    }
    let mut v = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": description,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
    });
    if let Some(def) = op.body {
        let mut media = json!({"schema": component_ref(def)});
        if let Some(ex) = example(def) {
            media["example"] = ex;
        }
        v["requestBody"] = json!({"required": true, "content": {"application/json": media}});
    }
    v
}

/// The OpenAPI 3 document as JSON (what `/api-docs/openapi.json` serves).
pub fn openapi3_json() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method.to_ascii_lowercase()] = operation(op);
    }
    let schemas: Map<String, Value> = definitions()
        .iter()
        .map(|(k, v)| (k.clone(), convert_schema(v)))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": TITLE, "description": DESCRIPTION, "version": VERSION},
        "servers": [{"url": "/", "description": "This gateway"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic_auth": {
                "type": "http",
                "scheme": "basic",
                "description": "Your LiveChat login email as username and your API key as password."
            }},
        },
        "security": [{"basic_auth": []}],
        "tags": [
            {"name": "Agents", "description": "Agents of your LiveChat account."},
            {"name": "Tickets", "description": "Tickets of your LiveChat account."},
            {"name": "Triggers", "description": "Webhook subscriptions used by flow triggers."},
            {"name": "Internal", "description": "Used by the platform itself."},
        ],
    })
}

/// The OpenAPI 3 document as utoipa's type.
pub fn openapi3() -> OpenApi {
    serde_json::from_value(openapi3_json()).expect("the OpenAPI 3 document deserializes")
}

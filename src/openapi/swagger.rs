//! Swagger 2.0 connector definition, built from the operation table.

use serde_json::{json, Map, Value};
use url::Url;

use super::definitions::definitions;
use super::operations::{error_description, Body, In, Kind, Operation, Param, OPERATIONS};

/// Host written into the committed definition; the served copy uses the public URL.
pub const PLACEHOLDER_HOST: &str = "livechat-gateway.example.com";
/// Connector title (at most 30 characters).
pub const TITLE: &str = "LiveChat Gateway";
/// Definition version.
pub const VERSION: &str = "1.0.0";
/// Connector description (30 to 500 characters).
pub const DESCRIPTION: &str = "LiveChat is an online customer service software with live support, help desk \
software and web analytics capabilities. This self-hosted gateway lets Power Automate, Power Apps and \
Logic Apps manage LiveChat agents and tickets and start flows when chats start or end and when tickets \
are created.";

pub(crate) fn definition_ref(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}

pub(crate) fn body_schema(body: Body) -> Option<Value> {
    match body {
        Body::None => None,
        Body::Def(name) => Some(definition_ref(name)),
        Body::ArrayOf(name) => Some(json!({"type": "array", "items": definition_ref(name)})),
    }
}

fn parameter(p: &Param) -> Value {
    let mut v = json!({
        "name": p.name,
        "in": match p.location { In::Path => "path", In::Query => "query" },
        "type": p.ty,
        "required": p.required,
        "x-ms-summary": p.summary,
        "description": p.description,
    });
    if let Some(format) = p.format {
        v["format"] = json!(format);
    }
    if let Some(vis) = p.visibility {
        v["x-ms-visibility"] = json!(vis.as_str());
    }
    if !p.enum_values.is_empty() {
        v["enum"] = json!(p.enum_values);
    }
    if let Some(default) = p.default {
        v["default"] = json!(default);
    }
    constraints(&mut v, p);
    v
}

/// A parameter's `pattern`, lengths and bounds (the same keys in Swagger 2.0 and OpenAPI 3).
pub(crate) fn constraints(v: &mut Value, p: &Param) {
    if let Some(x) = p.pattern {
        v["pattern"] = json!(x);
    }
    if let Some(x) = p.min_length {
        v["minLength"] = json!(x);
    }
    if let Some(x) = p.max_length {
        v["maxLength"] = json!(x);
    }
    if let Some(x) = p.minimum {
        v["minimum"] = json!(x);
    }
    if let Some(x) = p.maximum {
        v["maximum"] = json!(x);
    }
}

fn responses(op: &Operation) -> Value {
    let mut out = Map::new();
    let s = &op.success;
    let mut ok = json!({"description": s.description});
    if let Some(schema) = body_schema(s.body) {
        ok["schema"] = schema;
    }
    if s.location {
        ok["headers"] = json!({"Location": {
            "type": "string",
            "description": "Absolute URL of the subscription; DELETE on it unsubscribes."
        }});
    }
    out.insert(s.status.to_string(), ok);
    for &status in op.errors {
        let mut e =
            json!({"description": error_description(status), "schema": definition_ref("Error")});
        match status {
            401 => {
                e["headers"] = json!({"WWW-Authenticate": {"type": "string", "description": "Basic realm=\"livechat\"."}})
            }
            429 => {
                e["headers"] = json!({"Retry-After": {"type": "integer", "description": "Seconds until a call would be admitted."}})
            }
            _ => {}
        }
        out.insert(status.to_string(), e);
    }
    Value::Object(out)
}

fn operation(op: &Operation) -> Value {
    let mut params: Vec<Value> = op.params.iter().map(parameter).collect();
    if let Some(def) = op.body {
        params.push(
            json!({"name": "body", "in": "body", "required": true, "schema": definition_ref(def)}),
        );
    }
    let mut v = json!({
        "operationId": op.id,
        "summary": op.summary,
        "description": op.description,
        "x-ms-visibility": op.visibility().as_str(),
        "parameters": params,
        "responses": responses(op),
    });
    if op.is_trigger() {
        v["x-ms-trigger"] = json!("single");
    }
    v
}

/// The Swagger 2.0 connector definition. With `public_url`, `host`, `basePath` and `schemes`
/// are those of the URL; without, a placeholder host over https.
pub fn swagger2(public_url: Option<&Url>) -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method.to_ascii_lowercase()] = operation(op);
        if let Kind::Trigger {
            notification,
            notification_description,
        } = op.kind
        {
            item["x-ms-notification-content"] = json!({"description": notification_description, "schema": definition_ref(notification)});
        }
    }
    let (host, base_path, scheme) = match public_url {
        Some(url) => {
            let mut host = url.host_str().unwrap_or(PLACEHOLDER_HOST).to_owned();
            if let Some(port) = url.port() {
                host = format!("{host}:{port}");
            }
            let path = url.path().trim_end_matches('/');
            (
                host,
                if path.is_empty() {
                    "/".to_owned()
                } else {
                    path.to_owned()
                },
                url.scheme().to_owned(),
            )
        }
        None => (
            PLACEHOLDER_HOST.to_owned(),
            "/".to_owned(),
            "https".to_owned(),
        ),
    };
    json!({
        "swagger": "2.0",
        "info": {"title": TITLE, "description": DESCRIPTION, "version": VERSION},
        "host": host,
        "basePath": base_path,
        "schemes": [scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": definitions(),
        "securityDefinitions": {"basic_auth": {"type": "basic", "description": "LiveChat login email and API key."}},
        "security": [{"basic_auth": []}],
        "x-ms-connector-metadata": [
            {"propertyName": "Website", "propertyValue": "https://www.livechat.com/"},
            {"propertyName": "Privacy policy", "propertyValue": "https://www.livechat.com/legal/privacy-policy/"},
            {"propertyName": "Categories", "propertyValue": "Communication;Collaboration"},
        ],
    })
}

//! The OpenAPI 3 document: same operations, schemas under components, Basic auth.

use serde_json::Value;

use super::{objects, operations};
use crate::openapi::{definitions::definitions, openapi3, openapi3_json, OPERATIONS};

fn served() -> Value {
    // What Swagger UI receives, and that it also reads as utoipa's type.
    let _typed = openapi3();
    openapi3_json()
}

#[test]
fn lists_all_operations_with_schemas() {
    let doc = served();
    let ops = operations(&doc);
    assert_eq!(ops.len(), 11);
    for expected in OPERATIONS {
        let (_, _, op) = ops
            .iter()
            .find(|(p, m, _)| p == expected.path && m.eq_ignore_ascii_case(expected.method))
            .unwrap_or_else(|| panic!("{} missing", expected.id));
        assert_eq!(op["operationId"], expected.id);
        if let Some(def) = expected.body {
            let media = &op["requestBody"]["content"]["application/json"];
            assert_eq!(
                media["schema"]["$ref"],
                format!("#/components/schemas/{def}"),
                "{}",
                expected.id
            );
        }
        let ok = &op["responses"][expected.success.status.to_string()];
        assert!(ok["description"].is_string(), "{}", expected.id);
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in definitions().keys() {
        assert!(
            schemas.contains_key(name),
            "components.schemas lacks {name}"
        );
    }
    for (at, obj) in objects(&doc) {
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{at}: {r}"));
            assert!(schemas.contains_key(name), "{at}: dangling {r}");
        }
        assert!(
            !obj.keys().any(|k| k.starts_with("x-ms-")),
            "{at}: x-ms keys stay out of OpenAPI 3"
        );
    }
}

#[test]
fn has_basic_security_and_examples() {
    let doc = served();
    let scheme = &doc["components"]["securitySchemes"]["basic_auth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "basic");
    assert_eq!(doc["security"][0]["basic_auth"], serde_json::json!([]));
    let create = &doc["paths"]["/agents"]["post"]["requestBody"]["content"]["application/json"];
    assert_eq!(create["example"]["login"], "jane.doe@example.com");
    let title =
        &doc["components"]["schemas"]["CreateAgent_Request"]["properties"]["login"]["title"];
    assert_eq!(title, "Email");
}

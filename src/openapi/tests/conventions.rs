//! Microsoft's style and certification conventions, checked on the generated definition.

use std::collections::HashSet;

use serde_json::Value;

use super::{objects, operations};
use crate::openapi::{connector_routes, definitions::definitions, swagger2};

const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with",
];
const PROPER_NOUNS: &[&str] = &["LiveChat"];

fn is_title_case(s: &str) -> bool {
    s.split(' ').enumerate().all(|(i, word)| {
        word.split('-').all(|part| {
            let first = part.chars().next();
            matches!(first, Some(c) if c.is_uppercase() || c.is_ascii_digit())
                || (i > 0 && SMALL_WORDS.contains(&part))
        })
    }) && !s.is_empty()
}

fn is_sentence_case(s: &str) -> bool {
    let mut words = s.split(' ');
    let first_ok = words
        .next()
        .and_then(|w| w.chars().next())
        .is_some_and(char::is_uppercase);
    first_ok && words.all(|w| PROPER_NOUNS.contains(&w) || !w.starts_with(char::is_uppercase))
}

#[test]
fn title_case_and_sentence_case_helpers() {
    assert!(is_title_case("Created Date-Time"));
    assert!(is_title_case("Ticket ID"));
    assert!(!is_title_case("Ticket id"));
    assert!(is_sentence_case("When a chat starts"));
    assert!(!is_sentence_case("Create a New agent"));
}

#[test]
fn operation_ids_are_unique_pascal_case() {
    let doc = swagger2(None);
    let mut seen = HashSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(
            id.starts_with(|c: char| c.is_ascii_uppercase()),
            "{id}: not PascalCase"
        );
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric()),
            "{id}: only letters and digits"
        );
        assert!(seen.insert(id.to_owned()), "{id}: duplicate operationId");
    }
    assert_eq!(seen.len(), 11);
}

#[test]
fn summaries_and_descriptions_follow_the_string_guidance() {
    let doc = swagger2(None);
    for (_, _, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let summary = op["summary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no summary"));
        let description = op["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no description"));
        assert!(
            is_sentence_case(summary),
            "{id}: summary {summary:?} is not sentence case"
        );
        assert!(summary.len() <= 80, "{id}: summary longer than 80");
        assert!(!summary.contains('/'), "{id}: summary contains /");
        assert!(
            summary.ends_with(|c: char| c.is_alphanumeric()),
            "{id}: summary must end alphanumeric"
        );
        assert!(
            description.ends_with('.'),
            "{id}: description must end with a period"
        );
        assert_ne!(
            summary, description,
            "{id}: summary and description must differ"
        );
        assert!(
            op["x-ms-visibility"].is_string(),
            "{id}: no x-ms-visibility"
        );
    }
    let title = doc["info"]["title"].as_str().unwrap();
    assert!(
        title.len() <= 30 && !title.contains("API") && !title.contains("Connector"),
        "{title}"
    );
    let description = doc["info"]["description"].as_str().unwrap();
    assert!(
        (30..=500).contains(&description.len()),
        "info.description: 30 to 500 characters"
    );
}

#[test]
fn every_x_ms_summary_is_title_case() {
    let doc = swagger2(None);
    let mut count = 0;
    for (at, obj) in objects(&doc) {
        if let Some(s) = obj.get("x-ms-summary") {
            let s = s
                .as_str()
                .unwrap_or_else(|| panic!("{at}: x-ms-summary is not a string"));
            assert!(
                is_title_case(s),
                "{at}: x-ms-summary {s:?} is not Title Case"
            );
            count += 1;
        }
    }
    assert!(
        count > 50,
        "expected x-ms-summary on every property, found {count}"
    );
}

#[test]
fn every_parameter_and_property_has_summary_and_description() {
    let doc = swagger2(None);
    for (_, _, op) in operations(&doc) {
        for p in op["parameters"].as_array().unwrap() {
            if p["in"] != "body" {
                assert!(
                    p["x-ms-summary"].is_string() && p["description"].is_string(),
                    "{p}"
                );
            }
        }
    }
    for (at, obj) in objects(&doc["definitions"]) {
        if at.ends_with("/properties") {
            for (name, prop) in obj {
                assert!(
                    prop["x-ms-summary"].is_string(),
                    "{at}/{name}: no x-ms-summary"
                );
                assert!(
                    prop["description"].is_string(),
                    "{at}/{name}: no description"
                );
            }
        }
    }
}

#[test]
fn date_times_have_format() {
    for (at, obj) in objects(&Value::Object(definitions())) {
        if at.ends_with("/properties") {
            for (name, prop) in obj {
                let looks_like_time =
                    name == "date" || name == "modified" || name.ends_with("timestamp");
                if looks_like_time {
                    assert_eq!(prop["format"], "date-time", "{at}/{name}");
                }
            }
        }
    }
}

#[test]
fn internal_required_parameters_have_defaults() {
    let doc = swagger2(None);
    for (_, _, op) in operations(&doc) {
        for p in op["parameters"].as_array().unwrap() {
            if p["x-ms-visibility"] == "internal" && p["required"] == true {
                assert!(
                    !p["default"].is_null(),
                    "{}: internal required parameter without default",
                    p["name"]
                );
                assert_eq!(
                    p["enum"].as_array().map(Vec::len),
                    Some(1),
                    "{}: one-value enum",
                    p["name"]
                );
            }
        }
    }
}

#[test]
fn responses_cover_success_and_errors() {
    let doc = swagger2(None);
    for (_, _, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap();
        let responses = op["responses"].as_object().unwrap();
        let successes: Vec<_> = responses
            .iter()
            .filter(|(k, _)| k.starts_with('2'))
            .collect();
        assert_eq!(successes.len(), 1, "{id}: exactly one 2xx");
        for (code, r) in &successes {
            assert!(r["description"].is_string(), "{id} {code}: no description");
            assert_eq!(
                r["schema"].is_null(),
                id == "DeleteHook",
                "{id} {code}: schema expected except DeleteHook"
            );
        }
        assert!(responses.contains_key("401"), "{id}: no 401");
        for (code, r) in responses.iter().filter(|(k, _)| !k.starts_with('2')) {
            assert_eq!(r["schema"]["$ref"], "#/definitions/Error", "{id} {code}");
        }
    }
}

#[test]
fn triggers_subscribe_with_201_location_and_notification_content() {
    let doc = swagger2(None);
    let mut triggers = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(post) = item.get("post").filter(|p| p["x-ms-trigger"].is_string()) else {
            assert!(item.get("x-ms-notification-content").is_none(), "{path}");
            continue;
        };
        triggers += 1;
        assert_eq!(post["x-ms-trigger"], "single");
        let content = &item["x-ms-notification-content"];
        assert!(
            content["description"].is_string(),
            "{path}: x-ms-notification-content"
        );
        assert!(
            content["schema"]["$ref"].is_string(),
            "{path}: notification schema"
        );
        let created = &post["responses"]["201"];
        assert_eq!(
            created["headers"]["Location"]["type"], "string",
            "{path}: Location header"
        );
        assert_eq!(created["schema"]["$ref"], "#/definitions/WebhookCreated");
        let body = post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["in"] == "body")
            .unwrap();
        assert_eq!(body["schema"]["$ref"], "#/definitions/WebhookRequest");
    }
    assert_eq!(triggers, 3);
    let url = &doc["definitions"]["WebhookRequest"]["properties"]["url"];
    assert_eq!(url["x-ms-notification-url"], true);
    assert_eq!(url["x-ms-visibility"], "internal");
    assert_eq!(
        doc["definitions"]["WebhookRequest"]["required"],
        serde_json::json!(["url"])
    );
}

#[test]
fn refs_resolve_and_every_definition_is_used() {
    let doc = swagger2(None);
    let text = doc.to_string();
    let defs = doc["definitions"].as_object().unwrap();
    for (at, obj) in objects(&doc) {
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/definitions/")
                .unwrap_or_else(|| panic!("{at}: {r}"));
            assert!(defs.contains_key(name), "{at}: dangling {r}");
        }
    }
    for name in defs.keys() {
        assert!(
            text.contains(&format!("\"#/definitions/{name}\"")),
            "{name} is never used"
        );
    }
}

#[test]
fn dynamic_assignee_dropdown() {
    let doc = swagger2(None);
    for name in ["CreateTicket_Request", "UpdateTicket_Request"] {
        let id = &doc["definitions"][name]["properties"]["assignee"]["properties"]["id"];
        assert_eq!(
            id["x-ms-dynamic-values"]["operationId"], "ListAgents",
            "{name}"
        );
        assert_eq!(id["x-ms-dynamic-values"]["value-path"], "login");
        assert_eq!(id["x-ms-dynamic-values"]["value-title"], "name");
    }
}

#[test]
fn routes_match_the_definition() {
    let doc = swagger2(None);
    let mut from_doc: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (method.to_uppercase(), path))
        .collect();
    let mut routes: Vec<(String, String)> = connector_routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p.to_owned()))
        .collect();
    from_doc.sort();
    routes.sort();
    assert_eq!(routes, from_doc);
    assert_eq!(routes.len(), 11);
}

#[test]
fn public_url_sets_host_base_path_and_scheme() {
    let url = url::Url::parse("http://gw.local:8080/lc/").unwrap();
    let doc = swagger2(Some(&url));
    assert_eq!(doc["host"], "gw.local:8080");
    assert_eq!(doc["basePath"], "/lc");
    assert_eq!(doc["schemes"], serde_json::json!(["http"]));
    let placeholder = swagger2(None);
    assert_eq!(placeholder["host"], "livechat-gateway.example.com");
    assert_eq!(placeholder["schemes"], serde_json::json!(["https"]));
}

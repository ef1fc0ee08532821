//! The connector definition and the served app can never drift apart.

use std::collections::BTreeSet;

use livechat_gateway::openapi;
use livechat_gateway::startup::connector_routes;

use crate::helpers::{send, spawn_app};

fn sample(path: &str) -> String {
    path.replace("{login}", "someone@example.com")
        .replace("{ticketId}", "ABCDE")
        .replace("{hookId}", "unknownhook")
}

#[test]
fn served_connector_routes_equal_the_definitions() {
    let served: BTreeSet<_> = connector_routes()
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let defined: BTreeSet<_> = openapi::connector_routes().into_iter().collect();
    assert_eq!(served, defined, "served vs defined (method, path)");
}

#[actix_web::test]
async fn every_defined_operation_answers_and_no_other_method_does() {
    let app = spawn_app().await;
    let defined = openapi::connector_routes();
    let paths: BTreeSet<_> = defined.iter().map(|(_, p)| *p).collect();
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let req = app
                .client
                .request(method.parse().unwrap(), app.url(&sample(path)));
            let anonymous = send(req, None).await;
            assert_eq!(
                anonymous.status, 401,
                "{method} {path}: credentials come first"
            );
            let req = app
                .client
                .request(method.parse().unwrap(), app.url(&sample(path)));
            let res = send(req.insert_header(("Authorization", app.auth())), None).await;
            if defined.contains(&(method, path)) {
                assert_ne!(res.status, 405, "{method} {path} is defined: {}", res.text);
                assert_ne!(
                    res.body["message"], "No such route.",
                    "{method} {path} is defined"
                );
            } else {
                assert_eq!(
                    res.status, 405,
                    "{method} {path} is not defined but answers {}",
                    res.text
                );
                assert_eq!(res.body["statusCode"], 405);
            }
        }
    }
}

#[actix_web::test]
async fn the_served_definition_carries_the_public_host() {
    let app = spawn_app().await;
    let res = send(app.client.get(app.url("/apiDefinition.swagger.json")), None).await;
    assert_eq!(res.status, 200);
    let host = app.address.trim_start_matches("http://");
    assert_eq!(res.body["host"], host);
    assert_eq!(res.body["schemes"], serde_json::json!(["http"]));
    let oas = send(app.client.get(app.url("/api-docs/openapi.json")), None).await;
    assert_eq!(oas.status, 200);
    assert!(oas.body["paths"]["/agents"]["get"].is_object());
    let ui = send(app.client.get(app.url("/swagger-ui/")), None).await;
    assert_eq!(ui.status, 200);
    assert!(ui.text.contains("swagger"), "Swagger UI page");
}

/// Every operation, called as the definition describes it (its example body, its internal
/// query defaults), succeeds; every enum'd query parameter refuses a value outside its enum.
#[actix_web::test]
async fn the_definition_describes_calls_the_gateway_accepts() {
    use livechat_gateway::openapi::definitions::example;
    use livechat_gateway::openapi::operations::{In, OPERATIONS};

    let app = spawn_app().await;
    let cb = crate::helpers::Callback::spawn().await;
    let ticket = send(
        app.post("/tickets"),
        Some(&serde_json::json!({"message": "m", "requester": {"mail": "r@example.com"}})),
    )
    .await;
    let ticket_id = ticket.body["id"].as_str().expect("a ticket").to_string();
    let agent = send(
        app.post("/agents"),
        Some(&serde_json::json!({"login": "bye@example.com", "name": "Bye"})),
    )
    .await;
    assert_eq!(agent.status, 200, "{}", agent.text);
    let (hook_id, _) = app.subscribe(crate::helpers::TICKET_CREATED, &cb.url).await;

    for op in OPERATIONS {
        let path = op
            .path
            .replace("{login}", "bye@example.com")
            .replace("{ticketId}", &ticket_id)
            .replace("{hookId}", &hook_id);
        let query = |bad: Option<&str>| -> String {
            let pairs: Vec<String> = op
                .params
                .iter()
                .filter(|p| p.location == In::Query)
                .filter_map(|p| match bad {
                    Some(b) if b == p.name => Some(format!("{}=not-in-the-enum", p.name)),
                    _ => p
                        .default
                        .map(|d| format!("{}={}", p.name, d.replace(',', "%2C"))),
                })
                .collect();
            if pairs.is_empty() {
                String::new()
            } else {
                format!("?{}", pairs.join("&"))
            }
        };
        let body = op.body.map(|name| {
            let mut ex =
                example(name).unwrap_or_else(|| panic!("{}: no example for {name}", op.id));
            if name == "WebhookRequest" {
                ex["url"] = cb.url.as_str().into();
            }
            ex
        });
        let request = |q: String| {
            app.client
                .request(op.method.parse().unwrap(), app.url(&format!("{path}{q}")))
                .insert_header(("Authorization", app.auth()))
        };
        for p in op
            .params
            .iter()
            .filter(|p| p.location == In::Query && !p.enum_values.is_empty())
        {
            let res = send(request(query(Some(p.name))), body.as_ref()).await;
            assert_eq!(
                res.status, 400,
                "{} with {}=not-in-the-enum: {}",
                op.id, p.name, res.text
            );
        }
        let res = send(request(query(None)), body.as_ref()).await;
        assert!(
            (200..300).contains(&res.status),
            "{} as the definition describes it: {} {}",
            op.id,
            res.status,
            res.text
        );
        let declared = op.success.status;
        assert_eq!(
            res.status, declared,
            "{}: the status the definition declares",
            op.id
        );
    }
}

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

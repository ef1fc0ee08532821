//! The routes registered by `configure`.

use actix_web::{test, App};

use crate::openapi::configure;

#[actix_web::test]
async fn serves_definition_openapi_and_swagger_ui() {
    let public = url::Url::parse("https://gw.example.org/").unwrap();
    let app = test::init_service(App::new().configure(|cfg| configure(cfg, public.clone()))).await;

    let req = test::TestRequest::get()
        .uri("/apiDefinition.swagger.json")
        .to_request();
    let doc: serde_json::Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(doc["host"], "gw.example.org");
    assert_eq!(doc["schemes"], serde_json::json!(["https"]));

    let req = test::TestRequest::get()
        .uri("/api-docs/openapi.json")
        .to_request();
    let doc: serde_json::Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(doc["paths"]["/agents"]["get"]["operationId"], "ListAgents");

    let req = test::TestRequest::get().uri("/swagger-ui/").to_request();
    let resp = test::call_service(&app, req).await;
    assert!(
        resp.status().is_success(),
        "/swagger-ui/: {}",
        resp.status()
    );
    let body = test::read_body(resp).await;
    assert!(
        String::from_utf8_lossy(&body).contains("swagger"),
        "Swagger UI page"
    );

    let req = test::TestRequest::get().uri("/swagger-ui").to_request();
    let resp = test::call_service(&app, req).await;
    assert!(
        resp.status().is_redirection(),
        "/swagger-ui: {}",
        resp.status()
    );
    assert_eq!(resp.headers().get("location").unwrap(), "/swagger-ui/");
}

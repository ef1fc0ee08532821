//! HTTP routes: the Swagger 2.0 definition, the OpenAPI 3 document and Swagger UI.

use actix_web::{http::header, web, HttpResponse};
use url::Url;
use utoipa_swagger_ui::SwaggerUi;

use super::oas3::openapi3_json;
use super::swagger::swagger2;

/// Registers `GET /apiDefinition.swagger.json`, `GET /api-docs/openapi.json` and Swagger UI at
/// `/swagger-ui/` (`/swagger-ui` redirects there).
pub fn configure(cfg: &mut web::ServiceConfig, public_url: Url) {
    let definition = web::Data::new(swagger2(Some(&public_url)));
    cfg.app_data(definition.clone())
        .service(web::resource("/apiDefinition.swagger.json").get(
            |d: web::Data<serde_json::Value>| async move { HttpResponse::Ok().json(d.get_ref()) },
        ))
        .service(web::resource("/swagger-ui").get(|| async {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, "/swagger-ui/"))
                .finish()
        }))
        // The document is served as generated: a round trip through utoipa's types would drop the
        // links' `operationId` (utoipa 5 spells it `operation_id`).
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .external_url_unchecked("/api-docs/openapi.json", openapi3_json()),
        );
}

//! HTTP routes: the Swagger 2.0 definition, the OpenAPI 3 document and Swagger UI.

use actix_web::{http::header, web, HttpResponse};
use url::Url;
use utoipa_swagger_ui::SwaggerUi;

use super::oas3::openapi3;
use super::swagger::swagger2;

/// Registers `GET /apiDefinition.swagger.json`, `GET /api-docs/openapi.json` and Swagger UI at
/// `/swagger-ui/` (`/swagger-ui` redirects there).
pub fn configure(cfg: &mut web::ServiceConfig, public_url: Url) {
    let definition = web::Data::new(swagger2(Some(&public_url)));
    cfg.app_data(definition.clone())
        .route(
            "/apiDefinition.swagger.json",
            web::get().to(|d: web::Data<serde_json::Value>| async move {
                HttpResponse::Ok().json(d.get_ref())
            }),
        )
        .route(
            "/swagger-ui",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header((header::LOCATION, "/swagger-ui/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", openapi3()));
}

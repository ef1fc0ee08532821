//! The connector definition from one source of truth: the operation table in [`operations`]
//! and the schemas in [`definitions`]. From them come the Swagger 2.0 connector definition
//! ([`swagger2`]), `apiProperties.json`, the OpenAPI 3 document ([`openapi3`]) served with
//! Swagger UI ([`configure`]) and the route list ([`connector_routes`]).

pub mod definitions;
mod files;
mod icon;
mod oas3;
pub mod operations;
mod schema;
mod serve;
mod swagger;
mod tickets;
mod webhooks;

#[cfg(test)]
mod tests;

pub use files::{api_properties, generated_files, settings, write_files, COMMITTED_DIR};
pub use icon::icon_png;
pub use oas3::{openapi3, openapi3_json};
pub use operations::{connector_routes, OPERATIONS};
pub use serve::configure;
pub use swagger::swagger2;

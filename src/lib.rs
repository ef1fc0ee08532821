//! livechat-gateway: a self-hosted gateway between Power Platform custom connectors and
//! LiveChat's REST API v2.

pub mod bounded_body;
pub mod check;
pub mod cli;
pub mod clock;
pub mod credentials;
pub mod dates;
pub mod domain;
pub mod error;
pub mod fake_livechat;
#[cfg(test)]
mod fuzz;
pub mod metrics;
pub mod openapi;
pub mod relay;
pub mod routes;
pub mod sandbox;
pub mod secret;
pub mod settings;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod upstream;

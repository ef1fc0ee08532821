//! Integration tests: one binary, one module per area.

mod durability;
mod helpers;
mod relay;
mod subscriptions;

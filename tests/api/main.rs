//! Integration tests: one binary, one module per area.

mod abuse;
mod actions;
mod check;
mod contract;
mod definition;
mod deployment;
mod durability;
mod errors;
mod faults;
mod generations;
mod helpers;
mod hostile;
mod logs;
mod metrics;
mod notifications;
mod order;
mod processes;
mod relay;
mod secrets;
mod shared_store;
mod shared_throttle;
mod shutdown;
mod subscriptions;
mod throttle;
mod v3;
mod v3_triggers;

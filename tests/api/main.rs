mod actions;
mod errors;
mod helpers;
mod secrets;
mod throttle;

mod actions;
mod definition;
mod errors;
mod helpers;
mod secrets;
mod throttle;

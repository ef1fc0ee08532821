//! What every worker shares.

use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use url::Url;

use crate::clock::SharedClock;
use crate::credentials::Keys;
use crate::fake_livechat::FakeLiveChat;
use crate::metrics::Metrics;
use crate::relay::intake_limit::IntakeLimit;
use crate::relay::Relay;
use crate::settings::Settings;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::upstream::notices::Notices;

pub struct AppState {
    pub settings: Settings,
    /// The base URL under which Power Platform and LiveChat reach this gateway (no trailing slash).
    pub public_url: Url,
    pub keys: Keys,
    pub throttle: Throttle,
    /// `RateLimit-Policy`, the same on every answer: formatted once.
    pub ratelimit_policy: HeaderValue,
    pub clock: SharedClock,
    pub metrics: Metrics,
    /// The fake LiveChat, in `serve --sandbox` only.
    pub sandbox: Option<FakeLiveChat>,
    /// Subscriptions and pending deliveries.
    pub store: Store,
    /// Wakes the delivery worker.
    pub relay: Relay,
    /// LiveChat's deliveries per subscription.
    pub intake_limit: IntakeLimit,
    /// Retirement notices (`Legacy`, `Deprecation`) seen in LiveChat's answers.
    pub upstream_notices: Arc<Notices>,
}

impl AppState {
    /// `{public URL}/{path}` as an absolute URL string.
    pub fn public(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.public_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

//! An in-process fake of LiveChat REST API v2 (agents, tickets, v2 webhooks).
//!
//! One fake serves both `livechat-gateway serve --sandbox` and the integration tests. It follows
//! design note `livechat-v2.md` §1–§5 and the §7 defaults; every shape the design marks UNCERTAIN
//! can be switched to its alternative through [`Quirks`], so the gateway can be tested against
//! all of them.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use livechat_gateway::fake_livechat::FakeLiveChat;
//! let fake = FakeLiveChat::spawn("127.0.0.1:0").await?;
//! fake.add_account("owner@acme.test", "secret-key");
//! let base = fake.base_url(); // point the gateway's LiveChat URL here
//! # let _ = base; Ok(()) }
//! ```

mod agents;
pub mod faults;
mod form;
mod helpdesk;
mod hooks;
mod routes;
mod seed;
mod state;
mod tickets;
mod v3;
mod v3_fire;
mod webhooks;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_webhooks;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::KeepAlive;
use actix_web::{web, App, HttpServer};
use serde_json::Value;

use state::State;

/// One request as the fake received it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The raw (still percent-encoded) path, e.g. `/agents/jane%40x.com`; see [`Self::decoded_path`].
    pub path: String,
    /// The raw query string without `?` (empty if none).
    pub query: String,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or a form body folded into JSON (`requester[mail]` → `{"requester":{"mail":..}}`,
    /// `tag[]` → array); `Null` if empty; the raw text as a JSON string if it was not valid JSON.
    pub body: Value,
}

impl RecordedRequest {
    /// First value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path with `%XX` escapes decoded.
    pub fn decoded_path(&self) -> String {
        form::percent_decode(&self.path)
    }

    /// The query string folded into JSON the same way as form bodies.
    pub fn query_json(&self) -> Value {
        form::parse_form(self.query.as_bytes())
    }
}

/// A canned answer for the next request (queued FIFO with [`FakeLiveChat::push_response`]).
/// `Default` is a bare 500 with an empty body; an invalid `status` is sent as 500.
#[derive(Debug, Clone)]
pub struct InjectedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Sent verbatim; may be non-JSON garbage.
    pub body: String,
    /// Wait this long before answering (for timeout tests).
    pub delay: Option<Duration>,
}

impl Default for InjectedResponse {
    fn default() -> Self {
        InjectedResponse {
            status: 500,
            headers: Vec::new(),
            body: String::new(),
            delay: None,
        }
    }
}

impl InjectedResponse {
    /// A JSON answer with `Content-Type: application/json`.
    pub fn json(status: u16, body: Value) -> Self {
        InjectedResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
            delay: None,
        }
    }
}

/// How error bodies are shaped when [`Quirks::error_shape`] overrides the per-endpoint default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"error":"msg"}`
    ErrorString,
    /// `{"error":["msg"]}`
    ErrorArray,
    /// `{"errors":["msg"]}`
    ErrorsArray,
    /// `{"errors":"msg"}`
    ErrorsString,
}

/// Switches for every shape that `livechat-v2.md` marks UNCERTAIN. `Default` = the §7 defaults.
#[derive(Debug, Default, Clone)]
pub struct Quirks {
    /// `PUT /tickets/<id>/tags` answers the list envelope `{pages,total,tickets}` (as documented)
    /// instead of the bare ticket.
    pub update_tags_returns_envelope: bool,
    /// `POST /webhooks` answers the whole `{"events":[...]}` list (new hook last) instead of the bare hook.
    pub webhook_create_returns_envelope: bool,
    /// REST tickets carry `groups` as `[{"id":0,"name":"All operators"}]` instead of `[0]`.
    pub ticket_groups_as_objects: bool,
    /// Registered webhooks (POST/GET answers) carry no `token`.
    pub omit_webhook_token: bool,
    /// Deliveries carry a fresh random `token` instead of the one shown at registration.
    pub delivery_token_differs: bool,
    /// REST tickets use ISO-8601 strings for `modified`/`events[].date` and add a top-level `date` ([MS]).
    pub ticket_dates_iso: bool,
    /// `GET /tickets` answers a bare array instead of `{pages,total,tickets}` ([MS]).
    pub list_tickets_bare_array: bool,
    /// Creates (`POST /agents`, `/tickets`, `/webhooks`) answer 201 instead of 200.
    pub creates_return_201: bool,
    /// `POST /agents` answers with an extra `license_id` ([MS]).
    pub agent_create_includes_license_id: bool,
    /// Every error body (400/401/404) uses this shape instead of the per-endpoint default.
    pub error_shape: Option<ErrorShape>,
    /// Status for a missing/wrong `X-API-Version` header (default 401).
    pub missing_version_status: Option<u16>,
    /// Webhook `ticket` payloads use the REST variant (unix-second dates, integer groups).
    pub webhook_ticket_rest_shape: bool,
    /// `chat_started` payloads carry `"ended_timestamp": 0` (default: absent).
    pub chat_started_has_ended_timestamp: bool,
    /// Deliveries add fields no source confirms (`chat.url`, `chat.agents`, `chat.groups`,
    /// `visitor.country`/`city`/`language`/`page_current`...): guesses, for tolerance tests.
    pub webhook_guessed_fields: bool,
    /// v3 (livechat-v3-helpdesk.md §2): agents carry `avatar_path` (the list sample) instead of
    /// `avatar` (the get sample).
    pub v3_avatar_path: bool,
    /// v3 (§1.3): the account lives in this region; Configuration and Agent Chat calls without
    /// `X-Region: <region>` answer `misdirected_request` naming it.
    pub v3_region: Option<String>,
    /// v3: the HTTP status of a `misdirected_request` (undocumented; default 421).
    pub v3_misdirected_status: Option<u16>,
    /// v3 and HelpDesk answers carry `Deprecation: <value>` (§1.1).
    pub v3_deprecation: Option<String>,
    /// v3 and HelpDesk answers carry `Legacy: <value>` (§1.1).
    pub v3_legacy: Option<String>,
    /// v3 (§1.1): `get_agent` does not know an agent yet right after `create_agent`.
    pub v3_create_propagation_lag: bool,
    /// HelpDesk (§4.2): ticket lists carry no `x-total-pages` header.
    pub helpdesk_no_total_header: bool,
    /// v3 (§3.1): webhooks belong to the app, not the account, so an event of any account goes
    /// to every account's v3 webhooks for its action (all accounts installed the one app).
    pub v3_webhooks_see_every_account: bool,
}

/// The result of sending one webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub webhook_id: String,
    pub url: String,
    /// The receiver's HTTP status; `None` = connection failed, timed out, or unknown webhook.
    pub status: Option<u16>,
    /// Exactly what was sent.
    pub payload: Value,
}

/// Login and API key of the demo licence created by [`FakeLiveChat::seed_demo`]; on the v3
/// faces the username is `account_id` and the key serves as the personal access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoCredentials {
    pub login: String,
    pub api_key: String,
    pub account_id: String,
}

/// Clone-able handle to a running fake; all clones share the same state.
#[derive(Clone)]
pub struct FakeLiveChat {
    state: Arc<Mutex<State>>,
    base_url: String,
    server: ServerHandle,
}

/// How long the fake keeps an idle connection open: like an API front end (nginx's default),
/// longer than the gateway keeps one in its pool, so the gateway always drops an idle
/// connection first. actix's own 5 s closed connections the gateway still meant to reuse, and
/// now and then a call met the close and failed.
const IDLE_KEEP_ALIVE: Duration = Duration::from_secs(75);
const _: () = assert!(
    IDLE_KEEP_ALIVE.as_secs() > crate::upstream::transport::POOL_IDLE.as_secs(),
    "the fake must outlast the gateway's idle pooled connections"
);

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FakeLiveChat {
    /// Binds `addr` (tests pass `"127.0.0.1:0"`), starts the server with `actix_web::rt::spawn`
    /// and returns at once. Must be called inside an actix (or tokio `LocalSet`) runtime.
    pub async fn spawn(addr: &str) -> std::io::Result<FakeLiveChat> {
        let listener = std::net::TcpListener::bind(addr)?;
        let mut local = listener.local_addr()?;
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .default_service(web::to(routes::handle))
        })
        .workers(1)
        .keep_alive(KeepAlive::Timeout(IDLE_KEEP_ALIVE))
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            if let Err(e) = server.await {
                log::error!("fake LiveChat server stopped: {e}");
            }
        });
        Ok(FakeLiveChat {
            state,
            base_url: format!("http://{local}"),
            server: handle,
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Stops the server (state stays readable).
    pub async fn stop(&self) {
        self.server.stop(false).await;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Adds a licence with its own agents/tickets/webhooks; its owner agent is `login`.
    /// Calling it again for the same login only replaces the API key.
    pub fn add_account(&self, login: &str, api_key: &str) {
        self.lock().add_account(login, api_key);
    }

    /// Creates (once) the demo licence with a few agents and tickets.
    pub fn seed_demo(&self) -> DemoCredentials {
        seed::seed_demo(&mut self.lock())
    }

    /// Every request received, in order (injected answers included); past 2,000 the oldest
    /// half is forgotten.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Queues a canned answer: the next request is recorded, then answered with it (FIFO).
    pub fn push_response(&self, r: InjectedResponse) {
        self.lock().injected.push_back(r);
    }

    pub fn set_quirks(&self, q: Quirks) {
        self.lock().quirks = q;
    }

    pub fn quirks(&self) -> Quirks {
        self.lock().quirks.clone()
    }

    /// The v3 account ID (the username of the v3 Basic pair) of the account whose owner is `login`.
    pub fn account_id(&self, login: &str) -> Option<String> {
        self.lock().account(login).map(|a| a.account_id.clone())
    }

    /// Webhooks registered through the Configuration API v3.6 with that account's token, as
    /// `list_webhooks` shows them (with their `secret_key`).
    pub fn v3_webhooks(&self, login: &str) -> Vec<Value> {
        let st = self.lock();
        st.account(login)
            .map(|a| a.v3_webhooks.iter().map(v3::webhook_json).collect())
            .unwrap_or_default()
    }

    /// Registered webhooks of that account, as `GET /webhooks` shows them (empty if unknown).
    pub fn webhooks(&self, login: &str) -> Vec<Value> {
        let st = self.lock();
        st.account(login)
            .map(|a| {
                a.webhooks
                    .iter()
                    .map(|w| a.webhook_json(w, &st.quirks))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The registration token of a webhook (also under [`Quirks::omit_webhook_token`]).
    pub fn webhook_token(&self, webhook_id: &str) -> Option<String> {
        let st = self.lock();
        st.accounts
            .iter()
            .flat_map(|a| a.webhooks.iter())
            .find(|w| w.id == webhook_id)
            .map(|w| w.token.clone())
    }

    /// Tickets of that account in REST shape, in creation order (empty if unknown).
    pub fn tickets(&self, login: &str) -> Vec<Value> {
        let st = self.lock();
        st.account(login)
            .map(|a| {
                a.tickets
                    .iter()
                    .map(|t| a.ticket_json(t, &st.quirks))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Agents of that account as full agent objects (empty if unknown).
    pub fn agents(&self, login: &str) -> Vec<Value> {
        let st = self.lock();
        st.account(login)
            .map(|a| a.agents.iter().map(|g| g.full_json(a)).collect())
            .unwrap_or_default()
    }

    /// Fires one event of `event_type` (`chat_started`, `chat_ended`, `ticket_created`; also
    /// `chat_changed`, `visitor_queued`, `canned_response_changed`) for account `login` (`None` =
    /// every account) to every matching webhook, with a demo payload holding only the data types
    /// that webhook asked for. One [`Delivery`] per webhook; no retries. `ticket_created` also
    /// adds the ticket to the account. Unknown event types or logins deliver nothing.
    /// Deliveries go out concurrently through `awc` (10 s timeout), so the future is not `Send`:
    /// await it on the actix runtime (or a tokio `LocalSet`).
    pub async fn fire(&self, login: Option<&str>, event_type: &str) -> Vec<Delivery> {
        let planned = webhooks::plan_fire(&mut self.lock(), login, event_type);
        let sends = planned.into_iter().map(|p| async move {
            let status = webhooks::send(&p.url, &p.payload).await;
            Delivery {
                webhook_id: p.webhook_id,
                url: p.url,
                status,
                payload: p.payload,
            }
        });
        futures_util::future::join_all(sends).await
    }

    /// Sends exactly `payload` to one webhook (filling `event_type`, `token`, `license_id` when
    /// missing): lets tests simulate LiveChat redelivering the same event.
    pub async fn deliver(&self, webhook_id: &str, payload: Value) -> Delivery {
        let target = webhooks::complete_payload(&self.lock(), webhook_id, payload);
        match target {
            Ok((url, payload)) => {
                let status = webhooks::send(&url, &payload).await;
                Delivery {
                    webhook_id: webhook_id.to_string(),
                    url,
                    status,
                    payload,
                }
            }
            Err(payload) => Delivery {
                webhook_id: webhook_id.to_string(),
                url: String::new(),
                status: None,
                payload,
            },
        }
    }
}

//! Builds the application from typed settings. The binary and the tests both come through here.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, ErrorHandlerResponse, ErrorHandlers};
use actix_web::ResponseError;
use actix_web::{web, App, HttpResponse, HttpServer, Route};
use url::Url;

use crate::clock::{self, SharedClock};
use crate::credentials::Keys;
use crate::error::{self, ApiError};
use crate::fake_livechat::DemoCredentials;
use crate::metrics::Metrics;
use crate::relay::intake_limit::IntakeLimit;
use crate::relay::trigger::Trigger;
use crate::relay::{ticket_poll, worker, Relay};
use crate::routes::{agents, connector_guard, health, intake, intake_v3, tickets, webhooks};
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::Store;
use crate::throttle::{Limits, Throttle};
use crate::upstream::notices::Notices;
use crate::upstream::Upstreams;
use crate::{openapi, sandbox, secret};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Largest JSON body a connector operation accepts.
pub const MAX_BODY: usize = 64 * 1024;

pub struct Application {
    port: u16,
    public_url: Url,
    state: web::Data<AppState>,
    server: Server,
    demo: Option<DemoCredentials>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, BoxError> {
        Self::build_with_clock(settings, clock::system()).await
    }

    pub async fn build_with_clock(
        mut settings: Settings,
        clock: SharedClock,
    ) -> Result<Self, BoxError> {
        let sandbox = match settings.sandbox {
            true => Some(sandbox::start(&mut settings).await?),
            false => None,
        };
        let listener = TcpListener::bind(&settings.listen)
            .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
        let addr = listener.local_addr()?;
        let public_url = match &settings.public_url {
            Some(u) => u.clone(),
            None => Url::parse(&format!("http://{addr}"))?,
        };
        warn_if_clear_text(&settings.livechat_url);
        let secret = secret::load(&settings.store)?;
        let store = Store::serve(&settings.store.database_url).await?;
        let metrics = Metrics::default();
        let throttle = throttle(&settings, clock.clone())?;
        let state = web::Data::new(AppState {
            keys: Keys::derive(&secret),
            ratelimit_policy: HeaderValue::from_str(&throttle.policy_header())?,
            throttle,
            intake_limit: IntakeLimit::new(settings.intake_limit_per_min, clock.clone()),
            public_url: public_url.clone(),
            upstream_notices: Arc::new(Notices::new(clock.clone(), metrics.notice_counter())),
            clock,
            metrics,
            sandbox: sandbox.as_ref().map(|s| s.fake.clone()),
            store,
            relay: Relay::default(),
            settings,
        });
        let server = run(listener, state.clone())?;
        worker::spawn(state.clone().into_inner());
        ticket_poll::spawn(state.clone().into_inner());
        Ok(Self {
            port: addr.port(),
            demo: sandbox.map(|s| s.demo),
            public_url,
            state,
            server,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &Url {
        &self.public_url
    }

    /// The demo credentials, in sandbox mode.
    pub fn demo(&self) -> Option<&DemoCredentials> {
        self.demo.as_ref()
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone().into_inner()
    }

    /// Stops the HTTP server (tests restart a gateway on the same store with it).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// SIGTERM and Ctrl-C (SIGINT) both stop the gateway gracefully: no new connection, the
    /// calls and deliveries in flight finish within `GATEWAY_SHUTDOWN_GRACE_SECS`, every event
    /// already answered 200 stays in the store. (actix alone would treat SIGINT as a forced
    /// stop.) The binary calls this; tests stop their gateways by dropping them.
    pub fn stop_on_signals(&self) {
        let handle = self.server.handle();
        let relay = self.state.relay.clone();
        let grace = self.state.settings.shutdown_grace_secs;
        actix_web::rt::spawn(async move {
            let signal = shutdown_signal().await;
            log::info!(
                "{signal}: stopping; finishing the calls and deliveries in flight (at most {grace} s)"
            );
            relay.stop();
            handle.stop(true).await;
        });
    }

    /// Serves until the server stops (a signal), then lets the delivery worker leave its loop
    /// and its attempts in flight record their outcomes, instead of being dropped mid-query.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let relay = self.state.relay.clone();
        let done = self.server.await;
        relay.stop();
        let bound = self.state.settings.shutdown_grace() + Duration::from_secs(1);
        if tokio::time::timeout(bound, relay.stopped()).await.is_err() {
            log::warn!("the delivery worker did not stop in time");
        }
        done
    }
}

/// The first of SIGTERM and SIGINT, by name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

/// Every connector operation the gateway serves: (method, path template, handler). A test
/// holds this list equal to the connector definition's.
pub fn connector_routes() -> Vec<(&'static str, &'static str, Route)> {
    // In this order because actix tries each path in turn and one with a segment costs a regex
    // run even when it does not match: GetTicket, the one flows call most, comes first of those.
    let mut routes = vec![
        ("GET", "/agents", web::get().to(agents::list)),
        ("POST", "/agents", web::post().to(agents::create)),
        ("GET", "/tickets", web::get().to(tickets::list)),
        ("POST", "/tickets", web::post().to(tickets::create)),
        ("GET", "/tickets/{ticketId}", web::get().to(tickets::get)),
        (
            "DELETE",
            "/agents/{login}",
            web::delete().to(agents::delete),
        ),
        (
            "PUT",
            "/tickets/{ticketId}/tags",
            web::put().to(tickets::update),
        ),
        (
            "DELETE",
            "/webhooks/{hookId}",
            web::delete().to(webhooks::unsubscribe),
        ),
    ];
    for trigger in Trigger::ALL {
        let subscribe = move |req, caller, state, up, body| {
            webhooks::subscribe(trigger, req, caller, state, up, body)
        };
        routes.push(("POST", trigger.route(), web::post().to(subscribe)));
    }
    routes
}

/// The connector routes, each behind credentials and the throttle.
pub fn configure_connector(cfg: &mut web::ServiceConfig) {
    let mut by_path: Vec<(&str, Vec<Route>)> = Vec::new();
    for (_, path, route) in connector_routes() {
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, routes)) => routes.push(route),
            None => by_path.push((path, vec![route])),
        }
    }
    for (path, routes) in by_path {
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |r, route| r.route(route));
        cfg.service(resource.wrap(from_fn(connector_guard)));
    }
}

/// LiveChat's deliveries: no credentials, no throttle; the token in the path is the proof.
pub fn configure_intake(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/livechat/events/{hookId}/{token}").post(intake::receive));
    cfg.service(web::resource("/livechat/v3/events/{hookId}").post(intake_v3::receive));
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> Result<Server, BoxError> {
    let workers = state.settings.workers.unwrap_or(2).max(1);
    let head_timeout = Duration::from_millis(state.settings.request_head_timeout_ms);
    let grace = state.settings.shutdown_grace_secs;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(ErrorHandlers::new().handler(StatusCode::METHOD_NOT_ALLOWED, json_405))
            .wrap(from_fn(crate::routes::limits::header_limit))
            .wrap(from_fn(crate::telemetry::access_log))
            .app_data(state.clone())
            .app_data(web::Data::new(Upstreams::new(
                &state.settings,
                state.upstream_notices.clone(),
            )))
            .app_data(
                web::JsonConfig::default()
                    .limit(MAX_BODY)
                    .error_handler(|e, _| error::json_error(e).into()),
            )
            .app_data(
                web::QueryConfig::default().error_handler(|e, _| error::query_error(e).into()),
            )
            .app_data(web::PathConfig::default().error_handler(|e, _| error::path_error(e).into()))
            // Resources, not `App::route`: a route's method guard would move to the resource
            // and turn a wrong method into a 404 instead of a 405 with `Allow`.
            .service(web::resource("/healthz").get(health::healthz))
            .service(web::resource("/readyz").get(health::readyz))
            .service(web::resource("/metrics").get(health::metrics))
            .configure(configure_connector)
            // After the connector's routes: a pattern with a segment costs a regex run for
            // every call routed past it.
            .service(web::resource("/sandbox/events/{event_type}").post(sandbox::fire))
            .configure(|cfg| openapi::configure(cfg, state.public_url.clone()))
            .configure(configure_intake)
            .default_service(web::to(not_found))
    })
    .workers(workers)
    // As nginx's `tcp_nodelay on`: an answer written in more than one piece is not held back
    // for the client's delayed ACK.
    .tcp_nodelay(true)
    .client_request_timeout(head_timeout)
    .shutdown_timeout(grace)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

fn throttle(settings: &Settings, clock: SharedClock) -> Result<Throttle, BoxError> {
    let limits = Limits::new(settings.throttle_calls, settings.throttle_window_secs);
    Throttle::new(
        limits,
        settings.redis_url.as_deref(),
        settings.throttle_fallback,
        Duration::from_millis(settings.redis_timeout_ms),
        clock,
    )
    // The URL may hold a password: name the setting, not its value.
    .map_err(|e| format!("GATEWAY_REDIS_URL is not a usable Redis URL: {e}").into())
}

/// Every call carries the caller's API key to LiveChat: say so when that would be in clear.
fn warn_if_clear_text(livechat_url: &Url) {
    let loopback = matches!(
        livechat_url.host(),
        Some(url::Host::Ipv4(ip)) if ip.is_loopback()
    ) || matches!(livechat_url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || livechat_url.host_str() == Some("localhost");
    if livechat_url.scheme() != "https" && !loopback {
        log::warn!(
            "GATEWAY_LIVECHAT_URL {livechat_url} is not https: API keys would cross the network in clear"
        );
    }
}

/// The routes besides the connector's, with their methods, for `Allow`. A test checks every
/// one of them against what the server answers. (Swagger UI's own files and the OpenAPI 3
/// document are utoipa's service, which answers another method with 404.)
pub const OTHER_ROUTES: &[(&str, &str)] = &[
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
    ("/sandbox/events/{event_type}", "POST"),
    ("/livechat/events/{hookId}/{token}", "POST"),
    ("/livechat/v3/events/{hookId}", "POST"),
    ("/apiDefinition.swagger.json", "GET"),
    ("/swagger-ui", "GET"),
];

/// The methods a route pattern answers (empty for an unknown pattern).
pub fn allowed_methods(pattern: &str) -> Vec<&'static str> {
    let connector = openapi::connector_routes().into_iter().map(|(m, p)| (p, m));
    let mut methods: Vec<&str> = connector
        .chain(OTHER_ROUTES.iter().copied())
        .filter(|(p, _)| *p == pattern)
        .map(|(_, m)| m)
        .collect();
    methods.sort_unstable();
    methods.dedup();
    methods
}

/// actix answers a known path with the wrong method by an empty 405: give it the contract's
/// shape and the `Allow` header RFC 9110 requires.
fn json_405<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let mut answer = ApiError::MethodNotAllowed.error_response();
    let allow = req
        .match_pattern()
        .map(|p| allowed_methods(&p).join(", "))
        .unwrap_or_default();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        answer.headers_mut().insert(header::ALLOW, v);
    }
    let res = ServiceResponse::new(req, answer);
    Ok(ErrorHandlerResponse::Response(res.map_into_right_body()))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("No such route.".into()))
}

//! Typed settings: every setting is a flag and an environment variable (the flag wins), as
//! `interface.md` fixes them. Tests build `Settings` directly with `Settings::for_tests`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use url::Url;

pub use crate::telemetry::LogFormat;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/gateway.db";

const CLI_EXAMPLES: &str = "Examples:
  livechat-gateway --sandbox                 try everything against a built-in LiveChat stand-in
  livechat-gateway serve --public-url https://gw.example.com
  livechat-gateway check --login agent@example.com
  livechat-gateway deliveries list --dead
  livechat-gateway openapi --out openapi/";

const SERVE_EXAMPLES: &str = "Examples:
  livechat-gateway serve --sandbox
  GATEWAY_PUBLIC_URL=https://gw.example.com livechat-gateway serve --listen 0.0.0.0:8080
  livechat-gateway serve --database-url postgres://gw@db/gateway --redis-url redis://cache:6379 \\
      --secret-file /run/secrets/gateway --log-format json";

const OPENAPI_EXAMPLES: &str = "Examples:
  livechat-gateway openapi --out openapi/     then import openapi/apiDefinition.swagger.json
                                              as a custom connector";

const DELIVERIES_EXAMPLES: &str = "Examples:
  livechat-gateway deliveries list
  livechat-gateway deliveries list --dead --json
  livechat-gateway deliveries replay 42
  livechat-gateway deliveries replay --all-dead";

const LIST_EXAMPLES: &str = "Examples:
  livechat-gateway deliveries list                 pending and dead, as a table
  livechat-gateway deliveries list --dead          only dead letters
  livechat-gateway deliveries list --json | jq '.[] | select(.attempts > 3)'";

const REPLAY_EXAMPLES: &str = "Examples:
  livechat-gateway deliveries replay 42            one delivery (the ID column of `list`)
  livechat-gateway deliveries replay --all-dead    every dead letter, after fixing the flow";

const CHECK_EXAMPLES: &str = "Examples:
  livechat-gateway check                           settings, store, Redis, public URL
  livechat-gateway check --login agent@example.com prompts for the API key (not echoed)
  GATEWAY_DATABASE_URL=postgres://gw@db/gateway GATEWAY_SECRET_FILE=/run/secrets/gw \\
      livechat-gateway check

Exits 0 when everything is usable, 1 when anything is not; each problem says how to fix it.";

#[derive(Debug, Parser)]
#[command(
    name = "livechat-gateway",
    version,
    about = "LiveChat gateway for Power Platform custom connectors",
    args_conflicts_with_subcommands = true,
    after_help = CLI_EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s settings, so that `livechat-gateway --sandbox` works without the subcommand.
    #[command(flatten)]
    pub serve: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway (the default when no subcommand is given).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(Box<Settings>),
    /// Write the connector files (apiDefinition.swagger.json, apiProperties.json, ...).
    #[command(after_help = OPENAPI_EXAMPLES)]
    Openapi {
        #[arg(long, default_value = "openapi")]
        out: PathBuf,
    },
    /// Inspect and resend webhook deliveries kept in the store.
    #[command(after_help = DELIVERIES_EXAMPLES)]
    Deliveries {
        #[command(subcommand)]
        action: DeliveriesCommand,
    },
    /// Check the settings, the store, Redis, the public URL and LiveChat; say what is wrong.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(Box<CheckArgs>),
}

/// `check`: the settings `serve` would use, and LiveChat credentials to try.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// A LiveChat login e-mail to try the API with (prompted for on a terminal when absent).
    #[arg(long)]
    pub login: Option<String>,
    /// Its API key; prompted for without echo when absent (prefer the prompt: a flag shows in
    /// the shell history and the process list).
    #[arg(long, hide_env_values = true)]
    pub api_key: Option<SecretString>,
}

#[derive(Debug, Subcommand)]
pub enum DeliveriesCommand {
    /// List pending and dead deliveries.
    #[command(after_help = LIST_EXAMPLES)]
    List {
        /// Only dead deliveries (those that exhausted their retry schedule).
        #[arg(long)]
        dead: bool,
        /// One JSON array instead of the table (for scripts).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        store: StoreSettings,
    },
    /// Queue deliveries for another attempt: one id, or every dead one.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay {
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<String>,
        #[arg(long)]
        all_dead: bool,
        #[command(flatten)]
        store: StoreSettings,
    },
}

impl Cli {
    /// The settings of the command about to run, when it is `serve` or `check`.
    fn serve_settings(&self) -> Option<&Settings> {
        match &self.command {
            None => Some(&self.serve),
            Some(Command::Serve(s)) => Some(s),
            Some(Command::Check(c)) => Some(&c.settings),
            Some(_) => None,
        }
    }

    /// The log format of the command about to run: its flag, else `GATEWAY_LOG_FORMAT`.
    pub fn log_format(&self) -> LogFormat {
        match self.serve_settings() {
            Some(s) => s.log_format,
            None => match std::env::var("GATEWAY_LOG_FORMAT").as_deref() {
                Ok("json") => LogFormat::Json,
                _ => LogFormat::Text,
            },
        }
    }

    /// How long an info line may wait: the flag, else `GATEWAY_LOG_FLUSH_MS`.
    pub fn log_flush_ms(&self) -> u64 {
        match self.serve_settings() {
            Some(s) => s.log_flush_ms,
            None => std::env::var("GATEWAY_LOG_FLUSH_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(crate::telemetry::sink::DEFAULT_FLUSH_MS),
        }
    }
}

impl DeliveriesCommand {
    pub fn store(&self) -> &StoreSettings {
        match self {
            DeliveriesCommand::List { store, .. } | DeliveriesCommand::Replay { store, .. } => {
                store
            }
        }
    }
}

/// Where state lives and the key that protects it; shared by `serve` and `deliveries`.
#[derive(Debug, Clone, Args)]
pub struct StoreSettings {
    /// Where subscriptions and undelivered notifications live.
    #[arg(long, env = "GATEWAY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// The gateway secret itself (prefer GATEWAY_SECRET_FILE).
    #[arg(
        long = "secret",
        env = "GATEWAY_SECRET",
        hide_env_values = true,
        hide = true
    )]
    pub secret: Option<SecretString>,
    /// A file holding the gateway secret; generated beside the SQLite file when unset.
    #[arg(long, env = "GATEWAY_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to bind.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Absolute base URL under which Power Platform and LiveChat reach this gateway.
    #[arg(long, env = "GATEWAY_PUBLIC_URL")]
    pub public_url: Option<Url>,
    /// LiveChat API base URL.
    #[arg(
        long,
        env = "GATEWAY_LIVECHAT_URL",
        default_value = "https://api.livechatinc.com"
    )]
    pub livechat_url: Url,
    /// Which LiveChat API generation serves a connection: `auto` picks v3 (Configuration API
    /// v3.6 + HelpDesk API v1) for a UUID username (an account ID) and v2 for a login e-mail.
    #[arg(long, env = "GATEWAY_LIVECHAT_API", value_enum, default_value_t = ApiChoice::Auto)]
    pub livechat_api: ApiChoice,
    /// HelpDesk API base URL (tickets on LiveChat API v3).
    #[arg(
        long,
        env = "GATEWAY_HELPDESK_URL",
        default_value = "https://api.helpdesk.com"
    )]
    pub helpdesk_url: Url,
    /// The Developer Console application (Client ID) that owns the gateway's v3 webhooks.
    #[arg(long, env = "GATEWAY_LIVECHAT_CLIENT_ID")]
    pub livechat_client_id: Option<String>,
    /// How often HelpDesk is asked for new tickets (`ticket_created` on LiveChat API v3), in
    /// seconds, per connection with an open subscription.
    #[arg(long, env = "GATEWAY_HELPDESK_POLL_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub helpdesk_poll_secs: u64,
    #[command(flatten)]
    pub store: StoreSettings,
    /// A Redis shared by all replicas for the throttle.
    #[arg(long, env = "GATEWAY_REDIS_URL")]
    pub redis_url: Option<String>,
    /// With Redis unreachable: `local` (each replica throttles on its own) or `deny` (503).
    #[arg(long, env = "GATEWAY_THROTTLE_FALLBACK", value_enum, default_value_t = ThrottleFallback::Local)]
    pub throttle_fallback: ThrottleFallback,
    /// The longest one throttle decision waits for Redis before the fallback decides it, in
    /// milliseconds.
    #[arg(long, env = "GATEWAY_REDIS_TIMEOUT_MS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(10..=10_000))]
    pub redis_timeout_ms: u64,
    /// Calls admitted per connection per window.
    #[arg(long, env = "GATEWAY_THROTTLE_CALLS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub throttle_calls: u32,
    /// The throttle window, in seconds.
    #[arg(long, env = "GATEWAY_THROTTLE_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub throttle_window_secs: u64,
    /// One LiveChat call, connect to last byte, in milliseconds.
    #[arg(long, env = "GATEWAY_UPSTREAM_TIMEOUT_MS", default_value_t = 30_000)]
    pub upstream_timeout_ms: u64,
    /// Allow callback URLs on loopback or private networks.
    #[arg(long, env = "GATEWAY_ALLOW_PRIVATE_CALLBACKS", default_value_t = false)]
    pub allow_private_callbacks: bool,
    /// Delays between delivery attempts to a flow's callback, comma separated (ms, s, m, h).
    #[arg(long, env = "GATEWAY_RETRY_SCHEDULE", default_value = "0s,5s,5m,30m,2h,5h,10h,10h", value_parser = parse_schedule)]
    pub retry_schedule: Schedule,
    /// One delivery to a flow's callback, in milliseconds.
    #[arg(long, env = "GATEWAY_DELIVERY_TIMEOUT_MS", default_value_t = 30_000)]
    pub delivery_timeout_ms: u64,
    /// How long a notification its flow refuses may hold the later notifications of that flow,
    /// in seconds (0: never); 429, 503 and an unreachable callback hold it as long as they last.
    #[arg(long, env = "GATEWAY_ORDER_HOLD_SECS", default_value_t = 60)]
    pub order_hold_secs: u64,
    /// LiveChat deliveries admitted per subscription per minute (a burst of as many, then an
    /// even rate); more get 429 and LiveChat retries them. Keeps a leaked intake URL from
    /// filling the disk.
    #[arg(long, env = "GATEWAY_INTAKE_LIMIT_PER_MIN", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    pub intake_limit_per_min: u32,
    /// How long a client may take to send a request's head, in milliseconds; a slower one
    /// gets 408 and its connection is closed (slow clients cannot hold connections).
    #[arg(long, env = "GATEWAY_REQUEST_HEAD_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_head_timeout_ms: u64,
    /// On SIGTERM or Ctrl-C: how long the calls and deliveries in flight may take to finish,
    /// in seconds (no new connection is accepted meanwhile).
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Run against the built-in LiveChat v2 stand-in instead of the real API.
    #[arg(long)]
    pub sandbox: bool,
    /// Log lines as text or as one JSON object a line (for log shippers).
    #[arg(long, env = "GATEWAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// How long a log line below warn may wait to be written with others, in milliseconds (0:
    /// each line at once). Warnings and errors are written at once, with the lines before them.
    #[arg(long, env = "GATEWAY_LOG_FLUSH_MS", default_value_t = crate::telemetry::sink::DEFAULT_FLUSH_MS, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub log_flush_ms: u64,
    /// HTTP worker threads (default 2; tests use one). Match it to the cores the gateway may use.
    #[arg(long, env = "GATEWAY_WORKERS", value_parser = clap::value_parser!(usize))]
    pub workers: Option<usize>,
}

/// What the throttle does while the Redis it shares with other replicas cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThrottleFallback {
    /// Keep serving with the in-process throttle (each replica admits the quota on its own).
    Local,
    /// Refuse connector calls with 503 until Redis answers again.
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<Duration>);

/// `GATEWAY_LIVECHAT_API`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiChoice {
    Auto,
    V2,
    V3,
}

impl Settings {
    /// Defaults for tests: port 0, a throwaway SQLite file, private callbacks allowed.
    pub fn for_tests(livechat_url: Url, database_url: String) -> Self {
        Self {
            listen: "127.0.0.1:0".into(),
            public_url: None,
            helpdesk_url: livechat_url.clone(),
            livechat_url,
            livechat_api: ApiChoice::Auto,
            livechat_client_id: Some("gateway-test-client".into()),
            helpdesk_poll_secs: 60,
            store: StoreSettings {
                database_url,
                secret: Some(SecretString::from("test-secret-0123456789abcdef0123456789")),
                secret_file: None,
            },
            redis_url: None,
            throttle_fallback: ThrottleFallback::Local,
            redis_timeout_ms: 300,
            throttle_calls: 100,
            throttle_window_secs: 60,
            upstream_timeout_ms: 5_000,
            allow_private_callbacks: true,
            retry_schedule: parse_schedule("0s,5s,5m,30m,2h,5h,10h,10h").expect("valid"),
            delivery_timeout_ms: 5_000,
            order_hold_secs: 60,
            intake_limit_per_min: 600,
            request_head_timeout_ms: 5_000,
            shutdown_grace_secs: 30,
            sandbox: false,
            log_format: LogFormat::Text,
            log_flush_ms: crate::telemetry::sink::DEFAULT_FLUSH_MS,
            workers: Some(1),
        }
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// `order_hold_secs` in milliseconds.
    pub fn order_hold_ms(&self) -> i64 {
        i64::try_from(self.order_hold_secs.saturating_mul(1_000)).unwrap_or(i64::MAX)
    }
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 5s, 5m or 2h"))?;
    let factor: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    // Found by fuzzing: `99999999999999999h` overflowed the multiplication (a panic at start).
    let ms = n
        .checked_mul(factor)
        .ok_or_else(|| format!("`{s}` is longer than any wait the gateway can keep"))?;
    Ok(Duration::from_millis(ms))
}

pub fn parse_schedule(s: &str) -> Result<Schedule, String> {
    let steps = s
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(parse_duration)
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err("the retry schedule needs at least one step".into());
    }
    Ok(Schedule(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_parses_units() {
        let s = parse_schedule("0s, 5s,5m,2h,250ms").unwrap();
        assert_eq!(
            s.0,
            vec![
                Duration::ZERO,
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_secs(7200),
                Duration::from_millis(250)
            ]
        );
        assert!(parse_schedule("5x").is_err());
        assert!(parse_duration("99999999999999999h").is_err(), "no overflow");
        assert!(parse_duration("18446744073709551615ms").is_ok());
        assert!(parse_schedule("").is_err());
    }

    #[test]
    fn flags_win_over_defaults() {
        let cli = Cli::parse_from([
            "livechat-gateway",
            "serve",
            "--throttle-calls",
            "3",
            "--sandbox",
        ]);
        match cli.command {
            Some(Command::Serve(s)) => {
                assert_eq!(s.throttle_calls, 3);
                assert!(s.sandbox);
            }
            other => panic!("unexpected {other:?}"),
        }
        let bare = Cli::parse_from(["livechat-gateway", "--sandbox"]);
        assert!(bare.command.is_none() && bare.serve.sandbox);
    }
}

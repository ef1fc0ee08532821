//! `livechat-gateway check`: everything `serve` needs, tried one by one, each answered in plain
//! words with how to fix it. Nothing is changed except what `serve` would create anyway (the
//! SQLite file and its schema); a missing generated secret is reported, not generated.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::credentials::Credentials;
use crate::error::ApiError;
use crate::settings::{CheckArgs, Settings};
use crate::store::Store;
use crate::upstream::notices::Notices;
use crate::upstream::Upstreams;

/// How long one probe (store, Redis, DNS) may take before it counts as unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Opening the store may run its schema set-up first: more time, and slow counts as a warning.
const STORE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Works, but something deserves attention.
    Warn,
    Fail,
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: &'static str,
    pub verdict: Verdict,
    pub says: String,
}

fn finding(what: &'static str, verdict: Verdict, says: impl Into<String>) -> Finding {
    Finding {
        what,
        verdict,
        says: says.into(),
    }
}

/// Runs every check; `true` when nothing failed.
pub fn run(args: CheckArgs) -> bool {
    let creds = credentials(&args);
    let findings = actix_web::rt::System::new().block_on(check_all(&args.settings, creds));
    print!("{}", report(&findings));
    !findings.iter().any(|f| f.verdict == Verdict::Fail)
}

pub async fn check_all(settings: &Settings, creds: Option<Credentials>) -> Vec<Finding> {
    let mut out = vec![public_url(settings).await, livechat_url(settings)];
    out.push(secret(settings));
    out.push(store(settings).await);
    out.push(redis(settings).await);
    let v3 = v3_triggers(settings, creds.as_ref()).await;
    out.push(livechat(settings, creds).await);
    out.extend(v3);
    out
}

/// For a LiveChat API v3 connection: can chat triggers register their webhook? They need the
/// Developer Console app (GATEWAY_LIVECHAT_CLIENT_ID) and a token allowed to list its webhooks.
async fn v3_triggers(s: &Settings, creds: Option<&Credentials>) -> Option<Finding> {
    const WHAT: &str = "v3 chat triggers";
    let creds = creds?;
    let clock = crate::clock::system();
    let notices = Notices::new(clock, crate::metrics::NoticeCounter::default());
    let up = Upstreams::new(s, std::sync::Arc::new(notices));
    if up.generation(creds) != crate::upstream::Generation::V3 {
        return None;
    }
    let Some(app) = s.livechat_client_id.as_deref() else {
        return Some(finding(
            WHAT,
            Verdict::Warn,
            "GATEWAY_LIVECHAT_CLIENT_ID is not set: subscribing a chat trigger on this connection              answers 503. Set it to the Client ID of a Developer Console app installed on the              account (ticket_created polls HelpDesk and needs none).",
        ));
    };
    let listed = match up.v3(creds) {
        Ok(lc) => lc.webhooks_at(creds, "").await,
        Err(e) => Err(e),
    };
    Some(match listed {
        Ok(_) => finding(
            WHAT,
            Verdict::Ok,
            format!("the token may manage app {app}'s webhooks"),
        ),
        Err(e) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "LiveChat refused to list app {app}'s webhooks ({e}). Give the personal access                  token the webhooks.configuration:rw scope (and chats--all:ro for chat ended),                  and install the app on the account (Developer Console > Private installation)."
            ),
        ),
    })
}

/// The report: one aligned line per check, then a summary.
pub fn report(findings: &[Finding]) -> String {
    let width = findings.iter().map(|f| f.what.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        let mark = match f.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "warn",
            Verdict::Fail => "FAIL",
            Verdict::Skipped => "skip",
        };
        out.push_str(&format!("{mark}  {:<width$}  {}\n", f.what, f.says));
    }
    let failed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Fail)
        .count();
    out.push_str(&match failed {
        0 => "\nEverything the gateway needs is in order.\n".to_string(),
        1 => "\n1 problem: fix it and run `livechat-gateway check` again.\n".to_string(),
        n => format!("\n{n} problems: fix them and run `livechat-gateway check` again.\n"),
    });
    out
}

async fn public_url(s: &Settings) -> Finding {
    const WHAT: &str = "public URL";
    let Some(url) = &s.public_url else {
        return finding(
            WHAT,
            Verdict::Fail,
            "GATEWAY_PUBLIC_URL is not set, so the connector and LiveChat's webhooks would point \
             at this machine's listen address. Set it to the https address Power Platform and \
             LiveChat reach the gateway at, e.g. GATEWAY_PUBLIC_URL=https://gateway.example.com.",
        );
    };
    if url.scheme() != "https" {
        return finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{url} is not https: Power Platform imports only https connectors and LiveChat \
                 sends webhooks only to https. Put a TLS proxy in front (deploy/Caddyfile) and \
                 set GATEWAY_PUBLIC_URL=https://..."
            ),
        );
    }
    match resolve(url).await {
        Ok(n) => finding(
            WHAT,
            Verdict::Ok,
            format!("{url} is https and resolves ({n} address(es))"),
        ),
        Err(why) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{url}: its host does not resolve ({why}). Check the DNS record, or the \
                 spelling of GATEWAY_PUBLIC_URL."
            ),
        ),
    }
}

async fn resolve(url: &Url) -> Result<usize, String> {
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => Ok(addrs.count()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer in time".into()),
    }
}

fn livechat_url(s: &Settings) -> Finding {
    const WHAT: &str = "LiveChat URL";
    let url = &s.livechat_url;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() != "https" && !local {
        return finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{url} is not https: every call would carry an API key in clear. Use \
                 GATEWAY_LIVECHAT_URL=https://api.livechatinc.com (the default)."
            ),
        );
    }
    finding(WHAT, Verdict::Ok, url.to_string())
}

fn secret(s: &Settings) -> Finding {
    const WHAT: &str = "secret";
    let store = &s.store;
    let generated = crate::secret::beside_database(&store.database_url);
    if store.secret.is_none() && store.secret_file.is_none() {
        match &generated {
            Some(path) if !path.exists() => {
                return finding(
                    WHAT,
                    Verdict::Ok,
                    format!(
                        "none yet: `serve` generates {} at first start (back it up with the \
                         database: without it stored subscriptions cannot be opened)",
                        path.display()
                    ),
                )
            }
            Some(_) => {}
            None => {
                return finding(
                    WHAT,
                    Verdict::Fail,
                    "a PostgreSQL store needs GATEWAY_SECRET or GATEWAY_SECRET_FILE, the same \
                     on every replica. Generate one with `openssl rand -hex 32`.",
                )
            }
        }
    }
    match crate::secret::load(store) {
        Ok(_) => finding(WHAT, Verdict::Ok, "present and long enough"),
        Err(e) => finding(
            WHAT,
            Verdict::Fail,
            format!("{e}. Give GATEWAY_SECRET_FILE a readable file holding at least 16 characters (`openssl rand -hex 32`)."),
        ),
    }
}

async fn store(s: &Settings) -> Finding {
    const WHAT: &str = "store";
    let url = &s.store.database_url;
    let shown = redact_url(url);
    let probe = async {
        let store = Store::connect(url).await?;
        store.ping().await?;
        let counts = store
            .counts(crate::clock::Clock::now_ms(&crate::clock::SystemClock))
            .await?;
        Ok::<_, crate::store::StoreError>((counts, store.observations().await?))
    };
    match tokio::time::timeout(PROBE_TIMEOUT * 2, probe).await {
        Ok(Ok((c, notes))) => {
            let answers = format!(
                "{shown} answers ({} subscription(s), {} pending, {} dead)",
                c.subscriptions, c.pending, c.dead
            );
            match notes.is_empty() {
                true => finding(WHAT, Verdict::Ok, answers),
                false => finding(WHAT, Verdict::Warn, format!("{answers}, but {}", notes.join("; "))),
            }
        }
        Ok(Err(e)) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{shown} cannot be used: {e}. Check GATEWAY_DATABASE_URL: for SQLite, a folder \
                 the gateway may write to; for PostgreSQL, host, port, user and database."
            ),
        ),
        Err(_) => finding(
            WHAT,
            Verdict::Fail,
            format!("{shown} does not answer within {} s. Is the database server running and reachable from here?", STORE_TIMEOUT.as_secs()),
        ),
    }
}

async fn redis(s: &Settings) -> Finding {
    const WHAT: &str = "Redis";
    let Some(url) = &s.redis_url else {
        return finding(
            WHAT,
            Verdict::Skipped,
            "GATEWAY_REDIS_URL is not set: the throttle counts in this process (fine for one replica)",
        );
    };
    let shown = redact_url(url);
    let probe = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => finding(WHAT, Verdict::Ok, format!("{shown} answers PING")),
        Ok(Err(e)) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{shown}: {e}. Check GATEWAY_REDIS_URL (redis://host:6379) and that Redis runs."
            ),
        ),
        Err(_) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{shown} does not answer within {} s. Is Redis reachable from here?",
                PROBE_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn livechat(s: &Settings, creds: Option<Credentials>) -> Finding {
    const WHAT: &str = "LiveChat login";
    let Some(creds) = creds else {
        return finding(
            WHAT,
            Verdict::Skipped,
            "no credentials to try: run `livechat-gateway check --login <agent e-mail>` and type \
             the API key when asked",
        );
    };
    let clock = crate::clock::system();
    let notices = Notices::new(clock, crate::metrics::NoticeCounter::default());
    let up = Upstreams::new(s, std::sync::Arc::new(notices));
    let answer = match up.api(&creds) {
        Ok(api) => api.list_agents(&creds).await,
        Err(e) => Err(e),
    };
    let login = &creds.login;
    match answer {
        Ok(agents) => finding(
            WHAT,
            Verdict::Ok,
            format!(
                "{} accepts {login}'s API key ({} agent(s))",
                s.livechat_url,
                agents.array_len().unwrap_or(0)
            ),
        ),
        Err(ApiError::Unauthorized(_)) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "LiveChat refused the login {login} with that API key. Copy the key again from \
                 LiveChat (Settings > Integrations > API access) and check the login is the \
                 agent's e-mail."
            ),
        ),
        Err(e) => finding(
            WHAT,
            Verdict::Fail,
            format!(
                "{} could not be used: {}. Check GATEWAY_LIVECHAT_URL and that this machine \
                 reaches it (proxy, firewall).",
                s.livechat_url, e
            ),
        ),
    }
}

/// A URL with its password (if any) replaced, for the report.
fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

/// The credentials to try: flags, else a prompt on a terminal (the key without echo).
fn credentials(args: &CheckArgs) -> Option<Credentials> {
    let interactive = std::io::stdin().is_terminal();
    let login = match &args.login {
        Some(l) => l.clone(),
        None if interactive && args.api_key.is_none() => {
            let l = prompt(
                "LiveChat login e-mail (empty to skip the LiveChat check): ",
                true,
            )?;
            if l.trim().is_empty() {
                return None;
            }
            l
        }
        None => return None,
    };
    let api_key = match &args.api_key {
        Some(k) => k.clone(),
        None if interactive => SecretString::from(prompt("API key (not shown): ", false)?),
        None => return None,
    };
    (!login.trim().is_empty() && !api_key.expose_secret().is_empty())
        .then(|| Credentials::new(login.trim().to_string(), api_key))
}

/// Reads one line from the terminal; with `echo` false the terminal does not show it.
fn prompt(question: &str, echo: bool) -> Option<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let _quiet = (!echo).then(NoEcho::new);
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    if !echo {
        eprintln!();
    }
    Some(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Turns the terminal's echo off until dropped.
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> Self {
        // SAFETY: tcgetattr/tcsetattr on stdin with a termios we own; a failure leaves the
        // terminal as it was.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return Self(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return Self(None);
            }
            Self(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lines_up_and_counts_problems() {
        let text = report(&[
            finding("store", Verdict::Ok, "fine"),
            finding("public URL", Verdict::Fail, "not https"),
            finding("Redis", Verdict::Skipped, "unset"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ok    store       fine");
        assert_eq!(lines[1], "FAIL  public URL  not https");
        assert_eq!(lines[2], "skip  Redis       unset");
        assert!(text.contains("1 problem:"), "{text}");
    }

    #[test]
    fn passwords_in_urls_are_not_printed() {
        assert_eq!(
            redact_url("postgres://gw:hunter2@db:5432/gw"),
            "postgres://gw:***@db:5432/gw"
        );
        assert_eq!(
            redact_url("sqlite://./data/gateway.db"),
            "sqlite://./data/gateway.db"
        );
    }
}

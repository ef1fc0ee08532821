//! LiveChat misbehaving below HTTP's happy path: a raw TCP stand-in whose fault switch decides
//! what every connection gets, byte for byte. actix cannot reset a connection on purpose or
//! drip a head, so these faults live here and not in the fake's actix server.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use livechat_gateway::fake_livechat::faults::{Fault, FaultyLiveChat};
//! let faulty = FaultyLiveChat::spawn(Fault::HangUp).await?;
//! faulty.set(Fault::EmptyOk); // point the gateway's LiveChat URL at faulty.base_url()
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What LiveChat does with a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Nothing listens: connections are refused.
    Refuse,
    /// Reads the request, then closes the connection without answering.
    HangUp,
    /// Sends the head and part of the body it announced, then resets the connection.
    ResetMidBody,
    /// Sends a valid answer one byte every `every`, head included: never done in time.
    Drip { every: Duration },
    /// A 200 that announces and sends more bytes than the gateway reads.
    Oversize { bytes: usize },
    /// A 200 JSON answer whose strings are not UTF-8.
    InvalidUtf8,
    /// An HTML page (a proxy's or a maintenance page) with this status.
    Html { status: u16 },
    /// A 200 with no body at all.
    EmptyOk,
    /// A redirect with this status to `location`.
    Redirect { status: u16, location: String },
    /// An error answer whose text quotes the request's `Authorization` header back, as a
    /// careless proxy might.
    EchoAuthorization { status: u16 },
}

struct Shared {
    fault: Fault,
    /// The head of each request received (with its `Authorization` header).
    heads: Vec<String>,
}

/// Clone-able handle; the server runs until the runtime ends.
#[derive(Clone)]
pub struct FaultyLiveChat {
    shared: Arc<Mutex<Shared>>,
    base_url: String,
}

impl FaultyLiveChat {
    /// Binds 127.0.0.1 on a free port and serves `fault` (inside a tokio or actix runtime).
    pub async fn spawn(fault: Fault) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Mutex::new(Shared {
            fault,
            heads: Vec::new(),
        }));
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &state).await;
                });
            }
        });
        Ok(Self { shared, base_url })
    }

    /// `http://127.0.0.1:PORT`, or for [`Fault::Refuse`] the URL of a port nothing listens on.
    pub fn base_url(&self) -> String {
        match self.lock().fault {
            Fault::Refuse => {
                let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
                format!("http://{}", closed.local_addr().expect("its address"))
            }
            _ => self.base_url.clone(),
        }
    }

    /// Arms `fault` for every later connection.
    pub fn set(&self, fault: Fault) {
        self.lock().fault = fault;
    }

    /// The request heads received so far.
    pub fn heads(&self) -> Vec<String> {
        self.lock().heads.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn serve(mut conn: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    let head = read_head(&mut conn).await?;
    let fault = {
        let mut st = shared.lock().unwrap_or_else(PoisonError::into_inner);
        st.heads.push(head.clone());
        st.fault.clone()
    };
    match fault {
        Fault::Refuse | Fault::HangUp => Ok(()),
        Fault::ResetMidBody => {
            let body = r#"[{"login":"a@example.com","name":"A"},"#;
            conn.write_all(head_bytes(200, "application/json", 4_096).as_bytes())
                .await?;
            conn.write_all(body.as_bytes()).await?;
            conn.flush().await?;
            // Linger 0: the close sends a reset instead of an orderly end.
            conn.set_zero_linger()?;
            Ok(())
        }
        Fault::Drip { every } => {
            let answer = answer(200, "application/json", b"[]");
            for byte in answer {
                conn.write_all(&[byte]).await?;
                conn.flush().await?;
                tokio::time::sleep(every).await;
            }
            Ok(())
        }
        Fault::Oversize { bytes } => {
            conn.write_all(head_bytes(200, "application/json", bytes).as_bytes())
                .await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                conn.write_all(&chunk[..n]).await?;
                sent += n;
            }
            Ok(())
        }
        Fault::InvalidUtf8 => {
            let body = b"[{\"login\":\"a@example.com\",\"name\":\"\xff\xfe\xc3\x28\"}]";
            conn.write_all(&answer(200, "application/json", body)).await
        }
        Fault::Html { status } => {
            let body = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>";
            conn.write_all(&answer(status, "text/html; charset=utf-8", body))
                .await
        }
        Fault::EmptyOk => conn.write_all(&answer(200, "application/json", b"")).await,
        Fault::Redirect { status, location } => {
            let mut out = format!("HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\n");
            out.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
            conn.write_all(out.as_bytes()).await
        }
        Fault::EchoAuthorization { status } => {
            let auth = head
                .lines()
                .find_map(|l| l.strip_prefix("authorization: "))
                .unwrap_or_default();
            let decoded = auth
                .strip_prefix("Basic ")
                .and_then(|b| base64_decode(b.trim()))
                .unwrap_or_default();
            let body = serde_json::json!({
                "error": format!("rejected {auth} ({decoded}), key {}", key_of(&decoded))
            });
            let body = body.to_string();
            conn.write_all(&answer(status, "application/json", body.as_bytes()))
                .await
        }
    }
}

/// Reads up to the blank line that ends a request head (and whatever body came with it), with
/// header names in lower case.
async fn read_head(conn: &mut TcpStream) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 64 * 1024 {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    Ok(head
        .lines()
        .map(|l| match l.split_once(':') {
            Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

fn head_bytes(status: u16, content_type: &str, length: usize) -> String {
    format!(
        "HTTP/1.1 {status} Answer\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
}

fn answer(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = head_bytes(status, content_type, body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn base64_decode(s: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    String::from_utf8(bytes).ok()
}

fn key_of(pair: &str) -> &str {
    pair.split_once(':').map(|(_, k)| k).unwrap_or_default()
}

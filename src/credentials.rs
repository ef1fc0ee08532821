//! The caller's LiveChat credentials and everything derived from them.
//!
//! The API key is only ever held as a `SecretString`; what the gateway keys state on is an
//! opaque `ConnectionId` (HMAC under the gateway secret), and what it stores is a sealed blob
//! (XChaCha20-Poly1305) bound to the subscription that owns it.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::error::ApiError;

type HmacSha256 = Hmac<Sha256>;

/// A Basic pair as the platform sends it: the agent's login e-mail and its API key.
#[derive(Clone)]
pub struct Credentials {
    pub login: String,
    pub api_key: SecretString,
    /// The `Authorization` value LiveChat gets, made once: building it on every upstream call
    /// (two `format!`s, base64, a copy) was 2 % of a proxied call's instructions.
    header: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("login", &self.login)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// Parses an `Authorization` header value. The error never echoes the header.
    pub fn from_authorization(value: Option<&str>) -> Result<Self, ApiError> {
        let missing = || {
            ApiError::Unauthorized(
                "Missing or malformed credentials: send HTTP Basic with your LiveChat login e-mail and API key.".into(),
            )
        };
        let sent = value.ok_or_else(missing)?;
        let (scheme, encoded) = sent.trim().split_once(' ').ok_or_else(missing)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(missing());
        }
        let encoded = encoded.trim();
        let decoded = STANDARD.decode(encoded).map_err(|_| missing())?;
        let decoded = String::from_utf8(decoded).map_err(|_| missing())?;
        let (login, key) = decoded.split_once(':').ok_or_else(missing)?;
        let trimmed = login.trim();
        if trimmed.is_empty() || key.is_empty() {
            return Err(missing());
        }
        let api_key = SecretString::from(key.to_string());
        // The standard engine decodes only canonical base64, so when nothing was trimmed the
        // caller's value is byte for byte what `header_of` would build: it is kept as sent.
        if trimmed.len() == login.len() && sent.strip_prefix("Basic ") == Some(encoded) {
            return Ok(Self {
                login: login.to_string(),
                api_key,
                header: SecretString::from(sent.to_string()),
            });
        }
        Ok(Self::new(trimmed.to_string(), api_key))
    }

    /// A pair that did not come in an `Authorization` header (sealed, or typed in `check`).
    pub fn new(login: String, api_key: SecretString) -> Self {
        let header = header_of(&login, &api_key);
        Self {
            login,
            api_key,
            header,
        }
    }

    /// The `Authorization` value to send upstream.
    pub fn basic_header(&self) -> &str {
        self.header.expose_secret()
    }
}

/// `Basic base64(login:key)`; the pair in clear lives only in a buffer that is zeroed.
fn header_of(login: &str, api_key: &SecretString) -> SecretString {
    let key = api_key.expose_secret();
    let mut pair = String::with_capacity(login.len() + 1 + key.len());
    pair.push_str(login);
    pair.push(':');
    pair.push_str(key);
    let pair = SecretString::from(pair);
    let mut header = String::with_capacity(6 + pair.expose_secret().len().div_ceil(3) * 4);
    header.push_str("Basic ");
    STANDARD.encode_string(pair.expose_secret(), &mut header);
    SecretString::from(header)
}

/// Opaque, stable per (login, API key) pair; safe to log and store.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(String);

impl ConnectionId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Re-wraps an id read back from the store.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnectionId({})", self.0)
    }
}

/// Keys derived from the gateway secret, one per purpose.
#[derive(Clone)]
pub struct Keys {
    /// Keyed with the connection key once: every call derives its connection id from a copy,
    /// so HMAC's key schedule (two of its five SHA-256 blocks per call) is not redone per call.
    connection: HmacSha256,
    seal: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    keyed_hmac(
        <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length"),
        parts,
    )
}

fn keyed_hmac(mut mac: HmacSha256, parts: &[&[u8]]) -> [u8; 32] {
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[derive(Debug, thiserror::Error)]
#[error("sealed credentials could not be opened")]
pub struct UnsealError;

impl Keys {
    pub fn derive(secret: &SecretString) -> Self {
        let s = secret.expose_secret().as_bytes();
        Self {
            connection: <HmacSha256 as Mac>::new_from_slice(&hmac(
                s,
                &[b"livechat-gateway/connection-id/v1"],
            ))
            .expect("HMAC takes any key length"),
            seal: hmac(s, &[b"livechat-gateway/seal/v1"]),
        }
    }

    pub fn connection_id(&self, creds: &Credentials) -> ConnectionId {
        let tag = keyed_hmac(
            self.connection.clone(),
            &[
                creds.login.as_bytes(),
                creds.api_key.expose_secret().as_bytes(),
            ],
        );
        ConnectionId(URL_SAFE_NO_PAD.encode(&tag[..18]))
    }

    /// Opaque, stable per LiveChat v3 account (its account ID, in any case): the subscriptions
    /// of every connection of one account share that account's upstream webhooks.
    pub fn account_key(&self, login: &str) -> String {
        let id = login.trim().to_ascii_lowercase();
        let tag = keyed_hmac(
            self.connection.clone(),
            &[b"livechat-gateway/account/v1", id.as_bytes()],
        );
        URL_SAFE_NO_PAD.encode(&tag[..18])
    }

    /// Seals the credentials; `context` (e.g. subscription id + connection id) must be given
    /// again to open them, so a blob copied to another row is useless.
    pub fn seal(&self, context: &str, creds: &Credentials) -> String {
        let plain = SecretString::from(format!(
            "{}\n{}",
            creds.login,
            creds.api_key.expose_secret()
        ));
        self.seal_text(context, plain.expose_secret())
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Credentials, UnsealError> {
        let plain = SecretString::from(self.open_text(context, sealed)?);
        let (login, key) = plain.expose_secret().split_once('\n').ok_or(UnsealError)?;
        Ok(Credentials::new(
            login.to_string(),
            SecretString::from(key.to_string()),
        ))
    }

    /// Seals an arbitrary secret string (a flow's callback URL, say) with the same key as the
    /// credentials; `context` must be given again to open it. Use a context distinct from the
    /// credentials' so one blob cannot stand in for the other.
    pub fn seal_text(&self, context: &str, text: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.seal).into());
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: text.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for in-memory buffers");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1.{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what `seal_text` sealed under the same `context`.
    pub fn open_text(&self, context: &str, sealed: &str) -> Result<String, UnsealError> {
        let raw = sealed
            .strip_prefix("v1.")
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|r| r.len() > 24)
            .ok_or(UnsealError)?;
        let (nonce, ct) = raw.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.seal).into());
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| UnsealError)?;
        String::from_utf8(plain).map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(login: &str, key: &str) -> Credentials {
        Credentials::new(login.into(), SecretString::from(key.to_string()))
    }

    #[test]
    fn parses_basic_and_rejects_the_rest() {
        let ok =
            Credentials::from_authorization(Some("Basic YWdlbnRAeC5jb206c2VjcmV0Ojo=")).unwrap();
        assert_eq!(ok.login, "agent@x.com");
        assert_eq!(ok.api_key.expose_secret(), "secret::");
        for bad in [
            None,
            Some(""),
            Some("Bearer abc"),
            Some("Basic !!!"),
            Some("Basic YWdlbnQ="),     // no colon
            Some("Basic OnNlY3JldA=="), // empty login
            Some("Basic YWdlbnQ6"),     // empty key
        ] {
            assert!(Credentials::from_authorization(bad).is_err(), "{bad:?}");
        }
    }

    /// What LiveChat gets is the canonical pair whatever spelling the caller used, and the
    /// caller's own value when it already is that.
    #[test]
    fn the_upstream_header_is_the_canonical_pair() {
        let canonical = "Basic YWdlbnRAeC5jb206c2VjcmV0";
        for sent in [
            canonical,
            "basic YWdlbnRAeC5jb206c2VjcmV0",
            "  Basic   YWdlbnRAeC5jb206c2VjcmV0 ",
            "Basic IGFnZW50QHguY29tIDpzZWNyZXQ=", // " agent@x.com :secret"
        ] {
            let c = Credentials::from_authorization(Some(sent)).unwrap();
            assert_eq!(c.basic_header(), canonical, "{sent:?}");
            assert_eq!(c.login, "agent@x.com");
        }
        assert_eq!(creds("agent@x.com", "secret").basic_header(), canonical);
    }

    #[test]
    fn connection_ids_are_stable_keyed_and_distinct() {
        let k1 = Keys::derive(&SecretString::from("one".to_string()));
        let k2 = Keys::derive(&SecretString::from("two".to_string()));
        let a = creds("a@x.com", "key-a");
        assert_eq!(k1.connection_id(&a), k1.connection_id(&a));
        assert_ne!(k1.connection_id(&a), k2.connection_id(&a));
        assert_ne!(
            k1.connection_id(&a),
            k1.connection_id(&creds("a@x.com", "key-b"))
        );
        assert!(!k1.connection_id(&a).as_str().contains("key-a"));
    }

    /// Stored subscriptions and v3 webhooks are found by these ids: a release that derived
    /// them differently would orphan every one of them. Figures from Python's `hmac`.
    #[test]
    fn connection_ids_and_account_keys_stay_what_earlier_releases_stored() {
        let k = Keys::derive(&SecretString::from("one".to_string()));
        let id = k.connection_id(&creds("a@x.com", "key-a"));
        assert_eq!(id.as_str(), "_qBQ1YY5-uLS15XoCDxqpMVg");
        assert_eq!(k.account_key(" A@x.com"), "QBNGHlHLrt48QyISNWSJ0nh3");
    }

    #[test]
    fn sealed_credentials_open_only_in_their_context() {
        let k = Keys::derive(&SecretString::from("s".to_string()));
        let sealed = k.seal("sub-1/conn-1", &creds("a@x.com", "CANARY-KEY"));
        assert!(!sealed.contains("CANARY"));
        let back = k.open("sub-1/conn-1", &sealed).unwrap();
        assert_eq!(back.api_key.expose_secret(), "CANARY-KEY");
        assert!(k.open("sub-2/conn-1", &sealed).is_err());
        let other = Keys::derive(&SecretString::from("t".to_string()));
        assert!(other.open("sub-1/conn-1", &sealed).is_err());
        assert!(k.open("sub-1/conn-1", "v1.garbage").is_err());
    }

    #[test]
    fn sealed_text_opens_only_in_its_context() {
        let k = Keys::derive(&SecretString::from("s".to_string()));
        let sealed = k.seal_text("callback/sub-1/conn-1", "https://flow/cb?sig=SIGCANARY");
        assert!(!sealed.contains("CANARY"));
        assert_eq!(
            k.open_text("callback/sub-1/conn-1", &sealed).unwrap(),
            "https://flow/cb?sig=SIGCANARY"
        );
        assert!(k.open_text("callback/sub-2/conn-1", &sealed).is_err());
        assert!(k.open("callback/sub-1/conn-1", &sealed).is_err());
        let creds_blob = k.seal("sub-1/conn-1", &creds("a@x.com", "k"));
        assert!(k.open_text("callback/sub-1/conn-1", &creds_blob).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", creds("a@x.com", "CANARY-KEY"));
        assert!(!shown.contains("CANARY"));
    }
}

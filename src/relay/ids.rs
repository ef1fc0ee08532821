//! Random identifiers and secrets for subscriptions, and how tokens are kept and compared.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A subscription id: 128 random bits, 22 base64url characters.
pub fn subscription_id() -> String {
    random_b64(16)
}

/// The intake URL's token: 256 random bits, 43 base64url characters.
pub fn token() -> String {
    random_b64(32)
}

/// A delivery lease's token: 128 random bits.
pub fn lease_token() -> String {
    random_b64(16)
}

pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `presented` is the token whose SHA-256 is `stored_hex`, in constant time.
pub fn token_matches(presented: &str, stored_hex: &str) -> bool {
    let got = sha256_hex(presented);
    got.as_bytes().ct_eq(stored_hex.as_bytes()).into()
}

/// Only ids the gateway could have made reach the store.
pub fn plausible_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens() {
        let id = subscription_id();
        assert_eq!(id.len(), 22);
        assert!(plausible_id(&id));
        assert_ne!(id, subscription_id());
        let t = token();
        assert_eq!(t.len(), 43);
        let stored = sha256_hex(&t);
        assert!(token_matches(&t, &stored));
        assert!(!token_matches("nope", &stored));
        assert!(!plausible_id("../x"));
    }
}

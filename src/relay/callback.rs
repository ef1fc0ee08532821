//! `CallbackUrl`: a flow's callback the gateway is willing to POST to. http(s) only, and (unless
//! private callbacks are allowed) every address the host resolves to must be globally routable,
//! so a subscriber cannot aim the gateway at its own network (SSRF). Checked at subscribe time
//! and again before each delivery (DNS rebinding).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use url::{Host, Url};

use crate::error::ApiError;

/// Longest wait for the callback host's DNS answer.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, PartialEq, Eq)]
pub struct CallbackUrl(Url);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallbackError {
    #[error("`url` must be an absolute http or https URL.")]
    Malformed,
    #[error("`url` must use http or https.")]
    Scheme,
    #[error("`url`'s host could not be resolved.")]
    Unresolved,
    #[error("`url` points to a loopback, private or otherwise non-public address ({0}); the gateway does not call those.")]
    NotPublic(IpAddr),
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl fmt::Debug for CallbackUrl {
    /// The callback carries the platform's signature in its query: show scheme, host and path only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CallbackUrl({}://{}{})",
            self.0.scheme(),
            self.0.host_str().unwrap_or(""),
            self.0.path()
        )
    }
}

impl CallbackUrl {
    /// Parses and checks `raw`, resolving its host.
    pub async fn parse(raw: &str, allow_private: bool) -> Result<Self, CallbackError> {
        let raw = raw.trim();
        if !is_uri_text(raw) {
            return Err(CallbackError::Malformed);
        }
        let url = Url::parse(raw).map_err(|_| CallbackError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CallbackError::Scheme);
        }
        if url.host().is_none() {
            return Err(CallbackError::Malformed);
        }
        let this = Self(url);
        this.check(allow_private).await?;
        Ok(this)
    }

    /// Resolves the host and checks every address.
    async fn check(&self, allow_private: bool) -> Result<(), CallbackError> {
        if allow_private {
            return Ok(());
        }
        let port = self.0.port_or_known_default().unwrap_or(443);
        let addrs: Vec<IpAddr> = match self.0.host() {
            Some(Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
            Some(Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
            Some(Host::Domain(d)) => {
                let lookup = tokio::net::lookup_host((d, port));
                match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                    Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                    _ => return Err(CallbackError::Unresolved),
                }
            }
            None => return Err(CallbackError::Malformed),
        };
        if addrs.is_empty() {
            return Err(CallbackError::Unresolved);
        }
        match addrs.into_iter().find(|ip| !is_public(*ip)) {
            Some(bad) => Err(CallbackError::NotPublic(bad)),
            None => Ok(()),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Only what RFC 3986 allows in a URI, part by part, with well-formed `%XX` escapes: the
/// platform's callbacks are such URIs, and the documents declare `format: uri`.
fn is_uri_text(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    let pchar = |c: u8| c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&c);
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let part = |text: &str, extra: &[u8]| {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 3;
            } else if pchar(b[i]) || extra.contains(&b[i]) {
                i += 1;
            } else {
                return false;
            }
        }
        true
    };
    !scheme.is_empty()
        && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
        // A host name, IP literal and port: sub-delimiters and escapes stay out of the host.
        && authority
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~:@[]".contains(&c))
        && part(path, b"/")
        && part(query, b"/?")
        && part(fragment, b"/?")
}

/// The delivery client's resolver: a callback host that resolves to any non-public address is
/// not connected to at all. Checking at connect time closes the gap a separate check leaves
/// for DNS rebinding (a name that is public when checked and private when connected).
pub struct PublicOnly;

impl actix_tls::connect::Resolve for PublicOnly {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> futures_util::future::LocalBoxFuture<
        'a,
        Result<Vec<std::net::SocketAddr>, Box<dyn std::error::Error>>,
    > {
        Box::pin(async move {
            let found =
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
                    .await
                    .map_err(|_| format!("resolving {host} timed out"))??;
            let addrs: Vec<std::net::SocketAddr> = found.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            match addrs.iter().find(|a| !is_public(a.ip())) {
                Some(bad) => {
                    Err(format!("{host} resolves to a non-public address ({})", bad.ip()).into())
                }
                None => Ok(addrs),
            }
        })
    }
}

/// Whether `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: [([u8; 4], u32); 16] = [
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
        ([255, 255, 255, 255], 32),
    ];
    !BLOCKED.iter().any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d):
    // judge the embedded IPv4 address.
    let embedded = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return is_public_v4(embedded);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded);
    }
    if s[0] == 0x2002 {
        // 6to4 carries an IPv4 address in segments 1 and 2.
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(v4);
    }
    let blocked = (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast ff00::/8
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard 100::/64
        || (s[0] == 0x2001 && s[1] < 0x0200); // IETF protocol assignments 2001::/23 (Teredo, ...)
    !blocked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::",
            "::1",
            "fe80::1",
            "fc00::1",
            "fd12::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(bad.parse().unwrap()), "{bad} should be refused");
        }
        for good in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(good.parse().unwrap()), "{good} should be allowed");
        }
    }

    #[actix_web::test]
    async fn refuses_schemes_and_private_hosts() {
        assert_eq!(
            CallbackUrl::parse("ftp://example.com/x", false).await,
            Err(CallbackError::Scheme)
        );
        assert_eq!(
            CallbackUrl::parse("file:///etc/passwd", true).await,
            Err(CallbackError::Scheme)
        );
        assert_eq!(
            CallbackUrl::parse("not a url", false).await,
            Err(CallbackError::Malformed)
        );
        assert!(matches!(
            CallbackUrl::parse("http://127.0.0.1:9/cb", false).await,
            Err(CallbackError::NotPublic(_))
        ));
        assert!(matches!(
            CallbackUrl::parse("http://localhost:9/cb", false).await,
            Err(CallbackError::NotPublic(_)) | Err(CallbackError::Unresolved)
        ));
        assert!(matches!(
            CallbackUrl::parse("http://[::ffff:192.168.0.1]/cb", false).await,
            Err(CallbackError::NotPublic(_))
        ));
        assert!(CallbackUrl::parse("http://127.0.0.1:9/cb", true)
            .await
            .is_ok());
        assert!(CallbackUrl::parse("https://8.8.8.8/cb?sig=1", false)
            .await
            .is_ok());
    }
}

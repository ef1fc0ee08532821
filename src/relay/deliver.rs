//! One POST of a notification to a flow's callback, and what its answer means.

use std::time::Duration;

use actix_web::http::{header, StatusCode};

use super::retry::parse_retry_after;

/// What the callback's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx: the flow has the event.
    Delivered(u16),
    /// 404 or 410: the flow (or its trigger) no longer exists.
    Gone(u16),
    /// Anything else: 408, 429, 5xx, other 4xx and 3xx (redirects are not followed), timeouts,
    /// refused connections. Retried on the schedule.
    Failed {
        status: Option<u16>,
        error: String,
        retry_after_ms: Option<i64>,
    },
}

/// The client the worker posts with: no redirects (a public callback must not bounce the
/// gateway into a private network), and unless private callbacks are allowed, a resolver that
/// connects only to public addresses, so the address checked is the address connected to.
pub fn client(timeout: Duration, allow_private: bool) -> awc::Client {
    // No per-request timer of awc's own: `post` holds the whole attempt to one deadline.
    let builder = awc::Client::builder()
        .disable_timeout()
        .disable_redirects()
        .add_default_header((header::USER_AGENT, crate::upstream::transport::USER_AGENT));
    let connector = awc::Connector::new().timeout(timeout);
    if allow_private {
        builder.connector(connector).finish()
    } else {
        let tcp = actix_tls::connect::Connector::new(actix_tls::connect::Resolver::custom(
            super::callback::PublicOnly,
        ));
        builder
            .connector(connector.connector(tcp.service()))
            .finish()
    }
}

pub async fn post(
    client: &awc::Client,
    url: &str,
    payload: &str,
    timeout: Duration,
    now_ms: i64,
) -> Attempt {
    let send = client
        .post(url)
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .send_body(payload.to_owned());
    let exchange = async {
        let mut res = send.await.map_err(|e| e.to_string())?;
        // Read (a little of) the answer so the connection can be reused; its content is ignored.
        let _ = tokio::time::timeout(Duration::from_secs(2), res.body().limit(64 * 1024)).await;
        let retry_after = res
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now_ms));
        Ok::<_, String>((res.status(), retry_after))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => failed(None, format!("no answer within {} ms", timeout.as_millis())),
        Ok(Err(e)) => failed(None, format!("callback unreachable: {e}")),
        Ok(Ok((status, retry_after))) => classify(status, retry_after),
    }
}

fn failed(status: Option<u16>, error: String) -> Attempt {
    Attempt::Failed {
        status,
        error,
        retry_after_ms: None,
    }
}

pub fn classify(status: StatusCode, retry_after_ms: Option<i64>) -> Attempt {
    let code = status.as_u16();
    if status.is_success() {
        Attempt::Delivered(code)
    } else if code == 404 || code == 410 {
        Attempt::Gone(code)
    } else {
        Attempt::Failed {
            status: Some(code),
            error: format!("callback answered HTTP {code}"),
            retry_after_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert_eq!(
            classify(StatusCode::ACCEPTED, None),
            Attempt::Delivered(202)
        );
        assert_eq!(classify(StatusCode::GONE, None), Attempt::Gone(410));
        assert_eq!(classify(StatusCode::NOT_FOUND, None), Attempt::Gone(404));
        for s in [408u16, 429, 500, 503, 400, 302] {
            assert!(
                matches!(
                    classify(StatusCode::from_u16(s).unwrap(), None),
                    Attempt::Failed { .. }
                ),
                "{s}"
            );
        }
    }
}

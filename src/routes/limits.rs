//! Limits on what a client may send before any route sees it. Bodies are bounded where they
//! are read (`MAX_BODY` for connector calls, `MAX_EVENT_BODY` for LiveChat's deliveries); a
//! slow head is bounded by `request_head_timeout_ms`.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::error::ApiError;

/// Largest header block (names and values) a call may carry. Power Platform's calls carry a
/// few KiB; actix itself refuses heads over 128 KiB, with a bare 431 this one dresses in the
/// contract's shape for everything between.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Bytes of the request's header block as it came (name, ": ", value, CRLF per field).
pub fn header_bytes<'a>(fields: impl Iterator<Item = (&'a str, &'a [u8])>) -> usize {
    fields
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum()
}

/// 431 in the contract's shape for a header block over [`MAX_HEADER_BYTES`].
pub async fn header_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let size = header_bytes(
        req.headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes())),
    );
    if size > MAX_HEADER_BYTES {
        let err = ApiError::HeadersTooLarge(format!(
            "The request's headers are larger than {MAX_HEADER_BYTES} bytes."
        ));
        let (req, _) = req.into_parts();
        let res = ServiceResponse::new(req, err.error_response());
        return Ok(res.map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_field_as_sent() {
        let fields = [("host", &b"x"[..]), ("a", &b"bc"[..])];
        assert_eq!(header_bytes(fields.into_iter()), (4 + 1 + 4) + (1 + 2 + 4));
    }
}

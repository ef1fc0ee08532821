//! Reading a whole HTTP body with a size bound, for both directions: a webhook LiveChat sends
//! the gateway and an answer the gateway reads from LiveChat. actix's and awc's own readers
//! grow a buffer from empty and copy every chunk into it; this one keeps a body that came in
//! one chunk as it came and otherwise reserves the declared length once, so a 25 KB ticket is
//! copied once, not once per doubling.

use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// The length a message declares, when it declares one that parses.
pub fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// The whole body, at most `limit` bytes: `PayloadError::Overflow` for one declared or sent
/// larger (a declared length over the limit is refused before any byte is read).
pub async fn read<S>(
    declared: Option<usize>,
    limit: usize,
    mut chunks: S,
) -> Result<Bytes, PayloadError>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    if declared.is_some_and(|n| n > limit) {
        return Err(PayloadError::Overflow);
    }
    let Some(first) = chunks.next().await.transpose()? else {
        return Ok(Bytes::new());
    };
    let Some(mut chunk) = chunks.next().await.transpose()? else {
        return if first.len() > limit {
            Err(PayloadError::Overflow)
        } else {
            Ok(first)
        };
    };
    let expected = declared.unwrap_or(0).max(first.len() + chunk.len());
    let mut buf = BytesMut::with_capacity(expected.min(limit));
    buf.extend_from_slice(&first);
    loop {
        if buf.len() + chunk.len() > limit {
            return Err(PayloadError::Overflow);
        }
        buf.extend_from_slice(&chunk);
        match chunks.next().await.transpose()? {
            Some(next) => chunk = next,
            None => return Ok(buf.freeze()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 8 * 1024 * 1024;

    fn chunks(parts: &[&[u8]]) -> impl Stream<Item = Result<Bytes, PayloadError>> + Unpin {
        let parts: Vec<_> = parts
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p)))
            .collect();
        futures_util::stream::iter(parts)
    }

    #[actix_web::test]
    async fn a_body_is_read_whole_in_any_number_of_chunks() {
        let whole: Vec<u8> = (0..25 * 1024).map(|i| (i % 251) as u8).collect();
        for cut in [
            vec![],
            vec![whole.len()],
            vec![1, 8192],
            vec![0, 0, 3, 9000, 9001],
        ] {
            let mut parts: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for end in cut.iter().copied().chain([whole.len()]) {
                parts.push(&whole[at..end]);
                at = end;
            }
            for declared in [None, Some(whole.len()), Some(7)] {
                let got = read(declared, LIMIT, chunks(&parts)).await.unwrap();
                assert_eq!(got, whole, "cut at {cut:?}, declared {declared:?}");
            }
        }
        assert!(read(None, LIMIT, chunks(&[])).await.unwrap().is_empty());
    }

    #[actix_web::test]
    async fn a_body_over_the_limit_is_refused() {
        let half = vec![b'x'; LIMIT / 2 + 1];
        let declared = Some(LIMIT + 1);
        assert!(matches!(
            read(declared, LIMIT, chunks(&[b"{}"])).await,
            Err(PayloadError::Overflow)
        ));
        assert!(matches!(
            read(None, LIMIT, chunks(&[&half, &half])).await,
            Err(PayloadError::Overflow)
        ));
        let over = vec![b'x'; LIMIT + 1];
        assert!(matches!(
            read(None, LIMIT, chunks(&[&over])).await,
            Err(PayloadError::Overflow)
        ));
    }

    #[actix_web::test]
    async fn a_broken_body_is_an_error() {
        let broken = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"{")),
            Err(PayloadError::Incomplete(None)),
        ]);
        assert!(read(None, LIMIT, broken).await.is_err());
    }

    #[test]
    fn the_declared_length_is_read_when_it_parses() {
        let mut headers = HeaderMap::new();
        assert_eq!(declared_length(&headers), None);
        headers.insert(header::CONTENT_LENGTH, "25600".parse().unwrap());
        assert_eq!(declared_length(&headers), Some(25600));
        headers.insert(header::CONTENT_LENGTH, "many".parse().unwrap());
        assert_eq!(declared_length(&headers), None);
    }
}

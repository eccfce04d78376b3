//! Answers encoded ahead and sent as they are: JSON bytes, and their gzip for clients
//! that accept it (`Accept-Encoding`). An answer sent gzipped carries its own
//! `Content-Encoding`, which the compression layer then leaves alone; every other answer
//! is left to that layer.

use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};

use crate::lua::host::PublishedAnswer;

/// A pre-encoded JSON answer.
pub fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A JSON answer that was gzipped ahead.
pub fn gzipped_json(gz: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (header::CONTENT_ENCODING, HeaderValue::from_static("gzip")),
        ],
        gz,
    )
        .into_response()
}

/// Whether the client accepts gzip (`Accept-Encoding: gzip`, not with `q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

/// Published answers this small are left to the compression layer: gzipping them per
/// request costs less than keeping a second copy.
const GZIP_AHEAD_FROM: usize = 16 << 10;

/// Marks an answer that the compression layer sends as it is ([`compress_when`]).
#[derive(Debug, Clone, Copy)]
pub struct AsIs;

/// The compression layer's rule: tower-http's default, except for answers marked
/// [`AsIs`].
pub fn compress_when() -> impl Predicate {
    DefaultPredicate::new()
        .and(|_: StatusCode, _: Version, _: &HeaderMap, e: &Extensions| e.get::<AsIs>().is_none())
}

/// A plugin's published answer. A large one is gzipped once per publish, in the
/// background, when a client that accepts gzip first asks; until it is made such clients
/// get the plain answer (marked [`AsIs`], so the compression layer does not gzip it for
/// each of them, which for a 5 MB answer caps a route at about a hundred requests a
/// second).
pub fn published(answer: PublishedAnswer, headers: &HeaderMap) -> Response {
    if answer.body.len() < GZIP_AHEAD_FROM {
        return json_bytes(answer.body);
    }
    let made = accepts_gzip(headers)
        .then(|| answer.gzip.get_or_start(&answer.body))
        .flatten();
    match made {
        Some(gz) => gzipped_json(gz),
        None => {
            let mut plain = json_bytes(answer.body);
            plain.extensions_mut().insert(AsIs);
            plain
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            plain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("br, GZIP;q=0.5"));
        assert!(h("*"));
        assert!(!h("gzip;q=0"));
        assert!(!h("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}

//! `GET /api/logs`, `GET /api/logs/stream` (Server-Sent Events) and `DELETE /api/logs`,
//! over the process's log buffer ([`crate::logs`]). All three are admin-only (the check
//! of `PUT /api/config`).
//!
//! Unlike the reference: the stream sends every new matching record, however many arrive
//! at once (the reference sends at most the newest 100 per half second and skips the
//! rest), and wakes on each new record instead of polling; when all [`MAX_STREAMS`] slots
//! are taken the answer is a 429 with a `detail`, not a 200 whose only event is an error.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::{self, Stream};
use serde_json::{json, Value};
use tokio::time::Instant;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::encoded::json_bytes;
use super::error::{ApiError, ApiResult};
use super::guard::Admin;
use super::query::QueryParams;
use super::shapes::health::{LogRecord, Logs};
use super::shapes::{AdminRefused, OkMessage};
use crate::app::App;
use crate::logs::{self, Entry, Filter};

/// Most live streams at once.
pub const MAX_STREAMS: usize = 5;
/// A stream ends after this long (the client reconnects).
const STREAM_FOR: Duration = Duration::from_secs(600);
/// A comment line is sent when nothing else was for this long.
const PING_EVERY: Duration = Duration::from_secs(30);

/// Live streams open now.
static STREAMS: AtomicUsize = AtomicUsize::new(0);

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, clear))
        .routes(routes!(stream_logs))
}

/// `?n=200&level=&search=&since_seq=0`: filters first, then the last `n` (1..=1000).
#[utoipa::path(get, path = "/api/logs", tag = "logs", summary = "The server's recent log",
    params(
        ("n" = Option<i64>, Query, description = "How many of the newest matching records (default 200, kept within 1..1000)"),
        ("level" = Option<String>, Query, description = "Only this level (`INFO`, `WARNING`, ...; any case)"),
        ("search" = Option<String>, Query, description = "Only records whose message or logger contains this (any case)"),
        ("since_seq" = Option<i64>, Query, description = "Only records after this `_seq` (0: all)"),
    ),
    responses(
        (status = 200, description = "The records, oldest first", body = Logs),
        (status = 403, description = "Not allowed to read the log (auth.trusted_networks)"),
        (status = 422, description = "`n` or `since_seq` is not an integer"),
    ))]
async fn list(_admin: Admin, mut q: QueryParams) -> ApiResult<Response> {
    let n = q.int("n");
    let since = q.int("since_seq");
    let filter = Filter::new(q.str("level"), q.str("search"));
    q.finish()?;
    let n = n.unwrap_or(200).clamp(1, logs::MAX_RECORDS as i64) as usize;
    let since = since.unwrap_or(0).max(0) as u64;
    let (records, last_seq) = logs::buffer().query(&filter, since, Some(n));
    let mut body = b"{\"records\":".to_vec();
    body.extend_from_slice(&logs::json_list(&records));
    body.extend_from_slice(
        format!(",\"total\":{},\"last_seq\":{last_seq}}}", records.len()).as_bytes(),
    );
    Ok(json_bytes(body.into()))
}

#[utoipa::path(delete, path = "/api/logs", tag = "logs", summary = "Empty the log",
    responses(
        (status = 200, description = "Emptied", body = OkMessage),
        AdminRefused,
    ))]
async fn clear(_admin: Admin) -> Json<Value> {
    logs::buffer().clear();
    Json(json!({ "ok": true, "message": "Log buffer cleared" }))
}

/// One of the [`MAX_STREAMS`] slots, released when the stream is dropped.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        STREAMS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_STREAMS).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        STREAMS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What one live stream holds between events.
struct Tail {
    _slot: Slot,
    filter: Filter,
    last: u64,
    pending: VecDeque<Arc<Entry>>,
    until: Instant,
}

/// `?level=&search=`: new records from the moment of connection, one `data:` event each.
#[utoipa::path(get, path = "/api/logs/stream", tag = "logs", summary = "The log as it is written (Server-Sent Events)",
    description = "Every new matching record from the moment of connection, one `data:` event each (a log record as JSON), \
        a ` ping` comment every 30 s; the stream ends after 10 minutes. At most 5 streams at once.",
    params(
        ("level" = Option<String>, Query, description = "Only this level (any case)"),
        ("search" = Option<String>, Query, description = "Only records whose message or logger contains this (any case)"),
    ),
    responses(
        (status = 200, description = "An event stream of log records", content_type = "text/event-stream", body = LogRecord),
        (status = 403, description = "Not allowed to read the log (auth.trusted_networks)"),
        (status = 429, description = "All 5 stream slots are taken"),
    ))]
async fn stream_logs(_admin: Admin, q: QueryParams) -> ApiResult<Response> {
    let slot = Slot::take().ok_or_else(|| {
        ApiError::TooManyRequests(format!(
            "Too many concurrent log streams (at most {MAX_STREAMS})"
        ))
    })?;
    let tail = Tail {
        _slot: slot,
        filter: Filter::new(q.str("level"), q.str("search")),
        last: logs::buffer().last_seq(),
        pending: VecDeque::new(),
        until: Instant::now() + STREAM_FOR,
    };
    let sse =
        Sse::new(events(tail)).keep_alive(KeepAlive::new().interval(PING_EVERY).text(" ping"));
    let mut response = sse.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn events(tail: Tail) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(e) = t.pending.pop_front() {
                // The record's JSON is valid UTF-8 without newlines (serde escapes them).
                let data = String::from_utf8_lossy(&e.json).into_owned();
                return Some((Ok(Event::default().data(data)), t));
            }
            if Instant::now() >= t.until {
                return None;
            }
            let buffer = logs::buffer();
            // Registered before looking, so a record pushed in between still wakes us.
            let woken = buffer.notify.notified();
            let (new, newest) = buffer.query(&t.filter, t.last, None);
            t.last = t.last.max(newest);
            if !new.is_empty() {
                t.pending.extend(new);
                continue;
            }
            tokio::select! {
                _ = woken => {}
                _ = tokio::time::sleep_until(t.until) => {}
            }
        }
    })
}

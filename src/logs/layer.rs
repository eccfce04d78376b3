//! [`CaptureLayer`]: a `tracing_subscriber` layer that turns each event into a log record
//! of the buffer (`{_seq, timestamp, level, logger, message}`). The access log's
//! `response` event, inside the `request` span that carries `request_id`, `method` and
//! `path`, becomes a request record: message `"<METHOD> <path> - <status>"` plus
//! `request_id`, `duration_ms`, `method`, `path` and `status_code`, as the reference's
//! request records.

use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use super::redact::redact;
use super::{buffer, Entry, MAX_RECORD_BYTES};

/// Feeds [`super::buffer`]; add it to the subscriber next to the output layer.
#[derive(Debug, Default, Clone, Copy)]
pub struct CaptureLayer;

/// The fields of a `request` span, kept in its extensions.
#[derive(Debug, Default)]
struct RequestFields {
    request_id: String,
    method: String,
    path: String,
}

impl Visit for RequestFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "request_id" => self.request_id = text,
            "method" => self.method = text,
            "path" => self.path = text,
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

/// An event's message and other fields.
#[derive(Default)]
struct EventFields {
    message: String,
    rest: String,
    status: Option<u64>,
    duration_ms: Option<f64>,
}

impl Visit for EventFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "status" {
            self.status = Some(value);
        }
        self.record_debug(field, &value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "duration_ms" {
            self.duration_ms = Some(value);
        }
        self.record_debug(field, &value);
    }
}

/// Python's level names, which the frontend colours by.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// `text` cut to at most `max` bytes at a character boundary, marked when cut.
fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" [truncated]");
    }
    text
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != "request" {
            return;
        }
        let mut fields = RequestFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let logger = meta.target().replace("::", ".");
        let level = level_name(meta.level());
        let timestamp = iso8601(SystemTime::now());
        // The access log's line: a request record.
        let request = match (fields.message.as_str(), fields.status) {
            ("response", Some(status)) => ctx.event_scope(event).and_then(|scope| {
                scope.from_root().find_map(|span| {
                    let ext = span.extensions();
                    ext.get::<RequestFields>().map(|r| {
                        (
                            r.request_id.clone(),
                            r.method.clone(),
                            redact(&r.path).into_owned(),
                            status,
                        )
                    })
                })
            }),
            _ => None,
        };
        let (message, json) = match request {
            Some((request_id, method, path, status)) => {
                let message = format!("{method} {path} - {status}");
                let json = json!({
                    "_seq": 0, "timestamp": timestamp, "level": level, "logger": logger,
                    "message": message, "request_id": request_id,
                    "duration_ms": fields.duration_ms.unwrap_or(0.0),
                    "method": method, "path": path, "status_code": status,
                });
                (message, json)
            }
            None => {
                let text = cap(fields.message + &fields.rest, MAX_RECORD_BYTES);
                let message = redact(&text).into_owned();
                let json = json!({
                    "_seq": 0, "timestamp": timestamp, "level": level, "logger": logger,
                    "message": message,
                });
                (message, json)
            }
        };
        buffer().push(|seq| {
            let mut json = json;
            json["_seq"] = json!(seq);
            Entry {
                seq,
                level,
                logger,
                message,
                json: Bytes::from(serde_json::to_vec(&json).unwrap_or_default()),
            }
        });
    }
}

/// `2026-05-12T21:02:07.123456+00:00` (UTC, microseconds).
pub fn iso8601(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000000+00:00");
        let t = UNIX_EPOCH + Duration::from_micros(1_778_619_727_123_456);
        assert_eq!(iso8601(t), "2026-05-12T21:02:07.123456+00:00");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&iso8601(leap)[..10], "2000-02-29");
    }

    #[test]
    fn cap_cuts_at_a_char_boundary() {
        assert_eq!(cap("héllo".into(), 2), "h [truncated]");
        assert_eq!(cap("abc".into(), 3), "abc");
    }
}

//! `rackscope.publish(path, body, ttl_seconds)` and `rackscope.unpublish([path])`: answers
//! a plugin computes ahead, which the host then serves for `GET path` without calling the
//! plugin at all.
//!
//! A route whose answer changes only when the plugin recomputes its data (a summary
//! refreshed from Prometheus every 30 s) still costs a hop to the plugin's thread and a
//! Lua call per request, and waits behind whatever that thread is doing (a refresh of
//! 14,000 nodes). Publishing the answer puts it beside the route: until it expires, a
//! `GET` (or `HEAD`) of exactly `path` (query string included, as sent) is answered 200
//! with that body by the server itself, auth gate and all, like a native route. After
//! `ttl_seconds`, or once unpublished, requests reach the handler again, which can
//! recompute and publish anew. Published answers belong to the plugin instance: a reload
//! starts with none.

use std::rc::Rc;
use std::time::Duration;

// Tokio's clock, which is the system's in the server and the test's paused one under a
// test host, so answers expire when a test advances its clock.
use tokio::time::Instant;

use bytes::Bytes;
use mlua::{Lua, Table, Value};

use super::support::{arg_number, arg_string};
use crate::lua::convert::RawJson;
use crate::lua::errors;
use crate::lua::host::{HostCtx, PublishedAnswer};

/// Most answers one plugin instance may publish at a time.
pub const MAX_ANSWERS: usize = 10_000;

/// Longest time an answer may stay published.
const MAX_TTL: f64 = 86_400.0;

pub fn register(lua: &Lua, root: &Table, ctx: &Rc<HostCtx>) -> mlua::Result<()> {
    root.set("publish", lua.create_function(publish(ctx.clone()))?)?;
    root.set("unpublish", lua.create_function(unpublish(ctx.clone()))?)?;
    Ok(())
}

/// `rackscope.publish(path, body, ttl_seconds)`.
fn publish(c: Rc<HostCtx>) -> impl Fn(&Lua, (Value, Value, Value)) -> mlua::Result<()> {
    move |lua, (path, body, ttl)| {
        const F: &str = "rackscope.publish";
        let path = arg_string(lua, F, 1, &path)?;
        if !path.starts_with('/') || path.len() > 2048 {
            return Err(errors::bad_argument(
                lua,
                F,
                1,
                format!("expected a request path like /api/x or /api/x?a=b, got '{path}'"),
            ));
        }
        let ttl = arg_number(lua, F, 3, &ttl)?;
        if !(ttl.is_finite() && ttl > 0.0 && ttl <= MAX_TTL) {
            return Err(errors::bad_argument(
                lua,
                F,
                3,
                format!("ttl must be 0 < ttl <= {MAX_TTL} seconds, got {ttl}"),
            ));
        }
        let body = match RawJson::from_value(&body) {
            Some(bytes) => bytes,
            None => serde_json::to_vec(&body)
                .map(Bytes::from)
                .map_err(|e| errors::bad_argument(lua, F, 2, e))?,
        };
        let mut answers = c.published.write();
        if answers.len() >= MAX_ANSWERS && !answers.contains_key(&path) {
            let now = Instant::now();
            answers.retain(|_, a| a.expires > now);
            if answers.len() >= MAX_ANSWERS {
                return Err(errors::misuse(
                    lua,
                    format!("{F}: at most {MAX_ANSWERS} answers may be published at a time"),
                ));
            }
        }
        answers.insert(
            path,
            PublishedAnswer {
                body,
                gzip: Default::default(),
                expires: Instant::now() + Duration::from_secs_f64(ttl),
            },
        );
        Ok(())
    }
}

/// `rackscope.unpublish([path])`: one answer, or all of them.
fn unpublish(c: Rc<HostCtx>) -> impl Fn(&Lua, Value) -> mlua::Result<()> {
    move |lua, path| {
        match path {
            Value::Nil => c.published.write().clear(),
            other => {
                let path = arg_string(lua, "rackscope.unpublish", 1, &other)?;
                c.published.write().remove(&path);
            }
        }
        Ok(())
    }
}

/// The answer published for `path` (with its query string), if it has not expired.
pub fn lookup(
    answers: &crate::lua::host::Published,
    path: &str,
    query: Option<&str>,
) -> Option<PublishedAnswer> {
    let answers = answers.read();
    if answers.is_empty() {
        return None;
    }
    let found = match query {
        Some(q) => answers.get(&format!("{path}?{q}")),
        None => answers.get(path),
    };
    found.filter(|a| a.expires > Instant::now()).cloned()
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use super::lookup;

    #[tokio::test]
    async fn publish_lookup_expire_and_unpublish() {
        let h = TestHost::new(&[super::super::json::register, super::register]);
        h.eval::<()>(
            r#"rackscope.publish("/api/p/summary", { total = 3 }, 30)
               rackscope.publish("/api/p/summary?room_id=r1", rackscope.json.raw({ total = 1 }), 30)
               rackscope.publish("/api/p/gone", {}, 0.001)"#,
        )
        .unwrap();
        let p = &h.ctx.published;
        let body = lookup(p, "/api/p/summary", None).unwrap().body;
        assert_eq!(&body[..], br#"{"total":3}"#);
        let body = lookup(p, "/api/p/summary", Some("room_id=r1"))
            .unwrap()
            .body;
        assert_eq!(&body[..], br#"{"total":1}"#);
        assert!(lookup(p, "/api/p/summary", Some("room_id=r2")).is_none());
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(lookup(p, "/api/p/gone", None).is_none(), "expired");
        h.eval::<()>("rackscope.unpublish('/api/p/summary')")
            .unwrap();
        assert!(lookup(p, "/api/p/summary", None).is_none());
        h.eval::<()>("rackscope.unpublish()").unwrap();
        assert!(p.read().is_empty());
        for (src, want) in [
            (
                "rackscope.publish('api/x', {}, 1)",
                "expected a request path",
            ),
            ("rackscope.publish('/api/x', {}, 0)", "ttl must be"),
            (
                "rackscope.publish('/api/x', {}, nil)",
                "(number expected, got nil)",
            ),
            (
                "rackscope.publish('/api/x', { f = print }, 1)",
                "bad argument #2",
            ),
        ] {
            let err = h.error(src);
            assert!(err.contains(want), "{src}: {err}");
        }
    }
}

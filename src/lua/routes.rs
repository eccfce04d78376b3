//! Plugin route patterns: `/api/hello/{name}` style paths, matched segment by segment.
//! Plugin routes are absolute (D2) and may not shadow core routes.

use std::collections::BTreeMap;

/// Methods a plugin route may use.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// Core path prefixes no plugin may register under.
const CORE_PREFIXES: [&str; 18] = [
    "/api/config",
    "/api/env",
    "/api/system",
    "/api/plugins",
    "/api/auth",
    // The read views, the logs, health and maintenances.
    "/api/sites",
    "/api/rooms",
    "/api/racks",
    "/api/devices",
    "/api/catalog",
    "/api/checks",
    "/api/metrics",
    "/api/logs",
    "/api/alerts",
    "/api/stats",
    "/api/maintenances",
    // The API description and its page.
    "/api/openapi.json",
    "/api/docs",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// Why a route path was refused: the message is for the plugin author, who gets it at
/// their `rackscope.route` call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RouteError(pub String);

/// A parsed route path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    segments: Vec<Segment>,
}

impl PathPattern {
    /// Parses `/a/{b}/c`. Errors name what is wrong, for the plugin author.
    pub fn parse(raw: &str) -> Result<PathPattern, RouteError> {
        if !raw.starts_with('/') {
            return Err(RouteError(format!(
                "route path must start with '/', got '{raw}'"
            )));
        }
        if raw == "/healthz"
            || CORE_PREFIXES
                .iter()
                .any(|p| raw == *p || raw.starts_with(&format!("{p}/")))
        {
            return Err(RouteError(format!(
                "route path '{raw}' would shadow a core route"
            )));
        }
        let mut segments = Vec::new();
        let mut seen = Vec::new();
        for part in raw.trim_start_matches('/').split('/') {
            if part.is_empty() && raw != "/" {
                return Err(RouteError(format!(
                    "route path '{raw}' has an empty segment"
                )));
            }
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(RouteError(format!(
                        "bad parameter '{part}' in route path '{raw}'"
                    )));
                }
                if seen.contains(&name) {
                    return Err(RouteError(format!(
                        "parameter '{name}' appears twice in route path '{raw}'"
                    )));
                }
                seen.push(name);
                segments.push(Segment::Param(name.to_string()));
            } else if part.contains('{') || part.contains('}') {
                return Err(RouteError(format!("bad segment '{part}' in route path '{raw}': use '{{name}}' for a whole segment")));
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        Ok(PathPattern {
            raw: raw.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The names of the path's parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Matches `path`, returning the parameters (percent-decoded).
    pub fn matches(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let mut params = BTreeMap::new();
        let mut parts = path.trim_start_matches('/').split('/');
        for seg in &self.segments {
            let part = parts.next()?;
            match seg {
                Segment::Literal(l) => {
                    if l != part {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    if part.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(part));
                }
            }
        }
        if parts.next().is_some() {
            return None;
        }
        Some(params)
    }

    /// True when some path matches both patterns (so two plugins would collide).
    pub fn overlaps(&self, other: &PathPattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| match (a, b) {
                    (Segment::Literal(x), Segment::Literal(y)) => x == y,
                    _ => true,
                })
    }

    /// Literal segments first: `/a/b` outranks `/a/{x}` when both match.
    pub fn specificity(&self) -> Vec<u8> {
        self.segments
            .iter()
            .map(|s| matches!(s, Segment::Literal(_)) as u8)
            .collect()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let p = PathPattern::parse("/api/hello/{name}").unwrap();
        let m = p.matches("/api/hello/bob").unwrap();
        assert_eq!(m["name"], "bob");
        assert_eq!(p.matches("/api/hello/a%20b").unwrap()["name"], "a b");
        assert!(p.matches("/api/hello").is_none());
        assert!(p.matches("/api/hello/bob/x").is_none());
        assert!(p.matches("/api/hello/").is_none());
    }

    #[test]
    fn refuses_bad_and_core_paths() {
        for bad in [
            "api/x",
            "/api/config",
            "/api/plugins/x",
            "/api/auth/login",
            "/healthz",
            "/api/x/{}",
            "/api/{a}/{a}",
            "/api//x",
            "/api/x{y}",
        ] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
        assert!(PathPattern::parse("/api/configuration").is_ok());
    }

    #[test]
    fn overlap_and_specificity() {
        let a = PathPattern::parse("/api/s/{id}").unwrap();
        let b = PathPattern::parse("/api/s/summary").unwrap();
        let c = PathPattern::parse("/api/t/{id}").unwrap();
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
        assert!(b.specificity() > a.specificity());
    }
}

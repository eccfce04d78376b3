//! The admin check (docs/architecture.md, compatibility C5) that every state-changing route passes: with auth on, an
//! authenticated user; with auth off, a client address inside `auth.trusted_networks` when
//! that list is set.
//!
//! The client address is the socket peer, unless that peer is one of
//! `auth.trusted_proxies`: then the `X-Forwarded-For` chain is read from the right, and
//! the first address that is not a trusted proxy is the client (each proxy appends the
//! address it received from, so entries left of it could be forged by the client).
//! Never by default: with no trusted proxy, forwarding headers are ignored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use super::error::ApiError;
use super::AppState;

pub const TRUSTED_NETWORKS_DENIED: &str = "Access denied: your IP is not in auth.trusted_networks. Enable auth.enabled=true or add your IP/CIDR to the trusted list.";

/// Extractor that passes only admins. Put it before the body extractor so the check runs
/// before body validation, as clients of the reference expect (403 before 422).
pub struct Admin;

impl<S> FromRequestParts<S> for Admin
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let snapshot = AppState::from_ref(state).snapshot();
        let auth = &snapshot.config.auth;
        if auth.enabled {
            // The global gate has already verified the token when auth is on.
            return match parts.extensions.get::<crate::auth::gate::AuthUser>() {
                Some(_) => Ok(Admin),
                None => Err(ApiError::Unauthorized("Not authenticated".into())),
            };
        }
        if auth.trusted_networks.is_empty() {
            return Ok(Admin);
        }
        let peer = client_ip(parts, &auth.trusted_proxies);
        match peer {
            Some(ip) if ip_trusted(ip, &auth.trusted_networks) => Ok(Admin),
            _ => Err(ApiError::Forbidden(TRUSTED_NETWORKS_DENIED.into())),
        }
    }
}

/// The client's address: the socket peer, or when the peer is a trusted proxy, the
/// rightmost `X-Forwarded-For` address that is not one. `None` without connect info, and
/// when the chain cannot be read back to an untrusted hop (an entry that is not an
/// address, with or without a port): then the client is unknown, never the proxy, so it
/// passes no trusted-network check.
pub fn client_ip(parts: &Parts, trusted_proxies: &[String]) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| canonical(ci.0.ip()))?;
    if trusted_proxies.is_empty() || !ip_trusted(peer, trusted_proxies) {
        return Some(peer);
    }
    let chain: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut leftmost = None;
    for entry in chain.iter().rev() {
        let ip = forwarded_address(entry)?;
        if !ip_trusted(ip, trusted_proxies) {
            return Some(ip);
        }
        leftmost = Some(ip);
    }
    // Every hop is a trusted proxy (or there is no header): the first one is the client.
    Some(leftmost.unwrap_or(peer))
}

/// An `X-Forwarded-For` entry: an address, `ip:port` or `[v6]:port`.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) compare as their IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// True when `ip` lies in any entry: a CIDR (host bits allowed) or a bare address.
/// Invalid entries are skipped.
pub fn ip_trusted(ip: IpAddr, networks: &[String]) -> bool {
    networks.iter().any(|entry| {
        let entry = entry.trim();
        if let Ok(net) = entry.parse::<IpNet>() {
            return net.trunc().contains(&ip);
        }
        entry.parse::<IpAddr>().map(canonical) == Ok(ip)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ip: &str, nets: &[&str]) -> bool {
        let nets: Vec<String> = nets.iter().map(|s| s.to_string()).collect();
        ip_trusted(ip.parse().unwrap(), &nets)
    }

    #[test]
    fn trusted_network_matrix() {
        assert!(t("127.0.0.1", &["127.0.0.1"]));
        assert!(t("127.0.0.1", &["127.0.0.0/8"]));
        assert!(t("127.0.0.1", &["not-valid-cidr", "127.0.0.0/8"]));
        assert!(t("127.0.0.1", &["127.0.0.1", "192.168.0.0/16"]));
        assert!(!t("127.0.0.1", &["not-valid-cidr"]));
        assert!(!t("127.0.0.1", &["10.0.0.0/24"]));
        assert!(t("172.17.0.1", &["172.16.0.0/12"]));
        assert!(!t("10.0.1.1", &["10.0.0.0/24"]));
        assert!(t("10.1.2.3", &["10.0.0.5/8"]));
        assert!(t("::1", &["::1"]));
        assert!(!t("127.0.0.1", &[""]));
    }

    fn client(peer: &str, xff: &[&str], proxies: &[&str]) -> Option<IpAddr> {
        let mut req = axum::http::Request::builder();
        for h in xff {
            req = req.header("x-forwarded-for", *h);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        let peer: SocketAddr = format!("{peer}:1234").parse().unwrap();
        parts.extensions.insert(ConnectInfo(peer));
        let proxies: Vec<String> = proxies.iter().map(|s| s.to_string()).collect();
        client_ip(&parts, &proxies)
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // No trusted proxy (the default): the header is ignored.
        assert_eq!(client("127.0.0.1", &["10.0.0.1"], &[]), ip("127.0.0.1"));
        // A trusted proxy: the rightmost address that is not a proxy.
        assert_eq!(
            client("127.0.0.1", &["10.0.0.1"], &["127.0.0.1"]),
            ip("10.0.0.1")
        );
        assert_eq!(
            client(
                "127.0.0.1",
                &["6.6.6.6, 10.0.0.1", "192.168.1.5"],
                &["127.0.0.1", "192.168.0.0/16"]
            ),
            ip("10.0.0.1"),
            "the forged left part is not believed"
        );
        // Every hop a proxy: the leftmost one; no header: the peer; garbage: the peer.
        assert_eq!(
            client(
                "127.0.0.1",
                &["192.168.1.5"],
                &["127.0.0.1", "192.168.0.0/16"]
            ),
            ip("192.168.1.5")
        );
        assert_eq!(client("127.0.0.1", &[], &["127.0.0.1"]), ip("127.0.0.1"));
        // Ports are allowed; an unreadable hop makes the client unknown, never the proxy
        // (a client that writes `X-Forwarded-For: x` must not pass as 127.0.0.1).
        assert_eq!(
            client("127.0.0.1", &["10.0.0.1:5000"], &["127.0.0.1"]),
            ip("10.0.0.1")
        );
        assert_eq!(
            client("127.0.0.1", &["[2001:db8::1]:443"], &["127.0.0.1"]),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("127.0.0.1", &["x, 6.6.6.6"], &["127.0.0.1"]),
            ip("6.6.6.6")
        );
        assert_eq!(client("127.0.0.1", &["6.6.6.6, x"], &["127.0.0.1"]), None);
        assert_eq!(client("127.0.0.1", &["x"], &["127.0.0.1"]), None);
        // A peer that is not a trusted proxy cannot forward anything.
        assert_eq!(
            client("10.9.9.9", &["10.0.0.1"], &["127.0.0.1"]),
            ip("10.9.9.9")
        );
    }
}

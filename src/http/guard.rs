//! The admin check (docs/architecture.md, compatibility C5) that every state-changing route passes: with auth on, an
//! authenticated user; with auth off, a client address inside `auth.trusted_networks` when
//! that list is set. The client address is the socket peer; forwarding headers are not
//! trusted.

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
        let peer = client_ip(parts);
        match peer {
            Some(ip) if ip_trusted(ip, &auth.trusted_networks) => Ok(Admin),
            _ => Err(ApiError::Forbidden(TRUSTED_NETWORKS_DENIED.into())),
        }
    }
}

/// The socket peer's address, when the server was started with connect info.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| canonical(ci.0.ip()))
}

/// IPv4-mapped IPv6 runtime (`::ffff:127.0.0.1`) compare as their IPv4 address.
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
}

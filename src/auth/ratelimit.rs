//! The login rate limit: at most [`MAX_ATTEMPTS`] attempts per (username, client address)
//! pair in a sliding [`WINDOW`]; a successful login clears its pair.
//!
//! Counting per pair, not per username alone as the reference does, means nobody can lock
//! the real admin out from another address, and a success resets the count instead of
//! being counted against the user.
//!
//! Memory is bounded: an address keeps at most [`MAX_ATTEMPTS_PER_ADDRESS`] attempts in
//! the window across all usernames (more are refused like any other excess, which also
//! stops one address from spraying usernames), and at most [`MAX_ADDRESSES`] addresses
//! are tracked; past that, the address idle the longest is forgotten.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Attempts allowed per (username, address) pair in the window.
pub const MAX_ATTEMPTS: usize = 10;
/// The sliding window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Attempts allowed per address in the window, all usernames together.
pub const MAX_ATTEMPTS_PER_ADDRESS: usize = 100;
/// Addresses tracked at once.
pub const MAX_ADDRESSES: usize = 10_000;
/// Usernames are compared on at most this many bytes (longer ones share a counter).
const MAX_KEY_BYTES: usize = 256;

/// The 429 message.
pub const TOO_MANY_ATTEMPTS: &str = "Too many login attempts. Try again in 15 minutes.";

/// Login attempts by address, then by username.
#[derive(Default)]
pub struct LoginLimiter {
    /// A sync mutex: every critical section is short, in-memory and never awaits.
    by_address: Mutex<HashMap<IpAddr, AddressEntry>>,
}

#[derive(Default)]
struct AddressEntry {
    /// Username -> attempt times within the window, oldest first.
    users: HashMap<String, Vec<Instant>>,
    last_seen: Option<Instant>,
}

impl AddressEntry {
    fn prune(&mut self, now: Instant) {
        self.users.retain(|_, times| {
            times.retain(|t| now.saturating_duration_since(*t) < WINDOW);
            !times.is_empty()
        });
    }

    fn total(&self) -> usize {
        self.users.values().map(Vec::len).sum()
    }
}

impl LoginLimiter {
    pub fn new() -> LoginLimiter {
        LoginLimiter::default()
    }

    /// Records an attempt for (`username`, `addr`) at `now`, or refuses it (returns false,
    /// recording nothing) when the pair or the address is over its limit. `addr` is `None`
    /// when the peer address is unknown; such attempts share one counter.
    pub fn try_attempt(&self, username: &str, addr: Option<IpAddr>, now: Instant) -> bool {
        let addr = address_key(addr);
        let key = truncate(username);
        let mut map = self.by_address.lock();
        if !map.contains_key(&addr) && map.len() >= MAX_ADDRESSES {
            evict(&mut map, now);
        }
        let entry = map.entry(addr).or_default();
        entry.prune(now);
        entry.last_seen = Some(now);
        let pair = entry.users.get(key).map_or(0, Vec::len);
        if pair >= MAX_ATTEMPTS || entry.total() >= MAX_ATTEMPTS_PER_ADDRESS {
            return false;
        }
        entry.users.entry(key.to_string()).or_default().push(now);
        true
    }

    /// A successful login: forgets the attempts of this pair.
    pub fn succeeded(&self, username: &str, addr: Option<IpAddr>) {
        let addr = address_key(addr);
        let mut map = self.by_address.lock();
        if let Some(entry) = map.get_mut(&addr) {
            entry.users.remove(truncate(username));
            if entry.users.is_empty() {
                map.remove(&addr);
            }
        }
    }

    /// Number of addresses currently tracked (for tests and diagnostics).
    pub fn tracked_addresses(&self) -> usize {
        self.by_address.lock().len()
    }
}

/// Drops every address with no attempt left in the window; if none, the one idle longest.
fn evict(map: &mut HashMap<IpAddr, AddressEntry>, now: Instant) {
    map.retain(|_, e| {
        e.prune(now);
        !e.users.is_empty()
    });
    if map.len() < MAX_ADDRESSES {
        return;
    }
    let oldest = map
        .iter()
        .min_by_key(|(_, e)| e.last_seen)
        .map(|(addr, _)| *addr);
    if let Some(addr) = oldest {
        map.remove(&addr);
    }
}

/// The counter an address belongs to: IPv4 addresses (also IPv4-mapped IPv6) count one by
/// one; IPv6 addresses by their /64, the block one host usually holds whole.
fn address_key(addr: Option<IpAddr>) -> IpAddr {
    match addr {
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(v4)) => IpAddr::V4(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

fn truncate(username: &str) -> &str {
    if username.len() <= MAX_KEY_BYTES {
        return username;
    }
    let mut end = MAX_KEY_BYTES;
    while !username.is_char_boundary(end) {
        end -= 1;
    }
    &username[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn ten_attempts_per_pair_then_refused_without_counting() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(l.try_attempt("admin", ip("10.0.0.1"), t0 + Duration::from_secs(i)));
        }
        assert!(!l.try_attempt("admin", ip("10.0.0.1"), t0 + Duration::from_secs(20)));
        // Another username, or the same one from another address, is unaffected.
        assert!(l.try_attempt("bob", ip("10.0.0.1"), t0 + Duration::from_secs(21)));
        assert!(l.try_attempt("admin", ip("10.0.0.2"), t0 + Duration::from_secs(21)));
        // The window slides: the first attempt leaves it 900 s later.
        assert!(!l.try_attempt("admin", ip("10.0.0.1"), t0 + Duration::from_secs(899)));
        assert!(l.try_attempt("admin", ip("10.0.0.1"), t0 + Duration::from_secs(900)));
        assert!(!l.try_attempt("admin", ip("10.0.0.1"), t0 + Duration::from_secs(900)));
    }

    #[test]
    fn success_clears_the_pair_only() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for _ in 0..9 {
            assert!(l.try_attempt("admin", ip("10.0.0.1"), t0));
            assert!(l.try_attempt("bob", ip("10.0.0.1"), t0));
        }
        l.succeeded("admin", ip("10.0.0.1"));
        for _ in 0..10 {
            assert!(l.try_attempt("admin", ip("10.0.0.1"), t0));
        }
        assert!(l.try_attempt("bob", ip("10.0.0.1"), t0));
        assert!(!l.try_attempt("bob", ip("10.0.0.1"), t0));
    }

    #[test]
    fn one_address_cannot_spray_usernames() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..MAX_ATTEMPTS_PER_ADDRESS {
            assert!(l.try_attempt(&format!("user{i}"), ip("10.0.0.9"), t0));
        }
        assert!(!l.try_attempt("fresh", ip("10.0.0.9"), t0));
        assert!(l.try_attempt("fresh", ip("10.0.0.8"), t0));
    }

    #[test]
    fn memory_is_bounded() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 50) {
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            assert!(l.try_attempt("admin", Some(addr), t0 + Duration::from_millis(i.into())));
        }
        assert!(l.tracked_addresses() <= MAX_ADDRESSES);
        // Long usernames share a bounded key.
        let long = "x".repeat(10_000);
        assert!(l.try_attempt(&long, ip("10.1.0.1"), t0));
        assert_eq!(truncate(&long).len(), MAX_KEY_BYTES);
        assert_eq!(truncate(&"é".repeat(200)).len(), 256);
    }

    #[test]
    fn ipv6_counts_per_64_block() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(l.try_attempt("admin", ip(&format!("2001:db8::{i:x}")), t0));
        }
        assert!(!l.try_attempt("admin", ip("2001:db8::ffff:1"), t0));
        assert!(l.try_attempt("admin", ip("2001:db8:0:1::1"), t0));
        assert_eq!(
            address_key(ip("::ffff:10.0.0.1")),
            "10.0.0.1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn unknown_addresses_share_a_counter() {
        let l = LoginLimiter::new();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(l.try_attempt("admin", None, t0));
        }
        assert!(!l.try_attempt("admin", None, t0));
        l.succeeded("admin", None);
        assert!(l.try_attempt("admin", None, t0));
    }
}

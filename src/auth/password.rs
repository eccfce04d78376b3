//! Passwords: the policy of `auth.policy` (docs/architecture.md, compatibility C6), bcrypt's 72-byte limit, and
//! bcrypt hashing and verification run on the blocking pool (a cost-13 hash takes a good
//! fraction of a second and must not stall the async workers).

use crate::config::PasswordPolicy;

/// The bcrypt cost of new hashes (`$2b$13$`, as the reference writes them).
pub const BCRYPT_COST: u32 = 13;

/// bcrypt only reads this many bytes of a password; longer ones are refused, never cut.
pub const MAX_PASSWORD_BYTES: usize = 72;

/// Characters that satisfy `require_symbol`.
pub const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|;:'\",.<>?/\\`~";

/// Why a new password was refused. The messages are the contract's (422 detail strings).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("Password must be at least {0} characters")]
    TooShort(i64),
    #[error("Password must be at most {0} characters")]
    TooLong(i64),
    #[error("Password must contain at least one digit (0\u{2013}9)")]
    NoDigit,
    #[error("Password must contain at least one symbol (!@#$\u{2026})")]
    NoSymbol,
    #[error("Password must be at most 72 bytes (bcrypt limit)")]
    TooManyBytes,
}

/// Hashing failed: the OS gave no randomness for the salt, or the worker died.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Checks a new password: the policy rules in order (lengths in Unicode code points),
/// then bcrypt's byte limit. The first failure wins.
pub fn check_new(password: &str, policy: &PasswordPolicy) -> Result<(), PolicyError> {
    let chars = i64::try_from(password.chars().count()).unwrap_or(i64::MAX);
    if chars < policy.min_length {
        return Err(PolicyError::TooShort(policy.min_length));
    }
    if chars > policy.max_length {
        return Err(PolicyError::TooLong(policy.max_length));
    }
    if policy.require_digit && !password.chars().any(char::is_numeric) {
        return Err(PolicyError::NoDigit);
    }
    if policy.require_symbol && !password.chars().any(|c| SYMBOLS.contains(c)) {
        return Err(PolicyError::NoSymbol);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PolicyError::TooManyBytes);
    }
    Ok(())
}

/// Hashes `password` with [`BCRYPT_COST`] (blocking; see [`hash_async`]). The caller has
/// checked the byte limit, so nothing is silently truncated.
pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    bcrypt::hash(password, BCRYPT_COST).map_err(|e| HashError(e.to_string()))
}

/// [`hash_blocking`] on the blocking pool.
pub async fn hash_async(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

/// True when `password` matches the bcrypt `hash` (`$2a$`, `$2b$` or `$2y$`, any cost).
/// An empty or malformed hash, or a password over 72 bytes, never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    if hash.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// [`verify_blocking`] on the blocking pool; a failed worker counts as no match.
pub async fn verify_async(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &hash))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(min: i64, max: i64, digit: bool, symbol: bool) -> PasswordPolicy {
        PasswordPolicy {
            min_length: min,
            max_length: max,
            require_digit: digit,
            require_symbol: symbol,
        }
    }

    #[test]
    fn policy_rules_in_order_with_the_contract_messages() {
        let p = policy(6, 20, false, false);
        assert_eq!(
            check_new("abc", &p).unwrap_err().to_string(),
            "Password must be at least 6 characters"
        );
        assert_eq!(
            check_new(&"a".repeat(25), &p).unwrap_err().to_string(),
            "Password must be at most 20 characters"
        );
        assert!(check_new("123456", &p).is_ok());
        assert!(check_new(&"a".repeat(20), &p).is_ok());

        let p = policy(6, 128, true, false);
        assert_eq!(
            check_new("nodigits", &p).unwrap_err().to_string(),
            "Password must contain at least one digit (0–9)"
        );
        assert!(check_new("pass1word", &p).is_ok());

        let p = policy(6, 128, false, true);
        assert_eq!(
            check_new("nosymbol", &p).unwrap_err().to_string(),
            "Password must contain at least one symbol (!@#$…)"
        );
        assert!(check_new("has!symbol", &p).is_ok());

        let p = policy(8, 30, true, true);
        assert!(check_new("Pass123!word", &p).is_ok());
        assert_eq!(check_new("Password!", &p), Err(PolicyError::NoDigit));
        assert_eq!(check_new("Password1", &p), Err(PolicyError::NoSymbol));
        // Too short wins over the missing digit.
        assert_eq!(check_new("ab", &p), Err(PolicyError::TooShort(8)));
    }

    #[test]
    fn lengths_count_code_points_and_bytes_are_capped_at_72() {
        let p = policy(6, 128, false, false);
        // Six code points, twelve bytes.
        assert!(check_new("éééééé", &p).is_ok());
        assert!(check_new(&"a".repeat(72), &p).is_ok());
        assert_eq!(
            check_new(&"a".repeat(73), &p).unwrap_err().to_string(),
            "Password must be at most 72 bytes (bcrypt limit)"
        );
        // 40 code points but 80 bytes.
        assert_eq!(
            check_new(&"é".repeat(40), &p),
            Err(PolicyError::TooManyBytes)
        );
    }

    #[test]
    fn verify_accepts_any_cost_and_prefix_and_refuses_junk() {
        let h = bcrypt::hash("secret-pw", 4).unwrap();
        assert!(h.starts_with("$2b$04$"));
        assert!(verify_blocking("secret-pw", &h));
        assert!(!verify_blocking("other", &h));
        let h2y = h.replacen("$2b$", "$2y$", 1);
        assert!(verify_blocking("secret-pw", &h2y));
        let h2a = h.replacen("$2b$", "$2a$", 1);
        assert!(verify_blocking("secret-pw", &h2a));
        assert!(!verify_blocking("secret-pw", ""));
        assert!(!verify_blocking("secret-pw", "not-a-hash"));
        assert!(!verify_blocking(&"a".repeat(73), &h));
    }
}

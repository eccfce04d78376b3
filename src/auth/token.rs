//! Session tokens: HS256 JWTs, signed and verified by the `jsonwebtoken` crate.
//!
//! A token carries `sub` (the username), `iat`, `exp` (omitted for `unlimited` sessions)
//! and `cred`, a short keyed hash of the current username and password hash. A token is
//! valid only while all of these still hold:
//!
//! - the header's `alg` is exactly `"HS256"` (`none`, `HS512` and the rest are refused) and
//!   it names no critical extension (`crit`);
//! - the signature verifies under `auth.secret_key`, or the per-process random key when
//!   that is empty;
//! - `exp`, `nbf` and `iat`, when present, are integers and `exp`/`nbf` hold now (no leeway,
//!   checked here against the caller's clock, not the crate's);
//!   `exp` is required while the configured session duration is finite;
//! - `sub` equals the configured username;
//! - `cred` matches the current credentials (compared in constant time), so changing the
//!   password or the username ends every session issued before the change.

use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::config::Auth;

type HmacSha256 = Hmac<Sha256>;

/// Tokens longer than this are refused without being decoded.
const MAX_TOKEN_LEN: usize = 4096;

/// Domain separation for the credential binding, so it can never collide with a signature.
const CRED_CONTEXT: &[u8] = b"rackscope credential binding v1";

/// Bytes of the credential binding kept in the `cred` claim.
const CRED_LEN: usize = 16;

/// Why a token was refused. The gate answers every variant with the same 401; the variant
/// is only logged (at debug level), and never together with the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm is not HS256")]
    Algorithm,
    #[error("token signature does not verify")]
    Signature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token has no expiry but sessions are limited")]
    MissingExpiry,
    #[error("token was issued for another user")]
    Subject,
    #[error("token predates a credential change")]
    Credentials,
}

/// A freshly signed token and its lifetime in seconds (`None`: it never expires).
#[derive(Debug, Clone)]
pub struct Issued {
    pub token: String,
    pub expires_in: Option<u64>,
}

/// The claims we write and read. Time claims are integers; anything else fails decoding.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cred: Option<String>,
}

/// Token lifetime for `auth.session_duration`: 8 h, 24 h, or `None` for "unlimited".
/// Validation only admits these three; anything else falls back to the 24 h default.
pub fn session_seconds(session_duration: &str) -> Option<u64> {
    match session_duration {
        "8h" => Some(8 * 3600),
        "unlimited" => None,
        _ => Some(24 * 3600),
    }
}

/// Signs a token for the configured user, valid from `now` (unix seconds).
pub fn issue(auth: &Auth, now: u64) -> Issued {
    let expires_in = session_seconds(&auth.session_duration);
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let claims = Claims {
        sub: Some(auth.username.clone()),
        iat: Some(now),
        exp: expires_in.map(|secs| now.saturating_add(secs as i64)),
        nbf: None,
        cred: Some(URL_SAFE_NO_PAD.encode(credential_binding(auth))),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&signing_key(auth)),
    )
    // Cannot fail: HS256 with a secret key of any length, claims that serialise as JSON.
    .unwrap_or_else(|e| unreachable!("HS256 signing failed: {e}"));
    Issued { token, expires_in }
}

/// Checks `token` against the current `auth` config at `now` (unix seconds) and returns
/// the username it authenticates.
pub fn verify(token: &str, auth: &Auth, now: u64) -> Result<String, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    check_header(token)?;
    // The crate checks the shape, the algorithm and the signature, and decodes the claims;
    // time, subject and credentials are checked below against `now` and the live config.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&signing_key(auth)),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenError::Signature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
        _ => TokenError::Malformed,
    })?
    .claims;
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    match claims.exp {
        Some(exp) if now >= exp => return Err(TokenError::Expired),
        None if session_seconds(&auth.session_duration).is_some() => {
            return Err(TokenError::MissingExpiry)
        }
        _ => {}
    }
    if claims.nbf.is_some_and(|nbf| now < nbf) {
        return Err(TokenError::NotYetValid);
    }
    let sub = claims.sub.ok_or(TokenError::Subject)?;
    if sub != auth.username {
        return Err(TokenError::Subject);
    }
    let cred = claims
        .cred
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .ok_or(TokenError::Credentials)?;
    if cred.len() != CRED_LEN || binding_mac(auth).verify_truncated_left(&cred).is_err() {
        return Err(TokenError::Credentials);
    }
    Ok(sub)
}

/// The header must say exactly `"alg": "HS256"` (the crate would also read `"hs256"` or
/// refuse `none` as malformed) and carry no critical extension, which we implement none
/// of (RFC 7515 4.1.11).
fn check_header(token: &str) -> Result<(), TokenError> {
    let segment = token.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| TokenError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(TokenError::Algorithm);
    }
    if header.contains_key("crit") {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

/// The key tokens are signed with: `auth.secret_key`, else a random key made once per
/// process (so with no configured key, a restart ends every session).
fn signing_key(auth: &Auth) -> Vec<u8> {
    if auth.secret_key.is_empty() {
        runtime_secret().to_vec()
    } else {
        auth.secret_key.as_bytes().to_vec()
    }
}

fn runtime_secret() -> &'static [u8; 32] {
    static SECRET: OnceLock<[u8; 32]> = OnceLock::new();
    SECRET.get_or_init(|| {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        key
    })
}

/// HMAC-SHA256(signing key, context | username | password hash), ready to finalise or to
/// verify against a claim. Keyed, so the claim reveals nothing about the hash even to
/// someone who reads a token.
fn binding_mac(auth: &Auth) -> HmacSha256 {
    // HMAC is defined for keys of any length (long keys are hashed, short ones padded),
    // so `new_from_slice` cannot fail here.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&signing_key(auth))
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(CRED_CONTEXT);
    for part in [auth.username.as_bytes(), auth.password_hash.as_bytes()] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// The first [`CRED_LEN`] bytes of the binding: the `cred` claim, base64url-encoded.
fn credential_binding(auth: &Auth) -> Vec<u8> {
    binding_mac(auth).finalize().into_bytes()[..CRED_LEN].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PasswordPolicy;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn auth() -> Auth {
        Auth {
            enabled: true,
            username: "admin".into(),
            password_hash: "$2b$04$abcdefghijklmnopqrstuu5Ea0x9RrYbYcPpZUSKL5kKX5tY3zMe".into(),
            secret_key: "test-secret".into(),
            session_duration: "24h".into(),
            policy: PasswordPolicy {
                min_length: 6,
                max_length: 128,
                require_digit: false,
                require_symbol: false,
            },
            trusted_networks: vec![],
            trusted_proxies: vec![],
        }
    }

    /// Builds a token from raw header and claims, signed with HMAC-SHA256 under `key`
    /// (written out here, independently of the code under test).
    fn forge(header: &Value, claims: &Value, key: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{input}.{sig}")
    }

    fn claims_of(token: &str) -> Value {
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn issued_token_verifies_and_names_the_user() {
        let a = auth();
        let issued = issue(&a, NOW);
        assert_eq!(issued.expires_in, Some(86_400));
        assert_eq!(verify(&issued.token, &a, NOW + 10), Ok("admin".into()));
        let claims = claims_of(&issued.token);
        assert_eq!(claims["sub"], "admin");
        assert_eq!(claims["exp"], NOW + 86_400);
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(issued.token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
    }

    #[test]
    fn session_durations() {
        let mut a = auth();
        a.session_duration = "8h".into();
        assert_eq!(issue(&a, NOW).expires_in, Some(28_800));
        a.session_duration = "unlimited".into();
        let issued = issue(&a, NOW);
        assert_eq!(issued.expires_in, None);
        assert!(claims_of(&issued.token).get("exp").is_none());
        assert!(verify(&issued.token, &a, NOW + 10_000_000).is_ok());
        // Once sessions are limited again, a token without expiry stops working.
        a.session_duration = "8h".into();
        assert_eq!(
            verify(&issued.token, &a, NOW + 1),
            Err(TokenError::MissingExpiry)
        );
    }

    #[test]
    fn expiry_has_no_leeway() {
        let a = auth();
        let t = issue(&a, NOW).token;
        assert!(verify(&t, &a, NOW + 86_399).is_ok());
        assert_eq!(verify(&t, &a, NOW + 86_400), Err(TokenError::Expired));
    }

    #[test]
    fn credential_changes_invalidate_tokens() {
        let a = auth();
        let t = issue(&a, NOW).token;
        let mut changed = a.clone();
        changed.password_hash =
            "$2b$04$zzzzzzzzzzzzzzzzzzzzzu5Ea0x9RrYbYcPpZUSKL5kKX5tY3zMe".into();
        assert_eq!(verify(&t, &changed, NOW), Err(TokenError::Credentials));
        let mut renamed = a.clone();
        renamed.username = "root".into();
        assert_eq!(verify(&t, &renamed, NOW), Err(TokenError::Subject));
        let mut rekeyed = a.clone();
        rekeyed.secret_key = "other".into();
        assert_eq!(verify(&t, &rekeyed, NOW), Err(TokenError::Signature));
    }

    #[test]
    fn foreign_and_forged_tokens_are_refused() {
        let a = auth();
        let key = a.secret_key.as_bytes();
        let hs256 = json!({"alg": "HS256", "typ": "JWT"});
        let good_claims = claims_of(&issue(&a, NOW).token);
        assert!(verify(&forge(&hs256, &good_claims, key), &a, NOW).is_ok());

        // Another subject, even correctly signed and with a copied binding.
        let mut mallory = good_claims.clone();
        mallory["sub"] = json!("mallory");
        assert_eq!(
            verify(&forge(&hs256, &mallory, key), &a, NOW),
            Err(TokenError::Subject)
        );
        // No binding at all (a token of the reference's shape).
        let bare = json!({"sub": "admin", "exp": NOW + 100});
        assert_eq!(
            verify(&forge(&hs256, &bare, key), &a, NOW),
            Err(TokenError::Credentials)
        );
        // alg none with an empty signature, and HS512 / lower-case alg.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(good_claims.to_string())
        );
        assert_eq!(verify(&none, &a, NOW), Err(TokenError::Algorithm));
        for alg in ["HS512", "hs256", "RS256"] {
            let h = json!({"alg": alg, "typ": "JWT"});
            assert_eq!(
                verify(&forge(&h, &good_claims, key), &a, NOW),
                Err(TokenError::Algorithm)
            );
        }
        // Signed with another key.
        assert_eq!(
            verify(&forge(&hs256, &good_claims, b"wrong"), &a, NOW),
            Err(TokenError::Signature)
        );
        // Non-integer time claims, future nbf.
        let mut bad = good_claims.clone();
        bad["exp"] = json!("soon");
        assert_eq!(
            verify(&forge(&hs256, &bad, key), &a, NOW),
            Err(TokenError::Malformed)
        );
        let mut early = good_claims.clone();
        early["nbf"] = json!(NOW + 60);
        assert_eq!(
            verify(&forge(&hs256, &early, key), &a, NOW),
            Err(TokenError::NotYetValid)
        );
        let mut crit = hs256.clone();
        crit["crit"] = json!(["exp"]);
        assert_eq!(
            verify(&forge(&crit, &good_claims, key), &a, NOW),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let a = auth();
        for t in [
            "",
            "fake-token",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &"x".repeat(5000),
        ] {
            assert!(verify(t, &a, NOW).is_err(), "{t}");
        }
        let t = issue(&a, NOW).token;
        let mut tampered = t.clone();
        tampered.push('A');
        assert!(verify(&tampered, &a, NOW).is_err());
    }

    #[test]
    fn empty_secret_uses_the_process_key() {
        let mut a = auth();
        a.secret_key = String::new();
        let t = issue(&a, NOW).token;
        assert!(verify(&t, &a, NOW).is_ok());
        // Not signed with the empty string.
        let claims = claims_of(&t);
        let forged = forge(&json!({"alg": "HS256"}), &claims, b"");
        assert_eq!(verify(&forged, &a, NOW), Err(TokenError::Signature));
    }
}

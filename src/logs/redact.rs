//! Hides secrets in log text before it is kept: credentials in URLs (`://user:***@`),
//! values of secret-looking keys (`password=***`, `basic_auth_password=***`,
//! `Authorization=***`, quoted or not, `=` or `:`), and bearer tokens wherever they
//! appear (`Bearer ***`). Unlike the reference, a bearer token after `Authorization:` is
//! hidden too (the reference only hides the word `Bearer`), and so is a bare `secret=`.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

struct Patterns {
    url: Regex,
    key: Regex,
    bearer: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        // These patterns are constants; a typo would fail every redaction unit test.
        url: Regex::new(r"(://[^:/@\s]+:)[^@\s]+@").expect("constant regex"),
        key: Regex::new(
            r#"(?i)\b([\w-]*(?:password|passwd|secret[_-]?key|secret|token|bearer|api[_-]?key|apikey|auth|authorization))["']?\s*[=:]\s*((?:bearer|basic)\s+[^\s,;&"']+|"[^"]*"|'[^']*'|[^\s,;&]+)"#,
        )
        .expect("constant regex"),
        bearer: Regex::new(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+").expect("constant regex"),
    })
}

/// `text` with every secret hidden (borrowed when there is nothing to hide).
pub fn redact(text: &str) -> Cow<'_, str> {
    let p = patterns();
    let mut out = Cow::Borrowed(text);
    if p.url.is_match(&out) {
        out = Cow::Owned(p.url.replace_all(&out, "${1}***@").into_owned());
    }
    if p.key.is_match(&out) {
        out = Cow::Owned(p.key.replace_all(&out, "${1}=***").into_owned());
    }
    if p.bearer.is_match(&out) {
        out = Cow::Owned(p.bearer.replace_all(&out, "${1} ***").into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn secrets_are_hidden() {
        let cases = [
            (
                "connect http://admin:s3cret@prom:9090/x",
                "connect http://admin:***@prom:9090/x",
            ),
            ("login password=hunter2 ok", "login password=*** ok"),
            ("PASSWORD: hunter2", "PASSWORD=***"),
            (
                "basic_auth_password=abc, next",
                "basic_auth_password=***, next",
            ),
            (
                "Authorization: Bearer eyJhbGciOi.x.y rest",
                "Authorization=*** rest",
            ),
            ("header Bearer eyJhbGciOi.abc-def_1", "header Bearer ***"),
            ("secret=topsecret", "secret=***"),
            ("secret_key: 'a b c'", "secret_key=***"),
            (r#"{"password": "p w"}"#, r#"{"password=***}"#),
            ("api-key=1&x=2", "api-key=***&x=2"),
            ("access_token=abc", "access_token=***"),
            ("token:abc", "token=***"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
        for quiet in [
            "GET /api/racks/h1-a01 - 200",
            "author: bob",
            "tokens 5",
            "no secrets here",
        ] {
            assert_eq!(redact(quiet), quiet);
        }
    }
}

//! Secrets never reach a log, a terminal or an attachment: values of keys that look secret
//! and passwords inside URLs are replaced by placeholders in everything minrepro writes.

use std::sync::LazyLock;

use regex::Regex;

/// What a secret value is replaced with: plain letters, so that a URL whose password it
/// replaces still parses.
pub const PLACEHOLDER: &str = "REDACTED";

/// Words that make an env var's name look secret, matched against the name's parts
/// (`DJANGO_SECRET_KEY` → `SECRET`, `KEY`), so that `KEYBOARD_LAYOUT` is not one.
const SECRET_WORDS: &[&str] = &[
    "KEY",
    "APIKEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "CREDENTIAL",
    "CREDENTIALS",
    "DSN",
    "AUTH",
    "PRIVATE",
    "SIGNATURE",
    "COOKIE",
    "SALT",
];

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    // scheme://user:password@host — the password is what lies between ':' and '@'.
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^@\s/]+)@").unwrap()
});

/// Env vars whose names hold a secret word but that every shell sets to a folder.
const SHELL_FOLDERS: &[&str] = &["PWD", "OLDPWD"];

/// Whether an env var with this name holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    if SHELL_FOLDERS.contains(&key) {
        return false;
    }
    key.to_ascii_uppercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| SECRET_WORDS.contains(&word))
}

/// The URL (or any text) with the passwords of its URLs replaced.
pub fn redact_url(text: &str) -> String {
    URL_PASSWORD
        .replace_all(text, format!("${{head}}{PLACEHOLDER}@"))
        .into_owned()
}

/// The passwords inside URLs in `text`.
pub fn url_passwords(text: &str) -> Vec<String> {
    URL_PASSWORD
        .captures_iter(text)
        .map(|c| c["password"].to_string())
        .collect()
}

/// Replaces every known secret value in any text it is given.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Longest first, so that a secret containing another is replaced whole.
    secrets: Vec<String>,
    /// `false` when the user opted out (`--show-secrets`).
    active: bool,
}

impl Redactor {
    /// A redactor for these env vars: the values of secret-looking keys, and the
    /// passwords inside any value's URLs.
    pub fn for_env<'a>(env: impl IntoIterator<Item = (&'a str, &'a str)>) -> Redactor {
        let mut secrets = Vec::new();
        for (key, value) in env {
            if is_secret_key(key) && !value.trim().is_empty() {
                secrets.push(value.to_string());
            }
            secrets.extend(url_passwords(value));
        }
        Redactor::with_secrets(secrets)
    }

    pub fn with_secrets(mut secrets: Vec<String>) -> Redactor {
        // Too short a "secret" (a flag such as "1") would mangle unrelated text; such values
        // are still hidden where they appear as values, by whoever formats them.
        secrets.retain(|s| s.chars().count() >= 4);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor {
            secrets,
            active: true,
        }
    }

    /// This redactor, hiding `more` values as well.
    pub fn with_more_secrets(self, more: Vec<String>) -> Redactor {
        if !self.active {
            return self;
        }
        let mut secrets = self.secrets;
        secrets.extend(more);
        Redactor::with_secrets(secrets)
    }

    /// A redactor that leaves everything as it is.
    pub fn disabled() -> Redactor {
        Redactor {
            secrets: Vec::new(),
            active: false,
        }
    }

    /// The value of env var `key`: whole if the name looks secret, else with the secrets
    /// inside it replaced.
    pub fn redact_env_value(&self, key: &str, value: &str) -> String {
        if self.active && is_secret_key(key) && !value.trim().is_empty() {
            PLACEHOLDER.to_string()
        } else {
            self.redact(value)
        }
    }

    pub fn redact(&self, text: &str) -> String {
        if !self.active {
            return text.to_string();
        }
        let mut out = redact_url(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = if secret.len() < WHOLE_WORDS_BELOW {
                    replace_whole_words(&out, secret)
                } else {
                    out.replace(secret.as_str(), PLACEHOLDER)
                };
            }
        }
        out
    }
}

/// Secrets shorter than this are replaced only where they stand as a word of their own: a
/// short value such as "test" or "guest" would otherwise mangle `app.testing` or
/// `questions` in generated code, and a word inside a longer one does not reveal it. Nor is
/// a part of a dotted name or a path (`billing.connection`, `pkg/billing/`) replaced: a test
/// database's password is often the application's own name, and the repro needs the name.
const WHOLE_WORDS_BELOW: usize = 8;

fn replace_whole_words(text: &str, secret: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // `.` or `/` with a word on its other side joins a name.
    let joins = |joint: Option<char>, beyond: Option<char>| {
        matches!(joint, Some('.' | '/')) && is_word(beyond)
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in text.match_indices(secret) {
        if at < rest {
            continue;
        }
        let mut before = text[..at].chars().rev();
        let mut after = text[at + secret.len()..].chars();
        let (b1, b2) = (before.next(), before.next());
        let (a1, a2) = (after.next(), after.next());
        if is_word(b1) || is_word(a1) || joins(b1, b2) || joins(a1, a2) {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str(PLACEHOLDER);
        rest = at + secret.len();
    }
    out.push_str(&text[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_are_replaced_where_they_stand_alone() {
        let redactor = Redactor::with_secrets(vec!["test".into(), "longsecret1".into()]);
        assert_eq!(
            redactor.redact("import app.testing; key=test; test"),
            "import app.testing; key=REDACTED; REDACTED"
        );
        assert_eq!(redactor.redact("xlongsecret1y"), "xREDACTEDy");
        let named = Redactor::with_secrets(vec!["billing".into()]);
        assert_eq!(
            named.redact(
                "import billing.connection # pkg/billing/x.py; postgresql://billing:billing@db"
            ),
            "import billing.connection # pkg/billing/x.py; postgresql://REDACTED:REDACTED@db"
        );
    }

    #[test]
    fn secret_keys_are_recognised_by_their_words() {
        for key in [
            "API_KEY",
            "DJANGO_SECRET_KEY",
            "GITHUB_TOKEN",
            "DB_PASSWORD",
            "SENTRY_DSN",
            "aws_secret_access_key",
            "DB_PWD",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "PWD",
            "OLDPWD",
            "KEYBOARD",
            "PATH",
            "PYTHONPATH",
            "PASSENGER_COUNT",
            "LOG_LEVEL",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn url_passwords_are_replaced() {
        assert_eq!(
            redact_url(
                "postgres://app:s3cr3t@db:5432/app and amqp://guest:guest@127.0.0.1:5672/%2f"
            ),
            "postgres://app:REDACTED@db:5432/app and amqp://guest:REDACTED@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("http://host:8080/path"), "http://host:8080/path");
    }

    #[test]
    fn known_secret_values_disappear_from_any_text() {
        let redactor = Redactor::for_env([
            ("API_KEY", "sk-live-123456"),
            ("DATABASE_URL", "postgres://u:hunter22@db/x"),
            ("DEBUG", "1"),
        ]);
        let text = "failed with key sk-live-123456 while connecting as hunter22";
        let out = redactor.redact(text);
        assert!(
            !out.contains("sk-live-123456") && !out.contains("hunter22"),
            "{out}"
        );
    }
}

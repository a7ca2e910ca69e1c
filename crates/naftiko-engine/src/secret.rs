//! Secrets: values from `binds`, held so that they cannot leak by accident.
//!
//! Where a bind value is substituted into something shown to people (a URL in a log line, an
//! error, a dry run), the display form is rendered with `***` in its place. [`Redactor`] is the
//! safety net behind that: it knows every bind value and scrubs them from any text naftiko
//! writes for people (error details, `isError` texts, log lines), however the value got there.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A secret value (a bind variable, a credential). `Debug` and `Display` print `***`; the value
/// is reachable only through [`Secret::expose`], at the one place it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<Arc<str>>) -> Secret {
        Secret(value.into())
    }

    /// The value itself. Call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Values shorter than this are not scrubbed from free text: they cannot be told apart from
/// ordinary words (`eu`, `v2`, `1`) and scrubbing them would garble every message. They are
/// still shown as `***` wherever they are substituted into a URL, header or body shown.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// The bind values a capability knows, to keep them out of text meant for people. Built once
/// at start-up; cheap to clone (shared). Each value is matched as it is, percent-encoded (as it
/// appears in a URL) and JSON-escaped (as it appears in a JSON log line).
#[derive(Clone, Default)]
pub struct Redactor {
    /// What to look for, longest first (a value containing another is replaced whole).
    needles: Arc<[Box<str>]>,
}

impl Redactor {
    /// A redactor for `secrets` (values shorter than [`MIN_SCRUBBED_LEN`] are left out).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        let mut needles: Vec<Box<str>> = Vec::new();
        for secret in secrets {
            let value = secret.expose();
            if value.chars().count() < MIN_SCRUBBED_LEN {
                continue;
            }
            let encoded = crate::http::encode_component(value);
            let json = serde_json::to_string(value).unwrap_or_default();
            let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string();
            for form in [value.to_string(), encoded, json] {
                if !form.is_empty() && !needles.iter().any(|n| **n == *form) {
                    needles.push(form.into_boxed_str());
                }
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Redactor { needles: needles.into() }
    }

    /// True when there is nothing to scrub.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every known value replaced by `***` (borrowed when there is none).
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for needle in self.needles.iter() {
            if out.contains(&**needle) {
                out = Cow::Owned(out.replace(&**needle, "***"));
            }
        }
        out
    }

    /// [`Self::scrub`] in place.
    pub fn scrub_in_place(&self, text: &mut String) {
        if let Cow::Owned(scrubbed) = self.scrub(text) {
            *text = scrubbed;
        }
    }

    /// `text` scrubbed when it is formatted (for log fields that may never be written).
    pub fn shown<'a>(&'a self, text: &'a str) -> impl fmt::Display + 'a {
        Shown(self, text)
    }
}

struct Shown<'a>(&'a Redactor, &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.scrub(self.1))
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} forms)", self.needles.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redactors_scrub_every_form_of_a_value_and_leave_short_ones() {
        let secrets = [Secret::new("s3cr\"t/\r\nX"), Secret::new("tok"), Secret::new("abcd1234"), Secret::new("abcd")];
        let r = Redactor::new(&secrets);
        assert_eq!(r.scrub("url http://h/bot s3cr\"t/\r\nX /x"), "url http://h/bot *** /x");
        assert_eq!(r.scrub("http://h/s3cr%22t%2F%0D%0AX/x"), "http://h/***/x", "percent-encoded");
        assert_eq!(r.scrub(r#"{"url":"s3cr\"t/\r\nX"}"#), r#"{"url":"***"}"#, "JSON-escaped");
        assert_eq!(r.scrub("abcd1234 abcd tok"), "*** *** tok", "the longer value first; short ones kept");
        assert!(matches!(r.scrub("nothing here"), Cow::Borrowed(_)));
        assert_eq!(r.shown("key abcd1234").to_string(), "key ***");
        assert!(Redactor::default().is_empty() && !format!("{r:?}").contains("abcd"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }
}

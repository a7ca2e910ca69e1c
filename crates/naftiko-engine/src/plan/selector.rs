//! Paths with a `#…` fragment: how one path carries several operations.
//!
//! Capabilities converted from OpenAPI descriptions of AWS-style APIs give operations that share
//! a method and path a fragment saying what tells them apart: `/#X-Amz-Target=AWSGlue.GetTable`
//! (a header's value), `/#Action=DescribeRegions` (a query parameter's), `/access-preview#analyzerArn`
//! (a parameter being there at all). HTTP never sends a fragment, so naftiko reads it as those
//! conditions: an exposed route serves each operation to the requests that meet its conditions,
//! and a consumed operation sends the values its conditions name unless the call supplies them.

use http::{HeaderMap, HeaderName};
use naftiko_spec::model::ParamIn;

/// The conditions of a path's fragment, in order. Empty for a path without a fragment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector(pub Vec<Condition>);

/// One condition: a parameter name and the value it must have (`None`: it must be there, with
/// any value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The parameter's name, as the fragment spells it.
    pub name: String,
    /// The value it must have, if any.
    pub value: Option<String>,
    /// The name as a header, parsed once (`None` when it cannot be one: only the query can carry it).
    header: Option<HeaderName>,
}

impl Condition {
    fn new(name: String, value: Option<String>) -> Condition {
        let header = HeaderName::from_bytes(name.as_bytes()).ok();
        Condition { name, value, header }
    }
}

/// Splits a path at its fragment: the path HTTP sends and the fragment's conditions
/// (`k=v` or `k`, joined by `&`, percent-decoded).
pub fn split_fragment(path: &str) -> (&str, Selector) {
    let Some((path, fragment)) = path.split_once('#') else { return (path, Selector::default()) };
    let conditions = fragment
        .split('&')
        .filter(|c| !c.is_empty())
        .map(|c| match c.split_once('=') {
            Some((k, v)) => Condition::new(crate::inbound::percent_decode(k), Some(crate::inbound::percent_decode(v))),
            None => Condition::new(crate::inbound::percent_decode(c), None),
        })
        .collect();
    (path, Selector(conditions))
}

impl Selector {
    /// Whether there are no conditions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a request meets every condition, each by a header or a query parameter of its name.
    pub fn matches(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        self.0.iter().all(|c| {
            if let Some(v) = c.header.as_ref().and_then(|h| headers.get(h)) {
                return c.value.as_ref().is_none_or(|w| v.as_bytes() == w.as_bytes());
            }
            match query.and_then(|q| crate::inbound::query_param(q, &c.name)) {
                Some(v) => c.value.as_ref().is_none_or(|w| v == *w),
                None => false,
            }
        })
    }

    /// The conditions as a request must meet them, for error messages
    /// (`X-Amz-Target=AWSGlue.GetTable`, `analyzerArn and resourceArn`).
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|c| match &c.value {
                Some(v) => format!("{}={v}", c.name),
                None => c.name.clone(),
            })
            .collect();
        parts.join(" and ")
    }
}

/// Where a condition's value goes on a consumed call when the operation declares no parameter of
/// its name: a header for `X-…` names (the AWS JSON protocol's `X-Amz-Target`), else the query.
pub fn default_location(name: &str) -> ParamIn {
    let b = name.as_bytes();
    if b.len() > 2 && b[..2].eq_ignore_ascii_case(b"x-") { ParamIn::Header } else { ParamIn::Query }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn fragments_become_conditions_met_by_a_header_or_a_query_parameter() {
        let (path, sel) = split_fragment("/#X-Amz-Target=AWSGlue.GetTable");
        assert_eq!(path, "/");
        assert_eq!(sel.0, vec![Condition::new("X-Amz-Target".into(), Some("AWSGlue.GetTable".into()))]);
        let mut headers = HeaderMap::new();
        assert!(!sel.matches(&headers, None));
        headers.insert("x-amz-target", HeaderValue::from_static("AWSGlue.GetTable"));
        assert!(sel.matches(&headers, None));
        headers.insert("x-amz-target", HeaderValue::from_static("AWSGlue.GetTables"));
        assert!(!sel.matches(&headers, None));

        let (path, sel) = split_fragment("/analyzed-resource#analyzerArn&resourceArn");
        assert_eq!(path, "/analyzed-resource");
        assert!(sel.matches(&HeaderMap::new(), Some("analyzerArn=a&resourceArn=r%2Fx")));
        assert!(!sel.matches(&HeaderMap::new(), Some("analyzerArn=a")));
        assert_eq!(sel.describe(), "analyzerArn and resourceArn");

        let (path, sel) = split_fragment("/ships/{imo}");
        assert_eq!((path, sel.is_empty()), ("/ships/{imo}", true));
        assert!(sel.matches(&HeaderMap::new(), None));
    }

    #[test]
    fn values_without_a_declared_parameter_go_to_headers_for_x_names_else_the_query() {
        assert_eq!(default_location("X-Amz-Target"), ParamIn::Header);
        assert_eq!(default_location("Action"), ParamIn::Query);
        assert_eq!(default_location("x"), ParamIn::Query);
        assert_eq!(default_location("日本"), ParamIn::Query);
    }
}

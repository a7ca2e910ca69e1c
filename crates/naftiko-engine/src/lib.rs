//! The Naftiko engine: compiles a checked [`naftiko_spec::Document`] into an immutable plan and
//! executes invocations (simple, orchestrated, forward, mock, aggregate) through one HTTP
//! executor.
//!
//! This crate owns execution semantics (SEMANTICS §2–§5, §7, §9). It knows nothing about axum
//! or MCP: adapters turn their requests into invocations and render the outcomes.

#![warn(missing_docs)]

pub mod binds;
pub mod containment;
pub mod decode;
pub mod expr;
pub mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod inbound;
pub mod inputs;
pub mod invoke;
pub mod json_syntax;
pub mod json_text;
pub mod path;
pub mod plan;
pub mod secret;

pub use secret::Secret;

/// Which consumed operation a request belongs to, for errors and logs (never secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSite {
    /// The consumed namespace.
    pub namespace: String,
    /// The operation name (or `forward` for passthrough requests).
    pub operation: String,
}

impl std::fmt::Display for CallSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace, self.operation)
    }
}

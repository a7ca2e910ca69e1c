//! The REST adapter (SEMANTICS §6–§7): one HTTP listener per `type: rest` entry, serving the
//! compiled routes.
//!
//! The adapter only translates: a request becomes inputs for the engine (declared inputs
//! validated, plus every path variable, query parameter, body field and header), the outcome
//! becomes a response; runtime errors are `application/problem+json`. Routing is done here
//! with matchit (static segments before parameters, trailing slashes tolerated, methods
//! case-insensitive, 404 and 405 with `Allow`), so duplicate or conflicting routes from real
//! files never panic. `forward` resources stream requests to their target.

#![warn(missing_docs)]

mod forward;
mod inputs;
mod problem;
mod router;

use std::future::Future;
use std::sync::Arc;

use naftiko_engine::invoke::Engine;
use naftiko_engine::plan::RestAdapter;

pub use router::{Matched, RouteTable, RouteWarning};

/// Requests larger than this are refused with 413.
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// Serves one REST adapter on `listener` until `shutdown` completes; `log_warnings` logs the
/// route table's warnings (once per adapter when several workers serve it).
pub async fn serve(
    listener: impl axum::serve::Listener,
    adapter: &RestAdapter,
    engine: Engine,
    policy: naftiko_http::ConnectionPolicy,
    shutdown: impl Future<Output = ()> + Send + 'static,
    log_warnings: bool,
) -> std::io::Result<()> {
    let (table, warnings) = RouteTable::build(adapter);
    for w in warnings.iter().filter(|_| log_warnings) {
        tracing::warn!("{}", w.0);
    }
    let state = Arc::new(router::State { table, engine, auth: adapter.listener.auth.clone() });
    naftiko_http::server::serve(listener, policy, move |req| router::handle(state.clone(), req), shutdown).await
}

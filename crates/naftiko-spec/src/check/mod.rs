//! Checks run on a loaded document: the official JSON Schema (warnings) and the semantic rules
//! (errors for anything that would make execution wrong or impossible).

pub mod schema;
pub mod semantic;

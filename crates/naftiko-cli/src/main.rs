//! The `naftiko` binary: argument parsing and wiring only; the work is in the library crates.

use std::process::ExitCode;

use clap::Parser;

mod control;
mod limits;
mod logging;
mod mcp;
mod serve;
mod validate;
mod workers;

/// The allocator: glibc's malloc was a quarter of the request path's user time (fastbin
/// consolidation on every large buffer); mimalloc's thread-local free lists cost a fraction.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v2's option `arena_eager_commit` (not among the binding's named constants).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Runs before `main` (and before anything allocates): mimalloc commits its arenas as they are
/// used rather than up front, which keeps the resident memory at rest where glibc's was.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static ALLOCATOR_OPTIONS: extern "C" fn() = {
    extern "C" fn lazy_commit() {
        unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
    }
    lazy_commit
};

/// Gives the memory of freed large blocks back to the system now: the executor calls it after
/// dropping an upstream reply body of a megabyte or more (`ExecutorConfig::release_memory`).
/// mimalloc otherwise purges freed memory lazily, on the thread's next allocations — and a worker
/// left idle after refusing a 100 MB reply kept the tens of megabytes it had read.
pub fn release_memory() {
    // Collects this thread's heap and purges what every thread has freed (`force`).
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// Naftiko capability runtime.
#[derive(Debug, Parser)]
#[command(name = "naftiko", version, about = "Validate and serve Naftiko capabilities")]
enum Cli {
    /// Check capability files against the specification and report what to fix.
    Validate(validate::Args),
    /// Serve a capability: its REST and MCP adapters, in front of the APIs it consumes.
    Serve(serve::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    match cli {
        Cli::Validate(args) => validate::run(&args),
        Cli::Serve(args) => serve::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[cfg(target_os = "linux")]
    #[test]
    fn the_allocator_is_told_to_commit_arenas_as_used_before_main() {
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::ARENA_EAGER_COMMIT) }, 0);
    }

    /// A count of zero made the control adapter report the adapters stopped while one worker served.
    #[test]
    fn serving_needs_at_least_one_worker() {
        let parse = |n: &str| super::Cli::try_parse_from(["naftiko", "serve", "cap.yaml", "--workers", n]);
        let refused = parse("0").unwrap_err().to_string();
        assert!(refused.contains("--workers") && refused.contains("at least one worker"), "{refused}");
        assert!(parse("1").is_ok() && parse("3").is_ok());
    }
}

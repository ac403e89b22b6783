//! Panic isolation for queries: a bug in one query's analysis fails that query, not the request
//! and not the process.
//!
//! Grafana restarts a crashed plugin, but every query in flight is lost and every panel shows
//! an error — during an incident, exactly when the plugin is needed. The release profile
//! unwinds on panic (`Cargo.toml`), so each query's future is run under
//! [`FutureExt::catch_unwind`]: a panic becomes an "internal error" for its own refId while the
//! request's other queries complete.

use std::{any::Any, future::Future, panic::AssertUnwindSafe};

use futures_util::FutureExt;

/// Run one query's future; a panic inside it becomes `on_panic(message)`.
///
/// `AssertUnwindSafe` is sound here because nothing the future borrows is observed after it
/// unwinds: its state is dropped, and the shared state it touches (the analysis cache, the
/// instance cache, telemetry) recovers from poisoned locks.
pub async fn isolated<T, E, F>(future: F, on_panic: impl FnOnce(String) -> E) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(on_panic(panic_message(payload.as_ref()))),
    }
}

/// The text a panic carried (`panic!("...")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn a_panic_becomes_the_error_and_results_pass_through() {
        let ok: Result<u8, String> = run(isolated(async { Ok(7) }, |m| m));
        assert_eq!(ok, Ok(7));
        let err: Result<u8, String> = run(isolated(async { Err("plain".to_string()) }, |m| m));
        assert_eq!(err, Err("plain".to_string()));
        let panicked: Result<u8, String> = run(isolated(
            async {
                tokio::task::yield_now().await;
                panic!("boom in {}", "B")
            },
            |m| format!("caught: {m}"),
        ));
        assert_eq!(panicked, Err("caught: boom in B".to_string()));
    }
}

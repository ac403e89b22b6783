//! Grafana's request deadline: the work stops, and the answer says why, before it passes.
//!
//! Grafana sends its deadline with each call as gRPC's `grpc-timeout` header, and cancels a
//! call whose panel or user went away by resetting its HTTP/2 stream. Either way the handler's
//! future is dropped: tonic's server drops it when `grpc-timeout` passes, hyper when the stream
//! is reset. Nothing an answer needs is detached from that future — the analysis cache runs
//! each analysis inside the call that asked for it ([`super::cache`]), the Prometheus client's
//! requests, slot waits and admission waits are cancel-safe, and the one blocking task (a
//! response's parser) ends as soon as its feed is dropped — so dropping it stops the analysis
//! and every Prometheus request it would still send.
//!
//! What tonic answers at the deadline is `CANCELLED: Timeout expired`, and only once the
//! client has given up already. So the services answer a little earlier themselves
//! ([`within`]): each query of a QueryData call still running gets a 504 "deadline exceeded"
//! that says the plugin stopped it and that Prometheus did not fail, and a resource call gets
//! the same as a 504 JSON answer. Queries a refresh answered from the response cache keep
//! their answers.

use std::{future::Future, time::Duration};

use tokio::time::Instant;

/// At most this much of a deadline is kept back to send the "deadline exceeded" answer.
const MAX_MARGIN: Duration = Duration::from_millis(250);

/// The deadline of one call, and when to answer without the work.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    budget: Duration,
    answer_at: Instant,
}

/// The call's deadline passed before its answer was ready.
#[derive(Clone, Copy, Debug, thiserror::Error, PartialEq, Eq)]
#[error("deadline exceeded: Grafana's deadline for this request ({:.1} s) passed before the answer was ready, so the plugin stopped its analysis and the queries it still had to send (this is not a Prometheus failure); retry, or ask for a shorter window or fewer instances", budget.as_secs_f64())]
pub struct Exceeded {
    /// The whole deadline Grafana gave the call.
    pub budget: Duration,
}

impl Deadline {
    /// The deadline `request` carries in its `grpc-timeout` header, if any (and valid).
    pub fn of<T>(request: &tonic::Request<T>) -> Option<Self> {
        let header = request.metadata().get("grpc-timeout")?.to_str().ok()?;
        parse_grpc_timeout(header).map(Self::after)
    }

    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            budget,
            answer_at: Instant::now() + budget.saturating_sub(margin(budget)),
        }
    }
}

impl Deadline {
    /// What remains of the deadline before the answer must be sent.
    pub fn remaining(&self) -> Duration {
        self.answer_at.saturating_duration_since(Instant::now())
    }
}

tokio::task_local! {
    /// The deadline of the call this task serves, for admission to weigh.
    static CURRENT: Option<Deadline>;
}

/// `work` run with `deadline` as the call's deadline ([`current`] inside it).
pub async fn scoped<F: Future>(deadline: Option<Deadline>, work: F) -> F::Output {
    CURRENT.scope(deadline, work).await
}

/// The deadline of the call being served, if it has one (and runs within [`scoped`]).
pub fn current() -> Option<Deadline> {
    CURRENT.try_with(|d| *d).ok().flatten()
}

/// The time kept back from `budget` to deliver the answer: an eighth, at most [`MAX_MARGIN`].
fn margin(budget: Duration) -> Duration {
    (budget / 8).min(MAX_MARGIN)
}

/// `work`'s output, or [`Exceeded`] (and `work` dropped, which stops it) once `deadline` is
/// about to pass. Without a deadline, `work` runs to the end.
pub async fn within<F: Future>(deadline: Option<Deadline>, work: F) -> Result<F::Output, Exceeded> {
    let Some(deadline) = deadline else {
        return Ok(work.await);
    };
    tokio::time::timeout_at(deadline.answer_at, work)
        .await
        .map_err(|_| {
            tracing::warn!(
                deadline_seconds = deadline.budget.as_secs_f64(),
                "The request's deadline passed; its work was stopped."
            );
            Exceeded {
                budget: deadline.budget,
            }
        })
}

/// gRPC's `grpc-timeout`: 1 to 8 digits and a unit (`H`, `M`, `S`, `m`, `u`, `n`).
fn parse_grpc_timeout(header: &str) -> Option<Duration> {
    let unit = header.chars().last()?;
    let digits = &header[..header.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(value * 3600),
        'M' => Duration::from_secs(value * 60),
        'S' => Duration::from_secs(value),
        'm' => Duration::from_millis(value),
        'u' => Duration::from_micros(value),
        'n' => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_read_in_every_unit_and_garbage_is_ignored() {
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_grpc_timeout("1999m"),
            Some(Duration::from_millis(1999))
        );
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_grpc_timeout("1500u"),
            Some(Duration::from_micros(1500))
        );
        assert_eq!(
            parse_grpc_timeout("99999999n"),
            Some(Duration::from_nanos(99_999_999))
        );
        for bad in ["", "S", "123456789S", "12", "1.5S", "-1S", "10x", "1é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_margin_is_an_eighth_of_the_deadline_at_most_250_ms() {
        assert_eq!(margin(Duration::from_secs(1)), Duration::from_millis(125));
        assert_eq!(margin(Duration::from_secs(30)), MAX_MARGIN);
        assert_eq!(margin(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn work_past_the_deadline_is_dropped_and_told_as_exceeded() {
        struct Dropped(std::sync::Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Dropped(dropped.clone());
        let began = Instant::now();
        let slow = async move {
            let _held = flag;
            tokio::time::sleep(Duration::from_secs(10)).await;
            7
        };
        let deadline = Deadline::after(Duration::from_secs(2));
        let result = within(Some(deadline), slow).await;
        let exceeded = result.expect_err("past its deadline");
        assert_eq!(exceeded.budget, Duration::from_secs(2));
        // Answered at 1.75 s: a quarter of a second to reach Grafana before its deadline.
        assert!(
            began.elapsed() < Duration::from_secs(2),
            "answered before the deadline"
        );
        assert!(
            dropped.load(std::sync::atomic::Ordering::SeqCst),
            "the work was dropped"
        );
        let message = exceeded.to_string();
        assert!(message.starts_with("deadline exceeded: "), "{message}");
        assert!(message.contains("(2.0 s)"), "{message}");
        assert!(!message.contains("did not answer"), "{message}");

        assert_eq!(within(None, async { 7 }).await, Ok(7));
        let quick = within(Some(Deadline::after(Duration::from_secs(5))), async { 8 });
        assert_eq!(quick.await, Ok(8));
    }
}

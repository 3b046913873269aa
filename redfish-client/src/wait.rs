//! Waiting on BMC state: poll, compare, sleep on tokio's clock, stop at the deadline or on
//! cancellation. No fixed sleeps anywhere else.

use std::future::Future;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Wait;
use crate::error::Error;

/// What one poll saw.
#[derive(Debug)]
pub(crate) enum Poll<T> {
    /// The awaited state: stop.
    Ready(T),
    /// Not yet; the text says what was seen (for the timeout error).
    Pending(String),
}

/// Polls `probe` until it is ready, the deadline passes or `cancel` fires.
///
/// A probe error ends the wait unless it is retryable (a BMC that is rebooting its web server
/// answers 5xx or resets connections for a while); the last such error shows in the timeout.
pub(crate) async fn poll_until<T, F, Fut>(
    bmc: &str,
    what: &str,
    wait: Wait,
    cancel: &CancellationToken,
    mut probe: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Error>>,
{
    let start = Instant::now();
    let deadline = start + wait.timeout;
    let mut pause = wait.interval;
    let mut last: String;
    if !wait.first_poll.is_zero() {
        // Nothing can have changed yet: polling now would only cost a request.
        let nap = wait.first_poll.min(wait.timeout);
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = cancel.cancelled() => {
                return Err(Error::Cancelled { bmc: bmc.to_owned(), what: format!("waiting for {what}") });
            }
        }
    }
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled {
                bmc: bmc.to_owned(),
                what: format!("waiting for {what}"),
            });
        }
        match probe().await {
            Ok(Poll::Ready(value)) => return Ok(value),
            Ok(Poll::Pending(seen)) => last = seen,
            Err(e) if e.is_retryable() => last = e.to_string(),
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::Timeout {
                bmc: bmc.to_owned(),
                what: what.to_owned(),
                waited: now - start,
                last,
            });
        }
        let nap = pause.min(deadline - now);
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            () = cancel.cancelled() => {
                return Err(Error::Cancelled { bmc: bmc.to_owned(), what: format!("waiting for {what}") });
            }
        }
        pause = pause
            .saturating_mul(2)
            .min(wait.max_interval.max(wait.interval));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;

    fn wait() -> Wait {
        Wait {
            timeout: Duration::from_secs(60),
            first_poll: Duration::ZERO,
            interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(8),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_poll_delay_then_a_steady_interval() {
        let polls = std::sync::Mutex::new(Vec::new());
        let start = Instant::now();
        let wait = Wait::every(Duration::from_secs(1), Duration::from_secs(60))
            .first_poll_after(Duration::from_secs(3));
        poll_until(
            "bmc",
            "power off",
            wait,
            &CancellationToken::new(),
            || async {
                let mut seen = polls.lock().unwrap();
                seen.push(start.elapsed());
                Ok(if seen.len() == 3 {
                    Poll::Ready(())
                } else {
                    Poll::Pending("On".into())
                })
            },
        )
        .await
        .unwrap();
        // No poll before 3 s, then one a second: at most one interval past the change.
        assert_eq!(*polls.lock().unwrap(), [3, 4, 5].map(Duration::from_secs));
    }

    #[tokio::test(start_paused = true)]
    async fn returns_when_ready_with_growing_pauses() {
        let polls = AtomicU32::new(0);
        let start = Instant::now();
        let got = poll_until(
            "bmc",
            "power off",
            wait(),
            &CancellationToken::new(),
            || async {
                let n = polls.fetch_add(1, Ordering::SeqCst);
                Ok(if n == 4 {
                    Poll::Ready(n)
                } else {
                    Poll::Pending(format!("poll {n}"))
                })
            },
        )
        .await
        .unwrap();
        assert_eq!(got, 4);
        // pauses 1 + 2 + 4 + 8
        assert_eq!(start.elapsed(), Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_at_the_deadline_with_the_last_state() {
        let start = Instant::now();
        let err = poll_until::<(), _, _>(
            "bmc",
            "power off",
            wait(),
            &CancellationToken::new(),
            || async { Ok(Poll::Pending("On".into())) },
        )
        .await
        .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        match err {
            Error::Timeout { last, what, .. } => {
                assert_eq!(last, "On");
                assert_eq!(what, "power off");
            }
            other => panic!("{other}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_the_wait() {
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            trigger.cancel();
        });
        let start = Instant::now();
        let err = poll_until::<(), _, _>("bmc", "job", wait(), &cancel, || async {
            Ok(Poll::Pending("Running".into()))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Cancelled { .. }));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn non_retryable_probe_errors_end_the_wait() {
        let err =
            poll_until::<(), _, _>("bmc", "job", wait(), &CancellationToken::new(), || async {
                Err(Error::Invalid {
                    bmc: "bmc".into(),
                    reason: "no such job".into(),
                })
            })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }));
    }
}

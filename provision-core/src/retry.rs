//! Retries (DESIGN §4): exponential backoff with full or decorrelated jitter from a seedable RNG,
//! per-attempt and per-step deadlines, `Retry-After` honoured, stopped by a
//! [`CancellationToken`]; and the rule of what may be retried ([`Idempotency`]): reads on
//! transport errors, 5xx and 503; writes only when the error proves nothing was applied or the
//! write is idempotent.
//!
//! A small loop rather than backon: backon's jitter is neither full nor decorrelated and it
//! has no step deadline or cancellation. Every sleep is on tokio's clock.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use quads_http::TransportError;
pub use quads_http::retry_after;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::limits::human_duration;

/// How the delay between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// `min(max, base * 2^(n-1))`, no randomness (tests, single callers).
    None,
    /// A uniform draw in `[0, min(max, base * 2^(n-1))]`.
    Full,
    /// A uniform draw in `[base, min(max, 3 * previous delay)]`.
    Decorrelated,
}

/// When and how often to retry. Every field has a default, so a TOML table only names what it
/// changes; durations read as `"500ms"`, `"2s"`, `"5m"` or a number of seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The first backoff (its upper bound with full jitter).
    #[serde(with = "human_duration")]
    pub base: Duration,
    /// No backoff is longer than this.
    #[serde(with = "human_duration")]
    pub max_backoff: Duration,
    /// How backoffs are drawn.
    pub jitter: Jitter,
    /// A server's `Retry-After` is waited for up to this long.
    #[serde(with = "human_duration")]
    pub max_retry_after: Duration,
    /// Time allowed for one attempt; its expiry is an [`AttemptError::TimedOut`].
    #[serde(
        default,
        with = "human_duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub attempt_timeout: Option<Duration>,
    /// Time allowed for all attempts and backoffs together.
    #[serde(
        default,
        with = "human_duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub step_deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            jitter: Jitter::Full,
            max_retry_after: Duration::from_secs(300),
            attempt_timeout: None,
            step_deadline: None,
        }
    }
}

impl RetryPolicy {
    /// This policy with every duration multiplied by `factor` (a simulated lab's time scale).
    #[must_use]
    pub fn scaled(&self, factor: f64) -> Self {
        let d = |d| crate::time::scale_duration(d, factor);
        Self {
            base: d(self.base),
            max_backoff: d(self.max_backoff),
            max_retry_after: d(self.max_retry_after),
            attempt_timeout: self.attempt_timeout.map(d),
            step_deadline: self.step_deadline.map(d),
            ..self.clone()
        }
    }

    /// One attempt, no retry.
    #[must_use]
    pub fn once() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }
}

/// Whether an error may be retried, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryable {
    /// Yes, after the policy's backoff.
    Yes,
    /// Yes, but not before this (the server's `Retry-After`), nor before the backoff.
    YesAfter(Duration),
    /// No: give up with this error.
    No,
}

/// What one attempt ended with, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError<E> {
    /// The operation returned an error.
    #[error(transparent)]
    Failed(E),
    /// The operation did not finish within the per-attempt timeout.
    #[error("the attempt did not finish within {0:?}")]
    TimedOut(Duration),
}

impl<E> AttemptError<E> {
    /// The operation's error, unless the attempt timed out.
    pub fn error(&self) -> Option<&E> {
        match self {
            Self::Failed(e) => Some(e),
            Self::TimedOut(_) => None,
        }
    }
}

/// Why [`retry`] gave up; carries the number of attempts made and the last attempt's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetryError<E> {
    /// The last error may not be retried.
    #[error("gave up after {attempts} attempt(s): not retryable: {last}")]
    NotRetryable {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: AttemptError<E>,
    },
    /// Every allowed attempt failed.
    #[error("gave up after {attempts} attempt(s): {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: AttemptError<E>,
    },
    /// The step deadline passed, or no further attempt could start before it.
    #[error("step deadline of {deadline:?} reached after {attempts} attempt(s)")]
    DeadlineExceeded {
        /// Attempts made.
        attempts: u32,
        /// The step deadline.
        deadline: Duration,
        /// The last attempt's error, if one had ended.
        #[source]
        last: Option<AttemptError<E>>,
    },
    /// The cancellation token fired.
    #[error("cancelled after {attempts} attempt(s)")]
    Cancelled {
        /// Attempts made (the one interrupted included).
        attempts: u32,
        /// The last attempt's error, if one had ended.
        #[source]
        last: Option<AttemptError<E>>,
    },
}

impl<E> RetryError<E> {
    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            Self::NotRetryable { attempts, .. }
            | Self::Exhausted { attempts, .. }
            | Self::DeadlineExceeded { attempts, .. }
            | Self::Cancelled { attempts, .. } => *attempts,
        }
    }

    /// The last attempt's error, if an attempt ended.
    pub fn last(&self) -> Option<&AttemptError<E>> {
        match self {
            Self::NotRetryable { last, .. } | Self::Exhausted { last, .. } => Some(last),
            Self::DeadlineExceeded { last, .. } | Self::Cancelled { last, .. } => last.as_ref(),
        }
    }

    /// The operation's last error, unless none ended or the last one timed out.
    pub fn into_last_error(self) -> Option<E> {
        let last = match self {
            Self::NotRetryable { last, .. } | Self::Exhausted { last, .. } => Some(last),
            Self::DeadlineExceeded { last, .. } | Self::Cancelled { last, .. } => last,
        };
        match last {
            Some(AttemptError::Failed(e)) => Some(e),
            _ => None,
        }
    }
}

/// Draws the delays between attempts.
pub struct Backoff {
    base: Duration,
    max: Duration,
    jitter: Jitter,
    previous: Duration,
    rng: StdRng,
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("base", &self.base)
            .field("max", &self.max)
            .field("jitter", &self.jitter)
            .finish_non_exhaustive()
    }
}

impl Backoff {
    /// Delays for `policy` drawn from a random seed (different in every call and process).
    #[must_use]
    pub fn new(policy: &RetryPolicy) -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        Self::seeded(policy, hasher.finish())
    }

    /// Delays for `policy` drawn from `seed`: the same seed gives the same delays (simulations
    /// derive it from the host, so that reruns are identical).
    #[must_use]
    pub fn seeded(policy: &RetryPolicy, seed: u64) -> Self {
        Self::with_rng(policy, StdRng::seed_from_u64(seed))
    }

    /// Delays for `policy` drawn from `rng`.
    #[must_use]
    pub fn with_rng(policy: &RetryPolicy, rng: StdRng) -> Self {
        let max = policy.max_backoff.max(policy.base);
        Self {
            base: policy.base,
            max,
            jitter: policy.jitter,
            previous: policy.base,
            rng,
        }
    }

    /// The delay after failed attempt number `attempt` (1-based).
    pub fn delay(&mut self, attempt: u32) -> Duration {
        let exponential = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(31))
            .min(self.max);
        let delay = match self.jitter {
            Jitter::None => exponential,
            Jitter::Full => self.uniform(Duration::ZERO, exponential),
            Jitter::Decorrelated => {
                let high = self.previous.saturating_mul(3).min(self.max);
                self.uniform(self.base.min(high), high)
            }
        };
        self.previous = delay.max(self.base);
        delay
    }

    fn uniform(&mut self, low: Duration, high: Duration) -> Duration {
        let (low, high) = (nanos(low), nanos(high));
        if high <= low {
            return Duration::from_nanos(low);
        }
        Duration::from_nanos(self.rng.random_range(low..=high))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// What a request does to the server if it is sent twice: decides which failures may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Idempotency {
    /// A read (GET, HEAD): retried on transport errors, 5xx (503 included), 408 and 429.
    Read,
    /// A write whose repetition changes nothing (PUT of a whole state, DELETE, PATCH with
    /// `If-Match`): retried like a read.
    IdempotentWrite,
    /// A write that may act twice (POST that creates, a power action): retried only when the
    /// error proves it was not applied (no connection made, 503, 429, 408).
    NonIdempotentWrite,
}

impl Idempotency {
    /// The usual kind of a method: GET/HEAD/OPTIONS read, PUT/DELETE idempotent writes, anything
    /// else (POST, PATCH) non-idempotent. Callers who know better (a PATCH with `If-Match`) say
    /// so themselves.
    #[must_use]
    pub fn of_method(method: &http::Method) -> Self {
        match *method {
            http::Method::GET | http::Method::HEAD | http::Method::OPTIONS => Self::Read,
            http::Method::PUT | http::Method::DELETE => Self::IdempotentWrite,
            _ => Self::NonIdempotentWrite,
        }
    }

    /// Whether repeating the request after an ambiguous failure is safe.
    #[must_use]
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Self::NonIdempotentWrite)
    }

    /// A transport error: connection failures are retried for every request; a timeout or a
    /// connection broken mid-request only for idempotent ones (the server may have applied it).
    #[must_use]
    pub fn on_transport_error(self, error: &TransportError) -> Retryable {
        if !error.is_retryable() || (!self.is_idempotent() && error.request_may_have_been_applied())
        {
            Retryable::No
        } else {
            Retryable::Yes
        }
    }

    /// An HTTP answer: 408, 429 and 503 say the request was refused unprocessed and are retried
    /// for every request (after `Retry-After` when given); other 5xx only for idempotent ones,
    /// except 501 and 505, which no retry changes; everything else is final.
    #[must_use]
    pub fn on_status(self, status: http::StatusCode, headers: &http::HeaderMap) -> Retryable {
        let again = || retry_after(headers).map_or(Retryable::Yes, Retryable::YesAfter);
        match status.as_u16() {
            408 | 429 | 503 => again(),
            501 | 505 => Retryable::No,
            500..=599 if self.is_idempotent() => again(),
            _ => Retryable::No,
        }
    }

    /// An attempt that outlived its per-attempt timeout (it may have been applied).
    #[must_use]
    pub fn on_attempt_timeout(self) -> Retryable {
        if self.is_idempotent() {
            Retryable::Yes
        } else {
            Retryable::No
        }
    }

    /// A classifier for [`retry`]: `classify` judges the operation's errors, and attempt timeouts
    /// are judged by [`Idempotency::on_attempt_timeout`].
    pub fn classify<E>(
        self,
        mut classify: impl FnMut(&E) -> Retryable,
    ) -> impl FnMut(&AttemptError<E>) -> Retryable {
        move |error| match error {
            AttemptError::Failed(e) => classify(e),
            AttemptError::TimedOut(_) => self.on_attempt_timeout(),
        }
    }
}

/// Runs `op` until it succeeds, `classify` says its error is final, the attempts run out, the
/// step deadline passes or `cancel` fires; backoffs are drawn from a random seed.
///
/// `op` gets the attempt number (1-based). Cancellation interrupts a running attempt too (the
/// attempt's future is dropped): for a write that must run to completion during a shutdown's
/// grace period, pass the token that fires when the grace period ends.
///
/// # Errors
/// [`RetryError`] with the attempts made and the last attempt's error.
pub async fn retry<T, E, Op, Fut, Cl>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    classify: Cl,
    op: Op,
) -> Result<T, RetryError<E>>
where
    E: fmt::Display,
    Op: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Cl: FnMut(&AttemptError<E>) -> Retryable,
{
    retry_with(policy, Backoff::new(policy), cancel, classify, op).await
}

/// [`retry`] with the backoff given (seeded, for reproducible simulations).
///
/// # Errors
/// [`RetryError`] with the attempts made and the last attempt's error.
pub async fn retry_with<T, E, Op, Fut, Cl>(
    policy: &RetryPolicy,
    mut backoff: Backoff,
    cancel: &CancellationToken,
    mut classify: Cl,
    mut op: Op,
) -> Result<T, RetryError<E>>
where
    E: fmt::Display,
    Op: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    Cl: FnMut(&AttemptError<E>) -> Retryable,
{
    let started = Instant::now();
    let deadline = policy.step_deadline.map(|d| (started + d, d));
    let mut attempts = 0u32;
    let mut last: Option<AttemptError<E>> = None;
    loop {
        if cancel.is_cancelled() {
            return Err(RetryError::Cancelled { attempts, last });
        }
        if let Some((at, deadline)) = deadline
            && Instant::now() >= at
        {
            return Err(RetryError::DeadlineExceeded {
                attempts,
                deadline,
                last,
            });
        }
        attempts += 1;
        // The attempt ends at its own timeout or at the step deadline, whichever comes first.
        let attempt_end = policy.attempt_timeout.map(|t| Instant::now() + t);
        let end = match (attempt_end, deadline) {
            (Some(a), Some((d, _))) => Some(a.min(d)),
            (a, d) => a.or(d.map(|(d, _)| d)),
        };
        let attempt = op(attempts);
        let result = tokio::select! {
            biased;
            result = bounded(attempt, end) => result,
            () = cancel.cancelled() => return Err(RetryError::Cancelled { attempts, last }),
        };
        let error = match result {
            Some(Ok(value)) => return Ok(value),
            Some(Err(e)) => AttemptError::Failed(e),
            None => {
                if let Some((at, deadline)) = deadline
                    && Instant::now() >= at
                {
                    let timeout = policy.attempt_timeout.unwrap_or(deadline);
                    return Err(RetryError::DeadlineExceeded {
                        attempts,
                        deadline,
                        last: Some(AttemptError::TimedOut(timeout)),
                    });
                }
                AttemptError::TimedOut(policy.attempt_timeout.unwrap_or_default())
            }
        };
        let wait = match classify(&error) {
            Retryable::No => {
                return Err(RetryError::NotRetryable {
                    attempts,
                    last: error,
                });
            }
            _ if attempts >= policy.max_attempts => {
                return Err(RetryError::Exhausted {
                    attempts,
                    last: error,
                });
            }
            Retryable::Yes => backoff.delay(attempts),
            Retryable::YesAfter(after) => backoff
                .delay(attempts)
                .max(after.min(policy.max_retry_after)),
        };
        if let Some((at, deadline)) = deadline
            && Instant::now() + wait >= at
        {
            return Err(RetryError::DeadlineExceeded {
                attempts,
                deadline,
                last: Some(error),
            });
        }
        tracing::debug!(attempt = attempts, ?wait, error = %error, "retrying");
        last = Some(error);
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(RetryError::Cancelled { attempts, last }),
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// `future`'s output, or `None` if `end` comes first.
async fn bounded<F: Future>(future: F, end: Option<Instant>) -> Option<F::Output> {
    match end {
        Some(end) => tokio::time::timeout_at(end, future).await.ok(),
        None => Some(future.await),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
    #[error("{0}")]
    struct Fail(&'static str);

    fn policy(max_attempts: u32, jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            jitter,
            ..RetryPolicy::default()
        }
    }

    /// An operation that fails with `errors` in turn, then succeeds; records when each attempt
    /// started.
    fn scripted(
        errors: Vec<&'static str>,
        starts: Arc<Mutex<Vec<Duration>>>,
    ) -> impl FnMut(u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, Fail>> + Send>> {
        let t0 = Instant::now();
        move |attempt| {
            starts.lock().unwrap().push(t0.elapsed());
            let result = match errors.get(attempt as usize - 1) {
                Some(e) => Err(Fail(e)),
                None => Ok(attempt),
            };
            Box::pin(async move { result })
        }
    }

    fn always(r: Retryable) -> impl FnMut(&AttemptError<Fail>) -> Retryable {
        move |_| r
    }

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().copied().map(Duration::from_millis).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn exponential_backoff_without_jitter_has_exact_timings() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["a", "b", "c", "d", "e"], starts.clone());
        let got = retry(
            &policy(10, Jitter::None),
            &CancellationToken::new(),
            always(Retryable::Yes),
            op,
        )
        .await
        .unwrap();
        assert_eq!(got, 6);
        // 100, 200, 400, 800, then capped at 1 s.
        assert_eq!(*starts.lock().unwrap(), ms(&[0, 100, 300, 700, 1500, 2500]));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_the_last_error() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["a", "b", "c", "d"], starts.clone());
        let err = retry(
            &policy(3, Jitter::None),
            &CancellationToken::new(),
            always(Retryable::Yes),
            op,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, RetryError::Exhausted { attempts: 3, .. }),
            "{err}"
        );
        assert_eq!(err.attempts(), 3);
        assert_eq!(err.into_last_error(), Some(Fail("c")));
        assert_eq!(starts.lock().unwrap().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_final_error_stops_at_once() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["retry me", "final"], starts.clone());
        let classify = |e: &AttemptError<Fail>| match e.error() {
            Some(Fail("final")) => Retryable::No,
            _ => Retryable::Yes,
        };
        let err = retry(
            &policy(10, Jitter::None),
            &CancellationToken::new(),
            classify,
            op,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, RetryError::NotRetryable { attempts: 2, .. }));
        assert_eq!(*starts.lock().unwrap(), ms(&[0, 100]));
        assert!(err.to_string().contains("final"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_capped() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["busy", "busy"], starts.clone());
        let mut p = policy(5, Jitter::None);
        p.max_retry_after = Duration::from_secs(5);
        let mut answers = vec![
            Retryable::YesAfter(Duration::from_secs(60)),
            Retryable::YesAfter(Duration::from_secs(3)),
        ]
        .into_iter();
        let classify = move |_: &AttemptError<Fail>| answers.next().unwrap();
        retry(&p, &CancellationToken::new(), classify, op)
            .await
            .unwrap();
        // 60 s is capped at 5 s; 3 s beats the 200 ms backoff.
        assert_eq!(*starts.lock().unwrap(), ms(&[0, 5000, 8000]));
    }

    #[tokio::test(start_paused = true)]
    async fn full_jitter_stays_in_bounds_and_is_reproducible_from_a_seed() {
        let p = policy(10, Jitter::Full);
        let draws = |seed| {
            let mut b = Backoff::seeded(&p, seed);
            (1..=8).map(|n| b.delay(n)).collect::<Vec<_>>()
        };
        let a = draws(7);
        assert_eq!(a, draws(7));
        assert_ne!(a, draws(8));
        for (n, d) in (1u32..).zip(&a) {
            let cap = (Duration::from_millis(100) * 2u32.pow(n - 1)).min(Duration::from_secs(1));
            assert!(*d <= cap, "attempt {n}: {d:?} > {cap:?}");
        }
        // The seeded backoff drives the loop: the waits are exactly the draws.
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["a", "b", "c"], starts.clone());
        retry_with(
            &p,
            Backoff::seeded(&p, 7),
            &CancellationToken::new(),
            always(Retryable::Yes),
            op,
        )
        .await
        .unwrap();
        let starts = starts.lock().unwrap().clone();
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        // tokio's timer has millisecond resolution: each wait ends on the next millisecond.
        for (gap, draw) in gaps.iter().zip(&a) {
            assert!(
                *gap >= *draw && *gap < *draw + Duration::from_millis(1),
                "{gap:?} {draw:?}"
            );
        }
    }

    #[test]
    fn decorrelated_jitter_stays_between_base_and_three_times_the_last() {
        let p = policy(10, Jitter::Decorrelated);
        let mut b = Backoff::seeded(&p, 42);
        let mut previous = p.base;
        for n in 1..200 {
            let d = b.delay(n);
            assert!(
                d >= p.base && d <= (previous * 3).min(p.max_backoff),
                "{d:?}"
            );
            previous = d;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeouts_are_classified_by_idempotency() {
        let slow = |_attempt: u32| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<(), Fail>(())
        };
        let mut p = policy(3, Jitter::None);
        p.attempt_timeout = Some(Duration::from_secs(1));
        let t0 = Instant::now();
        let read = retry(
            &p,
            &CancellationToken::new(),
            Idempotency::Read.classify(|_: &Fail| Retryable::Yes),
            slow,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            read,
            RetryError::Exhausted {
                attempts: 3,
                last: AttemptError::TimedOut(_)
            }
        ));
        // 3 attempts of 1 s with 100 ms and 200 ms between them.
        assert_eq!(t0.elapsed(), Duration::from_millis(3300));

        let t0 = Instant::now();
        let write = retry(
            &p,
            &CancellationToken::new(),
            Idempotency::NonIdempotentWrite.classify(|_: &Fail| Retryable::Yes),
            slow,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            write,
            RetryError::NotRetryable { attempts: 1, .. }
        ));
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_step_deadline_bounds_attempts_and_backoffs() {
        let mut p = policy(100, Jitter::None);
        p.step_deadline = Some(Duration::from_millis(1000));
        // Fails fast every time: 0, 100, 300, 700; the next backoff (800 ms) would end past
        // the deadline, so it stops at 700 ms without sleeping in vain.
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["x"; 100], starts.clone());
        let t0 = Instant::now();
        let err = retry(&p, &CancellationToken::new(), always(Retryable::Yes), op)
            .await
            .unwrap_err();
        assert!(
            matches!(err, RetryError::DeadlineExceeded { attempts: 4, .. }),
            "{err}"
        );
        assert_eq!(t0.elapsed(), Duration::from_millis(700));

        // A slow attempt is cut at the deadline.
        let t0 = Instant::now();
        let err = retry(
            &p,
            &CancellationToken::new(),
            always(Retryable::Yes),
            |_| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<(), Fail>(())
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            RetryError::DeadlineExceeded {
                attempts: 1,
                last: Some(AttemptError::TimedOut(_)),
                ..
            }
        ));
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_a_backoff_and_an_attempt() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(250)).await;
            c.cancel();
        });
        let starts = Arc::new(Mutex::new(Vec::new()));
        let op = scripted(vec!["x"; 10], starts.clone());
        let t0 = Instant::now();
        let err = retry(
            &policy(10, Jitter::None),
            &cancel,
            always(Retryable::Yes),
            op,
        )
        .await
        .unwrap_err();
        // Attempts at 0 and 100 ms; cancelled during the 200 ms backoff.
        assert!(
            matches!(
                err,
                RetryError::Cancelled {
                    attempts: 2,
                    last: Some(_)
                }
            ),
            "{err}"
        );
        assert_eq!(t0.elapsed(), Duration::from_millis(250));

        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            c.cancel();
        });
        let t0 = Instant::now();
        let err = retry(
            &RetryPolicy::default(),
            &cancel,
            always(Retryable::Yes),
            |_| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<(), Fail>(())
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            RetryError::Cancelled {
                attempts: 1,
                last: None
            }
        ));
        assert_eq!(t0.elapsed(), Duration::from_millis(40));

        // Already cancelled: no attempt at all.
        let err = retry(
            &RetryPolicy::default(),
            &cancel,
            always(Retryable::Yes),
            |_| async { Ok::<(), Fail>(()) },
        )
        .await
        .unwrap_err();
        assert_eq!(err.attempts(), 0);
    }

    #[test]
    fn reads_retry_on_5xx_writes_only_when_nothing_was_applied() {
        use http::StatusCode as S;
        let none = http::HeaderMap::new();
        let mut after = http::HeaderMap::new();
        after.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        let read = Idempotency::Read;
        let put = Idempotency::IdempotentWrite;
        let post = Idempotency::NonIdempotentWrite;
        for s in [S::INTERNAL_SERVER_ERROR, S::BAD_GATEWAY, S::GATEWAY_TIMEOUT] {
            assert_eq!(read.on_status(s, &none), Retryable::Yes);
            assert_eq!(put.on_status(s, &none), Retryable::Yes);
            assert_eq!(post.on_status(s, &none), Retryable::No, "{s}");
        }
        for s in [
            S::SERVICE_UNAVAILABLE,
            S::TOO_MANY_REQUESTS,
            S::REQUEST_TIMEOUT,
        ] {
            for kind in [read, put, post] {
                assert_eq!(kind.on_status(s, &none), Retryable::Yes);
                assert_eq!(
                    kind.on_status(s, &after),
                    Retryable::YesAfter(Duration::from_secs(7))
                );
            }
        }
        for s in [
            S::OK,
            S::NOT_FOUND,
            S::CONFLICT,
            S::UNPROCESSABLE_ENTITY,
            S::NOT_IMPLEMENTED,
            S::HTTP_VERSION_NOT_SUPPORTED,
        ] {
            assert_eq!(read.on_status(s, &none), Retryable::No);
        }

        let connect = TransportError::Connect {
            authority: "f".into(),
            reason: "refused".into(),
        };
        let reset = TransportError::Io {
            authority: "f".into(),
            reason: "reset".into(),
        };
        let timeout = TransportError::Timeout {
            authority: "f".into(),
            timeout: Duration::from_secs(1),
        };
        let invalid = TransportError::InvalidRequest("no host".into());
        for kind in [read, put, post] {
            assert_eq!(kind.on_transport_error(&connect), Retryable::Yes);
            assert_eq!(kind.on_transport_error(&invalid), Retryable::No);
        }
        for e in [&reset, &timeout] {
            assert_eq!(read.on_transport_error(e), Retryable::Yes);
            assert_eq!(put.on_transport_error(e), Retryable::Yes);
            assert_eq!(post.on_transport_error(e), Retryable::No);
        }
        assert_eq!(Idempotency::of_method(&http::Method::GET), read);
        assert_eq!(Idempotency::of_method(&http::Method::PUT), put);
        assert_eq!(Idempotency::of_method(&http::Method::POST), post);
    }

    #[test]
    fn the_policy_reads_from_toml() {
        let p: RetryPolicy = toml::from_str(
            "max_attempts = 3\nbase = \"250ms\"\njitter = \"decorrelated\"\nstep_deadline = \"10m\"",
        )
        .unwrap();
        assert_eq!(p.max_attempts, 3);
        assert_eq!(p.base, Duration::from_millis(250));
        assert_eq!(p.jitter, Jitter::Decorrelated);
        assert_eq!(p.step_deadline, Some(Duration::from_secs(600)));
        assert_eq!(p.attempt_timeout, None);
        assert_eq!(p.max_backoff, RetryPolicy::default().max_backoff);
        let again: RetryPolicy = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(again, p);
    }
}

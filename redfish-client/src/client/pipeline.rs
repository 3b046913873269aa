//! The request pipeline of a handle: one send (with its in-flight count and the mapping of an
//! answer to a reply or an [`Error`]), the two retry loops (`execute_unsessioned` for requests
//! sent without a session, with no credentials or HTTP Basic ones, `execute` for the others,
//! which also re-logs in once on a 401), the waits through a manager reset and through an
//! iDRAC Lifecycle Controller's restart, and the verbs the operations use (GET, PATCH with
//! `If-Match`, POST, DELETE).

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Bmc;
use crate::error::{Error, RequestLabel};
use crate::request::{AuthHeader, Call, Reply, RetryClass};
use crate::vendor::Transient;

impl Bmc {
    /// A manager reset met mid-operation: the BMC answered before (its service root is known)
    /// and now refuses connections. Waits on tokio's clock, within `waits.bmc_reset`, until it
    /// answers again (its sessions are gone then: the next request's 401 logs in again).
    /// False at once for a BMC never heard from, or an error other than a refused connection.
    pub(super) async fn wait_out_manager_reset(&self, error: &Error) -> bool {
        if !error.never_sent() || self.inner.root.get().is_none() {
            return false;
        }
        tracing::warn!(bmc = %self.name(), "the BMC refuses connections after answering: waiting for it to come back (manager reset?)");
        let never = tokio_util::sync::CancellationToken::new();
        let policy = self.inner.shared.config.waits.bmc_reset;
        let root = Call::get("/redfish/v1/").unauthenticated();
        crate::wait::poll_until(
            self.name(),
            "the BMC to answer again",
            policy,
            &never,
            || async {
                match self.send_once(&root, &AuthHeader::None).await {
                    Err(e) if e.never_sent() => Ok(crate::wait::Poll::Pending(e.to_string())),
                    _ => Ok(crate::wait::Poll::Ready(())),
                }
            },
        )
        .await
        .is_ok()
    }

    /// A write an iDRAC refused as not ready (its Lifecycle Controller restarting, as after
    /// `JID_CLEARALL_FORCE`): waits until the Lifecycle Controller is ready again, within
    /// `waits.lc_ready`, instead of a backoff of seconds that a restart of minutes outlasts.
    /// False at once for any other answer, or where there is nothing to wait on.
    async fn wait_out_lc_restart(&self, call: &Call, error: &Error) -> bool {
        if call.retry != RetryClass::Write || error.transient() != Some(Transient::NotReady) {
            return false;
        }
        tracing::info!(bmc = %self.name(), request = ?call, "not ready: waiting for the Lifecycle Controller");
        match self
            .wait_lc_ready(&tokio_util::sync::CancellationToken::new())
            .await
        {
            Ok(ready) => ready,
            Err(e) => {
                tracing::warn!(bmc = %self.name(), error = %e, "the Lifecycle Controller did not become ready");
                false
            }
        }
    }

    /// Sends `call` without credentials, with the retry policy (service root, login).
    pub(crate) async fn execute_plain(&self, call: &Call) -> Result<Reply, Error> {
        self.execute_unsessioned(call, &AuthHeader::None, reply)
            .await
    }

    /// Sends `call` with `auth` (none, or HTTP Basic: no session to log in again), with the
    /// retry policy and one wait through a manager reset; `decide` turns each answer, a
    /// failure status included, into the result or the error the policy retries after.
    pub(crate) async fn execute_unsessioned<T>(
        &self,
        call: &Call,
        auth: &AuthHeader,
        decide: impl Fn(RequestLabel, http::Response<bytes::Bytes>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut attempt: u32 = 0;
        let mut waited = false;
        loop {
            attempt += 1;
            let answer = self.send_raw(call, auth).await;
            let error = match answer.and_then(|(label, response)| decide(label, response)) {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            if !waited && self.wait_out_manager_reset(&error).await {
                waited = true;
                continue;
            }
            self.back_off(call, attempt, error).await?;
        }
    }

    /// Sends `call` with authentication, re-login once on a 401, and the retry policy.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, Error> {
        if !call.authenticated {
            return self.execute_plain(call).await;
        }
        let mut attempt: u32 = 0;
        let mut relogged = false;
        let mut waited = false;
        let mut lc_waited = false;
        loop {
            attempt += 1;
            let auth = self.authorization().await?;
            let error = match self.send_once(call, &auth).await {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            if error.status() == Some(http::StatusCode::UNAUTHORIZED)
                && !relogged
                && let Some(generation) = auth.generation()
            {
                relogged = true;
                attempt -= 1;
                self.relogin(generation).await?;
                continue;
            }
            if !waited && self.wait_out_manager_reset(&error).await {
                // the reset dropped the session: the next attempt's 401 logs in again
                waited = true;
                relogged = false;
                continue;
            }
            if !lc_waited && self.wait_out_lc_restart(call, &error).await {
                lc_waited = true;
                continue;
            }
            self.back_off(call, attempt, error).await?;
        }
    }

    /// After failed attempt number `attempt` of `call`: the error back when the policy gives up
    /// (attempts spent, or a failure this request may not be retried after), else waits the
    /// policy's delay (or the BMC's `Retry-After`) on tokio's clock.
    async fn back_off(&self, call: &Call, attempt: u32, error: Error) -> Result<(), Error> {
        let policy = &self.inner.shared.config.retry;
        if attempt >= policy.max_attempts.max(1) || !retry_allowed(call, &error) {
            return Err(error);
        }
        let delay = policy.delay(attempt, error.retry_after());
        tracing::debug!(bmc = %self.name(), request = ?call, attempt, ?delay, error = %error, "retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }

    /// Before a write is sent again whose answer was lost on attempt `attempt` (`error`) and
    /// that a read then did not show applied: waits the retry policy's delay (or the BMC's
    /// `Retry-After`) on tokio's clock. The write's error back when the policy's attempts are
    /// spent, [`Error::Cancelled`] on `cancel`.
    pub(crate) async fn wait_to_resend(
        &self,
        attempt: u32,
        error: Error,
        what: &str,
        cancel: Option<&tokio_util::sync::CancellationToken>,
    ) -> Result<(), Error> {
        let policy = &self.inner.shared.config.retry;
        if attempt >= policy.max_attempts.max(1) {
            return Err(error);
        }
        let delay = policy.delay(attempt, error.retry_after());
        tracing::warn!(bmc = %self.name(), error = %error, ?delay, "the answer to {what} was lost and a read does not show it applied: sending it again");
        let cancelled = async {
            match cancel {
                Some(cancel) => cancel.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = cancelled => Err(Error::Cancelled {
                bmc: self.name().to_owned(),
                what: format!("sending {what} again"),
            }),
        }
    }

    pub(super) async fn send_once(&self, call: &Call, auth: &AuthHeader) -> Result<Reply, Error> {
        let (label, response) = self.send_raw(call, auth).await?;
        reply(label, response)
    }

    /// Sends `call` once and gives back whatever answer came, a failure status included; only
    /// a missing answer is an error.
    async fn send_raw(
        &self,
        call: &Call,
        auth: &AuthHeader,
    ) -> Result<(RequestLabel, http::Response<bytes::Bytes>), Error> {
        let _busy = InFlight::enter(&self.inner.in_flight);
        let label = call.label(self.name());
        let request = call.to_http(&self.inner.address, auth)?;
        let started = tokio::time::Instant::now();
        let response = match self.inner.shared.transport.send(request).await {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(bmc = %self.name(), request = ?call, error = %e, "no answer");
                return Err(label.transport(e));
            }
        };
        tracing::debug!(
            bmc = %self.name(),
            request = ?call,
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis(),
            "answered"
        );
        Ok((label, response))
    }

    /// GETs a resource and decodes it.
    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.execute(&Call::get(path)).await?.json()
    }

    /// GETs a resource and decodes it, with its ETag (for a PATCH later in the operation).
    pub(crate) async fn get_tagged<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<(T, Option<String>), Error> {
        let reply = self.execute(&Call::get(path)).await?;
        Ok((reply.json()?, reply.etag()))
    }

    /// PATCHes `path` with `If-Match` when the resource has an ETag; on 412 (changed in between)
    /// the ETag is read again and the PATCH sent once more.
    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        let etag = self.etag_of(path).await?;
        self.patch_if_match(path, body, etag).await
    }

    /// PATCHes `path` with the ETag of a read of it made earlier in the same operation (no
    /// second GET for it); on 412 the ETag is read again and the PATCH sent once more.
    pub(crate) async fn patch_if_match(
        &self,
        path: &str,
        body: &Value,
        etag: Option<String>,
    ) -> Result<Reply, Error> {
        match self.execute(&Call::patch(path, body).if_match(etag)).await {
            Err(e) if e.status() == Some(http::StatusCode::PRECONDITION_FAILED) => {
                let etag = self.etag_of(path).await?;
                self.execute(&Call::patch(path, body).if_match(etag)).await
            }
            other => other,
        }
    }

    pub(crate) async fn etag_of(&self, path: &str) -> Result<Option<String>, Error> {
        match self.execute(&Call::get(path)).await {
            Ok(reply) => Ok(reply.etag()),
            // A settings resource may not be readable: PATCH without If-Match then (a BMC that
            // insists answers 428, which names the problem).
            Err(Error::Status { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// POSTs a write.
    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Reply, Error> {
        self.execute(&Call::post(path, body)).await
    }

    /// DELETEs a resource.
    pub(crate) async fn delete(&self, path: &str) -> Result<Reply, Error> {
        self.execute(&Call::delete(path)).await
    }
}

/// Counts a request in flight on a handle for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A success status is the reply; any other is the error its status, headers and body tell.
fn reply(label: RequestLabel, response: http::Response<bytes::Bytes>) -> Result<Reply, Error> {
    let (parts, body) = response.into_parts();
    if parts.status.is_success() {
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
            label,
        })
    } else {
        Err(label.status(parts.status, &parts.headers, &body))
    }
}

fn retry_allowed(call: &Call, error: &Error) -> bool {
    if !call.retry_session_limit && error.transient() == Some(Transient::SessionLimit) {
        return false;
    }
    match call.retry {
        RetryClass::Read => error.is_retryable(),
        RetryClass::Write => error.transient().is_some() || error.never_sent(),
    }
}

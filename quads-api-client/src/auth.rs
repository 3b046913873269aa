//! Authentication of writes: the Basic header, `POST /api/v3/login/` and its token, kept until
//! shortly before it expires (on tokio's clock) and renewed once after a 401.

use std::fmt;

use http::HeaderValue;
use serde::Deserialize;
use time::UtcOffset;
use tokio::time::Instant;

use crate::Secret;
use crate::config::{Credentials, TokenPolicy};
use crate::error::Error;
use crate::request::{ApiRequest, DecodeError, Endpoint};

/// The `Authorization: Basic` value of `credentials`, marked sensitive.
///
/// # Errors
/// [`Error::Config`] when the login or password cannot be carried in a header.
pub fn basic_authorization(credentials: &Credentials) -> Result<HeaderValue, Error> {
    quads_http::api::basic_authorization(&credentials.username, &credentials.password).ok_or_else(
        || Error::Config {
            reason: "the QUADS credentials cannot be sent in an HTTP header".to_owned(),
        },
    )
}

/// The `Authorization: Bearer` value of a token, marked sensitive.
///
/// # Errors
/// [`Error::Config`] when the token cannot be carried in a header.
pub fn bearer_authorization(token: &Secret) -> Result<HeaderValue, Error> {
    sensitive(&format!("Bearer {}", token.expose()))
}

fn sensitive(text: &str) -> Result<HeaderValue, Error> {
    let mut value = HeaderValue::from_str(text).map_err(|_| Error::Config {
        reason: "the QUADS credentials cannot be sent in an HTTP header".to_owned(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `POST /api/v3/login/` (sent with Basic): QUADS answers HTTP 200 with
/// `{"auth_token": "<jwt>", "status_code": 201, ...}`.
///
/// ```
/// use quads_api_client::{Endpoint, auth::Login};
/// use time::UtcOffset;
///
/// let token = Login.parse(br#"{"status_code":201,"status":"success","auth_token":"eyJ.x.y"}"#, UtcOffset::UTC).unwrap();
/// assert_eq!(token.expose(), "eyJ.x.y");
/// assert_eq!(format!("{token:?}"), "***");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login;

#[derive(Deserialize)]
struct LoginAnswer {
    #[serde(default)]
    auth_token: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Endpoint for Login {
    type Output = Secret;

    fn request(&self, _server: UtcOffset) -> ApiRequest {
        ApiRequest::new(http::Method::POST, &["login", ""])
    }

    fn parse(&self, body: &[u8], _server: UtcOffset) -> Result<Self::Output, DecodeError> {
        let answer: LoginAnswer = serde_json::from_slice(body).map_err(|e| DecodeError {
            path: ".".to_owned(),
            reason: e.to_string(),
        })?;
        match answer.auth_token.filter(|t| !t.is_empty()) {
            Some(token) => Ok(Secret::new(token)),
            None => Err(DecodeError {
                path: "auth_token".to_owned(),
                reason: format!(
                    "no token in the login answer ({})",
                    answer.message.unwrap_or_else(|| "no message".to_owned())
                ),
            }),
        }
    }

    fn secret_answer(&self) -> bool {
        true
    }
}

/// A token and when it is to be renewed.
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    renew_at: Instant,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("value", &"***")
            .field("renew_at", &self.renew_at)
            .finish()
    }
}

impl Token {
    /// A token got at `now` under `policy`.
    pub(crate) fn new(value: Secret, now: Instant, policy: TokenPolicy) -> Self {
        let usable = policy.lifetime.saturating_sub(policy.renew_before);
        Self {
            value,
            renew_at: now + usable,
        }
    }

    /// Whether it may still be sent at `now`.
    pub(crate) fn fresh(&self, now: Instant) -> bool {
        now < self.renew_at
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    #[test]
    fn a_token_is_renewed_before_its_lifetime_ends() {
        let now = Instant::now();
        let token = Token::new(Secret::new("tok-secret"), now, TokenPolicy::default());
        assert!(token.fresh(now + Duration::from_secs(5699)));
        assert!(!token.fresh(now + Duration::from_secs(5700)));
        assert!(!format!("{token:?}").contains("tok-secret"));
    }

    #[test]
    fn a_login_answer_without_token_is_refused_without_quoting_it() {
        let err = Login
            .parse(
                br#"{"status_code":401,"status":"fail","message":"User does not exist."}"#,
                UtcOffset::UTC,
            )
            .unwrap_err();
        assert!(err.reason.contains("User does not exist."));
        let basic = basic_authorization(&Credentials::new("admin@example.com", "pw")).unwrap();
        assert!(basic.is_sensitive());
        assert_eq!(basic, "Basic YWRtaW5AZXhhbXBsZS5jb206cHc=");
    }
}

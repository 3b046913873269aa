//! Typed async client of the Foreman API v2, built on the `quads-http` transport seam.
//!
//! It covers what re-provisioning bare-metal hosts needs, and keeping each tenant's Foreman
//! user seeing only its own hosts: hosts (search, pages, thin listing, one-request updates,
//! power and boot), host parameters (with an idempotent upsert), users, roles, filters and user
//! groups, the provisioning catalog (operating systems, partition tables, media, architectures,
//! host groups, permissions) with cached and coalesced lookups by exact name, and Foreman's
//! `/api/status` and `/api/ping`.
//!
//! ```no_run
//! use foreman_client::{ClientConfig, Credentials, ForemanClient, ForemanUrl, PerPage};
//! use foreman_client::hosts::{Build, HostUpdate};
//!
//! # async fn example() -> Result<(), foreman_client::Error> {
//! let client = ForemanClient::new(ClientConfig::new(
//!     ForemanUrl::parse("https://foreman.example.com")?,
//!     Credentials::password("admin", "changeme"),
//! ))?;
//! let os = client.operating_systems().lookup("RedHat 9.4").await?;
//! client
//!     .hosts()
//!     .update("node01.example.com", HostUpdate::new().operatingsystem(os.id).build(Build::Enabled))
//!     .send()
//!     .await?;
//! let building = client.hosts().list_thin().search("build = true").per_page(PerPage::All).all().await?;
//! # Ok(()) }
//! ```
//!
//! Code map:
//! - [`client`]: [`ForemanClient`] (the only IO) and [`Call`], a typed request with `send()`.
//! - [`request`]: [`ApiRequest`] and the [`Endpoint`] trait: every endpoint is a pure request
//!   builder plus a pure response parser, usable without a client.
//! - [`pagination`]: the page envelope, `per_page`/`all`, walking pages.
//! - [`hosts`], [`parameters`], [`users`], [`roles`] (roles and filters), [`usergroups`],
//!   [`catalog`], [`status`]: the endpoints and their wire types.
//! - [`error`]: the one [`Error`] type and Foreman's three error body shapes.
//! - [`config`], [`session`]: settings, Basic credentials and the session cookie; [`Secret`]
//!   (the wrapper of passwords, tokens and cookies) is `quads_http::Secret`, re-exported.
//!
//! Behaviour worth knowing:
//! - Basic credentials (password or personal access token) go with every request, since
//!   Foreman's 401 carries no challenge; Foreman's session cookie is kept and sent back so
//!   that later requests skip password hashing ([`SessionPolicy`]).
//! - TLS is verified by default; a CA bundle or an explicit insecure mode are options of
//!   [`TransportConfig`] ([`TlsVerification`]).
//! - A listing never sends `thin=false`: Foreman takes any non-blank `thin` as true.
//! - An object hidden by RBAC answers 404, like a missing one.
//! - Retries, rate and concurrency limits are the caller's: wrap the [`Transport`] and build
//!   the client with [`ForemanClient::with_transport`]. [`Error::is_retryable`] and
//!   [`Error::request_may_have_been_applied`] say what a retry policy needs to know.
//!
//! Invariants, stated as absences: no printing (only `tracing`, never with a body), no password,
//! token or cookie in any error, log line or `Debug` output, no wait on anything but tokio's
//! clock, no dependency on other quads crates but `quads-http`.

#![warn(missing_docs)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod cache;
pub mod catalog;
pub mod client;
pub mod config;
mod de;
pub mod error;
pub mod hosts;
pub mod pagination;
pub mod parameters;
pub mod request;
pub mod roles;
pub mod session;
pub mod status;
pub mod usergroups;
pub mod users;

pub use client::{Call, ForemanClient};
pub use config::{ClientConfig, Credentials, ForemanUrl, LookupPolicy, SecretKind, SessionPolicy};
pub use error::{ApiError, ApiErrorKind, DecodeError, Error, LookupProblem};
pub use pagination::{Page, PerPage};
pub use quads_http::{Secret, TlsVerification, Transport, TransportConfig, TransportError};
pub use request::{ApiRequest, Endpoint, Identifier, Search};

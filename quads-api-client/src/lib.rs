//! Typed async client of the QUADS 2.x REST API v3, built on the `quads-http` transport seam.
//!
//! It covers what a move-and-rebuild worker and an import need: `moves`, clouds, assignments,
//! hosts with their interfaces, schedules, and the writes QUADS's own mover makes (host,
//! assignment and schedule `PATCH`es), with `POST`s of clouds, assignments and schedules.
//!
//! Code map:
//! - [`client`]: [`QuadsClient`], the only IO: typed reads, writes, verified writes.
//! - [`request`]: [`ApiRequest`] and the [`Endpoint`] trait (pure builder + pure parser);
//!   [`reads`] and [`writes`] are the endpoints, [`auth`] the login and its token.
//! - [`model`]: the records QUADS answers with; [`time`]: [`Timestamp`] and the three date
//!   formats; [`error`]: the one [`Error`]; [`config`]: settings.
//!
//! QUADS's quirks, handled here:
//! - Reads are open; writes need an admin: Basic on each, or a token from `POST login/`
//!   (answered 200 with `"status_code": 201`), renewed before its 6000 s run out and once after
//!   a 401 ([`AuthMode`]).
//! - Not-found is HTTP 400 with `{"error", "message", "status_code"}` ([`Error::NotFound`]);
//!   an unknown route is an HTML 404 ([`Error::UnknownRoute`]); an id or date it cannot read an
//!   HTML 500 ([`Error::Server`]); no HTML is ever copied into an error.
//! - Dates: `PATCH` and `?date=` take `YYYY-MM-DDTHH:MM`, `POST schedules` `YYYY-MM-DD HH:MM`,
//!   answers give RFC 1123 in the server's local time although labelled `GMT`: the client is
//!   told the server's UTC offset ([`ClientConfig::server_utc_offset`], default UTC).
//! - A host `PATCH` the database refuses is rolled back yet answered 200 with the old row: a
//!   write is done only when a read shows it (`patch_*_verified`, [`Error::NotApplied`]).
//! - `GET clouds` answers no clouds as `{}`; `GET schedules/current` (and `schedules/future`)
//!   may ignore a host or cloud it does not know (the answer is filtered here).
//!
//! Invariants, stated as absences: no printing (only `tracing`, never a body), no password or
//! token in any error, log line or `Debug` output, no wait on anything but tokio's clock, no
//! dependency on other quads crates but `quads-http`.

#![warn(missing_docs)]

/// The README's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod model;
pub mod reads;
pub mod request;
pub mod time;
pub mod writes;

pub use client::QuadsClient;
pub use config::{AuthMode, ClientConfig, Credentials, QuadsUrl, TokenPolicy};
pub use error::Error;
pub use model::{Assignment, Cloud, Host, Interface, Move, Schedule, Vlan};
pub use quads_http::{Secret, TlsVerification, Transport, TransportConfig, TransportError};
pub use reads::{AssignmentFilter, CurrentSchedules, FutureSchedules};
pub use request::{ApiRequest, DecodeError, Endpoint};
pub use time::Timestamp;
pub use writes::{AssignmentPatch, HostPatch, SchedulePatch};

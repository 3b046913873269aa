//! Typed async client of the Foreman API v2 (not yet built: see issue 4).

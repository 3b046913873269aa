//! Scenarios against testkit's lab QUADS server (filled in with the fake server).

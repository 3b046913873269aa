//! Plan, per-host step machine, limits, journal and store of move-and-rebuild (not yet built: see issue 5).

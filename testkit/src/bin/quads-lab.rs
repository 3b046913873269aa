//! `quads-lab`: runs the simulated lab standalone.
fn main() {}

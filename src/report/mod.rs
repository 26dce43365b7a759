//! Everything minrepro shows or writes about a finding, one file per output (the nightly
//! summary's own outputs are under `nightly`). Secrets are taken out on the way out (see
//! `TrialRecord::redacted`), so no output can forget to.

pub mod attachment;
#[cfg(test)]
pub mod fixtures;
pub mod json;
mod render;
pub mod terminal;
pub mod view;

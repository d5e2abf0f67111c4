//! Tests of the exports as an application reaches them: through the
//! function tables and the unmangled getters that [`export_pkcs11!`]
//! produces, against a small backend with per-thread state.
//!
//! [`export_pkcs11!`]: crate::export_pkcs11

mod backend;
mod checks;
mod conventions;
mod fence;
mod hostile;
mod tables;
mod uninitialized;

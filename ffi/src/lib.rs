//! The PKCS#11 C boundary of p11kms.
//!
//! This crate owns everything that touches C: the exported function tables
//! for the 2.40 and 3.0 interfaces, pointer and length checks, decoding of
//! templates and mechanism parameters, the two-call output convention, the
//! panic guard, and the one place where results become `CK_RV`s. Behind it
//! sits a safe [`Backend`] trait; the module crate implements the trait and
//! invokes [`export_pkcs11!`] to produce the exported symbols.
//!
//! It knows nothing about sockets or the daemon.

pub mod backend;
pub mod output;
pub mod types;

pub use backend::{Backend, Result, NOT_SUPPORTED};
pub use cryptoki_sys as sys;
pub use output::{Delivery, OutBuf};
pub use types::{InitArgs, Info, SessionInfo, SlotInfo, TokenInfo};

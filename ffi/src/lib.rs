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
//!
//! # Layout
//!
//! One module per group of PKCS#11 functions ([`general`], [`slot_token`],
//! [`session`], [`object`], [`encryption`], [`decryption`], [`digest`],
//! [`signing`], [`verification`], [`dual`], [`keys`], [`random`],
//! [`message`], [`interface`]). Each export is a generic
//! `unsafe extern "C" fn C_Name<B: Backend>(...)`: inside the panic guard it
//! answers `CKR_CRYPTOKI_NOT_INITIALIZED` before reading anything when the
//! backend is not initialized, bounds every length ([`limits`]), checks the
//! caller's pointers, decodes, calls one [`Backend`] method, and encodes the
//! answer. [`tables`] puts them in the function lists.
//!
//! # Safety
//!
//! Every export is an `unsafe fn` whose contract is the PKCS#11 standard's:
//! a pointer the standard lets be null may be null (and is refused with
//! `CKR_ARGUMENTS_BAD` where it may not); every non-null pointer must be
//! valid for the length the caller states, for the duration of the call.
//! The exports check everything that can be checked (null pointers,
//! null-with-length, alignment, sizes, the bounds of [`limits`]); validity
//! of memory cannot be, so no length the caller states is ever taken as
//! the size of an allocation before it was bounded.

pub mod backend;
pub mod limits;
pub mod output;
pub mod types;

mod args;
mod ending;
mod guard;
mod info;
mod mechanism;
mod template;

pub mod decryption;
pub mod digest;
pub mod dual;
pub mod encryption;
pub mod export;
pub mod general;
pub mod interface;
pub mod keys;
pub mod message;
pub mod object;
pub mod random;
pub mod session;
pub mod signing;
pub mod slot_token;
pub mod tables;
pub mod verification;

#[cfg(test)]
mod tests;

pub use backend::{Backend, NOT_SUPPORTED, Operation, Result};
pub use cryptoki_sys as sys;
pub use interface::{Exported, Interfaces};
pub use output::{Delivery, OutBuf};
pub use types::{Info, InitArgs, SessionInfo, SlotInfo, TokenInfo};

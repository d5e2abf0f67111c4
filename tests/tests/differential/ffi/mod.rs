//! Raw PKCS#11 plumbing of the differential harness (`differential.rs`).
//!
//! Both modules are loaded with `dlopen` and called through the 2.40
//! `CK_FUNCTION_LIST` their `C_GetFunctionList` returns, because the
//! `cryptoki` crate refuses most malformed calls before they reach a module.
//!
//! Every call goes through a safe wrapper of [`P11`] whose arguments can
//! only describe memory that exists: an input is either a real slice with
//! its true length ([`In::B`]) or a NULL pointer with any claimed length
//! ([`In::Null`]); an output is a buffer of a given size, a NULL buffer, or
//! a NULL length pointer ([`Out`]). So a length larger than a real buffer is
//! only ever passed with NULL, where a conforming module must refuse it
//! without reading. The `unsafe` blocks are in these wrappers (and in the
//! fork guard, which keeps a SoftHSM crash out of the test).
//!
//! Loading is here; the argument types are in `args.rs` and `mech.rs`, the
//! wrappers in `p11.rs`, the names of `CK_RV` values in `rv.rs` and the
//! fork guard in `fork.rs`.

mod args;
mod fork;
mod mech;
mod p11;
mod rv;

use cryptoki_sys::*;

pub use args::{Fin, Got, In, Init, Io, Out, Template, Tmpl, Upd, V};
pub use fork::{CRASHED, survives};
pub use mech::{M, Mech};
pub use p11::P11;
pub use rv::rv_name;

/// A module's 2.40 function table (a static of the library, which is never
/// unloaded).
pub type Fl = &'static CK_FUNCTION_LIST;

pub use p11kms_tests::raw::function_list as load;

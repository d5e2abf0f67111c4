//! The PKCS#11 calls, implemented on [`crate::module::Module`]: each file
//! takes one group of functions and glues the local tables to the daemon's
//! answers. Local rules of the standard are checked first, so that a call
//! the daemon would refuse anyway costs no round trip.

mod create;
mod crypto;
mod digest;
mod keys;
mod objects;
mod pin;
mod random;
mod refused;
mod sessions;
mod slots;
mod wrap;

pub use crypto::Part;

#[cfg(test)]
mod tests;

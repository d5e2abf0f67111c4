//! Restoring a key or secret from another daemon's backup (the spec's
//! restore into another region: `backup restore-key … --to-socket DEST`).
//! The daemons never talk to each other: the CLI calls each in turn and
//! only passes on what one hands out for the other.
//!
//! 1. [`prepare`], at the destination: the checks first, then a one-time
//!    ticket ([`tickets`]) and, for a key, the public half of an RSA key
//!    pair generated for it inside the target cluster's HSM.
//! 2. [`export`], at the source: the key or secret as its backup holds
//!    it, in a [`package`]; key material re-wrapped inside the source's
//!    HSM under a one-time key, itself wrapped for the ticket's public key.
//! 3. [`import`], at the destination: the package checked against the
//!    ticket, the material unwrapped inside its HSM, the key or secret put
//!    in place as a restore from its own backups is (`place`).

pub mod export;
pub mod import;
pub mod package;
pub mod prepare;
pub mod tickets;

#[cfg(test)]
mod tests;

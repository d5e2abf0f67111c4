//! p11kmsd, the p11kms daemon, as a library (the binary in `main.rs` is a
//! thin shell around [`startup::start`] and [`front::serve`]).
//!
//! Rooms, after parsec's layout:
//! * [`front`]: sockets, peer credentials, framing, connections, shutdown;
//! * [`data`] and [`admin`]: the back ends of the two planes;
//! * [`kms`]: the KMS model shared by both planes, over a vault;
//! * [`clusters`]: HSM clusters as the daemon runs them, and the vault on them;
//! * [`hsm`]: PKCS#11 modules, member tokens, clusters;
//! * [`encoding`]: byte encodings around the HSM (DER, OAEP, signatures);
//! * [`store`]: SQLite metadata and the journal;
//! * [`audit`]: the audit trail, a hash chain of every call's event;
//! * [`background`]: the scheduler's periodic passes;
//! * [`config`], [`paths`], [`private_files`], [`root_key`], [`clock`], [`service`], [`startup`].

pub mod admin;
pub mod audit;
pub mod background;
pub mod backups;
pub mod calendar;
pub mod clock;
pub mod clusters;
pub mod config;
pub mod data;
pub mod encoding;
pub mod front;
pub mod hsm;
pub mod kms;
pub mod paths;
pub mod private_files;
pub mod root_key;
pub mod service;
pub mod startup;
pub mod store;

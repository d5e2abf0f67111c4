//! Unit tests of backups over the KMS fixture (in-memory store, manual
//! clock, in-memory vault) and a temporary directory for the files.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

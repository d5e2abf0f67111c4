//! The operation rules a third-party conformance suite checked (issue 18),
//! on the real `libp11kms.so` against a real daemon:
//!
//! * a failed call ends its operation, even when the boundary refused it
//!   for a null pointer (`CKR_ARGUMENTS_BAD`), for every kind of operation;
//! * a short output buffer is `CKR_BUFFER_TOO_SMALL` with the length, keeps
//!   the operation, is never written past, and the retry gives the bytes
//!   one call gives;
//! * multi-part AES-ECB, -CBC, -CBC-PAD and -CTR return their output at
//!   each update, give the bytes of one call, and may exceed one request;
//! * malformed mechanism parameters are refused at `…Init` with
//!   `CKR_MECHANISM_PARAM_INVALID`, and start no operation;
//! * keys are checked at `…Init`: the key type against the mechanism
//!   first (`CKR_KEY_TYPE_INCONSISTENT`), then the key's function
//!   (`CKR_KEY_FUNCTION_NOT_PERMITTED`).
//!
//! The `cryptoki` crate cannot pass null pointers or malformed parameters,
//! so the module's function list is called directly. One test: the module
//! is loaded once per process.
//!
//! The checks are grouped in modules under `operation_conformance/`: the
//! raw calls (`p11.rs`), the session and keys (`setup.rs`), failed calls
//! (`failed_calls.rs`), short buffers (`short_buffers.rs`), streamed
//! multi-part operations (`streaming.rs`), and parameters
//! and keys at `…Init` (`init_checks.rs`).

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

#[path = "operation_conformance/failed_calls.rs"]
mod failed_calls;
#[path = "operation_conformance/init_checks.rs"]
mod init_checks;
#[path = "operation_conformance/p11.rs"]
mod p11;
#[path = "operation_conformance/setup.rs"]
mod setup;
#[path = "operation_conformance/short_buffers.rs"]
mod short_buffers;
#[path = "operation_conformance/streaming.rs"]
mod streaming;

use std::ptr::null_mut;

use cryptoki_sys::*;
use p11kms_tests::Daemon;

use failed_calls::failed_calls_end_the_operation;
use init_checks::{keys_are_checked_at_init, parameters_are_checked_at_init};
use p11::load;
use setup::{generate_keys, session};
use short_buffers::short_buffers_keep_the_operation_and_the_bytes;
use streaming::multi_part_operations_stream;

const IV: [u8; 16] = [3; 16];
const PLAIN: [u8; 32] = *b"thirty-two bytes of plaintext..!";

#[test]
fn operations_follow_the_standard_at_init_on_failure_with_short_buffers_and_in_parts() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("conformance", "hsm1");
    // SAFETY: this binary holds one test; nothing else reads the environment.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let l = load();
    assert_eq!(p11kms_tests::raw::initialize(l.C_Initialize), CKR_OK);
    let p = session(l, &pin);
    let keys = generate_keys(p);

    failed_calls_end_the_operation(p, &keys);
    short_buffers_keep_the_operation_and_the_bytes(p, &keys);
    multi_part_operations_stream(p, &keys);
    parameters_are_checked_at_init(p, &keys);
    keys_are_checked_at_init(p, &keys);

    // SAFETY: a null argument is what the standard asks for.
    assert_eq!(unsafe { l.C_Finalize.unwrap()(null_mut()) }, CKR_OK);
}

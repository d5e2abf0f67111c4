//! Mirror image files (`<state>/images/<id>.json`), as `cluster image
//! list` and `cluster restore` read them once their SHA-256 manifest
//! matched: `p11kmsd::clusters::images::parse_image` parses the JSON,
//! checks the format, and reads every version's id (hex), public key (JSON
//! of `hsm::PublicKey`) and wrapped material (base64).
//!
//! An image is written by the daemon, but it lies in the state directory
//! and may come from a copy of another machine's: a damaged or hostile one
//! must be refused, never crash the daemon.
//!
//! Checked: nothing panics; a refusal is an `InvalidParameter`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p11kmsd::clusters::images::parse_image;
use p11kmsd::kms::KmsError;

fuzz_target!(|data: &[u8]| {
    match parse_image(data) {
        Ok(_) => {}
        Err(KmsError::InvalidParameter(message)) => assert!(!message.is_empty()),
        Err(other) => panic!("an image is refused as a bad parameter, not {other}"),
    }
});

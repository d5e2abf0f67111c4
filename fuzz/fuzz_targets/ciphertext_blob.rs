//! Ciphertext blobs of KMS envelope encryption, as `Decrypt`,
//! `ReEncrypt` and the PKCS#11 envelope mechanism read them: the blob
//! (`CiphertextBlob::decode`), the encryption context that comes with it
//! (a JSON object of strings in the envelope mechanism's parameter, parsed
//! as the daemon's data plane does), and the additional authenticated data
//! built from both (`aad`).
//!
//! Input: one byte n, n bytes of context JSON, then the blob.
//!
//! Checked: nothing panics; a blob that decodes encodes to exactly its own
//! bytes (the layout has one encoding) and carries at least a tag; its AAD
//! is its header followed by the context's canonical encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use p11kms_proto::blob::{CiphertextBlob, EncryptionContext, IV_LEN, TAG_LEN, encode_context};

fuzz_target!(|data: &[u8]| {
    let Some((&context_len, rest)) = data.split_first() else { return };
    let Some((context_json, blob)) = rest.split_at_checked(usize::from(context_len)) else { return };
    // The data plane answers CKR_MECHANISM_PARAM_INVALID to a context that
    // does not parse; the admin plane gets its context already decoded.
    let context: EncryptionContext = if context_json.is_empty() {
        EncryptionContext::new()
    } else {
        match serde_json::from_slice(context_json) {
            Ok(context) => context,
            Err(_) => return check_blob(blob, &EncryptionContext::new()),
        }
    };
    check_blob(blob, &context);
});

fn check_blob(bytes: &[u8], context: &EncryptionContext) {
    let blob = match CiphertextBlob::decode(bytes) {
        Ok(blob) => blob,
        Err(error) => {
            let _ = error.to_string();
            return;
        }
    };
    assert_eq!(blob.encode().expect("a decoded blob encodes"), bytes, "a blob has one encoding");
    assert!(blob.ciphertext.len() >= TAG_LEN, "a blob carries at least its tag");
    let header_len = 7 + blob.key_id.len() + 16 + IV_LEN;
    let aad = blob.aad(context);
    assert_eq!(&aad[..header_len], &bytes[..header_len], "the AAD starts with the header");
    assert_eq!(aad[header_len..], encode_context(context), "then comes the context");
}

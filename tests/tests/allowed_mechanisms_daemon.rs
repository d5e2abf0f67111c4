//! The daemon enforces a key's `CKA_ALLOWED_MECHANISMS` itself, not only
//! the module (`docs/pkcs11.md`, "Attributes and mechanisms added for
//! conformance"): requests sent straight to the data socket, past any
//! module's check, with a KMS key and a session key restricted to
//! AES-GCM, are refused for AES-CBC-PAD (`CKR_MECHANISM_INVALID`) and
//! served for AES-GCM.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki_sys::{
    CKA_ALLOWED_MECHANISMS, CKA_DECRYPT, CKA_ENCRYPT, CKA_TOKEN, CKA_VALUE_LEN, CKM_AES_CBC_PAD, CKM_AES_GCM,
    CKM_AES_KEY_GEN, CKR_MECHANISM_INVALID,
};
use p11kms_proto::CkRv;
use p11kms_proto::data::{DataReply, DataRequest};
use p11kms_proto::pkcs11::{Attribute, MechParam, Mechanism};
use p11kms_tests::Daemon;
use p11kms_tests::data_client::{logged_in, request};

#[test]
fn the_daemon_refuses_a_mechanism_a_key_does_not_allow() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("raw", "hsm1");
    let (mut stream, slot) = logged_in(&daemon, [0x6d; 16], "hsm1", &pin);
    let gcm = Mechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![1; 12], aad: Vec::new(), tag_bits: 128 } };
    let cbc = Mechanism { ty: CKM_AES_CBC_PAD, param: MechParam::Bytes(vec![2; 16]) };
    let mut id = 4;
    for token in [true, false] {
        let template = vec![
            Attribute::bool(CKA_TOKEN, token),
            Attribute::ulong(CKA_VALUE_LEN, 32),
            Attribute::bool(CKA_ENCRYPT, true),
            Attribute::bool(CKA_DECRYPT, true),
            Attribute::bytes(CKA_ALLOWED_MECHANISMS, CKM_AES_GCM.to_le_bytes().to_vec()),
        ];
        let generate = DataRequest::GenerateKey { slot, mechanism: Mechanism::new(CKM_AES_KEY_GEN), template };
        let Ok(DataReply::Objects(made)) = request(&mut stream, id, &generate) else { panic!("a key (token {token})") };
        let object = made[0].id;
        let encrypt = |mechanism: &Mechanism| DataRequest::Encrypt {
            slot,
            object,
            mechanism: mechanism.clone(),
            data: "sixteen bytes!!!".into(),
        };
        assert_eq!(request(&mut stream, id + 1, &encrypt(&cbc)), Err(CkRv(CKR_MECHANISM_INVALID)), "token {token}");
        assert!(
            matches!(request(&mut stream, id + 2, &encrypt(&gcm)), Ok(DataReply::Bytes(b)) if b.len() == 32),
            "GCM is allowed (token {token})"
        );
        id += 3;
    }
}

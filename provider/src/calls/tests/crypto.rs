//! Sign, verify, encrypt, decrypt: local init checks, one round trip,
//! the two-call convention, multi-part buffering.

use p11kms_proto::pkcs11::MechParam;

use super::*;

/// AES-GCM with a 12-byte IV and a 128-bit tag.
fn gcm() -> Mechanism {
    Mechanism { ty: CKM_AES_GCM, param: MechParam::Gcm { iv: vec![0; 12], aad: Vec::new(), tag_bits: 128 } }
}

#[test]
fn sign_single_part_with_two_call_convention() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let key = handle_of(&m, session, CKO_PRIVATE_KEY);
    let ecdsa = Mechanism::new(CKM_ECDSA);

    assert_eq!(
        code(m.crypto_output(session, OpKind::Sign, Part::Single(b"x"), &mut OutBuf::query())),
        CKR_OPERATION_NOT_INITIALIZED
    );
    m.crypto_init(session, OpKind::Sign, &ecdsa, key).expect("init");
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &ecdsa, key)), CKR_OPERATION_ACTIVE);
    assert!(daemon.requests().iter().all(|r| !matches!(r, DataRequest::Sign { .. })), "init is local");

    let length = m.crypto_output(session, OpKind::Sign, Part::Single(b"hello"), &mut OutBuf::query()).expect("query");
    assert_eq!(length, Delivery::LengthOnly(9));
    let mut small = [0u8; 4];
    let too_small = m.crypto_output(session, OpKind::Sign, Part::Single(b"hello"), &mut OutBuf::buffer(&mut small));
    assert_eq!(too_small.ok(), Some(Delivery::TooSmall(9)));
    let mut buffer = [0u8; 64];
    let written = m.crypto_output(session, OpKind::Sign, Part::Single(b"hello"), &mut OutBuf::buffer(&mut buffer));
    assert_eq!(written.ok(), Some(Delivery::Written(9)));
    assert_eq!(&buffer[..9], b"sig:hello");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Sign { .. })), 1, "one round trip for three calls");
    assert_eq!(
        code(m.crypto_output(session, OpKind::Sign, Part::Single(b"hello"), &mut OutBuf::query())),
        CKR_OPERATION_NOT_INITIALIZED,
        "delivered: the operation is over"
    );

    // A daemon error ends the operation.
    m.crypto_init(session, OpKind::Sign, &ecdsa, key).expect("init");
    assert_eq!(
        code(m.crypto_output(session, OpKind::Sign, Part::Single(b"fail"), &mut OutBuf::query())),
        CKR_FUNCTION_FAILED
    );
    assert_eq!(code(m.crypto_update(session, OpKind::Sign, b"x")), CKR_OPERATION_NOT_INITIALIZED);
}

#[test]
fn init_checks_are_local() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let private = handle_of(&m, session, CKO_PRIVATE_KEY);
    let aes = handle_of(&m, session, CKO_SECRET_KEY);
    let data = handle_of(&m, session, CKO_DATA);
    let public = handle_of(&m, session, CKO_PUBLIC_KEY);
    let before = daemon.requests().len();

    let ecdsa = Mechanism::new(CKM_ECDSA);
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &ecdsa, aes)), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &ecdsa, data)), CKR_KEY_HANDLE_INVALID);
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &ecdsa, 9999)), CKR_KEY_HANDLE_INVALID);
    assert_eq!(
        code(m.crypto_init(session, OpKind::Sign, &Mechanism::new(CKM_RSA_PKCS), private)),
        CKR_MECHANISM_INVALID
    );
    assert_eq!(
        code(m.crypto_init(session, OpKind::Sign, &Mechanism::new(CKM_AES_GCM), private)),
        CKR_MECHANISM_INVALID
    );
    assert_eq!(code(m.crypto_init(9999, OpKind::Sign, &ecdsa, private)), CKR_SESSION_HANDLE_INVALID);
    // A parameter the mechanism cannot take, or none where one is due:
    // refused, and nothing started.
    let no_iv = Mechanism::new(CKM_AES_GCM);
    assert_eq!(code(m.crypto_init(session, OpKind::Encrypt, &no_iv, aes)), CKR_MECHANISM_PARAM_INVALID);
    let with_param = Mechanism { ty: CKM_ECDSA, param: MechParam::Bytes(vec![1]) };
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &with_param, private)), CKR_MECHANISM_PARAM_INVALID);
    m.crypto_init(session, OpKind::Encrypt, &gcm(), aes).expect("nothing was left active");
    // A public key does not sign, whatever its flags say.
    assert_eq!(code(m.crypto_init(session, OpKind::Sign, &ecdsa, public)), CKR_KEY_FUNCTION_NOT_PERMITTED);
    m.crypto_init(session, OpKind::Verify, &ecdsa, public).expect("verify init");
    m.crypto_init(session, OpKind::Sign, &ecdsa, private).expect("sign init alongside");
    assert_eq!(daemon.requests().len(), before, "no round trip for any init");

    let other = m.open_session(3, RO).expect("open");
    assert_eq!(code(m.crypto_init(other, OpKind::Sign, &ecdsa, private)), CKR_KEY_HANDLE_INVALID, "another slot's key");
}

#[test]
fn multi_part_sign_and_verify_send_once() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let private = handle_of(&m, session, CKO_PRIVATE_KEY);
    let public = handle_of(&m, session, CKO_PUBLIC_KEY);
    let ecdsa = Mechanism::new(CKM_ECDSA);

    assert_eq!(code(m.crypto_update(session, OpKind::Sign, b"x")), CKR_OPERATION_NOT_INITIALIZED);
    m.crypto_init(session, OpKind::Sign, &ecdsa, private).expect("init");
    m.crypto_update(session, OpKind::Sign, b"hel").expect("update");
    m.crypto_update(session, OpKind::Sign, b"lo").expect("update");
    let mut buffer = [0u8; 64];
    let signed = m.crypto_output(session, OpKind::Sign, Part::Final, &mut OutBuf::buffer(&mut buffer));
    assert_eq!(signed.ok(), Some(Delivery::Written(9)));
    assert_eq!(&buffer[..9], b"sig:hello");
    let signs: Vec<_> = daemon.requests().into_iter().filter(|r| matches!(r, DataRequest::Sign { .. })).collect();
    assert!(matches!(&signs[..], [DataRequest::Sign { data, object: PRIVATE_KEY, .. }] if data == b"hello"));

    // C_Sign cannot end a multi-part operation; the error ends it.
    m.crypto_init(session, OpKind::Sign, &ecdsa, private).expect("init");
    m.crypto_update(session, OpKind::Sign, b"a").expect("update");
    assert_eq!(
        code(m.crypto_output(session, OpKind::Sign, Part::Single(b"a"), &mut OutBuf::query())),
        CKR_OPERATION_ACTIVE
    );
    assert_eq!(
        code(m.crypto_output(session, OpKind::Sign, Part::Final, &mut OutBuf::query())),
        CKR_OPERATION_NOT_INITIALIZED
    );

    m.crypto_init(session, OpKind::Verify, &ecdsa, public).expect("init");
    m.verify_call(session, Part::Single(b"hello"), b"sig:hello").expect("valid");
    assert_eq!(code(m.verify_call(session, Part::Single(b"hello"), b"sig:hello")), CKR_OPERATION_NOT_INITIALIZED);
    m.crypto_init(session, OpKind::Verify, &ecdsa, public).expect("init");
    m.crypto_update(session, OpKind::Verify, b"hel").expect("update");
    m.crypto_update(session, OpKind::Verify, b"lo").expect("update");
    assert_eq!(code(m.verify_call(session, Part::Final, b"sig:nope")), CKR_SIGNATURE_INVALID);
    assert_eq!(code(m.verify_call(session, Part::Final, b"sig:hello")), CKR_OPERATION_NOT_INITIALIZED, "ended");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Verify { .. })), 2);
}

#[test]
fn encrypt_and_decrypt_multi_part_return_everything_at_final() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let aes = handle_of(&m, session, CKO_SECRET_KEY);
    let gcm = gcm();

    m.crypto_init(session, OpKind::Encrypt, &gcm, aes).expect("init");
    // A length query of an update buffers nothing; the real call does.
    assert_eq!(
        m.crypto_update_output(session, OpKind::Encrypt, b"abc", &mut OutBuf::query()).ok(),
        Some(Delivery::LengthOnly(0))
    );
    let mut none = [0u8; 16];
    assert_eq!(
        m.crypto_update_output(session, OpKind::Encrypt, b"abc", &mut OutBuf::buffer(&mut none)).ok(),
        Some(Delivery::Written(0))
    );
    assert_eq!(
        m.crypto_update_output(session, OpKind::Encrypt, b"def", &mut OutBuf::buffer(&mut none)).ok(),
        Some(Delivery::Written(0))
    );
    assert_eq!(
        m.crypto_output(session, OpKind::Encrypt, Part::Final, &mut OutBuf::query()).ok(),
        Some(Delivery::LengthOnly(6))
    );
    let mut ciphertext = [0u8; 6];
    assert_eq!(
        m.crypto_output(session, OpKind::Encrypt, Part::Final, &mut OutBuf::buffer(&mut ciphertext)).ok(),
        Some(Delivery::Written(6))
    );
    assert_eq!(ciphertext.to_vec(), flip(b"abcdef"));
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Encrypt { .. })), 1);

    m.crypto_init(session, OpKind::Decrypt, &gcm, aes).expect("init");
    let mut plaintext = [0u8; 6];
    assert_eq!(
        m.crypto_output(session, OpKind::Decrypt, Part::Single(&ciphertext), &mut OutBuf::buffer(&mut plaintext)).ok(),
        Some(Delivery::Written(6))
    );
    assert_eq!(&plaintext, b"abcdef");
}

#[test]
fn oversized_input_ends_the_operation_with_the_right_code() {
    let daemon = world();
    daemon.set_max_body_len(256);
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let aes = handle_of(&m, session, CKO_SECRET_KEY);
    let gcm = gcm();
    m.crypto_init(session, OpKind::Decrypt, &gcm, aes).expect("init");
    assert_eq!(code(m.crypto_update(session, OpKind::Decrypt, &[0; 300])), CKR_ENCRYPTED_DATA_LEN_RANGE);
    assert_eq!(code(m.crypto_update(session, OpKind::Decrypt, b"x")), CKR_OPERATION_NOT_INITIALIZED);
    m.crypto_init(session, OpKind::Encrypt, &gcm, aes).expect("init");
    assert_eq!(
        code(m.crypto_output(session, OpKind::Encrypt, Part::Single(&[0; 300]), &mut OutBuf::query())),
        CKR_DATA_LEN_RANGE
    );
    assert_eq!(
        code(m.crypto_output(session, OpKind::Encrypt, Part::Final, &mut OutBuf::query())),
        CKR_OPERATION_NOT_INITIALIZED
    );
}

#[test]
fn the_input_limit_is_the_daemons_and_digests_take_the_cap() {
    let daemon = world();
    daemon.set_max_body_len(4096);
    let m = module(&daemon);
    // Before the first connection only the protocol's cap is known.
    assert_eq!(m.max_input_len(Operation::Sign), MAX_DATA_LEN);
    let session = m.open_session(1, RO).expect("open");
    for operation in [Operation::Encrypt, Operation::Decrypt, Operation::Sign, Operation::Verify] {
        assert_eq!(m.max_input_len(operation), 4096, "{operation:?}: what the Welcome said");
    }
    assert_eq!(m.max_input_len(Operation::Digest), MAX_DATA_LEN, "hashed here, never sent");
    m.close_session(session).expect("close");
}

#[test]
fn a_refused_call_ends_its_operation_without_a_round_trip() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let aes = handle_of(&m, session, CKO_SECRET_KEY);
    let gcm = gcm();
    m.crypto_init(session, OpKind::Encrypt, &gcm, aes).expect("init");
    m.crypto_update(session, OpKind::Encrypt, b"buffered").expect("update");
    m.crypto_init(session, OpKind::Decrypt, &gcm, aes).expect("init");
    m.digest_init(session, &Mechanism::new(CKM_SHA256)).expect("digest init");
    let before = daemon.requests().len();

    m.end_operation(session, Operation::Encrypt);
    assert_eq!(code(m.crypto_update(session, OpKind::Encrypt, b"x")), CKR_OPERATION_NOT_INITIALIZED);
    m.crypto_update(session, OpKind::Decrypt, b"x").expect("decryption is another operation: still active");
    m.end_operation(session, Operation::Digest);
    assert_eq!(code(m.digest_update(session, b"x")), CKR_OPERATION_NOT_INITIALIZED);
    // A new operation starts cleanly, without the old one's buffered input.
    m.crypto_init(session, OpKind::Encrypt, &gcm, aes).expect("init again");
    // Nothing to end, or no such session: nothing happens.
    m.end_operation(session, Operation::SignRecover);
    m.end_operation(9999, Operation::Encrypt);
    assert_eq!(daemon.requests().len(), before, "ending is local");
}

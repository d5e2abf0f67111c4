//! Key generation and destruction.

use super::*;

#[test]
fn key_generation_and_destruction() {
    let daemon = world();
    let m = module(&daemon);
    let ro = m.open_session(1, RO).expect("open");
    let rw = m.open_session(1, RW).expect("open");
    let aes_gen = Mechanism::new(CKM_AES_KEY_GEN);
    let token = [Attribute::bool(CKA_TOKEN, true)];
    assert_eq!(code(m.generate_key(ro, &aes_gen, &token)), CKR_SESSION_READ_ONLY, "KMS keys need read/write");
    assert_eq!(code(m.generate_key(ro, &aes_gen, &[])), CKR_USER_NOT_LOGGED_IN, "session keys only the login");
    assert_eq!(code(m.generate_key(rw, &aes_gen, &token)), CKR_USER_NOT_LOGGED_IN);
    m.login(rw, CKU_USER, PIN, None).expect("login");
    assert_eq!(code(m.generate_key(rw, &Mechanism::new(CKM_ECDSA), &[])), CKR_MECHANISM_INVALID);

    let key = m.generate_key(rw, &aes_gen, &[Attribute::bool(CKA_ENCRYPT, true), token[0].clone()]).expect("generated");
    let before = daemon.requests().len();
    assert_eq!(
        m.attribute_values(rw, key, &[CKA_CLASS]).ok(),
        Some(vec![AttributeValue::Value(CKO_SECRET_KEY.to_le_bytes().to_vec())])
    );
    assert_eq!(daemon.requests().len(), before, "new keys come with cached attributes");

    let (public, private) =
        m.generate_key_pair(rw, &Mechanism::new(CKM_EC_KEY_PAIR_GEN), &token, &token).expect("pair");
    assert!(public != private && public != key && private != key);
    m.crypto_init(rw, OpKind::Sign, &Mechanism::new(CKM_ECDSA), private).expect("usable at once");

    assert_eq!(code(m.destroy_object(ro, key)), CKR_SESSION_READ_ONLY);
    m.destroy_object(rw, key).expect("destroyed");
    assert_eq!(code(m.attribute_values(rw, key, &[CKA_CLASS])), CKR_OBJECT_HANDLE_INVALID);
}

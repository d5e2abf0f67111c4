//! Local digests and the HSM's random numbers.

use super::*;

#[test]
fn random_and_seed() {
    let daemon = world();
    let m = module(&daemon);
    let session = m.open_session(1, RO).expect("open");
    let mut bytes = [0u8; 33];
    m.generate_random(session, &mut bytes).expect("random");
    assert_eq!(bytes, [0x42; 33]);
    assert_eq!(code(m.seed_random(session)), CKR_RANDOM_SEED_NOT_SUPPORTED);
    assert_eq!(code(m.generate_random(9999, &mut bytes)), CKR_SESSION_HANDLE_INVALID);
}

#[test]
fn digests_in_the_module() {
    let daemon = world();
    let m = module(&daemon);
    let session = m.open_session(1, RO).expect("open");
    let before = daemon.requests().len();
    assert_eq!(code(m.digest_update(session, b"x")), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(code(m.digest_init(session, &Mechanism::new(CKM_ECDSA))), CKR_MECHANISM_INVALID);

    m.digest_init(session, &Mechanism::new(CKM_SHA256)).expect("init");
    assert_eq!(code(m.digest_init(session, &Mechanism::new(CKM_SHA256))), CKR_OPERATION_ACTIVE);
    assert_eq!(m.digest(session, b"abc", &mut OutBuf::query()).ok(), Some(Delivery::LengthOnly(32)));
    let mut out = [0u8; 32];
    assert_eq!(m.digest(session, b"abc", &mut OutBuf::buffer(&mut out)).ok(), Some(Delivery::Written(32)));
    assert_eq!(out[..4], [0xba, 0x78, 0x16, 0xbf]);
    assert_eq!(code(m.digest(session, b"abc", &mut OutBuf::query())), CKR_OPERATION_NOT_INITIALIZED);

    m.digest_init(session, &Mechanism::new(CKM_SHA256)).expect("init");
    m.digest_update(session, b"a").expect("update");
    m.digest_update(session, b"bc").expect("update");
    let mut multi = [0u8; 32];
    assert_eq!(m.digest_final(session, &mut OutBuf::buffer(&mut multi)).ok(), Some(Delivery::Written(32)));
    assert_eq!(multi, out);

    m.digest_init(session, &Mechanism::new(CKM_SHA_1)).expect("init");
    assert_eq!(code(m.digest_key(session, 1)), CKR_KEY_HANDLE_INVALID);
    assert_eq!(code(m.digest_final(session, &mut OutBuf::query())), CKR_OPERATION_NOT_INITIALIZED, "error ended it");
    assert_eq!(daemon.requests().len(), before, "digests never reach the daemon");

    let public = handle_of(&m, session, CKO_PUBLIC_KEY);
    m.digest_init(session, &Mechanism::new(CKM_SHA_1)).expect("init");
    assert_eq!(code(m.digest_key(session, public)), CKR_KEY_INDIGESTIBLE);
}

#[test]
fn random_comes_in_chunks_the_body_limit_allows() {
    let daemon = world();
    daemon.set_max_body_len(4096);
    let m = module(&daemon);
    let session = m.open_session(1, RO).expect("open");
    let mut bytes = vec![0u8; 10_000];
    m.generate_random(session, &mut bytes).expect("random");
    assert!(bytes.iter().all(|&b| b == 0x42));
    let lengths: Vec<u32> = daemon
        .requests()
        .iter()
        .filter_map(|r| match r {
            DataRequest::GenerateRandom { length, .. } => Some(*length),
            _ => None,
        })
        .collect();
    assert_eq!(lengths, [4032, 4032, 1936], "each within the daemon's max_body_bytes - 64");
}

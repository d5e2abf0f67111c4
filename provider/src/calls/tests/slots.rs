//! Slots, tokens and mechanisms; a daemon that comes and goes.

use super::*;

#[test]
fn slots_tokens_and_mechanisms() {
    let daemon = world();
    let m = module(&daemon);
    assert_eq!(m.slot_list(false).ok(), Some(vec![1, 2, 3]));
    assert_eq!(m.slot_list(true).ok(), Some(vec![1, 3]));
    assert_eq!(m.slot_info(1).map(|i| i.flags).ok(), Some(CKF_TOKEN_PRESENT | CKF_REMOVABLE_DEVICE));
    assert_eq!(code(m.slot_info(9)), CKR_SLOT_ID_INVALID);
    assert_eq!(code(m.token_info(2)), CKR_TOKEN_NOT_PRESENT);

    let ro = m.open_session(1, RO).expect("open");
    let _rw = m.open_session(1, RW).expect("open");
    let info = m.token_info(1).expect("token");
    assert_eq!(info.label, "alpha");
    assert_eq!(info.manufacturer, "p11kms");
    assert_eq!((info.session_count, info.rw_session_count), (2, 1));
    assert_eq!(info.flags & CKF_RNG, CKF_RNG);

    let mechanisms = m.mechanism_list(1).expect("list");
    assert!(mechanisms.contains(&CKM_ECDSA));
    assert!(mechanisms.contains(&CKM_SHA256), "local digests are offered");
    assert_eq!(m.mechanism_info(1, CKM_AES_GCM).map(|i| i.flags).ok(), Some(CKF_ENCRYPT | CKF_DECRYPT));
    assert_eq!(code(m.mechanism_info(1, CKM_RSA_PKCS)), CKR_MECHANISM_INVALID);
    assert_eq!(code(m.mechanism_list(2)), CKR_TOKEN_NOT_PRESENT);
    // Only C_GetSlotList asks again: no PIN was tried, so the token has no
    // user-PIN flags to refresh; the rest used the cache.
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::ListSlots)), 2);
    // Once a PIN was tried on the slot, C_GetTokenInfo asks each time (the
    // flags follow the app's attempts from any client, and time).
    m.login(ro, CKU_USER, b"9999", None).expect_err("a wrong PIN");
    m.token_info(1).expect("token");
    m.token_info(1).expect("token");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::ListSlots)), 4);
    m.token_info(3).expect("another slot, no PIN tried there");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::ListSlots)), 4);
}

#[test]
fn daemon_down_then_up() {
    let dir = temp_dir("down");
    let path = dir.path().join("data.sock");
    let m = Module::new(path.clone(), [9; 16]);
    assert_eq!(m.slot_list(false).ok(), Some(vec![]), "no daemon: no slots, no error");
    assert_eq!(code(m.open_session(1, RO)), CKR_SLOT_ID_INVALID);

    let daemon = FakeDaemon::start_at(path.clone(), world_handler(Arc::default()));
    assert_eq!(m.slot_list(true).ok(), Some(vec![1, 3]));
    let session = m.open_session(1, RO).expect("open");
    drop(daemon);

    // Gone again: slots stay, tokens go.
    assert_eq!(m.slot_list(false).ok(), Some(vec![1, 2, 3]));
    assert_eq!(m.slot_list(true).ok(), Some(vec![]));
    assert_eq!(code(m.token_info(1)), CKR_TOKEN_NOT_PRESENT);
    assert_eq!(code(m.find_objects_init(session, &[])), CKR_DEVICE_ERROR);
}

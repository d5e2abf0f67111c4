//! Objects and keys the application makes: token or session objects,
//! read-only sessions, session objects destroyed with their session.

use super::*;

fn data_template(token: bool) -> Vec<Attribute> {
    vec![Attribute::ulong(CKA_CLASS, CKO_DATA), Attribute::bool(CKA_TOKEN, token)]
}

#[test]
fn token_objects_need_a_read_write_session_and_session_objects_do_not() {
    let daemon = world();
    let m = module(&daemon);
    let ro = logged_in_session(&m, RO);
    let before = daemon.requests().len();
    assert_eq!(code(m.create_object(ro, &data_template(true))), CKR_SESSION_READ_ONLY);
    assert_eq!(
        code(m.create_object(ro, &[Attribute::bytes(CKA_TOKEN, vec![1, 1])])),
        CKR_TEMPLATE_INCONSISTENT,
        "a malformed CKA_TOKEN is refused locally"
    );
    assert_eq!(daemon.requests().len(), before, "refused without a round trip");
    let handle = m.create_object(ro, &data_template(false)).expect("a session object in a read-only session");
    assert_ne!(handle, 0);
    assert_eq!(m.object_size(ro, handle).expect("size"), 321);
    m.set_attribute_values(ro, handle, &[Attribute::bytes(CKA_LABEL, b"x".to_vec())]).expect("set");
}

#[test]
fn closing_a_session_destroys_its_session_objects_in_one_round_trip() {
    let daemon = world();
    let m = module(&daemon);
    let rw = logged_in_session(&m, RW);
    let keeper = m.open_session(1, RO).expect("a second session keeps the login");
    let token = m.create_object(rw, &data_template(true)).expect("token object");
    let first = m.create_object(rw, &data_template(false)).expect("session object");
    let second = m.copy_object(rw, first, &[]).expect("a copy, also a session object");
    let key = m
        .unwrap_key(rw, &Mechanism::new(CKM_AES_GCM), first, &[1; 40], &[])
        .expect_err("GCM is not a wrapping mechanism of this token");
    drop(key);

    m.close_session(rw).expect("close");
    let destroyed: Vec<_> = daemon
        .requests()
        .into_iter()
        .filter_map(|r| match r {
            DataRequest::DestroySessionObjects { objects, .. } => Some(objects),
            _ => None,
        })
        .collect();
    assert_eq!(destroyed.len(), 1, "one round trip for all of them");
    assert_eq!(destroyed[0].len(), 2, "the two session objects, not the token object");
    assert_eq!(code(m.attribute_values(keeper, first, &[CKA_LABEL])), CKR_OBJECT_HANDLE_INVALID);
    assert_eq!(code(m.attribute_values(keeper, second, &[CKA_LABEL])), CKR_OBJECT_HANDLE_INVALID);
    assert!(m.attribute_values(keeper, token, &[CKA_CLASS]).is_ok(), "token objects stay");

    // A session without session objects closes without that round trip.
    let before = count(&daemon, |r| matches!(r, DataRequest::DestroySessionObjects { .. }));
    let plain = m.open_session(1, RO).expect("open");
    m.close_session(plain).expect("close");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::DestroySessionObjects { .. })), before);
}

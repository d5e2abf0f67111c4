//! Sessions and logins.

use super::*;

#[test]
fn sessions_and_login() {
    let daemon = world();
    let m = module(&daemon);
    assert_eq!(code(m.open_session(1, CKF_RW_SESSION)), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_eq!(code(m.open_session(2, RO)), CKR_TOKEN_NOT_PRESENT);
    assert_eq!(code(m.open_session(9, RO)), CKR_SLOT_ID_INVALID);

    let ro = m.open_session(1, RO).expect("open");
    let rw = m.open_session(1, RW).expect("open");
    let other = m.open_session(3, RW).expect("open");
    assert_ne!(ro, 0);
    assert_eq!(m.session_info(ro).map(|i| i.state).ok(), Some(CKS_RO_PUBLIC_SESSION));
    assert_eq!(code(m.login(ro, CKU_USER, b"wrong", None)), CKR_PIN_INCORRECT);
    assert_eq!(code(m.logout(ro)), CKR_USER_NOT_LOGGED_IN);

    m.login(ro, CKU_USER, PIN, None).expect("login");
    assert_eq!(m.session_info(ro).map(|i| i.state).ok(), Some(CKS_RO_USER_FUNCTIONS));
    assert_eq!(m.session_info(rw).map(|i| i.state).ok(), Some(CKS_RW_USER_FUNCTIONS));
    assert_eq!(m.session_info(other).map(|i| i.state).ok(), Some(CKS_RW_PUBLIC_SESSION));
    let logins = count(&daemon, |r| matches!(r, DataRequest::Login { .. }));
    assert_eq!(code(m.login(rw, CKU_USER, PIN, None)), CKR_USER_ALREADY_LOGGED_IN);
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Login { .. })), logins, "decided locally");

    m.logout(rw).expect("logout");
    assert_eq!(m.session_info(ro).map(|i| i.state).ok(), Some(CKS_RO_PUBLIC_SESSION));

    // Closing the last session of a logged-in slot logs it out.
    m.login(ro, CKU_USER, PIN, None).expect("login");
    m.close_session(ro).expect("close");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Logout { slot: 1 })), 1);
    m.close_session(rw).expect("close");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Logout { slot: 1 })), 2);
    assert_eq!(code(m.session_info(rw)), CKR_SESSION_HANDLE_INVALID);

    let a = m.open_session(1, RO).expect("open");
    m.login(a, CKU_USER, PIN, None).expect("login");
    let _b = m.open_session(1, RW).expect("open");
    m.close_all_sessions(1).expect("close all");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::Logout { slot: 1 })), 3);
    assert_eq!(code(m.close_all_sessions(9)), CKR_SLOT_ID_INVALID);
    assert_eq!(code(m.login(a, CKU_USER, PIN, None)), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(code(m.login(other, CKU_USER, PIN, Some(b"name"))), CKR_FUNCTION_NOT_SUPPORTED);
}

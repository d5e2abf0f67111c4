//! Restarts, lost connections, concurrency.

use super::*;

#[test]
fn daemon_restart_invalidates_sessions_and_logins() {
    let logins = Arc::new(Mutex::new(HashSet::new()));
    let daemon = FakeDaemon::start(world_handler(Arc::clone(&logins)));
    let m = module(&daemon);
    let session = logged_in_session(&m, RW);
    let key = handle_of(&m, session, CKO_PRIVATE_KEY);
    logins.lock().expect("lock").clear();
    daemon.restart();

    assert_eq!(code(m.find_objects_init(session, &[])), CKR_SESSION_HANDLE_INVALID);
    assert_eq!(code(m.session_info(session)), CKR_SESSION_HANDLE_INVALID);
    let fresh = m.open_session(1, RW).expect("open after restart");
    assert_eq!(m.session_info(fresh).map(|i| i.state).ok(), Some(CKS_RW_PUBLIC_SESSION), "login is gone");
    m.login(fresh, CKU_USER, PIN, None).expect("login again");
    // Object handles survive: the daemon's ids are stable.
    assert_eq!(handle_of(&m, fresh, CKO_PRIVATE_KEY), key);
}

#[test]
fn losing_the_connection_ends_the_login_but_not_the_session() {
    let logins = Arc::new(Mutex::new(HashSet::new()));
    let daemon = FakeDaemon::start(world_handler(Arc::clone(&logins)));
    let m = module(&daemon);
    let session = logged_in_session(&m, RW);
    // The daemon hangs up; with its last connection gone, the client's
    // logins are gone on the daemon's side too.
    assert_eq!(code(m.generate_random(session, &mut [0u8; 13])), CKR_DEVICE_ERROR);
    logins.lock().expect("lock").clear();
    assert_eq!(m.session_info(session).map(|i| i.state).ok(), Some(CKS_RW_PUBLIC_SESSION));
    m.login(session, CKU_USER, PIN, None).expect("log in again");
    assert_eq!(m.session_info(session).map(|i| i.state).ok(), Some(CKS_RW_USER_FUNCTIONS));
}

#[test]
fn two_threads_have_requests_in_flight_at_once() {
    let state = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    let server_state = Arc::clone(&state);
    let daemon = FakeDaemon::start(move |request| {
        if let DataRequest::GenerateRandom { length, .. } = request {
            let (lock, ready) = &*server_state;
            let mut guard = lock.lock().expect("lock");
            guard.0 += 1;
            guard.1 = guard.1.max(guard.0);
            ready.notify_all();
            // Wait (bounded) for the other request to arrive too.
            let (mut guard, _) = ready
                .wait_timeout_while(guard, Duration::from_secs(5), |(in_flight, max)| *in_flight < 2 && *max < 2)
                .expect("wait");
            guard.0 -= 1;
            return Action::Reply(Ok(DataReply::Secret(SecretBytes::new(vec![1; *length as usize]))));
        }
        Action::Reply(Ok(DataReply::Slots(vec![SlotDescription {
            id: 1,
            description: "a".into(),
            token: Some(token("a")),
        }])))
    });
    let m = Arc::new(module(&daemon));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                let session = m.open_session(1, RO).expect("open");
                let mut out = [0u8; 8];
                m.generate_random(session, &mut out).expect("random");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("thread");
    }
    assert_eq!(state.0.lock().expect("lock").1, 2, "both requests were in flight together");
}

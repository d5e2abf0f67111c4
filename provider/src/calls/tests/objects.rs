//! Finding objects and reading their attributes.

use super::*;

#[test]
fn find_paging_dedup_and_state_errors() {
    let daemon = world();
    let m = module(&daemon);
    let session = m.open_session(1, RO).expect("open");
    assert_eq!(code(m.find_objects(session, 5)), CKR_OPERATION_NOT_INITIALIZED);
    assert_eq!(code(m.find_objects_final(session)), CKR_OPERATION_NOT_INITIALIZED);

    m.find_objects_init(session, &[]).expect("find");
    assert_eq!(code(m.find_objects_init(session, &[])), CKR_OPERATION_ACTIVE);
    let first = m.find_objects(session, 1).expect("page");
    let second = m.find_objects(session, 10).expect("page");
    assert_eq!(first.len() + second.len(), 2, "public objects only before login");
    assert!(m.find_objects(session, 10).expect("page").is_empty());
    m.find_objects_final(session).expect("final");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::FindObjectsPage { .. })), 1, "one page for two objects");

    m.login(session, CKU_USER, PIN, None).expect("login");
    m.find_objects_init(session, &[]).expect("find");
    let all = m.find_objects(session, 100).expect("page");
    m.find_objects_final(session).expect("final");
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|h| *h != 0));
    assert!(first.iter().chain(&second).all(|h| all.contains(h)), "same objects, same handles");
    assert_eq!(count(&daemon, |r| matches!(r, DataRequest::FindObjectsPage { .. })), 3, "four objects in two pages");
}

#[test]
fn a_find_that_starts_again_from_the_first_keeps_each_object_once() {
    // The object a page was to follow is destroyed between the pages: the
    // daemon answers from the first again, and the module keeps each once.
    let all = objects();
    let daemon = FakeDaemon::start(move |request| {
        Action::Reply(match request {
            DataRequest::FindObjectsPage { after: None, .. } => {
                Ok(DataReply::ObjectsPage { objects: all[..2].to_vec(), more: true })
            }
            DataRequest::FindObjectsPage { after: Some(_), .. } => {
                let rest: Vec<_> = all.iter().filter(|o| o.id != all[1].id).cloned().collect();
                Ok(DataReply::ObjectsPage { objects: rest, more: false })
            }
            DataRequest::ListSlots => Ok(DataReply::Slots(vec![SlotDescription {
                id: 1,
                description: "alpha".into(),
                token: Some(token("alpha")),
            }])),
            _ => Ok(DataReply::Done),
        })
    });
    let m = module(&daemon);
    let session = m.open_session(1, RO).expect("open");
    m.find_objects_init(session, &[]).expect("find");
    let found = m.find_objects(session, 100).expect("page");
    assert_eq!(found.len(), objects().len(), "every object once: {found:?}");
}

#[test]
fn attributes_from_cache_and_daemon() {
    let daemon = world();
    let m = module(&daemon);
    let session = logged_in_session(&m, RO);
    let private = handle_of(&m, session, CKO_PRIVATE_KEY);
    let before = daemon.requests().len();

    let values = m.attribute_values(session, private, &[CKA_CLASS, CKA_SIGN, CKA_VALUE]).expect("values");
    assert_eq!(
        values,
        vec![
            AttributeValue::Value(CKO_PRIVATE_KEY.to_le_bytes().to_vec()),
            AttributeValue::Value(vec![1]),
            AttributeValue::Sensitive,
        ]
    );
    assert_eq!(daemon.requests().len(), before, "all cached: no round trip");

    let values = m.attribute_values(session, private, &[CKA_LABEL, CKA_CLASS, CKA_MODULUS]).expect("values");
    assert_eq!(values[0], AttributeValue::Value(b"label-101".to_vec()));
    assert_eq!(values[2], AttributeValue::Invalid);
    let asked: Vec<_> = daemon.requests().into_iter().skip(before).collect();
    assert_eq!(
        asked,
        vec![DataRequest::GetAttributes { slot: 1, object: PRIVATE_KEY, types: vec![CKA_LABEL, CKA_MODULUS] }]
    );

    let other_slot = m.open_session(3, RO).expect("open");
    assert_eq!(code(m.attribute_values(other_slot, private, &[CKA_CLASS])), CKR_OBJECT_HANDLE_INVALID);
    assert_eq!(code(m.attribute_values(session, 9999, &[CKA_CLASS])), CKR_OBJECT_HANDLE_INVALID);
    m.logout(session).expect("logout");
    assert_eq!(
        code(m.attribute_values(session, private, &[CKA_CLASS])),
        CKR_OBJECT_HANDLE_INVALID,
        "private objects are hidden from public sessions"
    );
}

#[test]
fn a_secret_value_is_read_from_the_daemon_at_every_call_and_changes_are_refused_locally() {
    // A secret's object: read-only, undestroyable, its value never cached.
    const SECRET: u64 = 1 << 63 | 8;
    let secret = ObjectDescription {
        id: SECRET,
        fixed: vec![
            Attribute::ulong(CKA_CLASS, CKO_DATA),
            Attribute::bool(CKA_TOKEN, true),
            Attribute::bool(CKA_PRIVATE, true),
            Attribute::bool(CKA_MODIFIABLE, false),
            Attribute::bool(CKA_COPYABLE, false),
            Attribute::bool(CKA_DESTROYABLE, false),
            Attribute::bytes(CKA_LABEL, b"db".to_vec()),
        ],
        sensitive: vec![],
    };
    let reads = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&reads);
    let daemon = FakeDaemon::start(move |request| {
        Action::Reply(match request {
            DataRequest::ListSlots => Ok(DataReply::Slots(vec![SlotDescription {
                id: 1,
                description: "alpha".into(),
                token: Some(token("alpha")),
            }])),
            DataRequest::FindObjectsPage { .. } => {
                Ok(DataReply::ObjectsPage { objects: vec![secret.clone()], more: false })
            }
            // Each read finds another value: the secret changes meanwhile.
            DataRequest::GetAttributes { types, .. } if types == &[CKA_VALUE] => {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                Ok(DataReply::Attributes(vec![AttributeValue::Secret(SecretBytes::new(vec![b'v'; 3 + n as usize]))]))
            }
            _ => Ok(DataReply::Done),
        })
    });
    let m = module(&daemon);
    let session = logged_in_session(&m, RW);
    let handle = handle_of(&m, session, CKO_DATA);
    let before = daemon.requests().len();
    let label = m.attribute_values(session, handle, &[CKA_LABEL, CKA_MODIFIABLE]).expect("cached");
    assert_eq!(label, vec![AttributeValue::Value(b"db".to_vec()), AttributeValue::Value(vec![0])]);
    assert_eq!(daemon.requests().len(), before, "the fixed attributes are cached");

    let first = m.attribute_values(session, handle, &[CKA_VALUE]).expect("value");
    let second = m.attribute_values(session, handle, &[CKA_VALUE]).expect("value");
    assert_eq!(first, vec![AttributeValue::Secret(SecretBytes::from("vvv"))]);
    assert_eq!(second, vec![AttributeValue::Secret(SecretBytes::from("vvvv"))], "read again, not cached");
    assert_eq!(reads.load(Ordering::SeqCst), 2, "one round trip per call");

    let before = daemon.requests().len();
    assert_eq!(
        code(m.set_attribute_values(session, handle, &[Attribute::bytes(CKA_LABEL, b"x".to_vec())])),
        CKR_ACTION_PROHIBITED
    );
    assert_eq!(code(m.copy_object(session, handle, &[])), CKR_ACTION_PROHIBITED);
    assert_eq!(code(m.destroy_object(session, handle)), CKR_ACTION_PROHIBITED);
    assert_eq!(daemon.requests().len(), before, "refused without a round trip");
    assert!(m.attribute_values(session, handle, &[CKA_CLASS]).is_ok(), "the handle stays");
}

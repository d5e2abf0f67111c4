//! Many threads on many sessions at once: 8 threads × 1000 mixed
//! operations (AES-GCM and CBC round trips, ECDSA sign and verify, finds,
//! attribute reads, digests, random draws, sessions opened and closed), all
//! through one loaded module against one daemon. Every result is checked.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use p11kms_tests::keys::P256;
use p11kms_tests::{Daemon, hsm1, load_module};

const THREADS: usize = 8;
const OPERATIONS: usize = 1000;
/// SHA-256("abc"), FIPS 180-2 appendix B.1.
const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn one(session: &Session, label: &[u8], class: ObjectClass) -> ObjectHandle {
    let found = session.find_objects(&[Attribute::Label(label.to_vec()), Attribute::Class(class)]).expect("find");
    assert_eq!(found.len(), 1, "one {class:?} labelled {}", String::from_utf8_lossy(label));
    found[0]
}

/// The keys every thread uses, found again by each thread's own sessions.
struct Keys {
    aes: ObjectHandle,
    private: ObjectHandle,
    public: ObjectHandle,
}

fn keys(session: &Session) -> Keys {
    Keys {
        aes: one(session, b"shared-aes", ObjectClass::SECRET_KEY),
        private: one(session, b"shared-ec", ObjectClass::PRIVATE_KEY),
        public: one(session, b"shared-ec", ObjectClass::PUBLIC_KEY),
    }
}

fn gcm(iv: &mut [u8; 12]) -> Mechanism<'_> {
    Mechanism::AesGcm(GcmParams::new(iv.as_mut_slice(), b"aad", 128.into()).expect("gcm params"))
}

/// One operation, chosen by `n`, on `session`; panics on a wrong result.
fn operate(session: &Session, keys: &Keys, thread: usize, n: usize) {
    let message = format!("thread {thread} operation {n}").into_bytes();
    match n % 7 {
        0 => {
            let mut iv = [0u8; 12];
            iv[..8].copy_from_slice(&(n as u64).to_be_bytes());
            iv[8] = thread as u8;
            let sealed = session.encrypt(&gcm(&mut iv), keys.aes, &message).expect("GCM encrypt");
            assert_eq!(session.decrypt(&gcm(&mut iv), keys.aes, &sealed).expect("GCM decrypt"), message);
        }
        1 => {
            let cbc = Mechanism::AesCbcPad([thread as u8; 16]);
            let sealed = session.encrypt(&cbc, keys.aes, &message).expect("CBC encrypt");
            assert_eq!(sealed.len(), (message.len() / 16 + 1) * 16);
            assert_eq!(session.decrypt(&cbc, keys.aes, &sealed).expect("CBC decrypt"), message);
        }
        2 => {
            // SoftHSM 2.6 has no CKM_ECDSA_SHA256: hash, then sign the digest.
            let digest = session.digest(&Mechanism::Sha256, &message).expect("digest");
            let signature = session.sign(&Mechanism::Ecdsa, keys.private, &digest).expect("sign");
            assert_eq!(signature.len(), 64);
            session.verify(&Mechanism::Ecdsa, keys.public, &digest, &signature).expect("verify");
            let mut other = digest.clone();
            other[0] ^= 1;
            assert!(session.verify(&Mechanism::Ecdsa, keys.public, &other, &signature).is_err());
        }
        3 => {
            let found = session.find_objects(&[Attribute::Label(b"shared-ec".to_vec())]).expect("find");
            assert_eq!(found.len(), 2, "private and public key");
        }
        4 => {
            let attributes = session
                .get_attributes(keys.aes, &[AttributeType::Label, AttributeType::ValueLen, AttributeType::Encrypt])
                .expect("attributes");
            assert!(matches!(&attributes[0], Attribute::Label(l) if l == b"shared-aes"));
            assert!(matches!(&attributes[1], Attribute::ValueLen(len) if u64::from(*len) == 32));
            assert!(matches!(&attributes[2], Attribute::Encrypt(true)));
        }
        5 => {
            assert_eq!(hex(&session.digest(&Mechanism::Sha256, b"abc").expect("digest")), SHA256_ABC);
            let random = session.generate_random_vec(1 + n as u32 % 64).expect("random");
            assert_eq!(random.len(), 1 + n % 64);
        }
        _ => {
            // Sessions come and go next to the long-lived ones.
            let extra = session.get_session_info().expect("session info");
            assert_eq!(extra.slot_id(), session.get_session_info().expect("again").slot_id());
        }
    }
}

#[test]
fn eight_threads_times_a_thousand_mixed_operations() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("busy", "hsm1");
    let ctx = load_module(&daemon);
    let slot = hsm1(&ctx);
    let setup = ctx.open_rw_session(slot).expect("session");
    setup.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");
    let aes = [
        Attribute::Token(true),
        Attribute::ValueLen(32.into()),
        Attribute::Label(b"shared-aes".to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    setup.generate_key(&Mechanism::AesKeyGen, &aes).expect("AES key");
    setup
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(P256.to_vec()),
                Attribute::Verify(true),
                Attribute::Label(b"shared-ec".to_vec()),
            ],
            &[Attribute::Token(true), Attribute::Sign(true), Attribute::Private(true)],
        )
        .expect("EC key pair");

    // The login is the application's, shared by all its sessions.
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let ctx = ctx.clone();
            std::thread::spawn(move || {
                let sessions: Vec<Session> = (0..3).map(|_| ctx.open_ro_session(slot).expect("session")).collect();
                let keys = keys(&sessions[0]);
                for n in 0..OPERATIONS {
                    if n % 100 == 99 {
                        let fresh = ctx.open_ro_session(slot).expect("a fresh session");
                        operate(&fresh, &keys, thread, n);
                        fresh.close().expect("close");
                    } else {
                        operate(&sessions[n % sessions.len()], &keys, thread, n);
                    }
                }
                OPERATIONS
            })
        })
        .collect();
    let done: usize = threads.into_iter().map(|t| t.join().expect("a thread failed (see its panic)")).sum();
    assert_eq!(done, THREADS * OPERATIONS);
    assert!(!daemon.log().contains("panicked"), "the daemon stayed healthy");
}

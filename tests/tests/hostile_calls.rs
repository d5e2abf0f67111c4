//! The calls with which two third-party PKCS#11 test suites took their
//! host process down, made on the real `libp11kms.so` against a real
//! daemon: before `C_Initialize` with structures never filled in (a
//! `CK_MECHANISM` claiming a 140 TB parameter behind a dangling pointer, a
//! template claiming billions of attributes), and after it with lengths no
//! buffer can hold (`C_Encrypt` of 2 GiB from a 16-byte buffer).
//!
//! Each must come back at once with its code, read nothing past the
//! caller's buffer (the buffers end at an inaccessible page), send nothing
//! to the daemon (its per-connection request counter says so), and leave
//! the module working. The `cryptoki` crate cannot make such calls, so the
//! module's 3.0 function list is called directly.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::ffi::CString;
use std::mem::size_of;
use std::ptr::{from_mut, null_mut, without_provenance_mut};
use std::sync::mpsc;
use std::time::Duration;

use cryptoki_sys::*;
use p11kms_tests::{Daemon, module};

/// An address no user-space memory can have: reading it kills the test.
const UNMAPPED: usize = 0xffff_8000_0000_0000;
/// About 140 TB: an uninitialized `ulParameterLen` the suites produced.
const WILD: CK_ULONG = 0x7f6e_5d4c_3b2a;
/// The length the suites passed to `C_Encrypt` with a small buffer.
const TWO_GIB: CK_ULONG = 0x8000_0000;

type Functions = &'static CK_FUNCTION_LIST_3_0;

fn unmapped<T>() -> *mut T {
    without_provenance_mut(UNMAPPED)
}

/// The module's 3.0 function list, as a loader finds it.
fn load() -> Functions {
    let path = CString::new(module().to_str().expect("path")).expect("C path");
    // SAFETY: loads the module; the handle is leaked on purpose, so the
    // table stays valid for the rest of the process.
    let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
    assert!(!handle.is_null(), "dlopen libp11kms.so");
    // SAFETY: a valid handle and a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"C_GetInterface".as_ptr()) };
    assert!(!symbol.is_null(), "C_GetInterface");
    type GetInterface =
        unsafe extern "C" fn(*mut CK_UTF8CHAR, *mut CK_VERSION, *mut *mut CK_INTERFACE, CK_FLAGS) -> CK_RV;
    // SAFETY: the PKCS#11 3.0 signature of C_GetInterface.
    let get = unsafe { std::mem::transmute::<*mut libc::c_void, GetInterface>(symbol) };
    let mut interface: *mut CK_INTERFACE = null_mut();
    // SAFETY: null name and version ask for the default ("PKCS 11" 3.0).
    assert_eq!(unsafe { get(null_mut(), null_mut(), &mut interface, 0) }, CKR_OK);
    // SAFETY: the interface and its 3.0 function list are statics of the
    // library, which stays loaded.
    unsafe { &*(*interface).pFunctionList.cast::<CK_FUNCTION_LIST_3_0>() }
}

/// Runs `call` on its own thread and returns its result. The 60 s bound
/// only turns a hang into a failure; it is not a performance target (the
/// calls take microseconds).
fn returns<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(call());
    });
    result.recv_timeout(Duration::from_secs(60)).expect("the call came back (no hang, no abort)")
}

/// `len` bytes ending where readable memory ends: a read past them kills
/// the process instead of passing unnoticed. Leaked: a test's worth.
fn fenced(len: usize) -> *mut u8 {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).expect("page size");
    let room = len.div_ceil(page).max(1) * page;
    // SAFETY: a fresh anonymous mapping.
    let base = unsafe {
        libc::mmap(
            null_mut(),
            room + page,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(base, libc::MAP_FAILED);
    let base = base.cast::<u8>();
    // SAFETY: the last page is part of the mapping just made.
    assert_eq!(unsafe { libc::mprotect(base.add(room).cast(), page, libc::PROT_NONE) }, 0);
    // SAFETY: inside the readable part of the mapping.
    unsafe { base.add(room - len) }
}

/// The suites' calls on `session`: a garbage mechanism, 2 GiB to encrypt
/// from 16 bytes, a template of billions of attributes, a slot event, a
/// PIN of 140 TB, 2 GiB of random numbers into 16 bytes.
fn suite_calls(l: Functions, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> Vec<CK_RV> {
    returns(move || {
        let mut mechanism = CK_MECHANISM { mechanism: CKM_AES_GCM, pParameter: unmapped(), ulParameterLen: WILD };
        let small = fenced(16);
        let mut out = [0u8; 16];
        let mut out_len: CK_ULONG = 16;
        let mut handle: CK_OBJECT_HANDLE = 0;
        let mut slot: CK_SLOT_ID = 0;
        // SAFETY: the pointers are live, or unmapped behind lengths the
        // module must refuse before reading anything.
        unsafe {
            vec![
                l.C_EncryptInit.unwrap()(session, &mut mechanism, key),
                l.C_Encrypt.unwrap()(session, small, TWO_GIB, out.as_mut_ptr(), &mut out_len),
                l.C_CreateObject.unwrap()(session, unmapped(), WILD, &mut handle),
                l.C_WaitForSlotEvent.unwrap()(0, &mut slot, null_mut()),
                l.C_Login.unwrap()(session, CKU_USER, small, WILD),
                l.C_GenerateRandom.unwrap()(session, small, TWO_GIB),
            ]
        }
    })
}

/// Request frames this process's connections sent so far.
fn requests(daemon: &Daemon) -> u64 {
    let me = i64::from(std::process::id());
    let rows = daemon.cli_json(&["connection", "list"]);
    let rows = rows["Connections"].as_array().expect("Connections list");
    rows.iter().filter(|row| row["Pid"].as_i64() == Some(me)).map(|row| row["Requests"].as_u64().expect("count")).sum()
}

/// The slot of the token labelled `hsm1`.
fn hsm1(l: Functions) -> CK_SLOT_ID {
    let mut slots = [0 as CK_SLOT_ID; 16];
    let mut count = slots.len() as CK_ULONG;
    // SAFETY: `slots` holds `count` entries.
    assert_eq!(unsafe { l.C_GetSlotList.unwrap()(CK_TRUE, slots.as_mut_ptr(), &mut count) }, CKR_OK);
    slots[..count as usize]
        .iter()
        .copied()
        .find(|&slot| {
            let mut info = CK_TOKEN_INFO::default();
            // SAFETY: `info` is a live local.
            unsafe { l.C_GetTokenInfo.unwrap()(slot, &mut info) == CKR_OK && info.label.starts_with(b"hsm1 ") }
        })
        .expect("the hsm1 token")
}

/// A logged-in session on `hsm1` and an AES-256 session key in it.
fn session_and_key(l: Functions, pin: &str) -> (CK_SESSION_HANDLE, CK_OBJECT_HANDLE) {
    let slot = hsm1(l);
    let mut session: CK_SESSION_HANDLE = 0;
    let mut pin = pin.as_bytes().to_vec();
    let (mut yes, mut no, mut len) = (CK_TRUE, CK_FALSE, 32u64.to_le_bytes());
    let attribute =
        |type_, value: *mut u8, len: usize| CK_ATTRIBUTE { type_, pValue: value.cast(), ulValueLen: len as CK_ULONG };
    let mut template = [
        attribute(CKA_TOKEN, from_mut(&mut no), 1),
        attribute(CKA_VALUE_LEN, len.as_mut_ptr(), 8),
        attribute(CKA_ENCRYPT, from_mut(&mut yes), 1),
        attribute(CKA_DECRYPT, from_mut(&mut yes), 1),
    ];
    let mut generate = CK_MECHANISM { mechanism: CKM_AES_KEY_GEN, pParameter: null_mut(), ulParameterLen: 0 };
    let mut key: CK_OBJECT_HANDLE = 0;
    // SAFETY: every pointer is a live local of the stated size.
    unsafe {
        let flags = CKF_SERIAL_SESSION | CKF_RW_SESSION;
        assert_eq!(l.C_OpenSession.unwrap()(slot, flags, null_mut(), None, &mut session), CKR_OK);
        assert_eq!(l.C_Login.unwrap()(session, CKU_USER, pin.as_mut_ptr(), pin.len() as CK_ULONG), CKR_OK);
        let code = l.C_GenerateKey.unwrap()(session, &mut generate, template.as_mut_ptr(), 4, &mut key);
        assert_eq!(code, CKR_OK, "AES session key");
    }
    (session, key)
}

/// `C_EncryptInit` with AES-GCM and a 12-byte IV.
fn encrypt_init(l: Functions, session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE) -> CK_RV {
    let mut iv = [7u8; 12];
    let mut params = CK_GCM_PARAMS {
        pIv: iv.as_mut_ptr(),
        ulIvLen: 12,
        ulIvBits: 96,
        pAAD: null_mut(),
        ulAADLen: 0,
        ulTagBits: 128,
    };
    let mut mechanism = CK_MECHANISM {
        mechanism: CKM_AES_GCM,
        pParameter: from_mut(&mut params).cast(),
        ulParameterLen: size_of::<CK_GCM_PARAMS>() as CK_ULONG,
    };
    // SAFETY: the mechanism and its parameter are live locals.
    unsafe { l.C_EncryptInit.unwrap()(session, &mut mechanism, key) }
}

/// `C_Encrypt` of `len` bytes at `data` into a buffer of `len + 16`.
fn encrypt(l: Functions, session: CK_SESSION_HANDLE, data: *mut u8, len: CK_ULONG) -> CK_RV {
    let mut out = vec![0u8; 64];
    let mut out_len = out.len() as CK_ULONG;
    // SAFETY: `data` holds `len` bytes, or the length is one the module must
    // refuse unread; `out` holds `out_len`.
    unsafe { l.C_Encrypt.unwrap()(session, data, len, out.as_mut_ptr(), &mut out_len) }
}

#[test]
fn hostile_calls_neither_abort_nor_hang_the_host() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("hostile", "hsm1");
    // SAFETY: this binary holds one test; nothing else reads the environment.
    unsafe { std::env::set_var("P11KMS_SOCKET", daemon.data_socket()) };
    let l = load();

    // Before C_Initialize: refused before any argument is read.
    assert_eq!(suite_calls(l, 1, 1), [CKR_CRYPTOKI_NOT_INITIALIZED; 6]);

    assert_eq!(p11kms_tests::raw::initialize(l.C_Initialize), CKR_OK);
    let (session, key) = session_and_key(l, &pin);

    // After: each refused at once with its code, nothing sent.
    let sent = requests(&daemon);
    assert_eq!(
        suite_calls(l, session, key),
        [
            CKR_MECHANISM_PARAM_INVALID,
            CKR_DATA_LEN_RANGE,
            CKR_ARGUMENTS_BAD,
            CKR_FUNCTION_NOT_SUPPORTED,
            CKR_PIN_LEN_RANGE,
            CKR_ARGUMENTS_BAD,
        ]
    );
    assert_eq!(requests(&daemon), sent, "no hostile call reached the daemon");

    // An impossible length ends the operation, as any error but
    // CKR_BUFFER_TOO_SMALL does.
    assert_eq!(encrypt_init(l, session, key), CKR_OK);
    let small = fenced(16);
    let address = small.expose_provenance();
    let code = returns(move || encrypt(l, session, std::ptr::with_exposed_provenance_mut(address), TWO_GIB));
    assert_eq!(code, CKR_DATA_LEN_RANGE);
    assert_eq!(encrypt(l, session, small, 16), CKR_OPERATION_NOT_INITIALIZED);

    // Over the body limit the daemon announced (4 MiB by default) and under
    // the protocol's 16 MiB: real bytes, still refused without being sent.
    let five_mib = 5 << 20;
    let big = fenced(five_mib);
    assert_eq!(encrypt_init(l, session, key), CKR_OK);
    let sent = requests(&daemon);
    assert_eq!(encrypt(l, session, big, five_mib as CK_ULONG), CKR_DATA_LEN_RANGE);
    assert_eq!(requests(&daemon), sent, "refused before it was sent");

    // The module works as before.
    assert_eq!(encrypt_init(l, session, key), CKR_OK);
    assert_eq!(encrypt(l, session, small, 16), CKR_OK);
    // SAFETY: a null argument is what the standard asks for.
    assert_eq!(unsafe { l.C_Finalize.unwrap()(null_mut()) }, CKR_OK);
    assert_eq!(suite_calls(l, session, key), [CKR_CRYPTOKI_NOT_INITIALIZED; 6], "after C_Finalize");
}

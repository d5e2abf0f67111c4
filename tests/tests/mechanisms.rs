//! Mechanisms through the `cryptoki` crate: AES-CTR encryption and
//! decryption, single- and multi-part, and the mechanism list and info of
//! the hsm1 slot compared with what SoftHSM itself reports for the same
//! mechanisms. One test: the module is loaded once per process and finds
//! its daemon through the environment.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::ffi::c_ulong;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use p11kms_tests::{Daemon, load_module, module, rv, slot_labelled};

#[test]
fn mechanisms_on_the_hsm_slot() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("mech", "hsm1");
    let ctx = load_module(&daemon);
    let slot = slot_labelled(&ctx, "hsm1");
    let session = ctx.open_rw_session(slot).expect("session");
    session.login(UserType::User, Some(&AuthPin::from(pin))).expect("login");

    aes_ctr(&ctx, slot, &session);
    mechanism_info_is_the_hsms(&ctx, slot);
    sha224_rsa_signs(&session);
    hashing_ecdsa_is_ecdsa_over_the_digest(&session);
    oaep_with_sha2_and_a_label_interoperates_with_openssl(&daemon, &session);
}

/// `CKM_ECDSA_SHA*` (which SoftHSM lacks) signs what `CKM_ECDSA` verifies
/// over the digest, for every hash.
fn hashing_ecdsa_is_ecdsa_over_the_digest(session: &Session) {
    let (public, private) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::EcParams(vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
                Attribute::Verify(true),
            ],
            &[Attribute::Token(true), Attribute::Label(b"ecdsa-sha".to_vec()), Attribute::Sign(true)],
        )
        .expect("EC key");
    let message = b"hashed by the daemon".as_slice();
    for (hashing, digest) in [
        (Mechanism::EcdsaSha1, Mechanism::Sha1),
        (Mechanism::EcdsaSha256, Mechanism::Sha256),
        (Mechanism::EcdsaSha384, Mechanism::Sha384),
        (Mechanism::EcdsaSha512, Mechanism::Sha512),
    ] {
        let signature = session.sign(&hashing, private, message).expect("hashing ECDSA");
        let digest = session.digest(&digest, message).expect("digest");
        session.verify(&Mechanism::Ecdsa, public, &digest, &signature).expect("plain ECDSA over the digest");
        session.verify(&hashing, public, message, &signature).expect("and the hashing mechanism itself");
        assert_eq!(rv(session.verify(&hashing, public, b"other", &signature)), RvError::SignatureInvalid);
    }
}

/// RSA-OAEP with SHA-256 or SHA-512 and a label (SoftHSM only does SHA-1
/// without a label): openssl encrypts to the key's public half, p11kms decrypts, and
/// the other way round.
fn oaep_with_sha2_and_a_label_interoperates_with_openssl(daemon: &Daemon, session: &Session) {
    use std::process::Command;
    let private = {
        let public = [Attribute::Token(true), Attribute::ModulusBits(2048.into()), Attribute::Encrypt(true)];
        let private = [Attribute::Token(true), Attribute::Label(b"oaep256".to_vec()), Attribute::Decrypt(true)];
        session.generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private).expect("RSA key").1
    };
    let public = session
        .find_objects(&[
            Attribute::Label(b"oaep256".to_vec()),
            Attribute::Class(cryptoki::object::ObjectClass::PUBLIC_KEY),
        ])
        .expect("find")[0];
    let dir = tempfile::tempdir().expect("dir");
    let pem = daemon.cli_json(&["get-public-key", "--key-id", "alias/oaep256"])["PublicKey"]
        .as_str()
        .expect("PEM")
        .to_owned();
    std::fs::write(dir.path().join("public.pem"), pem).expect("pem");
    let public_pem = dir.path().join("public.pem");
    std::fs::write(dir.path().join("plain"), b"sealed by openssl").expect("plain");
    let label = b"context label";
    let hex_label: String = label.iter().map(|b| format!("{b:02x}")).collect();
    use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource};
    for (hash, mgf, name) in [
        (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, "sha256"),
        (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, "sha512"),
    ] {
        let oaep = |label: &'static [u8]| {
            Mechanism::RsaPkcsOaep(PkcsOaepParams::new(hash, mgf, PkcsOaepSource::data_specified(label)))
        };
        let mut encrypt = Command::new("openssl");
        encrypt.args(["pkeyutl", "-encrypt", "-pubin", "-inkey"]).arg(&public_pem).args([
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            &format!("rsa_oaep_md:{name}"),
            "-pkeyopt",
            &format!("rsa_mgf1_md:{name}"),
            "-pkeyopt",
            &format!("rsa_oaep_label:{hex_label}"),
        ]);
        encrypt.arg("-in").arg(dir.path().join("plain"));
        let ciphertext = p11kms_tests::run(&mut encrypt);
        let decrypted = session.decrypt(&oaep(b"context label"), private, &ciphertext).expect("p11kms decrypts");
        assert_eq!(decrypted, b"sealed by openssl", "{name}");

        // The other way: p11kms encrypts with the public key; a wrong label
        // does not decrypt.
        let ours = session.encrypt(&oaep(b"context label"), public, b"sealed by p11kms").expect("p11kms encrypts");
        assert_eq!(session.decrypt(&oaep(b"context label"), private, &ours).expect("round trip"), b"sealed by p11kms");
        assert_eq!(rv(session.decrypt(&oaep(b"other label"), private, &ours)), RvError::EncryptedDataInvalid);
    }
}

/// `CKM_SHA224_RSA_PKCS` is one of the mechanisms cryptoki cannot name from
/// its number; the daemon asks the HSM for it directly, and it works.
fn sha224_rsa_signs(session: &Session) {
    let public = [Attribute::Token(true), Attribute::ModulusBits(2048.into()), Attribute::Verify(true)];
    let private = [Attribute::Token(true), Attribute::Label(b"rsa-sha224".to_vec()), Attribute::Sign(true)];
    let (public, private) =
        session.generate_key_pair(&Mechanism::RsaPkcsKeyPairGen, &public, &private).expect("RSA pair");
    let signature = session.sign(&Mechanism::Sha224RsaPkcs, private, b"message").expect("SHA224-RSA sign");
    assert_eq!(signature.len(), 256);
    session.verify(&Mechanism::Sha224RsaPkcs, public, b"message", &signature).expect("verify");
    assert_eq!(
        rv(session.verify(&Mechanism::Sha224RsaPkcs, public, b"massage", &signature)),
        RvError::SignatureInvalid
    );
}

// ---- AES-CTR ---------------------------------------------------------------

/// `CK_AES_CTR_PARAMS`, laid out as the C header has it.
#[repr(C)]
struct CtrParams {
    counter_bits: c_ulong,
    counter_block: [u8; 16],
}

fn ctr(params: &CtrParams) -> Mechanism<'_> {
    Mechanism::VendorDefined(VendorDefinedMechanism::new(MechanismType::AES_CTR, Some(params)))
}

fn params(counter_block: [u8; 16]) -> CtrParams {
    CtrParams { counter_bits: 128, counter_block }
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

fn multi_part(session: &Session, encrypt: bool, mechanism: &Mechanism<'_>, key: ObjectHandle, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if encrypt {
        session.encrypt_init(mechanism, key).expect("EncryptInit");
        for chunk in data.chunks(7) {
            out.extend(session.encrypt_update(chunk).expect("EncryptUpdate"));
        }
        out.extend(session.encrypt_final().expect("EncryptFinal"));
    } else {
        session.decrypt_init(mechanism, key).expect("DecryptInit");
        for chunk in data.chunks(7) {
            out.extend(session.decrypt_update(chunk).expect("DecryptUpdate"));
        }
        out.extend(session.decrypt_final().expect("DecryptFinal"));
    }
    out
}

fn aes_ctr(ctx: &Pkcs11, slot: Slot, session: &Session) {
    let ctr_info = ctx.get_mechanism_info(slot, MechanismType::AES_CTR).expect("AES-CTR is offered");
    assert!(ctr_info.encrypt() && ctr_info.decrypt(), "{ctr_info:?}");
    assert!(ctx.get_mechanism_list(slot).expect("list").contains(&MechanismType::AES_CTR));

    let template = [
        Attribute::Token(true),
        Attribute::ValueLen(32.into()),
        Attribute::Label(b"aes-ctr".to_vec()),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ];
    let key = session.generate_key(&Mechanism::AesKeyGen, &template).expect("AES key");
    // Not a multiple of the block size: CTR needs no padding.
    let plaintext: Vec<u8> = (0..77u8).collect();
    let block = [0x10u8; 16];
    let p = params(block);

    let ciphertext = session.encrypt(&ctr(&p), key, &plaintext).expect("CTR encrypt");
    assert_eq!(ciphertext.len(), plaintext.len(), "a stream mode: no padding, no tag");
    assert_ne!(ciphertext, plaintext);
    assert_eq!(session.decrypt(&ctr(&p), key, &ciphertext).expect("CTR decrypt"), plaintext);

    // A key stream: same counter block, same stream, whatever the data.
    let zeros = vec![0u8; plaintext.len()];
    let stream = session.encrypt(&ctr(&p), key, &zeros).expect("encrypt zeros");
    assert_eq!(xor(&ciphertext, &plaintext), stream, "ciphertext is plaintext XOR the key stream");

    // The counter is the counter block: starting one higher skips one block
    // of the stream.
    let mut next = block;
    next[15] += 1;
    let shifted = session.encrypt(&ctr(&params(next)), key, &zeros[16..]).expect("encrypt from the next block");
    assert_eq!(shifted, stream[16..], "counter block + 1 starts at the second block of the stream");
    let other = session.encrypt(&ctr(&params([0x99; 16])), key, &plaintext).expect("another counter block");
    assert_ne!(other, ciphertext, "another counter block, another ciphertext");

    // Multi-part gives the same bytes as single-part, both ways.
    assert_eq!(multi_part(session, true, &ctr(&p), key, &plaintext), ciphertext);
    assert_eq!(multi_part(session, false, &ctr(&p), key, &ciphertext), plaintext);

    // Malformed parameters.
    let short = [0u8; 16];
    let bad_length = Mechanism::VendorDefined(VendorDefinedMechanism::new(MechanismType::AES_CTR, Some(&short)));
    assert_eq!(rv(session.encrypt(&bad_length, key, &plaintext)), RvError::MechanismParamInvalid);
    let no_param = Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(MechanismType::AES_CTR, None));
    assert_eq!(rv(session.encrypt(&no_param, key, &plaintext)), RvError::MechanismParamInvalid);
    let zero_bits = CtrParams { counter_bits: 0, counter_block: block };
    assert_eq!(rv(session.encrypt(&ctr(&zero_bits), key, &plaintext)), RvError::MechanismParamInvalid);
    let too_many_bits = CtrParams { counter_bits: 129, counter_block: block };
    assert_eq!(rv(session.decrypt(&ctr(&too_many_bits), key, &ciphertext)), RvError::MechanismParamInvalid);
}

// ---- C_GetMechanismList / C_GetMechanismInfo ---------------------------------

/// What p11kms offers for operations and key generation
/// (`daemon/src/hsm/mechanism.rs`).
const OFFERED: &[u64] = &[
    0x1087, // CKM_AES_GCM
    0x1082, // CKM_AES_CBC
    0x1085, // CKM_AES_CBC_PAD
    0x1081, // CKM_AES_ECB
    0x1086, // CKM_AES_CTR
    0x01,   // CKM_RSA_PKCS
    0x06,   // CKM_SHA1_RSA_PKCS
    0x46,   // CKM_SHA224_RSA_PKCS
    0x40,   // CKM_SHA256_RSA_PKCS
    0x41,   // CKM_SHA384_RSA_PKCS
    0x42,   // CKM_SHA512_RSA_PKCS
    0x0d,   // CKM_RSA_PKCS_PSS
    0x0e,   // CKM_SHA1_RSA_PKCS_PSS
    0x43,   // CKM_SHA256_RSA_PKCS_PSS
    0x44,   // CKM_SHA384_RSA_PKCS_PSS
    0x45,   // CKM_SHA512_RSA_PKCS_PSS
    0x09,   // CKM_RSA_PKCS_OAEP
    0x1041, // CKM_ECDSA
    0x1042, // CKM_ECDSA_SHA1
    0x1043, // CKM_ECDSA_SHA224
    0x1044, // CKM_ECDSA_SHA256
    0x1045, // CKM_ECDSA_SHA384
    0x1046, // CKM_ECDSA_SHA512
    0x1080, // CKM_AES_KEY_GEN
    0x00,   // CKM_RSA_PKCS_KEY_PAIR_GEN
    0x1040, // CKM_EC_KEY_PAIR_GEN
    // For session keys.
    0x108a,     // CKM_AES_CMAC
    0x0220 + 1, // CKM_SHA_1_HMAC
    0x0255 + 1, // CKM_SHA224_HMAC
    0x0250 + 1, // CKM_SHA256_HMAC
    0x0260 + 1, // CKM_SHA384_HMAC
    0x0270 + 1, // CKM_SHA512_HMAC
    0x2109,     // CKM_AES_KEY_WRAP
    0x210a,     // CKM_AES_KEY_WRAP_PAD
    0x1050,     // CKM_ECDH1_DERIVE
    0x1057,     // CKM_EDDSA
    0x0350,     // CKM_GENERIC_SECRET_KEY_GEN
    0x1055,     // CKM_EC_EDWARDS_KEY_PAIR_GEN
    0x1104,     // CKM_AES_ECB_ENCRYPT_DATA
    0x1105,     // CKM_AES_CBC_ENCRYPT_DATA
];
/// The digests the module computes itself, on every slot.
const LOCAL_DIGESTS: &[u64] = &[0x220, 0x255, 0x250, 0x260, 0x270];
/// CKM_ECDSA, and the hashing variants the daemon emulates over it.
const ECDSA: u64 = 0x1041;
const HASHING_ECDSA: &[u64] = &[0x1042, 0x1043, 0x1044, 0x1045, 0x1046];
/// The vendor envelope mechanism.
const ENVELOPE: u64 = 0x8050_4B01;

/// The flags the comparison covers: CKF_HW, CKF_ENCRYPT, CKF_DECRYPT,
/// CKF_DIGEST, CKF_SIGN, CKF_VERIFY, CKF_GENERATE, CKF_GENERATE_KEY_PAIR.
const COMPARED_FLAGS: u64 = 0x1 | 0x100 | 0x200 | 0x400 | 0x800 | 0x2000 | 0x8000 | 0x10000;
const CKR_SLOT_ID_INVALID: u64 = 0x03;
const CKR_MECHANISM_INVALID: u64 = 0x70;

type GetFunctionList = unsafe extern "C" fn(*mut *const FunctionListHead) -> c_ulong;
type GetMechanismList = unsafe extern "C" fn(c_ulong, *mut c_ulong, *mut c_ulong) -> c_ulong;
type GetMechanismInfo = unsafe extern "C" fn(c_ulong, c_ulong, *mut RawInfo) -> c_ulong;

/// The start of `CK_FUNCTION_LIST`: the version, then `C_Initialize`,
/// `C_Finalize`, `C_GetInfo`, `C_GetFunctionList`, `C_GetSlotList`,
/// `C_GetSlotInfo`, `C_GetTokenInfo`, `C_GetMechanismList`,
/// `C_GetMechanismInfo`.
#[repr(C)]
struct FunctionListHead {
    version: [u8; 2],
    functions: [*const std::ffi::c_void; 9],
}

/// `CK_MECHANISM_INFO`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct RawInfo {
    min_key_size: c_ulong,
    max_key_size: c_ulong,
    flags: c_ulong,
}

/// A library's mechanism functions, called directly: the `cryptoki` crate
/// drops mechanism types it does not know (vendor types, `CKM_SHA224`) from
/// its list, and the comparison must see every one.
struct Raw {
    list: GetMechanismList,
    info: GetMechanismInfo,
}

impl Raw {
    /// The functions of a library this process has already loaded and
    /// initialized through `cryptoki`.
    fn of(path: &std::path::Path) -> Self {
        let name = std::ffi::CString::new(path.to_str().expect("path")).expect("C path");
        // SAFETY: NOLOAD only returns a handle to a library already loaded;
        // the handle is leaked on purpose, so its functions stay valid.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD) };
        assert!(!handle.is_null(), "{} is loaded", path.display());
        // SAFETY: a valid handle and a NUL-terminated name.
        let symbol = unsafe { libc::dlsym(handle, c"C_GetFunctionList".as_ptr()) };
        assert!(!symbol.is_null(), "C_GetFunctionList in {}", path.display());
        // SAFETY: the PKCS#11 signature of C_GetFunctionList.
        let get: GetFunctionList = unsafe { std::mem::transmute::<*mut std::ffi::c_void, GetFunctionList>(symbol) };
        let mut list: *const FunctionListHead = std::ptr::null();
        // SAFETY: writes one pointer to a table that lives as long as the library.
        assert_eq!(unsafe { get(&mut list) }, 0, "C_GetFunctionList");
        assert!(!list.is_null());
        // SAFETY: the table starts as FunctionListHead says (PKCS#11 2.40 and 3.0 alike).
        let functions = unsafe { (*list).functions };
        assert!(!functions[7].is_null() && !functions[8].is_null());
        // SAFETY: entries 7 and 8 are C_GetMechanismList and C_GetMechanismInfo.
        unsafe {
            Self {
                list: std::mem::transmute::<*const std::ffi::c_void, GetMechanismList>(functions[7]),
                info: std::mem::transmute::<*const std::ffi::c_void, GetMechanismInfo>(functions[8]),
            }
        }
    }

    fn list(&self, slot: Slot) -> Vec<u64> {
        let mut count: c_ulong = 0;
        // SAFETY: a null list asks for the count, written to `count`.
        assert_eq!(unsafe { (self.list)(slot.id(), std::ptr::null_mut(), &mut count) }, 0);
        let mut list = vec![0 as c_ulong; count as usize];
        // SAFETY: `list` has room for `count` entries.
        assert_eq!(unsafe { (self.list)(slot.id(), list.as_mut_ptr(), &mut count) }, 0);
        list.truncate(count as usize);
        list
    }

    fn info(&self, slot: u64, mechanism: u64) -> Result<RawInfo, u64> {
        let mut info = RawInfo::default();
        // SAFETY: `info` is a valid CK_MECHANISM_INFO to write.
        match unsafe { (self.info)(slot, mechanism, &mut info) } {
            0 => Ok(info),
            rv => Err(rv),
        }
    }
}

/// SoftHSM loaded directly, on a token of its own in a temporary directory.
fn softhsm() -> (Pkcs11, Slot, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).expect("token dir");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
        .expect("conf");
    // SAFETY: one test in this binary; the daemon is already running with
    // its own configuration and nothing else reads the environment now.
    unsafe { std::env::set_var("SOFTHSM2_CONF", &conf) };
    let ctx = Pkcs11::new(SOFTHSM).expect("load SoftHSM");
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).expect("SoftHSM C_Initialize");
    let slot = ctx.get_all_slots().expect("SoftHSM slots")[0];
    ctx.init_token(slot, &AuthPin::from("12345678"), "reference").expect("init token");
    let slot = slot_labelled(&ctx, "reference");
    (ctx, slot, dir)
}

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn mechanism_info_is_the_hsms(ctx: &Pkcs11, slot: Slot) {
    let (reference, reference_slot, _dir) = softhsm();
    let hsm = Raw::of(std::path::Path::new(SOFTHSM));
    let ours_raw = Raw::of(&module());
    let theirs = hsm.list(reference_slot);
    let ours = ours_raw.list(slot);

    let mut unique = ours.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ours.len(), "no mechanism listed twice: {ours:x?}");
    // cryptoki's list is ours without the types it does not know.
    let through_cryptoki = ctx.get_mechanism_list(slot).expect("list");
    assert!(through_cryptoki.iter().all(|m| ours.contains(&u64::from(*m))));

    // The list is exactly what p11kms offers and SoftHSM has, plus the
    // local digests and the envelope mechanism.
    let mut expected: Vec<u64> = OFFERED.iter().copied().filter(|m| theirs.contains(m)).collect();
    expected.extend(LOCAL_DIGESTS);
    expected.push(ENVELOPE);
    // Hashing ECDSA the daemon emulates over the HSM's plain ECDSA.
    if theirs.contains(&ECDSA) {
        expected.extend(HASHING_ECDSA);
    }
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(unique, expected, "mechanism list of hsm1 (SoftHSM has {theirs:x?})");

    for &ty in &ours {
        let info = ours_raw.info(slot.id(), ty).unwrap_or_else(|rv| panic!("info for {ty:#x}: {rv:#x}"));
        if ty == ENVELOPE {
            assert_eq!(info, RawInfo { min_key_size: 16, max_key_size: 32, flags: 0x100 | 0x200 });
            continue;
        }
        // An emulated mechanism has the sizes and flags of the HSM's own.
        let base = if HASHING_ECDSA.contains(&ty) && !theirs.contains(&ty) { ECDSA } else { ty };
        let theirs =
            hsm.info(reference_slot.id(), base).unwrap_or_else(|rv| panic!("SoftHSM info for {ty:#x}: {rv:#x}"));
        assert_eq!(
            (info.min_key_size, info.max_key_size, info.flags & COMPARED_FLAGS),
            (theirs.min_key_size, theirs.max_key_size, theirs.flags & COMPARED_FLAGS),
            "sizes and flags of {ty:#x}: ours {info:x?}, SoftHSM's {theirs:x?}"
        );
    }

    // Mechanisms the HSM has but p11kms does not offer are not listed and
    // have no info; neither has a mechanism nobody knows.
    let not_offered: Vec<u64> = theirs.iter().copied().filter(|m| !expected.contains(m)).collect();
    assert!(!not_offered.is_empty(), "SoftHSM has more than p11kms offers");
    for ty in not_offered.into_iter().chain([0x8050_4BFF, 0x7fff_fff0]) {
        assert_eq!(ours_raw.info(slot.id(), ty), Err(CKR_MECHANISM_INVALID), "{ty:#x}");
    }
    assert_eq!(ours_raw.info(0xdead, 0x1087), Err(CKR_SLOT_ID_INVALID));
    // Through cryptoki too.
    assert_eq!(rv(ctx.get_mechanism_info(slot, MechanismType::DES3_CBC)), RvError::MechanismInvalid);
    reference.finalize().expect("SoftHSM C_Finalize");
}

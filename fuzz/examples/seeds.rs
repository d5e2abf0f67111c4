//! Writes the seed inputs the committed corpus grew from: one or more
//! well-formed inputs per target, built with the project's own encoders
//! (and proto's golden admin bytes), so the fuzzer starts inside every
//! message type instead of having to discover the formats.
//!
//! `cargo +nightly run --example seeds -- <dir>` writes `<dir>/<target>/`;
//! `docs/fuzzing.md` says how they were merged into `fuzz/corpus/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::{env, fs, process};

use p11kms_proto::admin::operation::{encode_answer, unknown_opcode};
use p11kms_proto::blob::{BlobAlgorithm, CiphertextBlob, EncryptionContext, IV_LEN};
use p11kms_proto::data::{DataReply, DataRequest, DataResult};
use p11kms_proto::frame::{MessageKind, encode_frame, encode_raw_frame};
use p11kms_proto::pkcs11::{
    Attribute, AttributeValue, MechParam, Mechanism, MechanismInfo, ObjectDescription, SlotDescription,
    TokenDescription,
};
use p11kms_proto::{CkRv, SecretBytes, encode_body};
use p11kmsd::clusters::images::parse_image;
use p11kmsd::encoding::der::{ec_spki, rsa_spki};
use p11kmsd::encoding::oaep::{OaepHash, oaep_encode};
use p11kmsd::encoding::signature::ecdsa_der_from_raw;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Seeds {
    dir: PathBuf,
    count: usize,
}

impl Seeds {
    fn target(root: &Path, name: &str) -> Result<Self> {
        let dir = root.join(name);
        fs::create_dir_all(&dir)?;
        Ok(Self { dir, count: 0 })
    }

    fn add(&mut self, bytes: &[u8]) -> Result<()> {
        self.count += 1;
        fs::write(self.dir.join(format!("seed-{:03}", self.count)), bytes)?;
        Ok(())
    }
}

fn mechanisms() -> Vec<Mechanism> {
    vec![
        Mechanism::new(0x1041),
        Mechanism { ty: 0x1082, param: MechParam::Bytes(vec![7; 16]) },
        Mechanism { ty: 0x8050_4B01, param: MechParam::Bytes(br#"{"shop":"eu"}"#.to_vec()) },
        Mechanism { ty: 0x1087, param: MechParam::Gcm { iv: vec![1; 12], aad: b"aad".to_vec(), tag_bits: 128 } },
        Mechanism { ty: 0x0d, param: MechParam::Pss { hash: 0x250, mgf: 2, salt_len: 32 } },
        Mechanism { ty: 0x09, param: MechParam::Oaep { hash: 0x250, mgf: 2, source_data: b"label".to_vec() } },
        Mechanism { ty: 0x1050, param: MechParam::Ecdh { kdf: 1, shared_data: vec![], public_data: vec![4; 65] } },
        Mechanism { ty: 0x1086, param: MechParam::Ctr { counter_bits: 32, counter_block: [9; 16] } },
        Mechanism { ty: 0x1084, param: MechParam::Ulong(8) },
        Mechanism { ty: 0x1057, param: MechParam::Eddsa { prehash: true, context: b"ctx".to_vec() } },
    ]
}

fn requests() -> Vec<DataRequest> {
    let template = vec![Attribute::bool(1, true), Attribute::ulong(0, 4), Attribute::bytes(3, b"k1".to_vec())];
    let mut requests = vec![
        DataRequest::Hello { client_id: [0xaa; 16], module_version: "0.1.0".into() },
        DataRequest::ListSlots,
        DataRequest::Login { slot: 2, user_type: 1, pin: SecretBytes::from("1234") },
        DataRequest::Logout { slot: 2 },
        DataRequest::FindObjects { slot: 2, template: template.clone() },
        DataRequest::GetAttributes { slot: 2, object: 77, types: vec![0x100, 0x11] },
        DataRequest::DestroyObject { slot: 2, object: 77 },
        DataRequest::GenerateRandom { slot: 2, length: 32 },
        DataRequest::SetPin { slot: 2, old_pin: SecretBytes::from("old"), new_pin: SecretBytes::from("new") },
        DataRequest::CreateObject { slot: 2, template: template.clone() },
        DataRequest::CopyObject { slot: 2, object: 8, template: template.clone() },
        DataRequest::SetAttributes { slot: 2, object: 8, template: template.clone() },
        DataRequest::GetObjectSize { slot: 2, object: 8 },
        DataRequest::DestroySessionObjects { slot: 2, objects: vec![4, 12] },
    ];
    for mechanism in mechanisms() {
        requests.extend([
            DataRequest::GenerateKey { slot: 2, mechanism: mechanism.clone(), template: template.clone() },
            DataRequest::GenerateKeyPair {
                slot: 2,
                mechanism: mechanism.clone(),
                public_template: template.clone(),
                private_template: vec![],
            },
            DataRequest::Sign { slot: 2, object: 9, mechanism: mechanism.clone(), data: vec![1, 2] },
            DataRequest::Verify {
                slot: 2,
                object: 9,
                mechanism: mechanism.clone(),
                data: vec![1],
                signature: vec![2; 8],
            },
            DataRequest::Encrypt { slot: 2, object: 9, mechanism: mechanism.clone(), data: SecretBytes::from("p") },
            DataRequest::Decrypt { slot: 2, object: 9, mechanism: mechanism.clone(), data: vec![5; 32] },
            DataRequest::WrapKey { slot: 2, mechanism: mechanism.clone(), wrapping: 4, key: 12 },
            DataRequest::UnwrapKey {
                slot: 2,
                mechanism: mechanism.clone(),
                unwrapping: 4,
                wrapped: vec![1; 40],
                template: template.clone(),
            },
            DataRequest::DeriveKey { slot: 2, mechanism, base: 4, template: template.clone() },
        ]);
    }
    requests
}

fn replies() -> Vec<DataResult> {
    vec![
        Ok(DataReply::Welcome { daemon_version: "0.1.0".into(), boot_id: [1; 16], max_body_len: 1 << 22 }),
        Ok(DataReply::Done),
        Ok(DataReply::Slots(vec![
            SlotDescription { id: 1, description: "default".into(), token: None },
            SlotDescription {
                id: 2,
                description: "hsm1".into(),
                token: Some(TokenDescription {
                    label: "hsm1".into(),
                    model: "hardware".into(),
                    serial: "0000000000000002".into(),
                    flags: 0x40d,
                    min_pin_len: 4,
                    max_pin_len: 64,
                    mechanisms: vec![MechanismInfo { ty: 0x1041, min_key_size: 256, max_key_size: 256, flags: 0x800 }],
                }),
            },
        ])),
        Ok(DataReply::Objects(vec![ObjectDescription {
            id: 5,
            fixed: vec![Attribute::ulong(0, 4)],
            sensitive: vec![0x11],
        }])),
        Ok(DataReply::Attributes(vec![
            AttributeValue::Value(vec![1]),
            AttributeValue::Sensitive,
            AttributeValue::Invalid,
        ])),
        Ok(DataReply::Bytes(vec![0; 64])),
        Ok(DataReply::Secret(SecretBytes::from("plain"))),
        Ok(DataReply::Size(640)),
        Err(CkRv(0xa0)),
    ]
}

fn frame_header(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "frame_header")?;
    let hello = encode_frame(MessageKind::DataRequest, 1, &requests()[0])?;
    let call = encode_raw_frame(MessageKind::AdminCall, 1, &[0x03, 0x02, 0x01, b'k'])?;
    let answer = encode_frame(MessageKind::DataResponse, 3, &replies()[1])?;
    let default_limit = 4u32 << 20;
    for (limit, options, stream) in [
        (default_limit, 0u8, hello.clone()),
        (default_limit, 1, [hello.clone(), answer.clone(), call.clone()].concat()),
        (4096, 0, call.clone()),
        (u32::MAX, 1, [call.clone(), call.clone()].concat()),
        (default_limit, 0, hello[..hello.len() - 1].to_vec()),
        (default_limit, 0, hello[..10].to_vec()),
        (8, 0, hello.clone()),
        (default_limit, 0, [&b"GET / HTTP/1.1\r\n"[..], &hello[16..]].concat()),
        (default_limit, 0, [&hello[..4], &[2u8][..], &hello[5..]].concat()),
        (default_limit, 0, [&hello[..6], &[0, 99][..], &hello[8..]].concat()),
        (default_limit, 0, Vec::new()),
    ] {
        seeds.add(&[&limit.to_be_bytes()[..], &[options], &stream].concat())?;
    }
    Ok(())
}

fn data_request(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "data_request")?;
    for request in requests() {
        seeds.add(&encode_body(&request)?)?;
    }
    for reply in replies() {
        seeds.add(&encode_body(&reply)?)?;
    }
    Ok(())
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd hex: {text}").into());
    }
    (0..text.len()).step_by(2).map(|i| Ok(u8::from_str_radix(&text[i..i + 2], 16)?)).collect()
}

/// Calls and answers of every operation, from proto's golden bytes: each
/// line is `OPCODE Name call HEX answer HEX`.
fn admin_call(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "admin_call")?;
    let golden = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/tests/admin_golden.txt"))?;
    for line in golden.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(call), Some(answer)) = (
            words.iter().position(|w| *w == "call").and_then(|i| words.get(i + 1)),
            words.iter().position(|w| *w == "answer").and_then(|i| words.get(i + 1)),
        ) else {
            continue;
        };
        let call = unhex(call)?;
        seeds.add(&call)?;
        // The answer behind the call's opcode: the target reads it as the
        // answer to that operation.
        if call.len() >= 2 {
            seeds.add(&[&call[..2], &unhex(answer)?[..]].concat())?;
        }
    }
    let refusal = encode_answer::<()>(&Err(unknown_opcode(p11kms_proto::admin::Opcode(0xbeef))))?;
    seeds.add(&[&[0x03, 0x02][..], &refusal].concat())?;
    Ok(())
}

fn ciphertext_blob(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "ciphertext_blob")?;
    for (algorithm, key_id, context) in [
        (BlobAlgorithm::Aes256Gcm, "key-0123456789abcdef", &br#"{"shop":"eu"}"#[..]),
        (BlobAlgorithm::Aes128Gcm, "k", &b""[..]),
        (BlobAlgorithm::Aes256Gcm, "alias-looking/but-a-key-id", &br#"{"a":"1","b":"\u00e9"}"#[..]),
    ] {
        let blob = CiphertextBlob {
            algorithm,
            key_id: key_id.into(),
            version: [7; 16],
            iv: [9; IV_LEN],
            ciphertext: vec![0x5a; 16 + 8],
        }
        .encode()?;
        let context_len = u8::try_from(context.len())?;
        seeds.add(&[&[context_len][..], context, &blob].concat())?;
    }
    // The context is what the encoder canonicalizes; a seed with a map of
    // several keys helps the fuzzer reach its sorting.
    let context: EncryptionContext = BTreeMap::from([("z".into(), "1".into()), ("a".into(), "2".into())]);
    let json = serde_json::to_vec(&context)?;
    seeds.add(&[&[u8::try_from(json.len())?][..], &json, b"P11C\x01\x01\x01k"].concat())?;
    Ok(())
}

/// A real-looking image: a symmetric version and an EC one with its
/// public key, as `cluster image create` writes them.
fn image_manifest(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "image_manifest")?;
    let point = format!("044104{}", "ab".repeat(64));
    let public = format!(r#"{{"Ec":{{"params":"06082a8648ce3d030107","point":"{point}"}}}}"#);
    let rsa = format!(r#"{{"Rsa":{{"modulus":"00{}","exponent":"010001"}}}}"#, "c3".repeat(32));
    let image = serde_json::json!({
        "format": 1,
        "image_id": "img-0123456789ab",
        "cluster": "hsm1",
        "created_at": "2026-12-01T00:00:00Z",
        "versions": [
            {
                "id": "00112233445566778899aabbccddeeff",
                "label": "key-1/v-1",
                "spec": "AES_256",
                "usage": "ENCRYPT/DECRYPT",
                "wrapped": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==",
                "public": null
            },
            {
                "id": "ffeeddccbbaa99887766554433221100",
                "label": "key-2/v-1",
                "spec": "EC_P256",
                "usage": "SIGN/VERIFY",
                "wrapped": "AQID",
                "public": public
            },
            {
                "id": "0f0e0d0c0b0a09080706050403020100",
                "label": "key-3/v-1",
                "spec": "RSA_2048",
                "usage": "ENCRYPT/DECRYPT",
                "wrapped": "AQID",
                "public": rsa
            }
        ]
    });
    let pretty = serde_json::to_vec_pretty(&image)?;
    if parse_image(&pretty)? != 3 {
        return Err("the image seed does not parse as three versions".into());
    }
    seeds.add(&pretty)?;
    seeds.add(&serde_json::to_vec(&image)?)?;
    seeds.add(br#"{"format":1,"image_id":"img-1","cluster":"c","created_at":"1970-01-01T00:00:00Z","versions":[]}"#)?;
    Ok(())
}

/// Each input: the decoder (selector), its parameters (hash index + 5 *
/// modulus index; or the field size index), then the bytes.
fn import_material(root: &Path) -> Result<()> {
    let mut seeds = Seeds::target(root, "import_material")?;
    // 0: an imported AES-256 key, RSAES_OAEP_SHA_256 under RSA-2048.
    let em = oaep_encode(&[0x42; 32], 256, OaepHash::Sha256, b"", &[0x11; 32])?;
    seeds.add(&[&[0u8, 0][..], &em].concat())?;
    // 1: data-plane OAEP with a label: SHA-1 (0), a 128-byte modulus (0).
    let em = oaep_encode(b"secret", 128, OaepHash::Sha1, b"label", &[0x22; 20])?;
    seeds.add(&[&[1u8, 0, 5][..], b"label", &em].concat())?;
    // 1: SHA-512 (4) with a 512-byte modulus (3).
    let em = oaep_encode(b"secret", 512, OaepHash::Sha512, b"", &[0x23; 64])?;
    seeds.add(&[&[1u8, 4 + 5 * 3, 0][..], &em].concat())?;
    // 2: the encoder's input: label, seed, message; SHA-256 (2), 256 bytes (1).
    seeds.add(&[&[2u8, 2 + 5, 3][..], b"lbl", &[0x33; 32], b"message"].concat())?;
    // 3: an RSA-2048 SubjectPublicKeyInfo.
    let mut modulus = vec![0xc5; 256];
    modulus[255] = 0x01;
    seeds.add(&[&[3u8, 0][..], &rsa_spki(&modulus, &[1, 0, 1])].concat())?;
    // 4: a P-256 signature in DER (field size 32: 0); 5: its raw form.
    let mut raw = vec![0x7f; 64];
    raw[0] = 0x80;
    raw[32] = 0x00;
    let der = ecdsa_der_from_raw(&raw)?;
    seeds.add(&[&[4u8, 0][..], &der].concat())?;
    seeds.add(&[&[5u8, 0][..], &raw].concat())?;
    // 4: a P-521 signature (field size 66: 2).
    let der = ecdsa_der_from_raw(&[0x01; 132])?;
    seeds.add(&[&[4u8, 2][..], &der].concat())?;
    // 6: CKA_EC_PARAMS of P-256 and CKA_EC_POINT in an OCTET STRING.
    let params = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let point = [&[0x04, 0x41, 0x04][..], &[0xab; 64]].concat();
    ec_spki(&params, &point)?;
    seeds.add(&[&[6u8, 0, 10][..], &params, &point].concat())?;
    // 7: a SHA-256 digest for a PKCS#1 v1.5 DigestInfo.
    seeds.add(&[&[7u8, 0][..], &[0x44; 32]].concat())?;
    Ok(())
}

fn main() {
    let Some(root) = env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: seeds <directory>");
        process::exit(2);
    };
    let all: [fn(&Path) -> Result<()>; 6] =
        [frame_header, data_request, admin_call, ciphertext_blob, image_manifest, import_material];
    for write in all {
        if let Err(error) = write(&root) {
            eprintln!("seeds: {error}");
            process::exit(1);
        }
    }
}

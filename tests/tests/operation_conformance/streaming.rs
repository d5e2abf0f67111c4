//! Multi-part AES-ECB, -CBC, -CBC-PAD and -CTR stream: every update
//! returns the blocks it completes (CTR: every byte), the parts together
//! are the bytes of one single-part call, and an operation may carry more
//! data than one request's body, which the buffered operations could not.

use cryptoki_sys::*;

use super::p11::{Kind, Mech, P11, cbc, ctr};
use super::setup::Keys;
use super::{IV, PLAIN};

/// Runs `parts` through `…Update` and `…Final`, each into a buffer of
/// exactly the length a query announced, and returns the output.
fn multi_part(p: P11, kind: Kind, mech: &mut Mech, key: CK_OBJECT_HANDLE, parts: &[&[u8]]) -> Vec<u8> {
    let (update, last) = match kind {
        Kind::Encrypt => (p.l.C_EncryptUpdate, p.l.C_EncryptFinal),
        _ => (p.l.C_DecryptUpdate, p.l.C_DecryptFinal),
    };
    assert_eq!(p.init(kind, mech, key), CKR_OK);
    let mut out = Vec::new();
    for part in parts {
        let due = p.update_len(update, part);
        let (code, len, bytes) = p.update(update, part, due);
        assert_eq!((code, len), (CKR_OK, due), "{kind:?} update of {} bytes", part.len());
        out.extend(bytes);
    }
    let due = p.last_len(last);
    let (code, _, bytes) = p.last(last, due);
    assert_eq!(code, CKR_OK, "{kind:?} final");
    out.extend(bytes);
    out
}

fn single(p: P11, kind: Kind, mech: &mut Mech, key: CK_OBJECT_HANDLE, data: &[u8]) -> Vec<u8> {
    let f = if kind == Kind::Encrypt { p.l.C_Encrypt } else { p.l.C_Decrypt };
    assert_eq!(p.init(kind, mech, key), CKR_OK);
    let (code, _, bytes) = p.single(f, data, data.len() + 32);
    assert_eq!(code, CKR_OK, "single-part {kind:?}");
    bytes
}

/// A case: its name, its mechanism (made anew for each call) and its input.
type Case<'a> = (&'a str, fn() -> Mech, &'a [u8]);

pub(crate) fn multi_part_operations_stream(p: P11, keys: &Keys) {
    let ragged = &PLAIN[..27];
    let cases: [Case<'_>; 5] = [
        ("ECB", || Mech::none(CKM_AES_ECB), &PLAIN),
        ("CBC", || cbc(&IV), &PLAIN),
        ("CBC-PAD", || Mech::bytes(CKM_AES_CBC_PAD, &IV), ragged),
        ("CTR", || ctr(128), ragged),
        ("CTR, 8-bit counter", || ctr(8), ragged),
    ];
    for (name, mech, plain) in cases {
        let ciphertext = single(p, Kind::Encrypt, &mut mech(), keys.aes, plain);
        for cut in [[0, 1], [5, 21], [16, 16], [15, 17]] {
            let (a, b) = (cut[0].min(plain.len()), cut[1].min(plain.len()));
            let parts = [&plain[..a], &plain[a..b], &plain[b..]];
            let streamed = multi_part(p, Kind::Encrypt, &mut mech(), keys.aes, &parts);
            assert_eq!(streamed, ciphertext, "{name}: encrypted in parts cut at {cut:?}");
            let (a, b) = (cut[0].min(ciphertext.len()), cut[1].min(ciphertext.len()));
            let parts = [&ciphertext[..a], &ciphertext[a..b], &ciphertext[b..]];
            let back = multi_part(p, Kind::Decrypt, &mut mech(), keys.aes, &parts);
            assert_eq!(back, plain, "{name}: decrypted in parts cut at {cut:?}");
        }
    }

    // CTR gives every byte at once; CBC keeps what completes no block.
    assert_eq!(p.init(Kind::Encrypt, &mut ctr(128), keys.aes), CKR_OK);
    assert_eq!(p.update_len(p.l.C_EncryptUpdate, &PLAIN[..5]), 5);
    assert_eq!(p.update(p.l.C_EncryptUpdate, &PLAIN[..5], 5).1, 5);
    assert_eq!(p.last(p.l.C_EncryptFinal, 0), (CKR_OK, 0, Vec::new()));
    assert_eq!(p.init(Kind::Encrypt, &mut cbc(&IV), keys.aes), CKR_OK);
    assert_eq!(p.update(p.l.C_EncryptUpdate, &PLAIN[..5], 0), (CKR_OK, 0, Vec::new()));
    // CBC without padding cannot end inside a block.
    assert_eq!(p.last(p.l.C_EncryptFinal, 16).0, CKR_DATA_LEN_RANGE);

    // More than one request's body (4 MiB by default), in three parts:
    // refused whole, streamed in parts.
    let big = vec![0x5c; 6 << 20];
    assert_eq!(p.init(Kind::Encrypt, &mut ctr(128), keys.aes), CKR_OK);
    assert_eq!(p.single(p.l.C_Encrypt, &big, big.len()).0, CKR_DATA_LEN_RANGE, "one call over the body limit");
    let parts: Vec<&[u8]> = big.chunks(2 << 20).collect();
    let ciphertext = multi_part(p, Kind::Encrypt, &mut ctr(128), keys.aes, &parts);
    assert_eq!(ciphertext.len(), big.len());
    assert_ne!(ciphertext[..16], big[..16]);
    let parts: Vec<&[u8]> = ciphertext.chunks(3 << 20).collect();
    assert!(multi_part(p, Kind::Decrypt, &mut ctr(128), keys.aes, &parts) == big, "6 MiB back");
}

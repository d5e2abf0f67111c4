//! The chain against one-shot software AES: every way of cutting the input
//! into parts gives the bytes one single-part call gives.

use aes::Aes128;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use p11kms_ffi::sys::{CKR_DATA_LEN_RANGE, CKR_ENCRYPTED_DATA_LEN_RANGE};

use super::*;

const KEY: [u8; 16] = [0x2b; 16];
const IV: [u8; 16] = [0x5a; 16];

/// One single-part call, as the daemon would make it on the HSM.
fn single(mechanism: &Mechanism, decrypt: bool, data: &[u8]) -> Vec<u8> {
    let aes = Aes128::new(&GenericArray::from(KEY));
    let enc = |block: &[u8]| {
        let mut b = GenericArray::clone_from_slice(block);
        aes.encrypt_block(&mut b);
        b.to_vec()
    };
    let dec = |block: &[u8]| {
        let mut b = GenericArray::clone_from_slice(block);
        aes.decrypt_block(&mut b);
        b.to_vec()
    };
    let xor = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x ^ y).collect::<Vec<u8>>();
    match (&mechanism.param, mechanism.ty) {
        (MechParam::None, CKM_AES_ECB) => {
            data.chunks(BLOCK).flat_map(|b| if decrypt { dec(b) } else { enc(b) }).collect()
        }
        (MechParam::Bytes(iv), CKM_AES_CBC | CKM_AES_CBC_PAD) => {
            let mut input = data.to_vec();
            if mechanism.ty == CKM_AES_CBC_PAD && !decrypt {
                let pad = BLOCK - input.len() % BLOCK;
                input.extend(std::iter::repeat_n(pad as u8, pad));
            }
            let mut link = iv.clone();
            let mut out = Vec::new();
            for block in input.chunks(BLOCK) {
                if decrypt {
                    out.extend(xor(&dec(block), &link));
                    link = block.to_vec();
                } else {
                    link = enc(&xor(block, &link));
                    out.extend(&link);
                }
            }
            if mechanism.ty == CKM_AES_CBC_PAD && decrypt {
                let pad = usize::from(out[out.len() - 1]);
                out.truncate(out.len() - pad);
            }
            out
        }
        (MechParam::Ctr { counter_bits, counter_block }, CKM_AES_CTR) => {
            let mut counter = *counter_block;
            let mut out = Vec::new();
            for block in data.chunks(BLOCK) {
                out.extend(xor(block, &enc(&counter)));
                counter = advance(&counter, *counter_bits, 1);
            }
            out
        }
        other => panic!("not a mechanism of the chain: {other:?}"),
    }
}

/// Runs an operation part by part, as the module does, with `single` as
/// the daemon.
fn chained(mechanism: &Mechanism, decrypt: bool, parts: &[&[u8]]) -> Result<Vec<u8>> {
    let mut chain = Chain::new(mechanism, decrypt, |_| true).expect("chained");
    let mut out = Vec::new();
    for part in parts {
        let mut plan = chain.plan(part)?;
        let expected = plan.out_len;
        match plan.take_send() {
            None => chain.keep(plan),
            Some((mechanism, input)) => {
                let answer = Zeroizing::new(single(&mechanism, decrypt, &input));
                let output = chain.commit(plan, answer)?;
                assert_eq!(output.len(), expected, "the announced length");
                out.extend_from_slice(&output);
            }
        }
    }
    if let Some((mechanism, input)) = chain.finish()? {
        out.extend(single(&mechanism, decrypt, &input));
    }
    Ok(out)
}

fn cbc(ty: CK_MECHANISM_TYPE) -> Mechanism {
    Mechanism { ty, param: MechParam::Bytes(IV.to_vec()) }
}

fn ctr(bits: u64, block: [u8; 16]) -> Mechanism {
    Mechanism { ty: CKM_AES_CTR, param: MechParam::Ctr { counter_bits: bits, counter_block: block } }
}

/// Every cut of `data` into three parts (two cut points).
fn cuts(data: &[u8]) -> impl Iterator<Item = [&[u8]; 3]> + '_ {
    (0..=data.len()).flat_map(move |a| (a..=data.len()).map(move |b| [&data[..a], &data[a..b], &data[b..]]))
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

#[test]
fn every_cut_gives_the_single_part_bytes() {
    let aligned = message(48);
    let ragged = message(37);
    let cases: [(Mechanism, &[u8]); 5] = [
        (Mechanism::new(CKM_AES_ECB), &aligned),
        (cbc(CKM_AES_CBC), &aligned),
        (cbc(CKM_AES_CBC_PAD), &ragged),
        (cbc(CKM_AES_CBC_PAD), &aligned),
        (ctr(128, IV), &ragged),
    ];
    for (mechanism, plain) in cases {
        let cipher = single(&mechanism, false, plain);
        for parts in cuts(plain) {
            let got = chained(&mechanism, false, &parts).expect("encrypt");
            assert_eq!(got, cipher, "{mechanism:?} encrypting {:?}", parts.map(<[u8]>::len));
        }
        for parts in cuts(&cipher) {
            let got = chained(&mechanism, true, &parts).expect("decrypt");
            assert_eq!(got, plain, "{mechanism:?} decrypting {:?}", parts.map(<[u8]>::len));
        }
    }
}

#[test]
fn updates_return_what_they_complete() {
    // CBC: whole blocks at once, the rest with the next part.
    let chain = Chain::new(&cbc(CKM_AES_CBC), false, |_| true).expect("chained");
    assert_eq!(chain.plan(&[0; 20]).map(|p| p.out_len).ok(), Some(16));
    assert_eq!(chain.plan(&[0; 15]).map(|mut p| p.take_send().is_none()).ok(), Some(true));
    // CBC-PAD decryption holds its last block back for the padding.
    let chain = Chain::new(&cbc(CKM_AES_CBC_PAD), true, |_| true).expect("chained");
    assert_eq!(chain.plan(&[0; 32]).map(|p| p.out_len).ok(), Some(16));
    assert_eq!(chain.plan(&[0; 16]).map(|p| p.out_len).ok(), Some(0));
    // CTR: every byte at once.
    let chain = Chain::new(&ctr(128, IV), false, |_| true).expect("chained");
    assert_eq!(chain.plan(&[0; 5]).map(|p| p.out_len).ok(), Some(5));
}

#[test]
fn leftovers_the_mode_cannot_take_are_refused_at_final() {
    let code = |r: Result<Vec<u8>>| r.err().map(|e| e.ck_rv().0);
    assert_eq!(code(chained(&cbc(CKM_AES_CBC), false, &[&[0; 17]])), Some(CKR_DATA_LEN_RANGE));
    assert_eq!(code(chained(&Mechanism::new(CKM_AES_ECB), true, &[&[0; 15]])), Some(CKR_ENCRYPTED_DATA_LEN_RANGE));
    assert_eq!(code(chained(&cbc(CKM_AES_CBC_PAD), true, &[&[0; 31]])), Some(CKR_ENCRYPTED_DATA_LEN_RANGE));
    assert_eq!(code(chained(&cbc(CKM_AES_CBC_PAD), true, &[])), Some(CKR_ENCRYPTED_DATA_LEN_RANGE));
    // An empty CBC-PAD encryption is one block of padding.
    assert_eq!(chained(&cbc(CKM_AES_CBC_PAD), false, &[]).map(|c| c.len()).ok(), Some(16));
}

#[test]
fn a_ctr_counter_never_wraps() {
    // An 8-bit counter at 0xfe: two blocks left.
    let mut block = [0u8; 16];
    block[15] = 0xfe;
    let mechanism = ctr(8, block);
    assert_eq!(chained(&mechanism, false, &[&[1; 20], &[2; 12]]).map(|c| c.len()).ok(), Some(32));
    let refused = chained(&mechanism, false, &[&[1; 20], &[2; 13]]).err().map(|e| e.ck_rv().0);
    assert_eq!(refused, Some(CKR_DATA_LEN_RANGE));
    let refused = chained(&mechanism, true, &[&[1; 33]]).err().map(|e| e.ck_rv().0);
    assert_eq!(refused, Some(CKR_ENCRYPTED_DATA_LEN_RANGE));
    // Only the counter bits move: the byte above them stays.
    block[14] = 0x77;
    assert_eq!(advance(&block, 8, 3)[14..], [0x77, 0x01]);
    assert_eq!(advance(&[0xff; 16], 128, 1), [0; 16]);
}

#[test]
fn cbc_pad_needs_cbc_on_the_key() {
    assert!(Chain::new(&cbc(CKM_AES_CBC_PAD), false, |m| m != CKM_AES_CBC).is_none(), "buffered instead");
    assert!(Chain::new(&cbc(CKM_AES_CBC), false, |m| m != CKM_AES_CBC_PAD).is_some());
    let gcm = Mechanism { ty: p11kms_ffi::sys::CKM_AES_GCM, param: MechParam::None };
    assert!(Chain::new(&gcm, false, |_| true).is_none(), "GCM is buffered");
}

#[test]
fn an_answer_of_the_wrong_length_is_an_error() {
    let mut chain = Chain::new(&cbc(CKM_AES_CBC), false, |_| true).expect("chained");
    let plan = chain.plan(&[0; 32]).expect("plan");
    assert!(chain.commit(plan, Zeroizing::new(vec![0; 16])).is_err());
}

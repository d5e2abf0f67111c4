//! Sealing and opening a backup data file (`p11kms_proto::admin::
//! backup_file` has its header): the payload in chunks of [`CHUNK_SIZE`]
//! bytes, each sealed with AES-256-GCM under the file's key with the nonce
//! `nonce prefix || chunk index` and the additional data `header || chunk
//! index || final flag`: a changed byte anywhere (header included), a
//! chunk removed, moved or cut, or a file ending early fails a tag. The
//! header also carries a check value of the key (the GCM tag of nothing
//! under a nonce no chunk uses), so a wrong key is told from a damaged
//! file. Opening checks everything before returning anything.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use p11kms_proto::admin::backup_file::{FileHeader, HeaderError};

use crate::kms::KmsError;

/// Plaintext bytes per chunk (64 KiB).
pub const CHUNK_SIZE: u32 = 64 * 1024;

/// Bytes of a GCM tag.
const TAG_LEN: usize = 16;

/// The index of the key check's nonce: no chunk has it.
const KEY_CHECK_INDEX: u32 = u32::MAX;

/// What the key check authenticates.
const KEY_CHECK_AAD: &[u8] = b"p11kms backup data file key check";

fn refused(why: impl std::fmt::Display) -> KmsError {
    KmsError::InvalidParameter(format!("the backup data file is refused: {why}"))
}

fn nonce(prefix: &[u8; 8], index: u32) -> [u8; 12] {
    let mut nonce = [0; 12];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(&index.to_be_bytes());
    nonce
}

fn aad(header: &[u8], index: u32, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 5);
    aad.extend_from_slice(header);
    aad.extend_from_slice(&index.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

fn key_check(cipher: &Aes256Gcm, prefix: &[u8; 8]) -> Result<[u8; 16], KmsError> {
    let nonce = nonce(prefix, KEY_CHECK_INDEX);
    let tag = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: &[], aad: KEY_CHECK_AAD })
        .map_err(|_| KmsError::Internal("sealing a backup data file's key check".into()))?;
    let mut check = [0; 16];
    check.copy_from_slice(tag.get(..16).unwrap_or_default());
    Ok(check)
}

/// The file of `payload` under `key`: `header`'s counts and names as
/// given; its nonce prefix drawn here, its chunking and key check set.
pub fn seal(mut header: FileHeader, payload: &[u8], key: &[u8; 32]) -> Result<Vec<u8>, KmsError> {
    let cipher = Aes256Gcm::new(key.into());
    header.nonce_prefix = rand::random();
    header.chunk_size = CHUNK_SIZE;
    header.payload_len = payload.len() as u64;
    let chunks: Vec<&[u8]> =
        if payload.is_empty() { vec![&[][..]] } else { payload.chunks(CHUNK_SIZE as usize).collect() };
    header.chunk_count = u32::try_from(chunks.len())
        .ok()
        .filter(|n| *n < KEY_CHECK_INDEX)
        .ok_or_else(|| KmsError::LimitExceeded("the backup is too large for one data file".into()))?;
    header.key_check = key_check(&cipher, &header.nonce_prefix)?;
    let head = header.encode();
    let mut out = Vec::with_capacity(head.len() + payload.len() + chunks.len() * TAG_LEN);
    out.extend_from_slice(&head);
    let last = chunks.len() - 1;
    for (index, chunk) in chunks.iter().enumerate() {
        let i = index as u32;
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce(&header.nonce_prefix, i)),
                Payload { msg: chunk, aad: &aad(&head, i, index == last) },
            )
            .map_err(|_| KmsError::Internal("sealing a backup data file".into()))?;
        out.extend_from_slice(&sealed);
    }
    Ok(out)
}

/// The header only, with a message for a file of another kind or format.
pub fn header(bytes: &[u8]) -> Result<(FileHeader, usize), KmsError> {
    FileHeader::decode(bytes).map_err(|e| match e {
        HeaderError::Magic | HeaderError::Version(_) | HeaderError::Malformed(_) => refused(e),
    })
}

/// Opens a file under `key`: its header and its payload, every chunk
/// authenticated, none missing, none extra.
pub fn open(bytes: &[u8], key: &[u8; 32]) -> Result<(FileHeader, Zeroizing<Vec<u8>>), KmsError> {
    let (header, header_len) = header(bytes)?;
    let expected = header.file_len(header_len);
    let got = bytes.len() as u64;
    if got < expected {
        return Err(refused(format!("it is cut: {got} bytes of the {expected} its header announces")));
    }
    if got > expected {
        return Err(refused(format!("it has {} bytes after its last chunk", got - expected)));
    }
    let cipher = Aes256Gcm::new(key.into());
    let check = nonce(&header.nonce_prefix, KEY_CHECK_INDEX);
    if cipher.decrypt(Nonce::from_slice(&check), Payload { msg: &header.key_check, aad: KEY_CHECK_AAD }).is_err() {
        return Err(KmsError::InvalidParameter(
            "the decryption key is not this backup data file's (or its header was changed)".into(),
        ));
    }
    let head = &bytes[..header_len];
    let mut payload = Zeroizing::new(Vec::with_capacity(usize::try_from(header.payload_len).unwrap_or(0)));
    let mut offset = header_len;
    let chunk_size = header.chunk_size as usize;
    for index in 0..header.chunk_count {
        let last = index + 1 == header.chunk_count;
        let plain_len = if last { header.payload_len as usize - payload.len() } else { chunk_size };
        let end = offset + plain_len + TAG_LEN;
        let sealed = bytes.get(offset..end).ok_or_else(|| refused("it is cut"))?;
        let chunk = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&nonce(&header.nonce_prefix, index)),
                    Payload { msg: sealed, aad: &aad(head, index, last) },
                )
                .map_err(|_| {
                    refused(format!(
                        "chunk {} of {} does not authenticate: the file (or its header) was changed",
                        index + 1,
                        header.chunk_count
                    ))
                })?,
        );
        payload.extend_from_slice(&chunk);
        offset = end;
    }
    Ok((header, payload))
}

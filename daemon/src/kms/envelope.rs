//! Envelope encryption with symmetric keys: `encrypt` (always the primary
//! version), `decrypt` (the version named in the blob), `re-encrypt`,
//! data keys, and the batch re-encryption behind `p11kms rewrap`. A
//! re-encryption is recorded with its source and destination keys
//! (`keys::uses`): the CMK migration refuses keys it was used with.
//! Exporting data keys under a caller's public key is [`super::export`].
//!
//! AES-GCM runs inside the HSM; the blob (`proto::blob`) carries key id,
//! version and IV, and its whole header plus the encryption context is the
//! GCM additional data, so any change to a blob or its context fails.

use p11kms_proto::SecretBytes;
use p11kms_proto::admin::{
    BatchOutcome, DataKey, DataKeySpec, DecryptRequest, Decrypted, EncryptRequest, Encrypted, ExportOperation,
    GenerateDataKeyRequest, KeySpec, KeyUsage, ReEncryptRequest, ReEncrypted,
};
use p11kms_proto::blob::{BlobAlgorithm, CiphertextBlob, EncryptionContext, IV_LEN};

use super::KmsError;
use super::keys::rules::{self, Operation};
use super::keys::uses;
use super::registry::{KeyEntry, VersionEntry};
use crate::kms::Kms;

/// Largest plaintext `encrypt` takes on the admin API, as the spec's KMS.
pub const MAX_PLAINTEXT: usize = 6 * 1024;
/// Largest data key.
pub const MAX_DATA_KEY: u32 = 1024;
/// Most items in one batch re-encryption.
pub const MAX_BATCH: usize = 1000;

/// A symmetric key version ready for AES-GCM.
struct Sealer<'a> {
    kms: &'a Kms,
    key_id: String,
    version: VersionEntry,
    algorithm: BlobAlgorithm,
    cluster: String,
}

/// Checks that a key can do envelope encryption now.
fn usable(entry: &KeyEntry) -> Result<BlobAlgorithm, KmsError> {
    rules::check(Operation::Use, &entry.record)?;
    let algorithm = match entry.record.key_spec {
        KeySpec::Aes256 => BlobAlgorithm::Aes256Gcm,
        KeySpec::Aes128 => BlobAlgorithm::Aes128Gcm,
        spec => {
            // What the key can do instead, by its kind: RSA keys encrypt
            // with asymmetric-encrypt, EC keys only sign.
            let instead = match spec {
                KeySpec::Rsa2048 | KeySpec::Rsa3072 => "an RSA key encrypts with asymmetric-encrypt",
                _ => "an EC key signs and verifies, it does not encrypt",
            };
            return Err(KmsError::Unsupported(format!(
                "key '{}' is {spec}: envelope encryption takes a symmetric key ({instead})",
                entry.record.key_id
            )));
        }
    };
    if entry.record.key_usage != KeyUsage::EncryptDecrypt {
        return Err(KmsError::Unsupported(format!("key '{}' is not for encryption", entry.record.key_id)));
    }
    Ok(algorithm)
}

fn sealer<'a>(kms: &'a Kms, entry: &KeyEntry, version: VersionEntry) -> Result<Sealer<'a>, KmsError> {
    let algorithm = usable(entry)?;
    rules::check_version(&entry.record, &version)?;
    let cluster = kms.cluster_of(&entry.record.instance)?;
    Ok(Sealer { kms, key_id: entry.record.key_id.clone(), version, algorithm, cluster })
}

/// The sealer for a key's primary version.
fn primary_sealer<'a>(kms: &'a Kms, key: &str) -> Result<Sealer<'a>, KmsError> {
    let entry = kms.registry()?.key(key)?.clone();
    let version = entry.primary().cloned().ok_or_else(|| KmsError::Internal("key without a primary version".into()))?;
    sealer(kms, &entry, version)
}

impl Sealer<'_> {
    fn seal(&self, plaintext: &[u8], context: &EncryptionContext) -> Result<Vec<u8>, KmsError> {
        let mut blob = CiphertextBlob {
            algorithm: self.algorithm,
            key_id: self.key_id.clone(),
            version: self.version.uuid,
            iv: rand::random::<[u8; IV_LEN]>(),
            ciphertext: Vec::new(),
        };
        let aad = blob.aad(context);
        blob.ciphertext = self.kms.vault.seal(&self.cluster, &self.version.uuid, &blob.iv, &aad, plaintext)?;
        blob.encode().map_err(|e| KmsError::Internal(e.to_string()))
    }

    fn open(&self, blob: &CiphertextBlob, context: &EncryptionContext) -> Result<SecretBytes, KmsError> {
        if blob.algorithm != self.algorithm {
            return Err(KmsError::InvalidCiphertext("the ciphertext blob's algorithm does not match its key".into()));
        }
        let aad = blob.aad(context);
        self.kms.vault.open(&self.cluster, &self.version.uuid, &blob.iv, &aad, &blob.ciphertext)?.ok_or_else(|| {
            KmsError::InvalidCiphertext(
                "the ciphertext blob does not authenticate: it was changed, or the encryption context differs".into(),
            )
        })
    }
}

/// Encrypts with the primary version of `key`.
pub fn encrypt_bytes(
    kms: &Kms,
    key: &str,
    plaintext: &[u8],
    context: &EncryptionContext,
) -> Result<Encrypted, KmsError> {
    let sealer = primary_sealer(kms, key)?;
    let ciphertext_blob = sealer.seal(plaintext, context)?;
    Ok(Encrypted { key_id: sealer.key_id, key_version_id: sealer.version.record.version_id, ciphertext_blob })
}

/// `encrypt`.
pub fn encrypt(kms: &Kms, request: &EncryptRequest) -> Result<Encrypted, KmsError> {
    if request.plaintext.is_empty() {
        return Err(KmsError::InvalidParameter("Plaintext must not be empty".into()));
    }
    if request.plaintext.len() > MAX_PLAINTEXT {
        return Err(KmsError::InvalidParameter(format!("Plaintext is longer than {MAX_PLAINTEXT} bytes")));
    }
    encrypt_bytes(kms, &request.key, request.plaintext.expose(), &request.encryption_context)
}

/// Decrypts a blob with the version it names; `expected_key`, when given,
/// must be the blob's key.
pub fn decrypt_bytes(
    kms: &Kms,
    blob: &[u8],
    context: &EncryptionContext,
    expected_key: Option<&str>,
) -> Result<Decrypted, KmsError> {
    let blob = CiphertextBlob::decode(blob).map_err(|e| KmsError::InvalidCiphertext(e.to_string()))?;
    let entry = kms.registry()?.key(&blob.key_id)?.clone();
    if expected_key.is_some_and(|k| k != entry.record.key_id) {
        return Err(KmsError::InvalidCiphertext("the ciphertext blob belongs to another key".into()));
    }
    let version = entry.versions.iter().find(|v| v.uuid == blob.version).cloned().ok_or_else(|| {
        KmsError::InvalidCiphertext(format!("the blob's key version no longer exists in key '{}'", blob.key_id))
    })?;
    let sealer = sealer(kms, &entry, version)?;
    let plaintext = sealer.open(&blob, context)?;
    Ok(Decrypted { key_id: sealer.key_id, key_version_id: sealer.version.record.version_id, plaintext })
}

/// `decrypt`.
pub fn decrypt(kms: &Kms, request: &DecryptRequest) -> Result<Decrypted, KmsError> {
    decrypt_bytes(kms, &request.ciphertext_blob, &request.encryption_context, None)
}

/// `re-encrypt`; the use is recorded with both keys once it succeeded.
pub fn re_encrypt(kms: &Kms, request: &ReEncryptRequest) -> Result<ReEncrypted, KmsError> {
    let opened = decrypt_bytes(kms, &request.ciphertext_blob, &request.source_encryption_context, None)?;
    let destination = request.destination_key.as_deref().unwrap_or(&opened.key_id);
    let sealed = encrypt_bytes(kms, destination, opened.plaintext.expose(), &request.destination_encryption_context)?;
    // Recorded before the answer leaves: a caller who got a new blob
    // cannot find the key unmarked afterwards. Should the record fail,
    // so does the call (the new blob is dropped, nothing else changed).
    uses::record_all(kms, &[&opened.key_id, &sealed.key_id], ExportOperation::ReEncrypt)?;
    Ok(ReEncrypted {
        source_key_id: opened.key_id,
        source_key_version_id: opened.key_version_id,
        key_id: sealed.key_id,
        key_version_id: sealed.key_version_id,
        ciphertext_blob: sealed.ciphertext_blob,
    })
}

/// One item of a batch: left alone when it is already under the
/// destination's primary version with the same context.
fn batch_item(kms: &Kms, request: &ReEncryptRequest) -> Result<BatchOutcome, KmsError> {
    let blob =
        CiphertextBlob::decode(&request.ciphertext_blob).map_err(|e| KmsError::InvalidCiphertext(e.to_string()))?;
    let registry = kms.registry()?;
    let source = registry.key(&blob.key_id)?;
    let destination = match request.destination_key.as_deref() {
        Some(key) => registry.key(key)?,
        None => source,
    };
    let current = destination.record.key_id == source.record.key_id
        && destination.primary().is_some_and(|v| v.uuid == blob.version)
        && request.source_encryption_context == request.destination_encryption_context;
    drop(registry);
    if current {
        // Still prove the blob is sound before calling it current. The
        // call succeeded, so it is a use of ReEncrypt like any other.
        let opened = decrypt_bytes(kms, &request.ciphertext_blob, &request.source_encryption_context, None)?;
        uses::record(kms, &opened.key_id, ExportOperation::ReEncrypt)?;
        return Ok(BatchOutcome::Unchanged);
    }
    re_encrypt(kms, request).map(BatchOutcome::Done)
}

/// A batch of re-encryptions (`p11kms rewrap`), one outcome per item.
pub fn re_encrypt_batch(kms: &Kms, items: &[ReEncryptRequest]) -> Result<Vec<BatchOutcome>, KmsError> {
    if items.len() > MAX_BATCH {
        return Err(KmsError::InvalidParameter(format!("a batch holds at most {MAX_BATCH} items")));
    }
    Ok(items
        .iter()
        .map(|item| batch_item(kms, item).unwrap_or_else(|error| BatchOutcome::Failed(error.to_api())))
        .collect())
}

/// The length in bytes of the data key `KeySpec` or `NumberOfBytes` asks
/// for (AES_256 when neither is given).
pub fn data_key_length(key_spec: Option<DataKeySpec>, number_of_bytes: Option<u32>) -> Result<usize, KmsError> {
    let length = match (key_spec, number_of_bytes) {
        (Some(_), Some(_)) => {
            return Err(KmsError::InvalidParameter("give KeySpec or NumberOfBytes, not both".into()));
        }
        (Some(DataKeySpec::Aes128), None) => 16,
        (Some(DataKeySpec::Aes256), None) | (None, None) => 32,
        (None, Some(n)) if (1..=MAX_DATA_KEY).contains(&n) => n,
        (None, Some(n)) => {
            return Err(KmsError::InvalidParameter(format!("NumberOfBytes must be 1 to {MAX_DATA_KEY}, not {n}")));
        }
    };
    Ok(length as usize)
}

/// A new data key of `length` bytes from the HSM's generator, encrypted
/// under the primary version of `key`: the blob, and the data key itself
/// (which the caller returns, exports, or drops).
pub fn new_data_key(kms: &Kms, key: &str, length: usize, context: &EncryptionContext) -> Result<DataKey, KmsError> {
    let sealer = primary_sealer(kms, key)?;
    let data_key = kms.vault.random(&sealer.cluster, length)?;
    let ciphertext_blob = sealer.seal(data_key.expose(), context)?;
    Ok(DataKey {
        key_id: sealer.key_id,
        key_version_id: sealer.version.record.version_id,
        ciphertext_blob,
        plaintext: Some(data_key),
    })
}

/// `generate-data-key` (`with_plaintext`) and
/// `generate-data-key-without-plaintext`.
pub fn generate_data_key(
    kms: &Kms,
    request: &GenerateDataKeyRequest,
    with_plaintext: bool,
) -> Result<DataKey, KmsError> {
    let length = data_key_length(request.key_spec, request.number_of_bytes)?;
    let mut made = new_data_key(kms, &request.key, length, &request.encryption_context)?;
    if !with_plaintext {
        // Dropped here, and zeroized with it.
        made.plaintext = None;
    }
    Ok(made)
}

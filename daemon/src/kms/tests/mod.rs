//! Unit tests of the KMS rules (`docs/keys.md`, `shared/spec/key-rotation.txt`)
//! through the real operations, over `kms::testing`'s fixture: an in-memory
//! store, a manual clock and the in-memory vault, so the rules are proved
//! without SoftHSM or a daemon. Each test builds its own fixture; time only
//! moves when a test moves the manual clock, and every move runs the
//! scheduler as `p11kms clock advance` does.
//!
//! One file per area; this one holds what they all use.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod aliases;
mod app_policies;
mod apps;
mod asymmetric;
mod create;
mod deletion;
mod envelope;
mod export;
mod import;
mod instances;
mod intents;
mod journal;
mod lifecycle;
mod lost;
mod migration;
mod quotas;
mod rotation;
mod secrets;
mod service_keys;
mod states;
mod tags;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{InstanceKind, KeyMetadata, Tag, WrappingAlgorithm};
use p11kms_proto::blob::EncryptionContext;

use super::KmsError;
use super::metadata::key_metadata;
use super::testing::Fixture;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The spec's code of a refusal; panics when the operation succeeded.
#[track_caller]
fn code<T: std::fmt::Debug>(result: Result<T, KmsError>) -> ErrorCode {
    match result {
        Ok(value) => panic!("expected a refusal, the operation succeeded: {value:?}"),
        Err(error) => error.code(),
    }
}

/// A tag.
fn tag(key: &str, value: &str) -> Tag {
    Tag { tag_key: key.into(), tag_value: value.into() }
}

/// An encryption context from pairs.
fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// `KeyMetadata` of a key as `key describe` shows it now.
fn describe(fx: &Fixture, key: &str) -> KeyMetadata {
    key_metadata(&fx.key(key), InstanceKind::Hardware, fx.kms.region())
}

/// Fresh 256-bit material for an EXTERNAL key.
fn material() -> [u8; 32] {
    rand::random()
}

/// An EXTERNAL key with `material` imported (Enabled); returns its id.
fn imported_key(fx: &Fixture, material: &[u8; 32]) -> String {
    let key = fx.create_external().record.key_id;
    fx.import_material(&key, material, WrappingAlgorithm::RsaesOaepSha256, None).expect("the material imports");
    key
}

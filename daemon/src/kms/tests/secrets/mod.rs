//! Unit tests of the secrets manager (`docs/secrets.md`) over the
//! in-memory fixture and its manual clock: values and where they live
//! ([`values`]), versions and stages ([`versions`]), deletion windows
//! ([`deletion`]), rotation of the managed types ([`rotation`]), names,
//! sizes and quotas ([`limits`]), and lists and the data plane's reads
//! ([`reads`]).

mod deletion;
mod limits;
mod reads;
mod rotation;
mod values;
mod versions;

use p11kms_proto::SecretString;
use p11kms_proto::admin::{
    CreateSecretRequest, GetSecretValueRequest, PutSecretValueRequest, SecretDataType, SecretVersionPut,
};

use crate::kms::KmsError;
use crate::kms::secrets::{SecretEntry, create, read, versions as put};
use crate::kms::testing::{Fixture, INSTANCE};

/// A generic secret `name` whose first version `v1` holds `value`.
pub(super) fn generic(name: &str, value: &str) -> CreateSecretRequest {
    crate::kms::testing::secret_request(name, INSTANCE, value, None)
}

/// Creates what `request` asks for.
fn create_with(fx: &Fixture, request: &CreateSecretRequest) -> Result<SecretEntry, KmsError> {
    create::create(&fx.kms, request, "admin:0")
}

/// Creates a generic secret.
#[track_caller]
fn create(fx: &Fixture, name: &str, value: &str) -> SecretEntry {
    create_with(fx, &generic(name, value)).expect("the secret is created")
}

/// Puts version `version` with `value` and `stages` (ACSCurrent when none).
fn put(
    fx: &Fixture,
    name: &str,
    version: &str,
    value: &str,
    stages: Option<&[&str]>,
) -> Result<SecretVersionPut, KmsError> {
    put::put_value(
        &fx.kms,
        &PutSecretValueRequest {
            secret_name: name.into(),
            version_id: version.into(),
            secret_data: SecretString::new(value.into()),
            secret_data_type: SecretDataType::Text,
            version_stages: stages.map(|s| s.iter().map(|x| (*x).to_owned()).collect()),
        },
    )
}

/// The value of a version, by id or stage (ACSCurrent when neither).
fn get(fx: &Fixture, name: &str, version: Option<&str>, stage: Option<&str>) -> Result<String, KmsError> {
    let request = GetSecretValueRequest {
        secret_name: name.into(),
        version_id: version.map(Into::into),
        version_stage: stage.map(Into::into),
        fetch_extended_config: false,
    };
    read::get_value(&fx.kms, &request).map(|v| v.secret_data.expose().to_owned())
}

/// The secret as the registry has it now.
fn secret(fx: &Fixture, name: &str) -> SecretEntry {
    fx.kms.registry().expect("registry").secret(name).expect("the secret exists").clone()
}

/// Every version id with its stages, oldest first.
fn stages(fx: &Fixture, name: &str) -> Vec<(String, Vec<String>)> {
    secret(fx, name).versions.iter().map(|v| (v.version_id.clone(), v.stages.clone())).collect()
}

/// `stages` spelled out: `[("v1", &["ACSPrevious"]), …]`.
fn expect(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs.iter().map(|(v, s)| ((*v).to_owned(), s.iter().map(|x| (*x).to_owned()).collect())).collect()
}

/// Panics unless a restart would see the secrets the registry shows.
#[track_caller]
fn assert_reloads(fx: &Fixture) {
    let live: Vec<_> = fx.kms.registry().unwrap().secrets().map(|s| (s.record.clone(), s.versions.clone())).collect();
    let stored: Vec<_> = fx.reloaded().secrets().map(|s| (s.record.clone(), s.versions.clone())).collect();
    assert_eq!(live, stored, "the registry and the store disagree on secrets");
}

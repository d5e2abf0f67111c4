//! The secret types the daemon manages: Rds, RAMCredentials and ECS. For
//! each, what its `ExtendedConfig` must hold, which names it may have,
//! what shape its value has, and the value a rotation makes.
//!
//! The daemon reaches no RDS, RAM or ECS: rotating makes a new value
//! from the vault's random bytes that keeps the current value's JSON
//! shape, with every secret field replaced (`docs/secrets.md` lists them):
//!
//! | type | ExtendedConfig (required) | value fields rotation replaces |
//! |---|---|---|
//! | Rds | `SecretSubType` (`SingleUser`, `DoubleUsers`), `DBInstanceId` | `AccountPassword` |
//! | RAMCredentials | `SecretSubType` (`RamUserAccessKey`), `UserName` | `AccessKeyId`, `AccessKeySecret` |
//! | ECS | `SecretSubType` (`Password`, `SSHKey`), `RegionId`, `InstanceId` | `Password` (SSHKey secrets are not rotated) |
//!
//! Every type may carry `CustomData`, a JSON object (`UpdateSecret`
//! changes it).

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use p11kms_proto::admin::SecretType;

use super::limits::{MAX_EXTENDED_CONFIG, RESERVED_PREFIX};
use crate::kms::KmsError;

/// The name prefix of RAM secrets: `acs/ram/user/<UserName>`.
pub const RAM_PREFIX: &str = "acs/ram/user/";
/// The name prefix ECS secrets must have.
pub const ECS_PREFIX: &str = "acs/ecs/";
/// The name that asks the daemon to name a RAM secret.
pub const AUTO_NAME: &str = "$Auto";

fn invalid(message: impl Into<String>) -> KmsError {
    KmsError::InvalidParameter(message.into())
}

/// What one managed type requires.
struct Rules {
    subtypes: &'static [&'static str],
    required: &'static [&'static str],
}

fn rules(secret_type: SecretType) -> Option<Rules> {
    match secret_type {
        SecretType::Generic => None,
        SecretType::Rds => Some(Rules { subtypes: &["SingleUser", "DoubleUsers"], required: &["DBInstanceId"] }),
        SecretType::RamCredentials => Some(Rules { subtypes: &["RamUserAccessKey"], required: &["UserName"] }),
        SecretType::Ecs => Some(Rules { subtypes: &["Password", "SSHKey"], required: &["RegionId", "InstanceId"] }),
    }
}

/// Parses an ExtendedConfig: a JSON object of at most 4 KiB.
fn parse(text: &str) -> Result<Map<String, Value>, KmsError> {
    if text.len() > MAX_EXTENDED_CONFIG {
        return Err(invalid(format!("ExtendedConfig is longer than {MAX_EXTENDED_CONFIG} bytes")));
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("ExtendedConfig must be a JSON object")),
    }
}

/// Checks the ExtendedConfig of a secret of `secret_type`; returns it as
/// kept (compact JSON). Generic secrets have none.
pub fn check_extended_config(secret_type: SecretType, config: Option<&str>) -> Result<Option<String>, KmsError> {
    let Some(rules) = rules(secret_type) else {
        return match config {
            None => Ok(None),
            Some(_) => Err(invalid("a Generic secret has no ExtendedConfig")),
        };
    };
    let config = config.ok_or_else(|| {
        invalid(format!("a secret of type {secret_type} needs an ExtendedConfig ({})", rules.required.join(", ")))
    })?;
    let map = parse(config)?;
    let subtype = map.get("SecretSubType").and_then(Value::as_str).unwrap_or_default();
    if !rules.subtypes.contains(&subtype) {
        return Err(invalid(format!(
            "ExtendedConfig.SecretSubType of a {secret_type} secret must be one of {}",
            rules.subtypes.join(", ")
        )));
    }
    for field in rules.required {
        if map.get(*field).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(invalid(format!("ExtendedConfig of a {secret_type} secret needs {field} (a string)")));
        }
    }
    check_custom_data(map.get("CustomData"))?;
    Ok(Some(Value::Object(map).to_string()))
}

fn check_custom_data(custom: Option<&Value>) -> Result<(), KmsError> {
    match custom {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(invalid("ExtendedConfig.CustomData must be a JSON object")),
    }
}

/// `config` with its `CustomData` replaced by `custom` (a JSON object).
pub fn with_custom_data(secret_type: SecretType, config: Option<&str>, custom: &str) -> Result<String, KmsError> {
    let Some(config) = config else {
        return Err(KmsError::Unsupported(format!(
            "a {secret_type} secret has no ExtendedConfig to change (ExtendedConfig.CustomData is for Rds, \
             RAMCredentials and ECS secrets)"
        )));
    };
    let mut map = parse(config)?;
    let custom: Value =
        serde_json::from_str(custom).map_err(|_| invalid("ExtendedConfig.CustomData must be a JSON object"))?;
    check_custom_data(Some(&custom))?;
    map.insert("CustomData".into(), custom);
    let text = Value::Object(map).to_string();
    check_extended_config(secret_type, Some(&text))?.ok_or_else(|| KmsError::Internal("config vanished".into()))
}

fn field(config: Option<&str>, name: &str) -> Option<String> {
    let map = parse(config?).ok()?;
    map.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The RAM user a RAMCredentials secret is for.
pub fn ram_user(config: Option<&str>) -> Option<String> {
    field(config, "UserName")
}

/// The SecretSubType of a managed secret.
pub fn subtype(config: Option<&str>) -> Option<String> {
    field(config, "SecretSubType")
}

/// The name a new secret gets: `requested`, checked against its type's
/// rules (a RAM secret's is `acs/ram/user/<UserName>`, given or asked
/// for with `$Auto`).
pub fn secret_name(secret_type: SecretType, requested: &str, config: Option<&str>) -> Result<String, KmsError> {
    match secret_type {
        SecretType::Generic | SecretType::Rds if requested.starts_with(RESERVED_PREFIX) => {
            Err(invalid(format!("the name of a {secret_type} secret may not start with '{RESERVED_PREFIX}'")))
        }
        SecretType::Generic | SecretType::Rds => Ok(requested.to_owned()),
        SecretType::RamCredentials => {
            let user = ram_user(config).unwrap_or_default();
            let name = format!("{RAM_PREFIX}{user}");
            if requested != AUTO_NAME && requested != name {
                return Err(invalid(format!("a RAMCredentials secret is named '{name}' (or give {AUTO_NAME})")));
            }
            Ok(name)
        }
        SecretType::Ecs if !requested.starts_with(ECS_PREFIX) => {
            Err(invalid(format!("the name of an ECS secret must start with '{ECS_PREFIX}'")))
        }
        SecretType::Ecs => Ok(requested.to_owned()),
    }
}

/// The value fields that must be present together in one JSON object of
/// a managed secret's value, and those rotation replaces.
fn value_fields(secret_type: SecretType, subtype: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match (secret_type, subtype) {
        (SecretType::Rds, _) => (&["AccountName", "AccountPassword"], &["AccountPassword"]),
        (SecretType::RamCredentials, _) => (&["AccessKeyId", "AccessKeySecret"], &["AccessKeyId", "AccessKeySecret"]),
        (SecretType::Ecs, "SSHKey") => (&["UserName", "PublicKey", "PrivateKey"], &[]),
        (SecretType::Ecs, _) => (&["UserName", "Password"], &["Password"]),
        (SecretType::Generic, _) => (&[], &[]),
    }
}

/// Parsed JSON that may hold a secret: every string in it is wiped when
/// it is dropped.
struct WipedJson(Value);

impl Drop for WipedJson {
    fn drop(&mut self) {
        fn wipe(value: &mut Value) {
            match value {
                Value::String(text) => zeroize::Zeroize::zeroize(text),
                Value::Array(items) => items.iter_mut().for_each(wipe),
                Value::Object(map) => map.values_mut().for_each(wipe),
                _ => {}
            }
        }
        wipe(&mut self.0);
    }
}

impl WipedJson {
    fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok().map(Self)
    }
}

/// Gives every string field named in `names`, in every object of
/// `value`, a new random value.
fn replace_fields(value: &mut Value, names: &[&str], random: &mut dyn Random) -> Result<(), KmsError> {
    match value {
        Value::Object(map) => {
            for name in names {
                if let Some(Value::String(old)) = map.get_mut(*name) {
                    zeroize::Zeroize::zeroize(old);
                    *old = new_field(random, name)?.to_string();
                }
            }
            for child in map.values_mut() {
                replace_fields(child, names, random)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                replace_fields(item, names, random)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every JSON object in `value` holding all of `fields` as strings.
fn holders<'a>(value: &'a Value, fields: &[&str], out: &mut Vec<&'a Map<String, Value>>) {
    match value {
        Value::Object(map) => {
            if fields.iter().all(|f| map.get(*f).is_some_and(Value::is_string)) {
                out.push(map);
            }
            map.values().for_each(|child| holders(child, fields, out));
        }
        Value::Array(items) => items.iter().for_each(|item| holders(item, fields, out)),
        _ => {}
    }
}

/// Checks that a managed secret's value has its type's shape: JSON with
/// an object holding the type's fields (`{"Accounts":[{"AccountName":
/// …,"AccountPassword":…}]}` for Rds, and so on).
pub fn check_value(secret_type: SecretType, config: Option<&str>, value: &[u8]) -> Result<(), KmsError> {
    if !secret_type.is_managed() {
        return Ok(());
    }
    let (required, _) = value_fields(secret_type, &subtype(config).unwrap_or_default());
    let parsed = WipedJson::parse(value);
    let mut found = Vec::new();
    if let Some(parsed) = &parsed {
        holders(&parsed.0, required, &mut found);
    }
    if found.is_empty() {
        return Err(invalid(format!(
            "the value of a {secret_type} secret is JSON with an object holding {} (strings)",
            required.join(", ")
        )));
    }
    Ok(())
}

/// A source of random characters (the vault's generator).
pub trait Random {
    /// `len` random bytes.
    fn bytes(&mut self, len: usize) -> Result<Zeroizing<Vec<u8>>, KmsError>;
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
/// Special characters both RDS and ECS passwords accept.
const SPECIAL: &[u8] = b"!@#$%^&*()_+-=";

/// `len` characters from `alphabet`, each drawn without bias (rejection
/// sampling), with one character of each class of `classes` placed first
/// so that every class is present.
fn draw(random: &mut dyn Random, len: usize, classes: &[&[u8]]) -> Result<Zeroizing<String>, KmsError> {
    let alphabet: Vec<u8> = classes.concat();
    let mut out = Zeroizing::new(String::with_capacity(len));
    let pick = |random: &mut dyn Random, set: &[u8]| -> Result<char, KmsError> {
        let limit = 256 - 256 % set.len();
        loop {
            let byte = random.bytes(1)?[0] as usize;
            if byte < limit {
                return Ok(set[byte % set.len()] as char);
            }
        }
    };
    for class in classes {
        out.push(pick(random, class)?);
    }
    while out.len() < len {
        out.push(pick(random, &alphabet)?);
    }
    Ok(out)
}

/// A new value for the secret field `name`.
fn new_field(random: &mut dyn Random, name: &str) -> Result<Zeroizing<String>, KmsError> {
    match name {
        // RDS: 8 to 32 characters of three classes or more.
        "AccountPassword" => draw(random, 32, &[UPPER, LOWER, DIGITS, SPECIAL]),
        // ECS: 8 to 30 characters of three classes or more.
        "Password" => draw(random, 30, &[UPPER, LOWER, DIGITS, SPECIAL]),
        // An AccessKey id: `LTAI` and 20 letters and digits.
        "AccessKeyId" => {
            let tail = draw(random, 20, &[UPPER, LOWER, DIGITS])?;
            Ok(Zeroizing::new(format!("LTAI{}", tail.as_str())))
        }
        // An AccessKey secret: 30 letters and digits.
        _ => draw(random, 30, &[UPPER, LOWER, DIGITS]),
    }
}

/// The value a rotation of a managed secret makes from its current value:
/// the same JSON, every secret field given a new random value.
pub fn rotated_value(
    secret_type: SecretType,
    config: Option<&str>,
    current: &[u8],
    random: &mut dyn Random,
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let subtype = subtype(config).unwrap_or_default();
    let (_, replaced) = value_fields(secret_type, &subtype);
    if replaced.is_empty() {
        return Err(KmsError::Unsupported(format!(
            "a {secret_type} secret of SecretSubType {subtype} is not rotated here: the daemon makes no key pairs \
             for it (put the new value with a new secret version instead)"
        )));
    }
    check_value(secret_type, config, current)?;
    let mut value =
        WipedJson::parse(current).ok_or_else(|| KmsError::Internal("the current value is not JSON".into()))?;
    replace_fields(&mut value.0, replaced, random)?;
    Ok(Zeroizing::new(serde_json::to_vec(&value.0).map_err(|e| KmsError::Internal(e.to_string()))?))
}

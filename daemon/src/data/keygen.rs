//! `C_GenerateKey` and `C_GenerateKeyPair` with `CKA_TOKEN` true create KMS
//! keys; without it (PKCS#11's default) they make session keys
//! ([`super::session_keys`]).
//!
//! The template decides the KeySpec (`CKA_VALUE_LEN`, `CKA_MODULUS_BITS`,
//! `CKA_EC_PARAMS`), the KeyUsage (RSA: a template asking only for
//! decryption makes an ENCRYPT/DECRYPT key, anything else SIGN/VERIFY, since
//! a KMS key has one usage), the alias (`CKA_LABEL` becomes
//! `alias/<label>`) and the key's application id (`CKA_ID`,
//! [`super::key_names`]). The daemon sets the security attributes itself:
//! requests it cannot honour (an extractable or derivable key, wrapping)
//! yield a key that shows what it really is; `docs/pkcs11.md` lists the
//! rules.

use cryptoki_sys::*;

use p11kms_proto::admin::{KeySpec, KeyUsage};
use p11kms_proto::data::{ClientId, DataReply};
use p11kms_proto::pkcs11::{Attribute, Mechanism, find_attribute, mechanisms_of};

use super::access::Access;
use super::error::{DataError, rv};
use super::key_names;
use super::objects::ObjectView;
use super::session_keys;
use crate::hsm::objects::{P256_PARAMS, SECP256K1_PARAMS};
use crate::kms::keys::{self, NewKey, Source};
use crate::service::Service;

fn flag(template: &[Attribute], ty: u64) -> Option<bool> {
    find_attribute(template, ty).and_then(Attribute::as_bool)
}

fn check_class(template: &[Attribute], class: u64, key_types: &[u64]) -> Result<(), DataError> {
    if let Some(a) = find_attribute(template, CKA_CLASS) {
        if a.as_ulong() != Some(class) {
            return Err(rv(CKR_TEMPLATE_INCONSISTENT));
        }
    }
    if let Some(a) = find_attribute(template, CKA_KEY_TYPE) {
        if !a.as_ulong().is_some_and(|t| key_types.contains(&t)) {
            return Err(rv(CKR_TEMPLATE_INCONSISTENT));
        }
    }
    Ok(())
}

/// True for a KMS key (`CKA_TOKEN` true), false for a session key (false
/// or absent). A pair whose halves disagree explicitly is inconsistent.
fn is_token(templates: &[&[Attribute]]) -> Result<bool, DataError> {
    let said: Vec<bool> = templates.iter().filter_map(|t| flag(t, CKA_TOKEN)).collect();
    if said.contains(&true) && said.contains(&false) {
        return Err(rv(CKR_TEMPLATE_INCONSISTENT));
    }
    Ok(said.contains(&true))
}

pub(super) fn alias_of(templates: &[&[Attribute]]) -> Result<Option<String>, DataError> {
    let label = templates.iter().find_map(|t| find_attribute(t, CKA_LABEL));
    match label {
        None => Ok(None),
        Some(a) if a.value.is_empty() => Ok(None),
        Some(a) => key_names::alias_of_label(&a.value).map(Some),
    }
}

/// What a new KMS key is to be, as a PKCS#11 template asked.
pub(super) struct Shape {
    pub spec: KeySpec,
    pub usage: KeyUsage,
    /// `alias/<CKA_LABEL>`.
    pub alias: Option<String>,
    /// `CKA_ID`.
    pub app_id: Option<Vec<u8>>,
    /// `CKA_ALLOWED_MECHANISMS`; empty: not restricted.
    pub allowed_mechanisms: Vec<u64>,
}

/// The `CKA_ALLOWED_MECHANISMS` generation templates give the key (a KMS
/// key has one list for both its objects): the halves of a pair may not
/// give different lists; a value that is not whole `CK_MECHANISM_TYPE`s
/// is `CKR_ATTRIBUTE_VALUE_INVALID`.
pub(super) fn allowed_mechanisms_of(templates: &[&[Attribute]]) -> Result<Vec<u64>, DataError> {
    let mut asked: Option<Vec<u64>> = None;
    for given in templates.iter().filter_map(|t| find_attribute(t, CKA_ALLOWED_MECHANISMS)) {
        let list = mechanisms_of(&given.value).ok_or(rv(CKR_ATTRIBUTE_VALUE_INVALID))?;
        match &asked {
            Some(earlier) if *earlier != list => return Err(rv(CKR_TEMPLATE_INCONSISTENT)),
            _ => asked = Some(list),
        }
    }
    Ok(asked.unwrap_or_default())
}

/// Creates the KMS key `shape` asks for, its material from `source`, as
/// the app logged in to `slot`; replies with its objects (public first).
pub(super) fn create(
    service: &Service,
    client: &ClientId,
    slot: u64,
    shape: Shape,
    source: Source<'_>,
) -> Result<DataReply, DataError> {
    let Shape { spec, usage, alias, app_id, allowed_mechanisms } = shape;
    let (instance, app) = {
        let registry = service.kms.registry()?;
        let instance = super::slots::instance(&registry, slot)?.name.clone();
        let access = Access::of(&service.clients, &registry, client, slot);
        access.check_create(&instance)?;
        if let Some(id) = &app_id {
            // Before the HSMs work: a taken id costs nothing.
            key_names::check_free(&registry, &instance, id, None)?;
        }
        (instance, access.app_name().ok_or(rv(CKR_USER_NOT_LOGGED_IN))?.to_owned())
    };
    let new =
        NewKey { allowed_mechanisms, ..NewKey::plain(instance.clone(), spec, usage, alias, format!("app:{app}")) };
    let mut key = keys::create_from(&service.kms, new, source)?;
    if let Some(id) = app_id {
        // The key is committed; only a writer racing for the same id
        // since the check above, or a store fault, fails here. The key
        // stays (without the id) and the caller hears why.
        if let Err(error) = key_names::assign(service, &instance, &key.record.key_id, id.clone()) {
            tracing::warn!(key = key.record.key_id, %error, "key created, but its CKA_ID could not be kept");
            return Err(error);
        }
        key.app_id = Some(id);
    }
    // Public key first, as C_GenerateKeyPair returns it.
    let mut objects: Vec<_> = ObjectView::all_of(&key).map(|o| o.description()).collect();
    objects.reverse();
    Ok(DataReply::Objects(objects))
}

/// `GenerateKey`: an AES KMS key.
pub fn generate_key(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    template: &[Attribute],
) -> Result<DataReply, DataError> {
    if !is_token(&[template])? {
        return session_keys::generate_key(service, client, slot, mechanism, template);
    }
    if mechanism.ty != CKM_AES_KEY_GEN {
        return Err(rv(CKR_MECHANISM_INVALID));
    }
    check_class(template, CKO_SECRET_KEY, &[CKK_AES])?;
    let spec = match find_attribute(template, CKA_VALUE_LEN).map(Attribute::as_ulong) {
        None => return Err(rv(CKR_TEMPLATE_INCOMPLETE)),
        Some(Some(32)) => KeySpec::Aes256,
        Some(Some(16)) => KeySpec::Aes128,
        Some(_) => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
    };
    let app_id = key_names::app_id_of(&[template])?;
    let allowed_mechanisms = allowed_mechanisms_of(&[template])?;
    let shape =
        Shape { spec, usage: KeyUsage::EncryptDecrypt, alias: alias_of(&[template])?, app_id, allowed_mechanisms };
    create(service, client, slot, shape, Source::Generate)
}

/// `GenerateKeyPair`: an RSA or EC KMS key. Replies (public, private).
pub fn generate_key_pair(
    service: &Service,
    client: &ClientId,
    slot: u64,
    mechanism: &Mechanism,
    public: &[Attribute],
    private: &[Attribute],
) -> Result<DataReply, DataError> {
    if !is_token(&[public, private])? {
        return session_keys::generate_key_pair(service, client, slot, mechanism, public, private);
    }
    let (spec, usage) = match mechanism.ty {
        CKM_RSA_PKCS_KEY_PAIR_GEN => {
            check_class(public, CKO_PUBLIC_KEY, &[CKK_RSA])?;
            check_class(private, CKO_PRIVATE_KEY, &[CKK_RSA])?;
            let spec = match find_attribute(public, CKA_MODULUS_BITS).map(Attribute::as_ulong) {
                None => return Err(rv(CKR_TEMPLATE_INCOMPLETE)),
                Some(Some(2048)) => KeySpec::Rsa2048,
                Some(Some(3072)) => KeySpec::Rsa3072,
                Some(_) => return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)),
            };
            if let Some(e) = find_attribute(public, CKA_PUBLIC_EXPONENT) {
                let significant: Vec<u8> = e.value.iter().copied().skip_while(|b| *b == 0).collect();
                if significant != [0x01, 0x00, 0x01] {
                    return Err(rv(CKR_ATTRIBUTE_VALUE_INVALID));
                }
            }
            let decrypt_only = flag(private, CKA_DECRYPT) == Some(true) && flag(private, CKA_SIGN) != Some(true);
            (spec, if decrypt_only { KeyUsage::EncryptDecrypt } else { KeyUsage::SignVerify })
        }
        CKM_EC_KEY_PAIR_GEN => {
            check_class(public, CKO_PUBLIC_KEY, &[CKK_EC])?;
            check_class(private, CKO_PRIVATE_KEY, &[CKK_EC])?;
            let params = find_attribute(public, CKA_EC_PARAMS).ok_or(rv(CKR_TEMPLATE_INCOMPLETE))?;
            let spec = if params.value == P256_PARAMS {
                KeySpec::EcP256
            } else if params.value == SECP256K1_PARAMS {
                KeySpec::EcP256K
            } else {
                return Err(rv(CKR_CURVE_NOT_SUPPORTED));
            };
            (spec, KeyUsage::SignVerify)
        }
        _ => return Err(rv(CKR_MECHANISM_INVALID)),
    };
    let app_id = key_names::app_id_of(&[private, public])?;
    let allowed_mechanisms = allowed_mechanisms_of(&[private, public])?;
    let shape = Shape { spec, usage, alias: alias_of(&[private, public])?, app_id, allowed_mechanisms };
    create(service, client, slot, shape, Source::Generate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_aliases() {
        let label = [Attribute::bytes(CKA_LABEL, b"k1".to_vec())];
        assert_eq!(alias_of(&[&label]), Ok(Some("alias/k1".into())));
        let prefixed = [Attribute::bytes(CKA_LABEL, b"alias/k2".to_vec())];
        assert_eq!(alias_of(&[&[], &prefixed]), Ok(Some("alias/k2".into())));
        assert_eq!(alias_of(&[&[]]), Ok(None));
        let binary = [Attribute::bytes(CKA_LABEL, vec![0xff])];
        assert_eq!(alias_of(&[&binary]), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    }

    #[test]
    fn allowed_mechanisms_are_one_list_for_the_key() {
        let gcm = |ty| Attribute::bytes(ty, CKM_AES_GCM.to_le_bytes().to_vec());
        let list = [gcm(CKA_ALLOWED_MECHANISMS)];
        assert_eq!(allowed_mechanisms_of(&[&list]), Ok(vec![CKM_AES_GCM]));
        assert_eq!(allowed_mechanisms_of(&[&[], &list]), Ok(vec![CKM_AES_GCM]), "one half may say it");
        assert_eq!(allowed_mechanisms_of(&[&list, &list]), Ok(vec![CKM_AES_GCM]));
        assert_eq!(allowed_mechanisms_of(&[&[]]), Ok(vec![]), "no list: not restricted");
        let other = [Attribute::bytes(CKA_ALLOWED_MECHANISMS, CKM_ECDSA.to_le_bytes().to_vec())];
        assert_eq!(allowed_mechanisms_of(&[&list, &other]), Err(rv(CKR_TEMPLATE_INCONSISTENT)));
        let ragged = [Attribute::bytes(CKA_ALLOWED_MECHANISMS, vec![1, 2, 3])];
        assert_eq!(allowed_mechanisms_of(&[&ragged]), Err(rv(CKR_ATTRIBUTE_VALUE_INVALID)));
    }

    #[test]
    fn templates_must_agree_with_the_mechanism() {
        let rsa_type = [Attribute::ulong(CKA_KEY_TYPE, CKK_RSA)];
        assert_eq!(check_class(&rsa_type, CKO_SECRET_KEY, &[CKK_AES]), Err(rv(CKR_TEMPLATE_INCONSISTENT)));
        assert_eq!(check_class(&[], CKO_SECRET_KEY, &[CKK_AES]), Ok(()));
    }

    #[test]
    fn only_an_explicit_token_template_makes_a_kms_key() {
        let token = [Attribute::bool(CKA_TOKEN, true)];
        let session = [Attribute::bool(CKA_TOKEN, false)];
        assert_eq!(is_token(&[&token]), Ok(true));
        assert_eq!(is_token(&[&session]), Ok(false));
        assert_eq!(is_token(&[&[]]), Ok(false), "PKCS#11's default is a session object");
        assert_eq!(is_token(&[&token, &[]]), Ok(true), "one half of a pair may say it");
        assert_eq!(is_token(&[&token, &session]), Err(rv(CKR_TEMPLATE_INCONSISTENT)));
    }
}

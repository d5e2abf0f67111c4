//! Helpers cases of several classes share: the templates of test
//! objects, the mechanism-info, sign-and-verify and parameter-case calls.

use cryptoki_sys::*;

use super::Run;
use crate::ffi::{CRASHED, Got, In, Init, Io, M, Mech, Out, Template, V};

pub(super) fn mech_info_calls(r: &mut Run<'_>, list: &[(&str, CK_MECHANISM_TYPE)]) {
    let (p, slot) = (r.p, r.t.slot);
    for (name, ty) in list {
        let (rv, [min, max, flags]) = p.mechanism_info(slot, *ty, false);
        let obs = if rv == CKR_OK { format!("min={min} max={max} flags=0x{flags:x}") } else { String::new() };
        r.ob(format!("C_GetMechanismInfo({name})"), rv, obs);
    }
}

pub(super) fn data_template(label: &str, token: bool) -> Template {
    Template::new(&[
        (CKA_CLASS, V::U(CKO_DATA)),
        (CKA_TOKEN, V::B(token)),
        (CKA_LABEL, V::Bytes(label.as_bytes().to_vec())),
        (CKA_APPLICATION, V::Bytes(b"differential".to_vec())),
        (CKA_VALUE, V::Bytes(b"hello".to_vec())),
    ])
}

pub(super) fn aes_template(label: &str, token: bool, len: Option<CK_ULONG>) -> Template {
    let mut list = vec![
        (CKA_CLASS, V::U(CKO_SECRET_KEY)),
        (CKA_KEY_TYPE, V::U(CKK_AES)),
        (CKA_TOKEN, V::B(token)),
        (CKA_LABEL, V::Bytes(label.as_bytes().to_vec())),
        (CKA_ENCRYPT, V::B(true)),
        (CKA_DECRYPT, V::B(true)),
    ];
    if let Some(len) = len {
        list.push((CKA_VALUE_LEN, V::U(len)));
    }
    Template::new(&list)
}

pub(super) fn ec_templates(label: &str, token: bool, params: Option<&[u8]>, derive: bool) -> (Template, Template) {
    let mut public = vec![(CKA_TOKEN, V::B(token)), (CKA_VERIFY, V::B(true))];
    if let Some(params) = params {
        public.push((CKA_EC_PARAMS, V::Bytes(params.to_vec())));
    }
    let mut private = vec![
        (CKA_TOKEN, V::B(token)),
        (CKA_PRIVATE, V::B(true)),
        (CKA_SENSITIVE, V::B(true)),
        (CKA_SIGN, V::B(true)),
        (CKA_DERIVE, V::B(derive)),
    ];
    if !label.is_empty() {
        public.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
        private.push((CKA_LABEL, V::Bytes(label.as_bytes().to_vec())));
    }
    (Template::new(&public), Template::new(&private))
}

/// Signs with `private` and verifies with `public`, then verifies a
/// changed message.
pub(super) fn sign_and_verify(
    r: &mut Run<'_>,
    name: &str,
    mech: &Mech,
    private: CK_OBJECT_HANDLE,
    public: CK_OBJECT_HANDLE,
    data: &[u8],
) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("C_SignInit({name})"), p.init(Init::Sign, s, M::M(mech), private));
    let sig = r.got(format!("C_Sign({name})"), p.io(Io::Sign, s, In::B(data), Out::Cap(512)));
    r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(mech), public));
    r.rv(format!("C_Verify({name})"), p.verify(s, In::B(data), In::B(&sig.bytes)));
    let mut other = data.to_vec();
    other[0] ^= 1;
    r.rv(format!("C_VerifyInit({name})"), p.init(Init::Verify, s, M::M(mech), public));
    r.rv(format!("C_Verify({name}, changed data)"), p.verify(s, In::B(&other), In::B(&sig.bytes)));
}

/// `…Init` with a parameter variant, then the single-part call: p11kms
/// checks some parameters only at the call, so both are recorded.
pub(super) fn param_case(r: &mut Run<'_>, name: &str, which: Init, mech: &Mech, key: CK_OBJECT_HANDLE, data: &[u8]) {
    let p = r.p;
    let s = r.s();
    r.rv(format!("init({name})"), r.guard(|| p.init(which, s, M::M(mech), key), CRASHED));
    let io = match which {
        Init::Encrypt => Io::Encrypt,
        Init::Decrypt => Io::Decrypt,
        _ => Io::Sign,
    };
    let crashed = Got { rv: CRASHED, len: 0, bytes: Vec::new() };
    r.got(format!("call({name})"), r.guard(|| p.io(io, s, In::B(data), Out::Cap(512)), crashed));
}

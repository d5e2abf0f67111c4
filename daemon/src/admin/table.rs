//! The routing table: every admin operation of proto's
//! `admin_operations!` with its handler, made from that same list, so the
//! daemon cannot forget one (a missing `Handle` does not compile).

use p11kms_proto::admin::{Opcode, op};

use super::{Access, Call, Handle, run};

/// One operation's entry.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    /// Its wire number.
    pub opcode: Opcode,
    /// The API's name, for logs and the audit trail.
    pub name: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Decodes the request, then authorizes, runs and answers the call
    /// as this entry says.
    pub run: fn(&Call<'_>, &Route, &[u8]) -> Vec<u8>,
}

impl Route {
    const fn of<O: Handle>() -> Self {
        Self { opcode: O::OPCODE, name: O::NAME, access: O::ACCESS, run: run::<O> }
    }
}

macro_rules! routes {
    ($($(#[$doc:meta])* $opcode:literal $name:ident [$($word:literal)+] $request:ty => $reply:ty;)+) => {
        /// Every operation, in the order of proto's table (by opcode).
        pub static TABLE: &[Route] = &[$(Route::of::<op::$name>()),+];
    };
}

p11kms_proto::admin_operations!(routes);

/// The route of an opcode.
pub fn route(opcode: Opcode) -> Option<&'static Route> {
    TABLE.binary_search_by_key(&opcode, |route| route.opcode).ok().map(|index| &TABLE[index])
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::Operation;

    use super::*;

    #[test]
    fn every_operation_of_proto_is_routed_by_its_opcode() {
        assert_eq!(TABLE.len(), op::ALL.len());
        for info in op::ALL {
            let route = route(info.opcode).expect("routed");
            assert_eq!(route.name, info.name);
        }
        assert!(route(Opcode(0x0300)).is_none());
        assert!(route(Opcode(0xffff)).is_none());
        assert_eq!(route(<op::CreateKey as Operation>::OPCODE).map(|r| r.access), Some(Access::Change));
        assert_eq!(route(<op::GetClock as Operation>::OPCODE).map(|r| r.name), Some("GetClock"));
    }
}

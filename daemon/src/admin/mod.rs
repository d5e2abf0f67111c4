//! The admin plane's back end: one KMS API operation per call, run on the
//! calling connection's thread (it may wait for HSMs and the store).
//!
//! Every operation of `p11kms_proto::admin_operations!` has a handler
//! here: a [`Handle`] implementation in the file of its resource group,
//! saying who may call it ([`Access`]) and turning its request into a
//! call of the KMS model. [`table`] makes the routing table from the same
//! list, so routing, the names in logs and authorization all read one
//! table, and an operation without a handler does not compile.
//!
//! Adding an operation: its line in proto's table, then
//! `impl Handle for op::TheName` here (and its CLI command).

mod aliases;
mod apps;
mod asymmetric;
mod audit;
mod backups;
mod clock;
mod clusters;
mod connections;
mod envelope;
mod images;
mod instances;
mod key_import;
mod key_lifecycle;
mod keys;
mod migration;
mod secret_values;
mod secrets;
mod table;
mod trail;

use p11kms_proto::admin::Operation;
use p11kms_proto::admin::operation::{encode_answer, split_call, unknown_opcode};
use p11kms_proto::{ApiError, ErrorCode};

use crate::kms::{Kms, KmsError};
use crate::service::Service;

/// What an operation does, for authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads metadata or state: lists, descriptions, status, the clock.
    Read,
    /// Uses key material (encrypt, sign, …) without changing anything.
    Use,
    /// Changes something.
    Change,
    /// Moves the test clock: refused unless the daemon runs on it.
    TestClock,
}

/// What a peer of the admin socket may do, from its uid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Everything (root, the daemon's own uid, `sockets.admin_uids`).
    Admin,
    /// [`Access::Read`] operations only (`sockets.admin_read_only_uids`).
    ReadOnly,
}

/// Who sent an admin call.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The peer's uid, from the kernel.
    pub uid: u32,
    /// Its gid, from the kernel.
    pub gid: Option<u32>,
    /// Its process, from the kernel.
    pub pid: Option<u32>,
    /// What it may do.
    pub role: Role,
}

/// One call being handled: the daemon and who called.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The daemon.
    pub service: &'a Service,
    /// Who called.
    pub caller: Caller,
}

impl Call<'_> {
    /// The KMS context, for the operations of the KMS model.
    pub fn kms(&self) -> &Kms {
        &self.service.kms
    }
}

/// The daemon's side of one admin operation.
pub trait Handle: Operation {
    /// Who may call it.
    const ACCESS: Access;

    /// Runs the operation.
    fn handle(call: &Call<'_>, request: Self::Request) -> Result<Self::Reply, KmsError>;
}

/// Refuses an operation the caller may not run now (`manual_clock`: the
/// daemon runs on the test clock).
fn authorize(caller: Caller, manual_clock: bool, name: &str, access: Access) -> Result<(), KmsError> {
    match (caller.role, access) {
        (Role::ReadOnly, Access::Read) | (Role::Admin, Access::Read | Access::Use | Access::Change) => Ok(()),
        (Role::Admin, Access::TestClock) if manual_clock => Ok(()),
        (Role::Admin, Access::TestClock) => Err(KmsError::ClockNotManual),
        (Role::ReadOnly, _) => Err(KmsError::NoPermission(format!(
            "uid {} may only read (sockets.admin_read_only_uids); {name} is not a read",
            caller.uid
        ))),
    }
}

/// Answers one `AdminCall` body with the `AdminAnswer` body to send back.
pub fn answer(service: &Service, caller: Caller, body: &[u8]) -> Vec<u8> {
    let (opcode, request) = match split_call(body) {
        Ok(split) => split,
        Err(error) => return refusal(&error),
    };
    match table::route(opcode) {
        Some(route) => (route.run)(&Call { service, caller }, route, request),
        None => {
            tracing::warn!(uid = caller.uid, %opcode, "admin call with an unknown opcode");
            refusal(&unknown_opcode(opcode))
        }
    }
}

/// Decodes a call of `O`, authorizes it, runs and logs it as its `route`
/// says; returns the answer body. Request bodies are never logged: they
/// can carry plaintext.
fn run<O: Handle>(call: &Call<'_>, route: &table::Route, request: &[u8]) -> Vec<u8> {
    let (uid, operation) = (call.caller.uid, route.name);
    let started = call.service.kms.clock.now();
    let request = match p11kms_proto::admin::operation::decode_request::<O>(request) {
        Ok(request) => request,
        Err(error) => {
            tracing::warn!(uid, operation, %error, "admin call refused: malformed request");
            trail::record::<O>(call, route, started, None, Err(&error));
            return refusal(&error);
        }
    };
    let parameters = trail::parameters(call, &request);
    let manual_clock = call.service.kms.clock.is_manual();
    let result = authorize(call.caller, manual_clock, operation, route.access).and_then(|()| O::handle(call, request));
    match &result {
        Ok(_) => tracing::info!(uid, operation, "admin request"),
        Err(error) => tracing::warn!(uid, operation, %error, "admin request refused"),
    }
    let answer = result.map_err(|e| e.to_api());
    trail::record::<O>(call, route, started, parameters, answer.as_ref());
    encode_answer(&answer).unwrap_or_else(|error| {
        tracing::error!(operation, %error, "cannot encode an admin answer");
        refusal(&ApiError::new(ErrorCode::InternalFailure, format!("the answer cannot be encoded: {error}")))
    })
}

/// The answer body of a refusal.
fn refusal(error: &ApiError) -> Vec<u8> {
    // An `Err` of two short fields always encodes; an empty body would
    // make the client report a malformed answer, which is true then.
    encode_answer::<()>(&Err(error.clone())).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::admin::op;

    use super::*;

    const ADMIN: Caller = Caller { uid: 0, gid: None, pid: None, role: Role::Admin };
    const READER: Caller = Caller { uid: 4242, gid: None, pid: None, role: Role::ReadOnly };

    #[test]
    fn read_only_callers_may_only_read() {
        assert!(authorize(READER, false, "ListKeys", Access::Read).is_ok());
        for access in [Access::Use, Access::Change, Access::TestClock] {
            let error = authorize(READER, true, "CreateKey", access).expect_err("not a read");
            assert_eq!(error.code(), ErrorCode::NoPermission);
            assert!(error.to_string().contains("uid 4242") && error.to_string().contains("CreateKey"), "{error}");
        }
        for access in [Access::Read, Access::Use, Access::Change] {
            assert!(authorize(ADMIN, false, "X", access).is_ok(), "{access:?}");
        }
    }

    #[test]
    fn the_test_clock_moves_only_when_the_daemon_runs_on_it() {
        assert!(authorize(ADMIN, true, "AdvanceClock", Access::TestClock).is_ok());
        let error = authorize(ADMIN, false, "AdvanceClock", Access::TestClock).expect_err("system clock");
        assert_eq!(error.code(), ErrorCode::ClockNotManual);
    }

    #[test]
    fn the_table_classes_what_each_operation_does() {
        assert_eq!(<op::ListKeys as Handle>::ACCESS, Access::Read);
        assert_eq!(<op::Encrypt as Handle>::ACCESS, Access::Use);
        assert_eq!(<op::CreateKey as Handle>::ACCESS, Access::Change);
        assert_eq!(<op::SetClock as Handle>::ACCESS, Access::TestClock);
        assert_eq!(<op::GetClock as Handle>::ACCESS, Access::Read);
        for read in [op::DescribeSecret::OPCODE, op::ListSecrets::OPCODE, op::ListSecretVersionIds::OPCODE] {
            assert_eq!(table::route(read).map(|r| r.access), Some(Access::Read));
        }
        assert_eq!(<op::GetSecretValue as Handle>::ACCESS, Access::Use);
        for change in [op::CreateSecret::OPCODE, op::PutSecretValue::OPCODE, op::RotateSecret::OPCODE] {
            assert_eq!(table::route(change).map(|r| r.access), Some(Access::Change));
        }
    }
}

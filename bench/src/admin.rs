//! The admin API as `p11kms` speaks it, for the GetSecretValue workload
//! (and the policy switch of the policy workload, `crate::policies`):
//! an `AdminCall` frame (the operation's opcode, then its request) and its
//! `AdminAnswer`, over one admin connection kept for the whole run, as
//! `p11kms rewrap` keeps one (`docs/wire.md` §6). Spawning the CLI for
//! every call would measure process start-up, not the API.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;

use p11kms_proto::admin::op::{GetSecretValue, UpdateAppPolicy};
use p11kms_proto::admin::operation::{Operation, decode_answer, encode_call};
use p11kms_proto::admin::{GetSecretValueRequest, UpdateAppPolicyRequest};
use p11kms_proto::frame::{encode_raw_frame, read_frame, write_frame};
use p11kms_proto::{MAX_BODY_LEN, MessageKind};

use crate::Result;

/// One open admin connection.
#[derive(Debug)]
pub struct Admin {
    stream: UnixStream,
    next_id: u32,
}

impl Admin {
    /// Connects to the admin socket.
    pub fn connect(socket: &Path) -> Result<Self> {
        Ok(Self { stream: UnixStream::connect(socket)?, next_id: 1 })
    }

    /// `GetSecretValue` of `name`'s ACSCurrent version, as
    /// `p11kms secret get-value NAME` asks it; returns the value's length
    /// (its text, or its base64 for a binary value).
    pub fn get_secret_value(&mut self, name: &str) -> Result<usize> {
        let request = GetSecretValueRequest {
            secret_name: name.to_owned(),
            version_id: None,
            version_stage: None,
            fetch_extended_config: false,
        };
        let value = self.call::<GetSecretValue>(&request)?;
        Ok(value.secret_data.expose().len())
    }

    /// `UpdateAppPolicy`: app `name`'s policy becomes `policy`.
    pub fn update_app_policy(&mut self, name: &str, policy: &str) -> Result<()> {
        let request = UpdateAppPolicyRequest { name: name.to_owned(), policy: policy.to_owned() };
        self.call::<UpdateAppPolicy>(&request).map(drop)
    }

    /// One call and its answer on this connection.
    fn call<Op: Operation>(&mut self, request: &Op::Request) -> Result<Op::Reply> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let frame = encode_raw_frame(MessageKind::AdminCall, id, &encode_call::<Op>(request)?)?;
        write_frame(&mut self.stream, &frame)?;
        self.stream.flush()?;
        let (header, body) = read_frame(&mut self.stream, MAX_BODY_LEN)?.ok_or("the daemon closed the connection")?;
        if header.kind != MessageKind::AdminAnswer || header.request_id != id {
            return Err(format!("unexpected {:?} frame for request {}", header.kind, header.request_id).into());
        }
        decode_answer::<Op>(&body)?.map_err(|e| format!("{}: {e}", Op::NAME).into())
    }
}

impl Admin {
    /// Any operation on this connection, as the CLI sends it: the backup
    /// figures (`crate::backups`) drive instances, keys, secrets, the test
    /// clock and backups through it.
    pub fn op<Op: Operation>(&mut self, request: &Op::Request) -> Result<Op::Reply> {
        self.call::<Op>(request)
    }
}

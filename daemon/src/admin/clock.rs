//! The daemon's clock on the admin plane. Moving it is for the test clock
//! only, and runs the scheduler at once so that whatever became due
//! (rotations, deletions, expiries) has happened when the command returns.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AdminReply, ClockTime};

use crate::clock::ClockError;
use crate::kms::{KmsError, scheduler};
use crate::service::Service;

fn time(service: &Service) -> AdminReply {
    AdminReply::Clock(ClockTime { now: service.clock.now(), manual: service.clock.is_manual() })
}

fn moved(service: &Service, result: Result<Timestamp, ClockError>) -> Result<AdminReply, KmsError> {
    match result {
        Ok(now) => {
            tracing::info!(%now, "test clock moved");
            scheduler::run_due(service);
            Ok(time(service))
        }
        Err(ClockError::NotManual) => Err(KmsError::ClockNotManual),
        Err(error) => Err(KmsError::InvalidParameter(error.to_string())),
    }
}

/// `clock show`.
pub fn show(service: &Service) -> Result<AdminReply, KmsError> {
    Ok(time(service))
}

/// `clock advance`.
pub fn advance(service: &Service, seconds: i64) -> Result<AdminReply, KmsError> {
    moved(service, service.clock.advance(seconds))
}

/// `clock set`.
pub fn set(service: &Service, at: Timestamp) -> Result<AdminReply, KmsError> {
    moved(service, service.clock.set(at))
}

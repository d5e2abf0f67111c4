//! The daemon's clock. Moving it is for the test clock only (the table
//! says so: [`Access::TestClock`]), and runs the scheduler at once so that
//! whatever became due (rotations, deletions, expiries, backup points) has happened when
//! the command returns.

use p11kms_proto::Timestamp;
use p11kms_proto::admin::{AdvanceClockRequest, ClockTime, SetClockRequest, op};

use super::{Access, Call, Handle};
use crate::backups;
use crate::clock::ClockError;
use crate::kms::{Kms, KmsError, scheduler};

fn time(kms: &Kms) -> ClockTime {
    ClockTime { now: kms.clock.now(), manual: kms.clock.is_manual() }
}

fn moved(call: &Call<'_>, result: Result<Timestamp, ClockError>) -> Result<ClockTime, KmsError> {
    let kms = call.kms();
    match result {
        Ok(now) => {
            tracing::info!(%now, "test clock moved");
            scheduler::run_due(kms);
            backups::schedule::run_due(kms, &call.service.backups);
            Ok(time(kms))
        }
        Err(ClockError::NotManual) => Err(KmsError::ClockNotManual),
        Err(ClockError::Persist(error)) => Err(KmsError::Internal(error)),
        Err(error) => Err(KmsError::InvalidParameter(error.to_string())),
    }
}

impl Handle for op::GetClock {
    const ACCESS: Access = Access::Read;

    fn handle(call: &Call<'_>, (): ()) -> Result<ClockTime, KmsError> {
        Ok(time(call.kms()))
    }
}

impl Handle for op::AdvanceClock {
    const ACCESS: Access = Access::TestClock;

    fn handle(call: &Call<'_>, request: AdvanceClockRequest) -> Result<ClockTime, KmsError> {
        moved(call, call.kms().clock.advance(request.seconds))
    }
}

impl Handle for op::SetClock {
    const ACCESS: Access = Access::TestClock;

    fn handle(call: &Call<'_>, request: SetClockRequest) -> Result<ClockTime, KmsError> {
        moved(call, call.kms().clock.set(request.time))
    }
}

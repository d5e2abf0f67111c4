//! Unit tests of backups over the KMS fixture (in-memory store, manual
//! clock, in-memory vault) and a temporary directory for the files: the
//! lifecycle of each type, the schedule, what a day shows, the viewable
//! days, expiry, and that unchanged data is not stored again.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod restore;

use p11kms_proto::ErrorCode;
use p11kms_proto::admin::{
    BackupStatus, BackupType, CreateBackupRequest, EnableBackupRequest, ExtendBackupRequest, InstanceKind, KeySpec,
    ListBackupsRequest, RenewBackupRequest, ShowBackupRequest,
};

use super::schedule::{self, BackupPass};
use super::{Backups, lifecycle, view};
use crate::kms::keys::rotation;
use crate::kms::testing::{Fixture, INSTANCE};

pub(super) struct Setup {
    pub(super) fx: Fixture,
    pub(super) backups: Backups,
    _dir: tempfile::TempDir,
}

impl Setup {
    pub(super) fn new() -> Self {
        Self::with_time_zone("UTC")
    }

    /// With `[backups] time_zone = zone`.
    pub(super) fn with_time_zone(zone: &str) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let backups = Backups::new(dir.path().join("backups"), Vec::new(), Vec::new());
        let mut config = crate::config::Config::default();
        config.backups.time_zone = crate::calendar::Calendar::named(zone).expect("a zone");
        Self { fx: Fixture::with_config(config), backups, _dir: dir }
    }

    /// Moves the clock and runs both schedulers, as `clock advance` does.
    pub(super) fn advance(&self, seconds: i64) -> BackupPass {
        self.fx.advance_seconds(seconds);
        schedule::run_due(&self.fx.kms, &self.backups)
    }

    fn create(&self, ty: BackupType, days: Option<u32>, duration: Option<u32>) -> String {
        let request = CreateBackupRequest {
            backup_type: ty,
            instance_kind: InstanceKind::Hardware,
            alias: None,
            viewable_days: days,
            duration_days: duration,
        };
        lifecycle::create(&self.fx.kms, &self.backups, &request).expect("created").backup_id
    }

    fn enable(&self, id: &str) -> Result<p11kms_proto::admin::BackupInfo, crate::kms::KmsError> {
        let request = EnableBackupRequest { backup_id: id.into(), instance: INSTANCE.into(), alias: None };
        lifecycle::enable(&self.fx.kms, &self.backups, &request)
    }

    fn show(&self, id: &str, date: &str) -> Result<p11kms_proto::admin::BackupDay, crate::kms::KmsError> {
        view::show(&self.fx.kms, &self.backups, &ShowBackupRequest { backup_id: id.into(), date: date.into() })
    }

    pub(super) fn today(&self) -> String {
        self.fx.now().to_string()[..10].to_owned()
    }
}

pub(super) fn code<T: std::fmt::Debug>(result: Result<T, crate::kms::KmsError>) -> ErrorCode {
    result.expect_err("refused").code()
}

#[test]
fn each_type_has_its_rules() {
    let s = Setup::new();
    let create = |ty, days, duration| {
        let request = CreateBackupRequest {
            backup_type: ty,
            instance_kind: InstanceKind::Software,
            alias: None,
            viewable_days: days,
            duration_days: duration,
        };
        lifecycle::create(&s.fx.kms, &s.backups, &request)
    };
    assert_eq!(code(create(BackupType::System, None, None)), ErrorCode::InvalidParameter);
    assert_eq!(code(create(BackupType::Upload, None, None)), ErrorCode::InvalidParameter);
    assert_eq!(code(create(BackupType::Default, Some(30), None)), ErrorCode::InvalidParameter, "7 days, fixed");
    assert_eq!(code(create(BackupType::Retained, Some(6), Some(30))), ErrorCode::InvalidParameter);
    assert_eq!(code(create(BackupType::Retained, Some(601), Some(30))), ErrorCode::InvalidParameter);
    assert_eq!(code(create(BackupType::Retained, Some(30), None)), ErrorCode::InvalidParameter, "a duration");
    let default = create(BackupType::Default, None, None).expect("default");
    assert_eq!((default.viewable_days, default.status, default.expire_date), (7, BackupStatus::Disabled, None));
    let retained = create(BackupType::Retained, Some(30), Some(365)).expect("retained");
    assert_eq!(retained.expire_date.map(|e| e.unix() - s.fx.now().unix()), Some(365 * 86_400));

    // Kinds must match: these take software instances, hsm1 is hardware.
    assert_eq!(code(s.enable(&default.backup_id)), ErrorCode::InvalidParameter);
    // Extend only retained, and only upwards.
    let extend = |id: &str, days| {
        lifecycle::extend(&s.fx.kms, &s.backups, &ExtendBackupRequest { backup_id: id.into(), viewable_days: days })
    };
    assert_eq!(code(extend(&default.backup_id, 10)), ErrorCode::UnsupportedOperation);
    assert_eq!(code(extend(&retained.backup_id, 20)), ErrorCode::InvalidParameter, "never reduced");
    assert_eq!(extend(&retained.backup_id, 60).expect("extended").viewable_days, 60);
    let renew = |id: &str| {
        lifecycle::renew(&s.fx.kms, &s.backups, &RenewBackupRequest { backup_id: id.into(), duration_days: 30 })
    };
    assert_eq!(code(renew(&default.backup_id)), ErrorCode::UnsupportedOperation);
    assert_eq!(code(lifecycle::describe(&s.backups, "backup-nope")), ErrorCode::ResourceNotFound);
}

#[test]
fn the_daemon_backs_up_every_instance_and_its_system_backup_cannot_be_reset() {
    let s = Setup::new();
    s.fx.create(KeySpec::Aes256);
    let pass = s.advance(1);
    assert_eq!((pass.system_backups, pass.fulls), (1, 0), "made with its first full");
    let list = lifecycle::list(&s.fx.kms, &s.backups, &ListBackupsRequest::default()).expect("listed");
    assert_eq!(list.len(), 1, "hsm1 only: default is not backed up");
    let system = &list[0];
    assert_eq!(
        (system.backup_type, system.status, system.viewable_days),
        (BackupType::System, BackupStatus::Enabled, 90)
    );
    assert_eq!((system.instance.as_deref(), system.point_count), (Some(INSTANCE), 1));
    assert_eq!(system.cluster.as_deref(), Some(crate::kms::testing::CLUSTER), "a hardware backup names its cluster");
    assert!(system.primary_member.is_some());
    assert_eq!(code(lifecycle::reset(&s.fx.kms, &s.backups, &system.backup_id)), ErrorCode::UnsupportedOperation);
    assert_eq!(code(s.enable(&system.backup_id)), ErrorCode::UnsupportedOperation);
    assert_eq!(s.advance(1).system_backups, 0, "one per instance");
}

#[test]
fn fulls_daily_and_incrementals_every_five_minutes_with_what_changed() {
    let s = Setup::new();
    let id = s.create(BackupType::Default, None, None);
    s.fx.create(KeySpec::Aes256);
    let enabled = s.enable(&id).expect("enabled");
    assert_eq!(enabled.point_count, 1, "a full when enabled");
    let points = || lifecycle::describe(&s.backups, &id).expect("described").point_count;
    s.advance(300);
    assert_eq!(points(), 1, "nothing changed: no point");
    s.fx.create(KeySpec::EcP256);
    s.advance(60);
    assert_eq!(points(), 1, "not five minutes yet");
    s.advance(240);
    assert_eq!(points(), 2, "an incremental");
    let before = lifecycle::describe(&s.backups, &id).expect("described");
    s.advance(86_400);
    let after = lifecycle::describe(&s.backups, &id).expect("described");
    assert_eq!(after.point_count, 3, "a full when the day turns");
    assert!(after.last_full > before.last_full);
    assert!(
        after.stored_bytes - before.stored_bytes < 400,
        "a full of unchanged keys stores them not again: {} bytes",
        after.stored_bytes - before.stored_bytes
    );
    s.advance(300);
    assert_eq!(points(), 3, "after the full, nothing new");
}

#[test]
fn the_daily_full_is_at_midnight_of_the_configured_time_zone() {
    let s = Setup::with_time_zone("+08:00");
    let id = s.create(BackupType::Default, None, None);
    s.fx.create(KeySpec::Aes256);
    // Enabled at 15:00 UTC (23:00 at +08:00).
    let now = s.fx.now().unix();
    s.advance(86_400 - now.rem_euclid(86_400) + 15 * 3600);
    s.enable(&id).expect("enabled");
    let points = || lifecycle::describe(&s.backups, &id).expect("described").point_count;
    let calendar = crate::calendar::Calendar::named("+08:00").unwrap();
    let enabled_on = calendar.date_of(s.fx.now());
    s.advance(59 * 60);
    assert_eq!(points(), 1, "15:59 UTC is 23:59 there: the same day");
    s.advance(60);
    assert_eq!(points(), 2, "16:00 UTC is 00:00 there: a full");
    // Days are those of +08:00: today there is tomorrow in UTC's dates.
    let today = calendar.date_of(s.fx.now());
    assert_ne!(today, enabled_on);
    assert_eq!(s.today(), enabled_on, "still the enable day in UTC");
    assert_eq!(s.show(&id, &today).expect("today there").fully_backed_up_keys.len(), 1);
    assert_eq!(s.show(&id, &enabled_on).expect("the enable day").fully_backed_up_keys.len(), 1);
}

#[test]
fn a_day_shows_its_six_sets() {
    let s = Setup::new();
    let id = s.create(BackupType::Default, None, None);
    let old = s.fx.create(KeySpec::Aes256).record.key_id;
    let rotated = s.fx.create(KeySpec::Aes256).record.key_id;
    s.enable(&id).expect("enabled");
    let day1 = s.today();
    // The next day: a full at its start, then a new key and a rotation.
    s.advance(86_400 - s.fx.now().unix().rem_euclid(86_400) + 60);
    let day2 = s.today();
    let new = s.fx.create(KeySpec::EcP256).record.key_id;
    rotation::rotate(&s.fx.kms, &rotated).expect("rotated");
    s.advance(300);
    let shown = s.show(&id, &day2).expect("day 2");
    let ids = |keys: &[p11kms_proto::admin::BackedUpKey]| keys.iter().map(|k| k.key_id.clone()).collect::<Vec<_>>();
    let mut full = ids(&shown.fully_backed_up_keys);
    full.sort();
    let mut expected = vec![old.clone(), rotated.clone()];
    expected.sort();
    assert_eq!(full, expected, "as of 00:00");
    assert_eq!(ids(&shown.incrementally_backed_up_keys), [new]);
    assert_eq!(ids(&shown.rotated_keys), vec![rotated.clone()]);
    assert_eq!(shown.rotated_keys[0].version_count, 2);
    let first = s.show(&id, &day1).expect("day 1");
    assert_eq!(first.fully_backed_up_keys.len(), 2, "the enable full");
    assert!(first.rotated_keys.is_empty() && first.incrementally_backed_up_keys.is_empty());
    assert_eq!(code(s.show(&id, "2026-13-01")), ErrorCode::InvalidParameter);
    assert_eq!(code(s.show(&id, "2001-01-01")), ErrorCode::InvalidParameter, "before it was enabled");
}

#[test]
fn viewable_days_bound_what_a_day_shows_and_only_retained_extend() {
    let s = Setup::new();
    let default = s.create(BackupType::Default, None, None);
    s.fx.create(KeySpec::Aes256);
    s.enable(&default).expect("enabled");
    let retained = s.create(BackupType::Retained, Some(7), Some(365));
    lifecycle::reset(&s.fx.kms, &s.backups, &default).expect("reset frees the instance");
    s.enable(&retained).expect("enabled");
    let day1 = s.today();
    s.advance(10 * 86_400);
    let refused = s.show(&retained, &day1).expect_err("11 days back");
    assert!(refused.to_string().contains("--viewable-days 11"), "says how far to extend: {refused}");
    lifecycle::extend(&s.fx.kms, &s.backups, &ExtendBackupRequest { backup_id: retained.clone(), viewable_days: 11 })
        .expect("extended");
    assert_eq!(s.show(&retained, &day1).expect("viewable now").fully_backed_up_keys.len(), 1);
    // A default backup cannot be extended, and says so.
    let again = s.create(BackupType::Default, None, None);
    lifecycle::reset(&s.fx.kms, &s.backups, &retained).expect("reset");
    s.enable(&again).expect("enabled");
    let day = s.today();
    s.advance(8 * 86_400);
    let refused = s.show(&again, &day).expect_err("9 days back");
    assert!(refused.to_string().contains("cannot be extended"), "{refused}");
}

#[test]
fn reset_deletes_every_byte_and_the_backup_can_be_enabled_again() {
    let s = Setup::new();
    let id = s.create(BackupType::Default, None, None);
    s.fx.create(KeySpec::Aes256);
    s.enable(&id).expect("enabled");
    s.fx.create(KeySpec::Aes256);
    // An incremental of this backup alone (no system backup is made).
    s.fx.advance_seconds(300);
    let mut book = s.backups.book().expect("book");
    super::take::take_point(&s.fx.kms, &s.backups, &mut book, &id, false).expect("taken").expect("a point");
    drop(book);
    let root = s._dir.path().join("backups");
    assert_eq!(walk(&root).len(), 2 + 2, "two manifests, two key objects");
    let reset = lifecycle::reset(&s.fx.kms, &s.backups, &id).expect("reset");
    assert_eq!((reset.status, reset.instance, reset.point_count), (BackupStatus::Disabled, None, 0));
    assert_eq!(walk(&root), Vec::<std::path::PathBuf>::new(), "no backed-up byte is left");
    assert_eq!(s.enable(&id).expect("enabled again").point_count, 1);
    assert_eq!(code(s.enable(&id)), ErrorCode::StateModifiedFailed, "enabled already");
}

pub(super) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn an_expired_backup_takes_only_renewal_and_goes_fifteen_days_later() {
    let s = Setup::new();
    let id = s.create(BackupType::Retained, Some(7), Some(2));
    s.fx.create(KeySpec::Aes256);
    s.enable(&id).expect("enabled");
    let today = s.today();
    assert_eq!(s.advance(3 * 86_400).expired, 1);
    assert_eq!(lifecycle::describe(&s.backups, &id).expect("there").status, BackupStatus::Expired);
    assert_eq!(code(s.show(&id, &today)), ErrorCode::BackupExpired);
    assert_eq!(code(lifecycle::reset(&s.fx.kms, &s.backups, &id)), ErrorCode::BackupExpired);
    let renewed =
        lifecycle::renew(&s.fx.kms, &s.backups, &RenewBackupRequest { backup_id: id.clone(), duration_days: 1 })
            .expect("renewed");
    assert_eq!(renewed.status, BackupStatus::Enabled, "bound again, as before");
    assert_eq!(s.advance(2 * 86_400).expired, 1);
    assert_eq!(s.advance(16 * 86_400).removed, 1, "15 days after its expiry");
    assert_eq!(code(lifecycle::describe(&s.backups, &id)), ErrorCode::ResourceNotFound);
}

#[test]
fn thirty_days_with_a_few_keys_changing_daily_take_less_than_twice_one_full() {
    let s = Setup::new();
    let id = s.create(BackupType::Default, None, None);
    let keys: Vec<String> = (0..200).map(|_| s.fx.create(KeySpec::Aes256).record.key_id).collect();
    s.enable(&id).expect("enabled");
    let one_full = lifecycle::describe(&s.backups, &id).expect("described").stored_bytes;
    for day in 0..30 {
        for key in keys.iter().skip(day * 2).take(2) {
            rotation::rotate(&s.fx.kms, key).expect("a change");
        }
        s.advance(86_400);
    }
    let stored = lifecycle::describe(&s.backups, &id).expect("described").stored_bytes;
    assert!(stored <= 2 * one_full, "{stored} bytes after 30 days, one full is {one_full}");
}

#[test]
fn points_past_what_a_backup_can_show_are_pruned() {
    let s = Setup::new();
    let id = s.create(BackupType::Default, None, None);
    let gone = s.fx.create(KeySpec::Aes256).record.key_id;
    s.enable(&id).expect("enabled");
    let day1 = s.today();
    crate::kms::keys::lifecycle::schedule_deletion(&s.fx.kms, &gone, 7).expect("scheduled");
    s.fx.create(KeySpec::Aes256);
    for _ in 0..12 {
        s.advance(86_400);
    }
    let described = lifecycle::describe(&s.backups, &id).expect("described");
    assert!(described.point_count <= 8, "{} points kept for 7 viewable days", described.point_count);
    let book = s.backups.book().expect("book");
    let entry = book.get(&id).expect("there");
    let first = super::points::manifest(s.backups.storage(), &entry.points[0]).expect("the first kept point reads");
    assert_eq!(first.base, None, "it lists everything now");
    drop(book);
    assert_eq!(code(s.show(&id, &day1)), ErrorCode::InvalidParameter, "day 1 is gone");
    let yesterday = s.fx.now().unix() - 86_400;
    let date = p11kms_proto::Timestamp(yesterday).to_string()[..10].to_owned();
    let shown = s.show(&id, &date).expect("a kept day shows");
    assert_eq!(shown.fully_backed_up_keys.len(), 1, "the destroyed key is gone, the other stays");
    // The destroyed key's object went with the last point naming it.
    let objects = walk(&s._dir.path().join("backups").join("objects")).len();
    assert!(objects <= 3, "{objects} objects");
}

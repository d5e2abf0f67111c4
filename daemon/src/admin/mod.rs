//! The admin plane's back end: one KMS API operation per request, run on
//! the blocking pool (it may wait for HSMs and the store). This module
//! routes; `keys`, `instances` and `clock` hold what is more than a call
//! into the KMS model. Errors leave here as the spec's codes.

mod clock;
mod instances;
mod keys;

use p11kms_proto::admin::{AdminReply, AdminRequest, AdminResult};

use crate::kms::keys::{import, lifecycle, rotation};
use crate::kms::{KmsError, aliases, apps, asymmetric, cluster_members, cluster_sync, envelope, images};
use crate::service::Service;

/// Who sent an admin request.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    /// The peer's uid, from the kernel.
    pub uid: u32,
}

/// Answers one admin request.
pub fn handle(service: &Service, caller: Caller, request: AdminRequest) -> AdminResult {
    let operation = operation_name(&request);
    let result = dispatch(service, caller, request);
    match &result {
        Ok(_) => tracing::info!(uid = caller.uid, operation, "admin request"),
        Err(error) => tracing::warn!(uid = caller.uid, operation, %error, "admin request refused"),
    }
    result.map_err(|e| e.to_api())
}

/// The operation's CLI name, for the log (request bodies are not logged:
/// they can carry plaintext).
fn operation_name(request: &AdminRequest) -> &'static str {
    use AdminRequest as R;
    match request {
        R::InstanceList => "instance list",
        R::InstanceDescribe { .. } => "instance describe",
        R::AppCreate { .. } => "app create",
        R::AppList => "app list",
        R::AppDescribe { .. } => "app describe",
        R::AppDelete { .. } => "app delete",
        R::KeyCreate(_) => "key create",
        R::KeyDescribe { .. } => "key describe",
        R::KeyList(_) => "key list",
        R::KeyListVersions { .. } => "key list-versions",
        R::ClusterList => "cluster list",
        R::ClusterStatus { .. } => "cluster status",
        R::KeyEnable { .. } => "key enable",
        R::KeyDisable { .. } => "key disable",
        R::KeyScheduleDeletion { .. } => "key schedule-deletion",
        R::KeyCancelDeletion { .. } => "key cancel-deletion",
        R::KeySetDeletionProtection { .. } => "key set-deletion-protection",
        R::KeyCreateVersion { .. } => "key create-version",
        R::KeyDescribeVersion { .. } => "key describe-version",
        R::KeyUpdateRotationPolicy(_) => "key update-rotation-policy",
        R::KeyTag { .. } => "key tag",
        R::KeyUntag { .. } => "key untag",
        R::KeyGetParametersForImport { .. } => "key get-parameters-for-import",
        R::KeyImportKeyMaterial(_) => "key import-key-material",
        R::KeyDeleteKeyMaterial { .. } => "key delete-key-material",
        R::AliasCreate { .. } => "alias create",
        R::AliasUpdate { .. } => "alias update",
        R::AliasDelete { .. } => "alias delete",
        R::AliasList { .. } => "alias list",
        R::Encrypt(_) => "encrypt",
        R::Decrypt(_) => "decrypt",
        R::ReEncrypt(_) => "re-encrypt",
        R::ReEncryptBatch(_) => "re-encrypt (batch)",
        R::GenerateDataKey(_) => "generate-data-key",
        R::Sign(_) => "sign",
        R::Verify(_) => "verify",
        R::AsymmetricEncrypt(_) => "asymmetric-encrypt",
        R::AsymmetricDecrypt(_) => "asymmetric-decrypt",
        R::GetPublicKey { .. } => "get-public-key",
        R::ClockShow => "clock show",
        R::ClockAdvance { .. } => "clock advance",
        R::ClockSet { .. } => "clock set",
        R::ConnectionList => "connection list",
        R::ClusterVerify { .. } => "cluster verify",
        R::ClusterResync { .. } => "cluster resync",
        R::ClusterAddMember { .. } => "cluster add-member",
        R::ClusterRemoveMember { .. } => "cluster remove-member",
        R::ClusterImageCreate { .. } => "cluster image create",
        R::ClusterImageList { .. } => "cluster image list",
        R::ClusterRestore { .. } => "cluster restore",
        R::InstanceAttachCluster { .. } => "instance attach-cluster",
        R::ClusterCreate { .. } => "cluster create",
        R::InstanceCreate { .. } => "instance create",
    }
}

fn dispatch(service: &Service, caller: Caller, request: AdminRequest) -> Result<AdminReply, KmsError> {
    use AdminRequest as R;
    let done = |()| AdminReply::Done;
    match request {
        R::InstanceList => instances::list(service),
        R::InstanceDescribe { name } => instances::describe(service, &name),
        R::ClusterList => instances::clusters(service),
        R::ClusterStatus { name } => instances::cluster_status(service, &name),
        R::AppCreate { name, instance } => apps::create(service, &name, &instance).map(AdminReply::AppCreated),
        R::AppList => Ok(AdminReply::Apps(service.registry()?.apps().map(apps::info).collect())),
        R::AppDescribe { name } => Ok(AdminReply::App(apps::info(service.registry()?.app(&name)?))),
        R::AppDelete { name } => apps::delete(service, &name).map(done),
        R::KeyCreate(create) => keys::create(service, caller, create),
        R::KeyDescribe { key } => keys::describe(service, &key),
        R::KeyList(filter) => keys::list(service, &filter),
        R::KeyListVersions { key } => keys::list_versions(service, &key),
        R::KeyDescribeVersion { key, key_version_id } => keys::describe_version(service, &key, &key_version_id),
        R::KeyEnable { key } => lifecycle::enable(service, &key).map(done),
        R::KeyDisable { key } => lifecycle::disable(service, &key).map(done),
        R::KeyScheduleDeletion { key, pending_window_in_days } => {
            lifecycle::schedule_deletion(service, &key, pending_window_in_days).map(done)
        }
        R::KeyCancelDeletion { key } => lifecycle::cancel_deletion(service, &key).map(done),
        R::KeySetDeletionProtection { key, enable_deletion_protection } => {
            lifecycle::set_deletion_protection(service, &key, enable_deletion_protection).map(done)
        }
        R::KeyCreateVersion { key } => keys::create_version(service, &key),
        R::KeyUpdateRotationPolicy(policy) => rotation::update_policy(service, &policy).map(done),
        R::KeyTag { key, tags } => lifecycle::tag(service, &key, &tags).map(done),
        R::KeyUntag { key, tag_keys } => lifecycle::untag(service, &key, &tag_keys).map(done),
        R::KeyGetParametersForImport { key, wrapping_algorithm, wrapping_key_spec } => {
            import::get_parameters(service, &key, wrapping_algorithm, wrapping_key_spec)
                .map(AdminReply::ImportParameters)
        }
        R::KeyImportKeyMaterial(request) => import::import(service, &request).map(done),
        R::KeyDeleteKeyMaterial { key } => import::delete_material(service, &key).map(done),
        R::AliasCreate { alias, key } => aliases::create(service, &alias, &key).map(done),
        R::AliasUpdate { alias, key } => aliases::update(service, &alias, &key).map(done),
        R::AliasDelete { alias } => aliases::delete(service, &alias).map(done),
        R::AliasList { key } => aliases::list(service, key.as_deref()).map(AdminReply::Aliases),
        R::Encrypt(request) => envelope::encrypt(service, &request).map(AdminReply::Encrypted),
        R::Decrypt(request) => envelope::decrypt(service, &request).map(AdminReply::Decrypted),
        R::ReEncrypt(request) => envelope::re_encrypt(service, &request).map(AdminReply::ReEncrypted),
        R::ReEncryptBatch(items) => envelope::re_encrypt_batch(service, &items).map(AdminReply::ReEncryptedBatch),
        R::GenerateDataKey(request) => envelope::generate_data_key(service, &request).map(AdminReply::DataKey),
        R::Sign(request) => asymmetric::sign(service, &request).map(AdminReply::Signature),
        R::Verify(request) => asymmetric::verify(service, &request).map(AdminReply::Verified),
        R::AsymmetricEncrypt(request) => asymmetric::encrypt(service, &request).map(AdminReply::AsymmetricEncrypted),
        R::AsymmetricDecrypt(request) => asymmetric::decrypt(service, &request).map(AdminReply::AsymmetricDecrypted),
        R::GetPublicKey { key, key_version_id } => {
            asymmetric::public_key(service, &key, key_version_id.as_deref()).map(AdminReply::PublicKey)
        }
        R::ClockShow => clock::show(service),
        R::ClockAdvance { seconds } => clock::advance(service, seconds),
        R::ClockSet { time } => clock::set(service, time),
        R::ConnectionList => Ok(AdminReply::Connections(service.connections.list())),
        R::ClusterVerify { name } => cluster_sync::verify(service, &name).map(AdminReply::ClusterVerification),
        R::ClusterResync { name } => cluster_sync::heal(service, &name).map(AdminReply::Resynced),
        R::ClusterAddMember { name } => cluster_members::add_member(service, &name).map(AdminReply::Cluster),
        R::ClusterRemoveMember { name, index } => {
            cluster_members::remove_member(service, &name, index).map(AdminReply::Cluster)
        }
        R::ClusterImageCreate { name } => images::create(service, &name).map(AdminReply::Image),
        R::ClusterImageList { name } => images::list(service, name.as_deref()).map(AdminReply::Images),
        R::ClusterRestore { image_id, name, members } => {
            images::restore(service, &image_id, &name, members).map(AdminReply::Cluster)
        }
        R::InstanceAttachCluster { instance, cluster } => {
            images::attach(service, &instance, &cluster).map(AdminReply::Instance)
        }
        R::ClusterCreate { name, members } => cluster_members::create(service, &name, members).map(AdminReply::Cluster),
        R::InstanceCreate { name, kind, cluster } => {
            crate::kms::instances::create(service, &name, kind, &cluster).map(AdminReply::Instance)
        }
    }
}

//! `p11kms app …`: applications, the PKCS#11 users, and their access
//! policies. `app create` is the only time an app's PIN is ever shown.

use std::io::Read;
use std::path::PathBuf;

use clap::Args;
use p11kms_proto::admin::app::FULL_ACCESS_POLICY;
use p11kms_proto::admin::{AppCreated, AppInfo, CreateAppRequest, ResourceName, UpdateAppPolicyRequest, op};

use super::{Invocation, RenderError, RequestError, subcommands};
use crate::output::{self, Fields, Format, Table, or_dash};

subcommands! {
    /// Operations on applications.
    pub enum AppCommand {
        /// Creates an app and prints its PIN, once.
        Create(CreateAppArgs),
        /// Lists the apps.
        List(ListAppsArgs),
        /// Shows one app.
        Describe(DescribeAppArgs),
        /// Deletes an app; its PIN stops working at once.
        Delete(DeleteAppArgs),
        /// Replaces an app's access policy; open sessions follow it at their next call.
        UpdatePolicy(UpdateAppPolicyArgs),
    }
}

/// Where a policy comes from: `all` (every key and secret of the
/// instance), `-` (standard input) or a JSON file (`docs/policies.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// `all`.
    All,
    /// A file, or standard input for `-`.
    File(PathBuf),
}

fn policy_source(text: &str) -> Result<PolicySource, String> {
    match text {
        "" => Err("a policy is a JSON file, - for standard input, or all".into()),
        "all" => Ok(PolicySource::All),
        path => Ok(PolicySource::File(PathBuf::from(path))),
    }
}

impl PolicySource {
    /// The policy document's text; the daemon checks it.
    fn text(&self) -> Result<String, RequestError> {
        let path = match self {
            Self::All => return Ok(FULL_ACCESS_POLICY.to_owned()),
            Self::File(path) => path,
        };
        let read = |source| RequestError::Read { path: path.clone(), source };
        let mut text = String::new();
        if path.as_os_str() == "-" {
            std::io::stdin().lock().read_to_string(&mut text).map_err(read)?;
        } else {
            text = std::fs::read_to_string(path).map_err(read)?;
        }
        Ok(text)
    }
}

/// `app create NAME --instance I [--policy FILE|-|all]`.
#[derive(Debug, Args)]
pub struct CreateAppArgs {
    /// The new app's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// The instance it may use.
    #[arg(long, value_name = "INSTANCE")]
    instance: String,
    /// Its access policy: a JSON file, - for standard input, or `all` (every
    /// key and secret of the instance). Without one the app may do nothing
    /// until `app update-policy` gives it one.
    #[arg(long, value_name = "FILE|-|all", value_parser = policy_source)]
    policy: Option<PolicySource>,
}

impl Invocation for CreateAppArgs {
    type Op = op::CreateApp;

    fn request(&self) -> Result<CreateAppRequest, RequestError> {
        Ok(CreateAppRequest {
            name: self.name.clone(),
            instance: self.instance.clone(),
            policy: self.policy.as_ref().map(PolicySource::text).transpose()?,
        })
    }

    fn render(&self, created: &AppCreated, format: Format) -> Result<String, RenderError> {
        let without_policy = self.policy.is_none();
        Ok(output::show(format, created, |created| {
            let mut text = created_text(created);
            if without_policy {
                text.push_str(&format!(
                    "\nIt has no policy yet, so it may use no key and read no secret: give it one with\n\
                     p11kms app update-policy {} --policy FILE|all (docs/policies.md).\n",
                    created.app_name
                ));
            }
            text
        })?)
    }
}

/// `app list`.
#[derive(Debug, Args)]
pub struct ListAppsArgs {}

impl Invocation for ListAppsArgs {
    type Op = op::ListApps;

    fn request(&self) -> Result<(), RequestError> {
        Ok(())
    }

    fn render(&self, apps: &Vec<AppInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Apps", apps, table)?)
    }
}

/// `app describe NAME`.
#[derive(Debug, Args)]
pub struct DescribeAppArgs {
    /// App name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for DescribeAppArgs {
    type Op = op::DescribeApp;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, app: &AppInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, app, fields)?)
    }
}

/// `app delete NAME`.
#[derive(Debug, Args)]
pub struct DeleteAppArgs {
    /// App name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for DeleteAppArgs {
    type Op = op::DeleteApp;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Deleted app '{}'.", self.name))?)
    }
}

/// `app update-policy NAME --policy FILE|-|all`.
#[derive(Debug, Args)]
pub struct UpdateAppPolicyArgs {
    /// App name.
    #[arg(value_name = "NAME")]
    name: String,
    /// The new policy: a JSON file, - for standard input, or `all`.
    #[arg(long, value_name = "FILE|-|all", value_parser = policy_source)]
    policy: PolicySource,
}

impl Invocation for UpdateAppPolicyArgs {
    type Op = op::UpdateAppPolicy;

    fn request(&self) -> Result<UpdateAppPolicyRequest, RequestError> {
        Ok(UpdateAppPolicyRequest { name: self.name.clone(), policy: self.policy.text()? })
    }

    fn render(&self, app: &AppInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, app, fields)?)
    }
}

fn created_text(created: &AppCreated) -> String {
    format!(
        "Created app '{}' for instance '{}'.\n\
         \n\
         PIN: {}\n\
         \n\
         This PIN is shown only once: p11kmsd keeps only a hash of it and can never show it again.\n\
         Store it now. To replace it, delete the app and create it again.\n",
        created.app_name,
        created.instance,
        created.pin.expose(),
    )
}

fn table(apps: &[AppInfo]) -> String {
    let mut table = Table::new(&["NAME", "INSTANCE", "CREATED", "FAILED-LOGINS", "LOCKED-UNTIL"]);
    for app in apps {
        table.row(vec![
            app.app_name.clone(),
            app.instance.clone(),
            app.creation_date.to_string(),
            app.failed_logins.to_string(),
            or_dash(app.locked_until.as_ref()),
        ]);
    }
    table.render()
}

fn fields(app: &AppInfo) -> String {
    Fields::new()
        .field("AppName", &app.app_name)
        .field("Instance", &app.instance)
        .field("CreationDate", app.creation_date)
        .field("FailedLogins", app.failed_logins)
        .field("LockedUntil", or_dash(app.locked_until.as_ref()))
        .render()
        + &format!("Policy:\n{}\n", indented_policy(&app.policy))
}

/// The policy as people read it: pretty JSON, indented under its label
/// (as stored if it does not parse, which the daemon never lets happen).
fn indented_policy(policy: &str) -> String {
    let pretty = serde_json::from_str::<serde_json::Value>(policy)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_else(|_| policy.to_owned());
    pretty.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use p11kms_proto::{SecretString, Timestamp};

    use super::super::test_support::{human, json, parsed, refused, render, request};
    use super::*;

    fn created() -> AppCreated {
        AppCreated { app_name: "web".into(), instance: "hsm1".into(), pin: SecretString::new("Zq7-pin".into()) }
    }

    fn app(locked: Option<i64>) -> AppInfo {
        AppInfo {
            app_name: "web".into(),
            instance: "hsm1".into(),
            creation_date: Timestamp(1_700_000_000),
            failed_logins: 2,
            locked_until: locked.map(Timestamp),
            policy: FULL_ACCESS_POLICY.into(),
        }
    }

    #[test]
    fn parses_to_requests() {
        assert_eq!(
            request::<CreateAppArgs>(&["app", "create", "web", "--instance", "hsm1"]),
            CreateAppRequest { name: "web".into(), instance: "hsm1".into(), policy: None }
        );
        assert_eq!(
            request::<CreateAppArgs>(&["app", "create", "web", "--instance", "hsm1", "--policy", "all"]).policy,
            Some(FULL_ACCESS_POLICY.to_owned())
        );
        let file = tempfile::NamedTempFile::new().expect("policy file");
        std::fs::write(file.path(), r#"{"Version":"1","Statement":[]}"#).expect("write");
        let path = file.path().to_str().expect("path");
        assert_eq!(
            request::<UpdateAppPolicyArgs>(&["app", "update-policy", "web", "--policy", path]),
            UpdateAppPolicyRequest { name: "web".into(), policy: r#"{"Version":"1","Statement":[]}"#.into() }
        );
        refused(&["app", "update-policy", "web"]);
        parsed::<ListAppsArgs>(&["app", "list"]);
        assert_eq!(request::<DescribeAppArgs>(&["app", "describe", "web"]), ResourceName { name: "web".into() });
        assert_eq!(request::<DeleteAppArgs>(&["app", "delete", "web"]), ResourceName { name: "web".into() });
        let err = refused(&["app", "create", "web"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--instance"), "{err}");
        refused(&["app", "create", "--instance", "hsm1"]);
        refused(&["app", "delete"]);
    }

    #[test]
    fn create_shows_the_pin_and_says_it_is_shown_once() {
        let text = human::<CreateAppArgs>(&["app", "create", "web", "--instance", "hsm1"], &created());
        assert!(text.contains("\nPIN: Zq7-pin\n"), "{text}");
        assert!(text.contains("shown only once"), "{text}");
    }

    #[test]
    fn create_json_is_the_api_shape() {
        let json = json::<CreateAppArgs>(&["--json", "app", "create", "web", "--instance", "hsm1"], &created());
        assert_eq!(json, serde_json::json!({"AppName": "web", "Instance": "hsm1", "Pin": "Zq7-pin"}));
    }

    #[test]
    fn list_describe_and_delete_print() {
        let text = human::<ListAppsArgs>(&["app", "list"], &vec![app(None), app(Some(1_700_000_600))]);
        assert_eq!(
            text,
            "NAME  INSTANCE  CREATED               FAILED-LOGINS  LOCKED-UNTIL\n\
             web   hsm1      2023-11-14T22:13:20Z  2              -\n\
             web   hsm1      2023-11-14T22:13:20Z  2              2023-11-14T22:23:20Z\n"
        );
        let text = human::<DescribeAppArgs>(&["app", "describe", "web"], &app(None));
        assert!(text.contains("AppName:      web\n") && text.contains("LockedUntil:  -\n"), "{text}");
        assert!(text.contains("Policy:\n  {\n    \"Statement\": ["), "the policy, pretty and indented: {text}");
        let text = human::<DeleteAppArgs>(&["app", "delete", "web"], &());
        assert_eq!(text, "Deleted app 'web'.\n");
        let text = render::<DeleteAppArgs>(&["app", "delete", "web"], &(), Format::Json);
        assert_eq!(text, "{}\n");
    }
}

//! `p11kms app …`: applications, the PKCS#11 users. `app create` is the only
//! time an app's PIN is ever shown.

use clap::Args;
use p11kms_proto::admin::{AppCreated, AppInfo, CreateAppRequest, ResourceName, op};

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
    }
}

/// `app create NAME --instance I`.
#[derive(Debug, Args)]
pub struct CreateAppArgs {
    /// The new app's name.
    #[arg(value_name = "NAME")]
    name: String,
    /// The instance it may use.
    #[arg(long, value_name = "INSTANCE")]
    instance: String,
}

impl Invocation for CreateAppArgs {
    type Op = op::CreateApp;

    fn request(&self) -> Result<CreateAppRequest, RequestError> {
        Ok(CreateAppRequest { name: self.name.clone(), instance: self.instance.clone() })
    }

    fn render(&self, created: &AppCreated, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, created, created_text)?)
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
        }
    }

    #[test]
    fn parses_to_requests() {
        assert_eq!(
            request::<CreateAppArgs>(&["app", "create", "web", "--instance", "hsm1"]),
            CreateAppRequest { name: "web".into(), instance: "hsm1".into() }
        );
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
        let text = human::<DeleteAppArgs>(&["app", "delete", "web"], &());
        assert_eq!(text, "Deleted app 'web'.\n");
        let text = render::<DeleteAppArgs>(&["app", "delete", "web"], &(), Format::Json);
        assert_eq!(text, "{}\n");
    }
}

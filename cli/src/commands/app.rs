//! `p11kms app …`: applications, the PKCS#11 users. `app create` is the only
//! time an app's PIN is ever shown.

use clap::Subcommand;
use p11kms_proto::admin::{AdminReply, AdminRequest, AppCreated, AppInfo};

use super::{RenderError, unexpected};
use crate::output::{self, Fields, Format, Table, or_dash};

/// Operations on applications.
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Creates an app and prints its PIN, once.
    Create {
        /// The new app's name.
        #[arg(value_name = "NAME")]
        name: String,
        /// The instance it may use.
        #[arg(long, value_name = "INSTANCE")]
        instance: String,
    },
    /// Lists the apps.
    List,
    /// Shows one app.
    Describe {
        /// App name.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Deletes an app; its PIN stops working at once.
    Delete {
        /// App name.
        #[arg(value_name = "NAME")]
        name: String,
    },
}

impl AppCommand {
    /// The admin request for this command.
    pub fn request(&self) -> AdminRequest {
        match self {
            Self::Create { name, instance } => {
                AdminRequest::AppCreate { name: name.clone(), instance: instance.clone() }
            }
            Self::List => AdminRequest::AppList,
            Self::Describe { name } => AdminRequest::AppDescribe { name: name.clone() },
            Self::Delete { name } => AdminRequest::AppDelete { name: name.clone() },
        }
    }

    /// The text to print for the reply.
    pub fn render(&self, reply: AdminReply, format: Format) -> Result<String, RenderError> {
        match (self, reply) {
            (Self::Create { .. }, AdminReply::AppCreated(created)) => Ok(output::show(format, &created, created_text)?),
            (Self::List, AdminReply::Apps(apps)) => Ok(output::show_list(format, "Apps", &apps, table)?),
            (Self::Describe { .. }, AdminReply::App(app)) => Ok(output::show(format, &app, fields)?),
            (Self::Delete { name }, AdminReply::Done) => Ok(output::done(format, &format!("Deleted app '{name}'."))?),
            (command, other) => Err(unexpected(command.operation(), &other)),
        }
    }

    fn operation(&self) -> &'static str {
        match self {
            Self::Create { .. } => "app create",
            Self::List => "app list",
            Self::Describe { .. } => "app describe",
            Self::Delete { .. } => "app delete",
        }
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

    use super::super::test_support::{command, refused};
    use super::*;

    fn created() -> AdminReply {
        AdminReply::AppCreated(AppCreated {
            app_name: "web".into(),
            instance: "hsm1".into(),
            pin: SecretString::new("Zq7-pin".into()),
        })
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
            command(&["app", "create", "web", "--instance", "hsm1"]).request().expect("request"),
            AdminRequest::AppCreate { name: "web".into(), instance: "hsm1".into() }
        );
        assert_eq!(command(&["app", "list"]).request().expect("request"), AdminRequest::AppList);
        assert_eq!(
            command(&["app", "describe", "web"]).request().expect("request"),
            AdminRequest::AppDescribe { name: "web".into() }
        );
        assert_eq!(
            command(&["app", "delete", "web"]).request().expect("request"),
            AdminRequest::AppDelete { name: "web".into() }
        );
        let err = refused(&["app", "create", "web"]);
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--instance"), "{err}");
        refused(&["app", "create", "--instance", "hsm1"]);
        refused(&["app", "delete"]);
    }

    #[test]
    fn create_shows_the_pin_and_says_it_is_shown_once() {
        let text =
            command(&["app", "create", "web", "--instance", "hsm1"]).render(created(), Format::Human).expect("renders");
        assert!(text.contains("\nPIN: Zq7-pin\n"), "{text}");
        assert!(text.contains("shown only once"), "{text}");
    }

    #[test]
    fn create_json_is_the_api_shape() {
        let text = command(&["--json", "app", "create", "web", "--instance", "hsm1"])
            .render(created(), Format::Json)
            .expect("renders");
        let json: serde_json::Value = serde_json::from_str(&text).expect("valid json");
        assert_eq!(json, serde_json::json!({"AppName": "web", "Instance": "hsm1", "Pin": "Zq7-pin"}));
    }

    #[test]
    fn list_describe_and_delete_print() {
        let text = command(&["app", "list"])
            .render(AdminReply::Apps(vec![app(None), app(Some(1_700_000_600))]), Format::Human)
            .expect("renders");
        assert_eq!(
            text,
            "NAME  INSTANCE  CREATED               FAILED-LOGINS  LOCKED-UNTIL\n\
             web   hsm1      2023-11-14T22:13:20Z  2              -\n\
             web   hsm1      2023-11-14T22:13:20Z  2              2023-11-14T22:23:20Z\n"
        );
        let text =
            command(&["app", "describe", "web"]).render(AdminReply::App(app(None)), Format::Human).expect("renders");
        assert!(text.contains("AppName:      web\n") && text.contains("LockedUntil:  -\n"), "{text}");
        let text = command(&["app", "delete", "web"]).render(AdminReply::Done, Format::Human).expect("renders");
        assert_eq!(text, "Deleted app 'web'.\n");
        let text = command(&["app", "delete", "web"]).render(AdminReply::Done, Format::Json).expect("renders");
        assert_eq!(text, "{}\n");
        assert!(command(&["app", "delete", "web"]).render(created(), Format::Human).is_err());
    }
}

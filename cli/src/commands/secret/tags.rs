//! `secret tag` and `secret untag`: extra commands (not entries of the
//! operation table) that send TagResource and UntagResource naming a
//! secret, as `key tag` and `key untag` send them naming a key.

use clap::Args;
use p11kms_proto::admin::{Tag, TagResourceRequest, TaggedResource, UntagResourceRequest, op};

use super::super::{Invocation, RenderError, RequestError, values};
use crate::output::{self, Format};

/// `secret tag NAME --tag K=V ...`.
#[derive(Debug, Args)]
pub struct SecretTagArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// A tag, KEY=VALUE (repeat for more).
    #[arg(long = "tag", value_name = "KEY=VALUE", required = true, value_parser = values::tag)]
    tags: Vec<Tag>,
}

impl Invocation for SecretTagArgs {
    type Op = op::TagResource;
    const COMMAND: &'static [&'static str] = &["secret", "tag"];

    fn request(&self) -> Result<TagResourceRequest, RequestError> {
        Ok(TagResourceRequest { resource: TaggedResource::Secret(self.secret_name.clone()), tags: self.tags.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Secret '{}' tagged.", self.secret_name))?)
    }
}

/// `secret untag NAME --tag-key K ...`.
#[derive(Debug, Args)]
pub struct SecretUntagArgs {
    /// The secret.
    #[arg(value_name = "NAME")]
    secret_name: String,
    /// A tag key to remove (repeat for more).
    #[arg(long = "tag-key", value_name = "KEY", required = true)]
    tag_keys: Vec<String>,
}

impl Invocation for SecretUntagArgs {
    type Op = op::UntagResource;
    const COMMAND: &'static [&'static str] = &["secret", "untag"];

    fn request(&self) -> Result<UntagResourceRequest, RequestError> {
        Ok(UntagResourceRequest {
            resource: TaggedResource::Secret(self.secret_name.clone()),
            tag_keys: self.tag_keys.clone(),
        })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Tags removed from secret '{}'.", self.secret_name))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{done, refused, request};
    use super::*;

    #[test]
    fn secret_tags_send_the_tag_operations_naming_the_secret() {
        assert_eq!(
            request::<SecretTagArgs>(&["secret", "tag", "db", "--tag", "team=pay"]),
            TagResourceRequest {
                resource: TaggedResource::Secret("db".into()),
                tags: vec![Tag { tag_key: "team".into(), tag_value: "pay".into() }],
            }
        );
        assert_eq!(
            request::<SecretUntagArgs>(&["secret", "untag", "db", "--tag-key", "team"]),
            UntagResourceRequest { resource: TaggedResource::Secret("db".into()), tag_keys: vec!["team".into()] }
        );
        assert_eq!(done::<SecretTagArgs>(&["secret", "tag", "db", "--tag", "a=b"]).0, "Secret 'db' tagged.\n");
        refused(&["secret", "tag", "db"]);
    }
}

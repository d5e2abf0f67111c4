//! A key's tags: `key tag` adds or changes them, `key untag` removes them.

use clap::Args;
use p11kms_proto::admin::{Tag, TagResourceRequest, TaggedResource, UntagResourceRequest, op};

use super::super::{Invocation, RenderError, RequestError, values};
use crate::output::{self, Format};

/// `key tag KEY --tag K=V ...`.
#[derive(Debug, Args)]
pub struct TagResourceArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// A tag, KEY=VALUE (repeat for more).
    #[arg(long = "tag", value_name = "KEY=VALUE", required = true, value_parser = values::tag)]
    tags: Vec<Tag>,
}

impl Invocation for TagResourceArgs {
    type Op = op::TagResource;

    fn request(&self) -> Result<TagResourceRequest, RequestError> {
        Ok(TagResourceRequest { resource: TaggedResource::Key(self.key.clone()), tags: self.tags.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Key '{}' tagged.", self.key))?)
    }
}

/// `key untag KEY --tag-key K ...`.
#[derive(Debug, Args)]
pub struct UntagResourceArgs {
    /// Key id or alias.
    #[arg(value_name = "KEY")]
    key: String,
    /// A tag key to remove (repeat for more).
    #[arg(long = "tag-key", value_name = "KEY", required = true)]
    tag_keys: Vec<String>,
}

impl Invocation for UntagResourceArgs {
    type Op = op::UntagResource;

    fn request(&self) -> Result<UntagResourceRequest, RequestError> {
        Ok(UntagResourceRequest { resource: TaggedResource::Key(self.key.clone()), tag_keys: self.tag_keys.clone() })
    }

    fn render(&self, (): &(), format: Format) -> Result<String, RenderError> {
        Ok(output::done(format, &format!("Tags removed from key '{}'.", self.key))?)
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::test_support::{refused, request};
    use super::*;

    #[test]
    fn tag_commands_parse_to_requests() {
        assert_eq!(
            request::<TagResourceArgs>(&[
                "key", "tag", "k", "--tag", "env=prod", "--tag", "url=a=b", "--tag", "empty="
            ]),
            TagResourceRequest {
                resource: TaggedResource::Key("k".into()),
                tags: vec![
                    Tag { tag_key: "env".into(), tag_value: "prod".into() },
                    Tag { tag_key: "url".into(), tag_value: "a=b".into() },
                    Tag { tag_key: "empty".into(), tag_value: String::new() },
                ],
            }
        );
        let err = refused(&["key", "tag", "k", "--tag", "no-equals"]);
        assert!(err.to_string().contains("KEY=VALUE"), "{err}");
        refused(&["key", "tag", "k", "--tag", "=value"]);
        refused(&["key", "tag", "k"]);
        refused(&["key", "create", "--instance", "i", "--key-spec", "AES_256", "--tag", "x"]);
        assert_eq!(
            request::<UntagResourceArgs>(&["key", "untag", "k", "--tag-key", "a", "--tag-key", "b"]),
            UntagResourceRequest { resource: TaggedResource::Key("k".into()), tag_keys: vec!["a".into(), "b".into()] }
        );
        refused(&["key", "untag", "k"]);
    }
}

//! Mirror images of a cluster and restoring from them: `cluster image
//! create | list`, `cluster restore`.

use clap::Args;
use p11kms_proto::admin::{
    ClusterStatus, ImageInfo, ListClusterImagesRequest, ResourceName, RestoreClusterRequest, op,
};

use super::super::{Invocation, RenderError, RequestError};
use super::status::status_text;
use crate::output::{self, Fields, Format, Table, or_dash};

/// `cluster image create NAME`.
#[derive(Debug, Args)]
pub struct CreateClusterImageArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: String,
}

impl Invocation for CreateClusterImageArgs {
    type Op = op::CreateClusterImage;

    fn request(&self) -> Result<ResourceName, RequestError> {
        Ok(ResourceName { name: self.name.clone() })
    }

    fn render(&self, image: &ImageInfo, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, image, image_fields)?)
    }
}

/// `cluster image list [NAME]`.
#[derive(Debug, Args)]
pub struct ListClusterImagesArgs {
    /// Cluster name.
    #[arg(value_name = "NAME")]
    name: Option<String>,
}

impl Invocation for ListClusterImagesArgs {
    type Op = op::ListClusterImages;

    fn request(&self) -> Result<ListClusterImagesRequest, RequestError> {
        Ok(ListClusterImagesRequest { name: self.name.clone() })
    }

    fn render(&self, images: &Vec<ImageInfo>, format: Format) -> Result<String, RenderError> {
        Ok(output::show_list(format, "Images", images, image_table)?)
    }
}

/// `cluster restore --image ID --name NEW --members N`.
#[derive(Debug, Args)]
pub struct RestoreClusterArgs {
    /// The image (`cluster image list`).
    #[arg(long, value_name = "ID")]
    image: String,
    /// Name of the new cluster; an existing cluster is refused.
    #[arg(long, value_name = "NEW")]
    name: String,
    /// Members of the new cluster (at least 2).
    #[arg(long, value_name = "N", default_value_t = 3)]
    members: u32,
}

impl Invocation for RestoreClusterArgs {
    type Op = op::RestoreCluster;

    fn request(&self) -> Result<RestoreClusterRequest, RequestError> {
        Ok(RestoreClusterRequest { image_id: self.image.clone(), name: self.name.clone(), members: self.members })
    }

    fn render(&self, status: &ClusterStatus, format: Format) -> Result<String, RenderError> {
        Ok(output::show(format, status, status_text)?)
    }
}

fn image_fields(image: &ImageInfo) -> String {
    Fields::new()
        .field("ImageId", &image.image_id)
        .field("ClusterName", &image.cluster_name)
        .field("CreationDate", image.creation_date)
        .field("Versions", image.versions)
        .field("Sha256", &image.sha256)
        .field("Intact", if image.intact { "yes" } else { "NO" })
        .field("Format", image.format)
        .field("Damage", or_dash(image.damage.as_ref()))
        .render()
}

fn image_table(images: &[ImageInfo]) -> String {
    let mut table = Table::new(&["IMAGE", "CLUSTER", "CREATED", "VERSIONS", "INTACT", "SHA256", "DAMAGE"]);
    for image in images {
        table.row(vec![
            image.image_id.clone(),
            image.cluster_name.clone(),
            image.creation_date.to_string(),
            image.versions.to_string(),
            if image.intact { "yes" } else { "NO" }.to_owned(),
            image.sha256.clone(),
            or_dash(image.damage.as_ref()),
        ]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use p11kms_proto::Timestamp;

    use super::super::super::test_support::{human, json, refused, request};
    use super::*;

    fn image(intact: bool) -> ImageInfo {
        ImageInfo {
            image_id: "img-1".into(),
            cluster_name: "c1".into(),
            creation_date: Timestamp(1_700_000_000),
            versions: 4,
            sha256: "ab".repeat(4),
            intact,
            damage: (!intact).then(|| "its MAC does not verify".into()),
            format: 2,
        }
    }

    #[test]
    fn image_commands_parse_to_requests() {
        assert_eq!(
            request::<CreateClusterImageArgs>(&["cluster", "image", "create", "c1"]),
            ResourceName { name: "c1".into() }
        );
        assert_eq!(
            request::<ListClusterImagesArgs>(&["cluster", "image", "list"]),
            ListClusterImagesRequest { name: None }
        );
        assert_eq!(
            request::<ListClusterImagesArgs>(&["cluster", "image", "list", "c1"]),
            ListClusterImagesRequest { name: Some("c1".into()) }
        );
        assert_eq!(
            request::<RestoreClusterArgs>(&["cluster", "restore", "--image", "img-1", "--name", "c2"]),
            RestoreClusterRequest { image_id: "img-1".into(), name: "c2".into(), members: 3 }
        );
        refused(&["cluster", "image"]);
        refused(&["cluster", "restore", "--image", "img-1"]);
    }

    #[test]
    fn images_print_as_fields_and_as_a_table() {
        assert_eq!(
            human::<CreateClusterImageArgs>(&["cluster", "image", "create", "c1"], &image(true)),
            "ImageId:      img-1\nClusterName:  c1\nCreationDate: 2023-11-14T22:13:20Z\nVersions:     4\n\
             Sha256:       abababab\nIntact:       yes\nFormat:       2\nDamage:       -\n"
        );
        let list = &["cluster", "image", "list"];
        assert_eq!(
            human::<ListClusterImagesArgs>(list, &vec![image(false)]),
            "IMAGE  CLUSTER  CREATED               VERSIONS  INTACT  SHA256    DAMAGE\n\
             img-1  c1       2023-11-14T22:13:20Z  4         NO      abababab  its MAC does not verify\n"
        );
        let json = json::<ListClusterImagesArgs>(list, &vec![image(true)]);
        assert_eq!((json["Images"][0]["Intact"].clone(), json["TotalCount"].clone()), (true.into(), 1.into()));
    }
}

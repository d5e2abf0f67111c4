//! Mirror images are authenticated by a MAC made inside an HSM, and a
//! restore checks what it rebuilds:
//!
//! * whoever can write the image files swaps an EC version's public key and
//!   recomputes the SHA-256 manifest: the MAC does not verify, the image is
//!   listed as damaged (saying why) and refused;
//! * even with the backup root key (so with a MAC that verifies), a public
//!   key that is not the store's is refused, a private key that is not the
//!   public key's other half is refused inside the HSM, and a wrapped key
//!   that does not unwrap is reported as damage;
//! * a failed restore leaves no token and no PIN file behind, and its name
//!   can be used again;
//! * a damaged file is listed with what is still known of it (cluster,
//!   date, why), and a format-1 image (manifest only) is never restored.
//!
//! The attacker's side (digests, the MAC with the root key) is done with
//! SoftHSM in the test process, on the daemon's own token files.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::Session;
use serde_json::Value;

use p11kms_proto::bytes::{from_base64, to_base64};
use p11kms_tests::{Daemon, MemberTokens};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

/// The files of one image and an attacker who can write them.
struct Image<'a> {
    dir: PathBuf,
    id: String,
    original: Vec<u8>,
    original_mac: Vec<u8>,
    session: &'a Session,
}

impl Image<'_> {
    fn path(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}.{suffix}", self.id))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.original).expect("image json")
    }

    /// Writes `bytes` as the image and recomputes the SHA-256 manifest, as
    /// anyone who can write the files can.
    fn write(&self, bytes: &[u8]) {
        std::fs::write(self.path("json"), bytes).expect("write image");
        let digest = self.session.digest(&Mechanism::Sha256, bytes).expect("sha256");
        std::fs::write(self.path("sha256"), hex(&digest)).expect("write manifest");
    }

    /// Also recomputes the MAC, as only someone holding the backup root key
    /// can: the image's MAC key unwrapped under it inside SoftHSM.
    fn write_with_root_key(&self, daemon: &Daemon, image: &Value) {
        let bytes = serde_json::to_vec_pretty(image).expect("json");
        self.write(&bytes);
        let root_hex = std::fs::read_to_string(daemon.state_dir().join("secrets/backup-root.key")).expect("root key");
        let root = self
            .session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Unwrap(true),
                Attribute::Value(unhex(root_hex.trim())),
            ])
            .expect("root key object");
        let wrapped = from_base64(image["mac_key"].as_str().expect("mac_key")).expect("base64");
        let mac_key = self
            .session
            .unwrap_key(
                &Mechanism::AesKeyWrapPad,
                root,
                &wrapped,
                &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::GENERIC_SECRET),
                    Attribute::Token(false),
                    Attribute::Sign(true),
                ],
            )
            .expect("the MAC key unwraps under the root key");
        let tag = self.session.sign(&Mechanism::Sha256Hmac, mac_key, &bytes).expect("hmac");
        std::fs::write(self.path("mac"), hex(&tag)).expect("write mac");
    }

    fn put_back(&self) {
        self.write(&self.original);
        std::fs::write(self.path("mac"), &self.original_mac).expect("write mac");
    }
}

fn version<'v>(image: &'v mut Value, key: &str) -> &'v mut Value {
    image["versions"]
        .as_array_mut()
        .expect("versions")
        .iter_mut()
        .find(|v| v["label"].as_str().is_some_and(|l| l.starts_with(key)))
        .expect("the key's version")
}

fn listed(daemon: &Daemon, id: &str) -> Value {
    let list = daemon.cli_json(&["cluster", "image", "list"]);
    list["Images"].as_array().expect("images").iter().find(|i| i["ImageId"] == id).cloned().expect("listed")
}

/// What a restore leaves in the state directory: token directories and
/// PIN files.
fn footprint(daemon: &Daemon) -> (usize, usize) {
    let count = |dir: PathBuf| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    (count(daemon.state_dir().join("clusters/hsm1/tokens")), count(daemon.state_dir().join("secrets")))
}

/// Restores `id` as `hsm1x`, expects a refusal containing every `words`,
/// and checks it left nothing behind.
fn refused(daemon: &Daemon, id: &str, words: &[&str]) {
    let before = footprint(daemon);
    let (code, _, err) =
        daemon.cli_outcome(&["cluster", "restore", "--image", id, "--name", "hsm1x", "--members", "2"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.starts_with("InvalidParameter: "), "{err}");
    for word in words {
        assert!(err.contains(word), "'{word}' in: {err}");
    }
    assert_eq!(footprint(daemon), before, "a refused restore leaves no token and no PIN file: {err}");
    assert!(
        daemon.cli_json(&["cluster", "list"])["Clusters"]
            .as_array()
            .expect("list")
            .iter()
            .all(|c| c["ClusterName"] != "hsm1x")
    );
}

#[test]
fn images_that_were_altered_or_damaged_are_refused_and_leave_nothing_behind() {
    let daemon = Daemon::start();
    let a = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/ec-a"]);
    let b = daemon.create_key(&["--key-spec", "EC_P256", "--alias", "alias/ec-b"]);
    let aes = daemon.create_key(&["--key-spec", "AES_256", "--alias", "alias/aes"]);
    let id = daemon.cli_json(&["cluster", "image", "create", "hsm1"])["ImageId"].as_str().expect("id").to_owned();
    let tokens = MemberTokens::open(&daemon);
    let session = tokens.session(0);
    let dir = daemon.state_dir().join("images");
    let original = std::fs::read(dir.join(format!("{id}.json"))).expect("image");
    let original_mac = std::fs::read(dir.join(format!("{id}.mac"))).expect("mac");
    let image = Image { dir, id: id.clone(), original, original_mac, session: &session };
    assert_eq!(image.json()["format"], 2);
    assert_eq!(listed(&daemon, &id)["Intact"], true);

    // 1. A public key swapped, the manifest recomputed: the MAC says no.
    let mut swapped = image.json();
    let b_public = version(&mut swapped, &b)["public"].clone();
    version(&mut swapped, &a)["public"] = b_public;
    image.write(&serde_json::to_vec_pretty(&swapped).expect("json"));
    let shown = listed(&daemon, &id);
    assert_eq!((shown["Intact"].as_bool(), shown["ClusterName"].as_str()), (Some(false), Some("hsm1")), "{shown}");
    assert!(shown["Damage"].as_str().expect("why").contains("MAC does not verify"), "{shown}");
    refused(&daemon, &id, &["damaged", "MAC does not verify"]);

    // 2. The same with the root key (a MAC that verifies): not the
    // store's public key.
    image.write_with_root_key(&daemon, &swapped);
    assert_eq!(listed(&daemon, &id)["Intact"], true, "the MAC verifies");
    refused(&daemon, &id, &["disagrees with the store", "public key", &a]);

    // 3. A private key swapped for another (root key again): the HSM finds
    // that it is not the public key's other half, after tokens were made.
    let mut private_swapped = image.json();
    let b_wrapped = version(&mut private_swapped, &b)["wrapped"].clone();
    version(&mut private_swapped, &a)["wrapped"] = b_wrapped;
    image.write_with_root_key(&daemon, &private_swapped);
    refused(&daemon, &id, &["does not belong to the private key", &a]);

    // 4. A wrapped key damaged (root key again): said to be damage.
    let mut damaged = image.json();
    let wrapped = from_base64(version(&mut damaged, &aes)["wrapped"].as_str().expect("wrapped")).expect("base64");
    let mut bytes = wrapped.clone();
    bytes[10] ^= 0x01;
    version(&mut damaged, &aes)["wrapped"] = Value::String(to_base64(&bytes));
    image.write_with_root_key(&daemon, &damaged);
    refused(&daemon, &id, &["is damaged", "does not unwrap", &aes]);

    // 5. A file cut in half: listed with what it still says.
    let half = &image.original[..image.original.len() / 2];
    std::fs::write(image.path("json"), half).expect("cut");
    let shown = listed(&daemon, &id);
    assert_eq!(shown["Intact"], false, "{shown}");
    assert_eq!(shown["ClusterName"], "hsm1", "{shown}");
    assert_ne!(shown["CreationDate"], "1970-01-01T00:00:00Z", "{shown}");
    assert!(shown["Damage"].as_str().expect("why").contains("manifest"), "{shown}");
    let (_, table, _) = daemon.cli_outcome(&["cluster", "image", "list", "hsm1"]);
    assert!(table.contains(&id) && table.contains("hsm1") && table.contains("manifest"), "{table}");
    refused(&daemon, &id, &["damaged", "manifest"]);

    // 6. A format-1 image (manifest only) is listed, never restored.
    let mut old = image.json();
    old["format"] = 1.into();
    old.as_object_mut().expect("object").remove("mac_key");
    image.write(&serde_json::to_vec_pretty(&old).expect("json"));
    let shown = listed(&daemon, &id);
    assert_eq!((shown["Format"].as_u64(), shown["Intact"].as_bool()), (Some(1), Some(true)), "{shown}");
    refused(&daemon, &id, &["format 1", "not restored"]);

    // The genuine image restores, under the name the failures left free.
    image.put_back();
    assert_eq!(listed(&daemon, &id)["Intact"], true);
    let restored = daemon.cli_json(&["cluster", "restore", "--image", &id, "--name", "hsm1x", "--members", "2"]);
    assert_eq!(restored["Members"].as_array().expect("members").len(), 2, "{restored}");
    daemon.cli_json(&["instance", "attach-cluster", "hsm1", "hsm1x"]);
    let version_a = daemon.key_field(&a, "KeyMetadata.PrimaryKeyVersion").as_str().expect("v").to_owned();
    let args = ["--key-id", &a, "--key-version-id", &version_a, "--algorithm", "ECDSA_SHA_256", "--message", "m"];
    let signature = daemon.cli_json(&[&["sign"][..], &args[..]].concat())["Value"].as_str().expect("sig").to_owned();
    let verified = daemon.cli_json(&[&["verify"][..], &args[..], &["--value", &signature]].concat());
    assert_eq!(verified["Value"], true);
    // The tokens the failed restores removed stay gone after a restart.
    let mut daemon = daemon;
    daemon.restart();
    let verified = daemon.cli_json(&[&["verify"][..], &args[..], &["--value", &signature]].concat());
    assert_eq!(verified["Value"], true);
    let (code, out, _) = daemon.cli_outcome(&["cluster", "verify", "hsm1x"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(!daemon.log().contains("ERROR"), "{}", daemon.log());
}

//! The sessions documents show (`README.md`, `docs/migration.md`,
//! `docs/backups.md`): reading a block out of a document, and running it
//! as a reader pastes it.

use std::path::Path;
use std::process::{Command, Output};

use crate::{Daemon, profile_dir};

/// The `sh` block after the `<!-- MARKER` comment of the repository's
/// file `doc` (`README.md`, `docs/migration.md`): the sessions documents
/// show, which tests run as written.
pub fn sh_block(doc: &str, marker: &str) -> String {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(doc)).expect("the document");
    let after_marker = text.split(&format!("<!-- {marker}")).nth(1).expect("the block's marker");
    let start = after_marker.find("```sh\n").expect("a sh block after the marker") + "```sh\n".len();
    let length = after_marker[start..].find("```").expect("the block's end");
    after_marker[start..start + length].to_owned()
}

/// Runs `script` in bash (`-euo pipefail`, at most 120 s) in a fresh
/// directory where `p11kms-state` is `daemon`'s state directory and
/// `target/release` this build's binaries, as a reader pastes a session
/// of a document; without the sockets' environment variables, which the
/// session sets itself.
pub fn run_session(daemon: &Daemon, script: &str) -> Output {
    use std::os::unix::fs::symlink;
    let work = tempfile::tempdir().expect("work dir");
    symlink(daemon.state_dir(), work.path().join("p11kms-state")).expect("state link");
    std::fs::create_dir(work.path().join("target")).expect("target dir");
    symlink(profile_dir(), work.path().join("target/release")).expect("binaries link");
    Command::new("timeout")
        .args(["120", "bash", "-euo", "pipefail", "-c", script])
        .current_dir(work.path())
        .env_remove("P11KMS_SOCKET")
        .env_remove("P11KMS_ADMIN_SOCKET")
        .output()
        .expect("bash")
}

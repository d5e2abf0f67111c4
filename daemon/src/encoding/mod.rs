//! Byte-level encodings the KMS operations need around the HSM, pure
//! functions over bytes with no PKCS#11 in them:
//!
//! - [`der`]: X.509 SubjectPublicKeyInfo for RSA and EC public keys from
//!   their PKCS#11 attributes, and PEM armour, for `get-public-key` and
//!   the import parameters.
//! - [`signature`]: ECDSA signatures between PKCS#11's raw `r || s` and
//!   DER, and the DigestInfo that RSASSA-PKCS1-v1_5 signs over a SHA-256
//!   digest.
//! - [`oaep`]: RSAES-OAEP encoding and decoding in software, for hashes
//!   the HSM does not do with `CKM_RSA_PKCS_OAEP` itself.

pub mod der;
pub mod oaep;
pub mod signature;

pub use der::{DerError, ec_spki, pem, rsa_public_from_spki, rsa_spki};
pub use oaep::{OaepError, OaepHash, max_message_len, oaep_decode, oaep_encode, random_seed};
pub use signature::{ecdsa_der_from_raw, ecdsa_raw_from_der, pkcs1_sha256_digest_info};

/// The tests compare with the `openssl` command: it is the reference the
/// clients of the KMS API use.
#[cfg(test)]
mod test_openssl {
    #![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

    use std::path::Path;
    use std::process::Command;

    /// Runs `openssl` in a temporary directory of its own.
    pub(super) struct OpenSsl {
        dir: tempfile::TempDir,
    }

    impl OpenSsl {
        pub(super) fn new() -> Self {
            Self { dir: tempfile::Builder::new().prefix("p11kms-encoding-").tempdir().expect("temporary directory") }
        }

        fn path(&self, name: &str) -> std::path::PathBuf {
            self.dir.path().join(Path::new(name))
        }

        /// The standard output of `openssl args`, which must succeed.
        pub(super) fn run(&self, args: &[&str]) -> Vec<u8> {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(self.dir.path())
                .output()
                .expect("the openssl command runs (is it installed?)");
            assert!(
                output.status.success(),
                "openssl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }

        pub(super) fn write(&self, name: &str, bytes: &[u8]) {
            std::fs::write(self.path(name), bytes).expect("write a file for openssl");
        }
    }

    /// Bytes from hex digits, ignoring anything else (spaces, colons).
    pub(super) fn unhex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> =
            text.chars().filter_map(|c| c.to_digit(16)).map(|d| u8::try_from(d).expect("a hex digit")).collect();
        assert!(digits.len() % 2 == 0, "an even number of hex digits");
        digits.chunks(2).map(|pair| (pair[0] << 4) | pair[1]).collect()
    }

    /// The hex dump openssl's `-text` prints in the indented lines after
    /// the line `header` (as `Modulus:` or `pub:`).
    pub(super) fn hex_after(text: &str, header: &str) -> Vec<u8> {
        let mut lines = text.lines().skip_while(|l| l.trim() != header);
        assert!(lines.next().is_some(), "openssl's text has no {header}");
        let dump: String = lines.take_while(|l| l.starts_with(char::is_whitespace)).collect();
        unhex(&dump)
    }
}

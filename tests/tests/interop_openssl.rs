//! OpenSSL 3 with libp11's `pkcs11` engine (`libengine-pkcs11-openssl`
//! 0.4.12, Debian bookworm) loading `libp11kms.so`: certificate requests
//! signed by RSA-2048 and EC P-256 keys held in p11kms, and a TLS server
//! (`openssl s_server`) whose private key is in p11kms completing
//! handshakes with `openssl s_client`. Each test runs its own daemon.
//!
//! The PIN is given with the engine's `PIN` control command in the
//! OpenSSL configuration file (`engine_pin_uri.rs` gives it in the URI's
//! `pin-value`, which the engine caps at 32 characters, as app PINs
//! have). The URI names the token (`token=hsm1`): the label
//! alone matches both p11kms slots, and the engine logs in only when one
//! slot matches.

// Test code: a failed expectation is a failed test, so `expect` and
// `panic!` are the point here.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use p11kms_tests::Daemon;
use p11kms_tests::openssl_engine::{engine_config, engine_openssl};
use p11kms_tests::output::{succeeded, text};

/// `openssl` without the engine, in `dir`: returns the output.
fn plain_openssl(dir: &Path, args: &[&str]) -> Output {
    Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl")
}

/// The engine's URI of a private key of slot 0.
fn key_uri(label: &str) -> String {
    format!("pkcs11:token=hsm1;object={label};type=private")
}

/// Reads a public key through the module, as PEM text.
fn module_public_pem(daemon: &Daemon, label: &str, dir: &Path) -> String {
    let der = dir.join(format!("{label}.pub.der"));
    daemon.pkcs11_tool(&["--read-object", "--type", "pubkey", "--label", label, "-o", der.to_str().expect("path")]);
    let out = plain_openssl(dir, &["pkey", "-pubin", "-inform", "DER", "-in", der.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// Creates the test's keys through the module: an RSA-2048 signing key and
/// an EC P-256 key.
fn make_keys(daemon: &Daemon, pin: &str) {
    let base = ["--login", "--pin", pin, "--keypairgen", "--key-type"];
    let mut rsa = base.to_vec();
    rsa.extend_from_slice(&["rsa:2048", "--label", "tls-rsa", "--usage-sign"]);
    daemon.pkcs11_tool(&rsa);
    let mut ec = base.to_vec();
    ec.extend_from_slice(&["EC:prime256v1", "--label", "tls-ec"]);
    daemon.pkcs11_tool(&ec);
}

#[test]
fn csrs_signed_by_rsa_and_ec_keys_in_p11kms_verify() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("openssl", "hsm1");
    make_keys(&daemon, &pin);
    let dir = tempfile::tempdir().expect("work dir");
    let config = engine_config(dir.path(), Some(&pin));
    for (label, algorithm) in [("tls-rsa", "rsaEncryption"), ("tls-ec", "id-ecPublicKey")] {
        let csr = format!("{label}.csr");
        let uri = key_uri(label);
        let made = engine_openssl(
            &daemon,
            &config,
            dir.path(),
            &["req", "-new", "-engine", "pkcs11", "-keyform", "engine", "-key", &uri, "-subj", "/CN=x", "-out", &csr],
        );
        succeeded(&format!("openssl req -new with {label}"), &made, &daemon);

        let verified = plain_openssl(dir.path(), &["req", "-verify", "-in", &csr, "-noout", "-text"]);
        assert!(verified.status.success(), "{label}: {}", text(&verified.stderr));
        let report = format!("{}{}", text(&verified.stdout), text(&verified.stderr));
        assert!(report.contains("self-signature verify OK"), "{label}: {report}");
        assert!(report.contains(algorithm) && report.contains("Subject: CN = x"), "{label}: {report}");

        // The CSR carries the key that p11kms holds.
        let csr_key = plain_openssl(dir.path(), &["req", "-in", &csr, "-pubkey", "-noout"]);
        assert_eq!(text(&csr_key.stdout), module_public_pem(&daemon, label, dir.path()), "{label}");

        // A CSR altered after signing does not verify.
        let der = plain_openssl(dir.path(), &["req", "-in", &csr, "-outform", "DER"]);
        let mut bytes = der.stdout;
        // The last byte is in the signature.
        *bytes.last_mut().expect("DER") ^= 1;
        std::fs::write(dir.path().join("bad.der"), &bytes).expect("bad csr");
        // (OpenSSL 3.0's `req -verify` exits 0 either way: read its verdict.)
        let bad = plain_openssl(dir.path(), &["req", "-verify", "-inform", "DER", "-in", "bad.der", "-noout"]);
        let verdict = format!("{}{}", text(&bad.stdout), text(&bad.stderr));
        assert!(
            verdict.contains("verify failure") && !verdict.contains("verify OK"),
            "{label}: an altered signature is refused: {verdict}"
        );
    }
}

/// An `openssl s_server` child, killed when dropped.
struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[test]
fn s_server_with_a_p11kms_key_completes_tls_handshakes() {
    let daemon = Daemon::start();
    let pin = daemon.create_app("openssl", "hsm1");
    make_keys(&daemon, &pin);
    let dir = tempfile::tempdir().expect("work dir");
    let config = engine_config(dir.path(), Some(&pin));
    for (label, peer_signature) in
        [("tls-ec", "Peer signature type: ECDSA"), ("tls-rsa", "Peer signature type: RSA-PSS")]
    {
        let cert = format!("{label}.crt");
        let uri = key_uri(label);
        let made = engine_openssl(
            &daemon,
            &config,
            dir.path(),
            &[
                "req",
                "-x509",
                "-new",
                "-engine",
                "pkcs11",
                "-keyform",
                "engine",
                "-key",
                &uri,
                "-subj",
                "/CN=localhost",
                "-days",
                "1",
                "-out",
                &cert,
            ],
        );
        succeeded(&format!("openssl req -x509 with {label}"), &made, &daemon);
        let verified = plain_openssl(dir.path(), &["verify", "-CAfile", &cert, &cert]);
        assert!(verified.status.success(), "{label}: {}", text(&verified.stderr));

        let port = free_port();
        let log = dir.path().join(format!("{label}.server.log"));
        let mut server = Server {
            child: daemon
                .client_command("openssl")
                .args(["s_server", "-engine", "pkcs11", "-keyform", "engine", "-key", &uri, "-cert", &cert])
                .args(["-accept", &format!("127.0.0.1:{port}"), "-www"])
                .env("OPENSSL_CONF", &config)
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).expect("log"))
                .stderr(Stdio::null())
                .spawn()
                .expect("start s_server"),
        };
        // The server prints ACCEPT once it listens, after it loaded the key.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("ACCEPT") {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("s_server exited with {status}: {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }

        let mut client = Command::new("timeout")
            .args(["60", "openssl", "s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &cert])
            .args(["-verify_return_error", "-ign_eof"])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start s_client");
        client.stdin.take().expect("stdin").write_all(b"GET / HTTP/1.0\r\n\r\n").expect("request");
        let out = client.wait_with_output().expect("s_client");
        let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
        println!("===== s_client to the {label} server\n{report}");
        assert!(out.status.success(), "{label}: {report}");
        // The handshake completed, the server's certificate (made with the
        // p11kms key) verified, and the server's handshake signature, made
        // in p11kms, was accepted.
        assert!(report.contains("Verify return code: 0 (ok)"), "{label}: {report}");
        assert!(report.contains(peer_signature), "{label}: {report}");
        assert!(report.contains("HTTP/1.0 200 ok"), "{label}: the server answered over TLS: {report}");
        drop(server);
    }
}

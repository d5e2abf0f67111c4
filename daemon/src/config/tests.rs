//! Unit tests of the configuration: defaults, parsing, range checks.

use super::*;

#[test]
fn empty_file_gives_the_defaults() {
    let config = Config::parse("", Path::new("x.toml")).expect("empty config is valid");
    assert_eq!(config.region, "local");
    assert_eq!(config.bootstrap.hardware_instance, "hsm1");
    assert_eq!(config.bootstrap.mirrors, 2);
    assert_eq!(config.sockets.data_mode, 0o660);
}

#[test]
fn the_shipped_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/p11kmsd.toml");
    Config::load(&path).expect("conf/p11kmsd.toml is valid");
}

#[test]
fn unknown_keys_are_refused() {
    let err = Config::parse("regoin = \"x\"", Path::new("x.toml")).expect_err("typo");
    assert!(err.to_string().contains("regoin"), "{err}");
}

#[test]
fn out_of_range_values_are_refused() {
    for text in [
        "region = \"\"",
        "[sockets]\nmax_body_bytes = 1",
        "[sockets]\nmax_connections = 0",
        "[sockets]\nmax_connections_per_uid = 0",
        "[sockets]\nadmin_max_connections = 0",
        "[sockets]\nadmin_max_connections_per_uid = 0",
        "[sockets]\nhandshake_timeout_seconds = 0",
        "[sockets]\nidle_timeout_seconds = 0",
        "[sockets]\nframe_timeout_seconds = 86401",
        "[sockets]\nmax_unsent_reply_bytes = 1048576",
        "[sockets]\nspin_wait_us = 10001",
        "[bootstrap]\nhardware_instance = \"no spaces\"",
        "[objects]\nsession_bytes_per_uid = 10",
        "[objects]\nsession_bytes_total = 1",
        "[objects]\ntoken_objects_per_instance = 0",
    ] {
        assert!(Config::parse(text, Path::new("x.toml")).is_err(), "{text}");
    }
}

//! p11kmsd entry point.
fn main() {}

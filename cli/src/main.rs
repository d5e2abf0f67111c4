//! p11kms: the operator CLI (being written).
fn main() {}

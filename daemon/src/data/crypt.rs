//! A cryptographic operation with its input, as the data plane's request
//! names it: what `crypto` (HSM slots) and `software` (the default slot)
//! both run.

/// A cryptographic operation with its input.
#[derive(Debug)]
pub enum Crypt<'a> {
    /// `Sign` the data.
    Sign(&'a [u8]),
    /// `Verify` a signature over the data.
    Verify(&'a [u8], &'a [u8]),
    /// `Encrypt` the plaintext.
    Encrypt(&'a [u8]),
    /// `Decrypt` the ciphertext.
    Decrypt(&'a [u8]),
}

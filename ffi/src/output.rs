//! PKCS#11's two-call convention for output buffers, in one place.
//!
//! A caller passes no buffer to learn the length, or a buffer that may be
//! too small. [`OutBuf`] wraps the caller's buffer (if any) and
//! [`OutBuf::deliver`] applies the rules, reporting what happened so the
//! implementation knows whether the operation is over.

/// The caller's output buffer, or its absence (a length query).
#[derive(Debug)]
pub struct OutBuf<'a> {
    buf: Option<&'a mut [u8]>,
}

/// What [`OutBuf::deliver`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// The data was copied; the operation is complete.
    Written(usize),
    /// The caller only asked for the length; the operation stays active.
    LengthOnly(usize),
    /// The buffer was too small (`CKR_BUFFER_TOO_SMALL`); the operation stays
    /// active and the caller learns the length.
    TooSmall(usize),
}

impl<'a> OutBuf<'a> {
    /// A length query: the caller passed a null buffer.
    pub fn query() -> Self {
        Self { buf: None }
    }

    /// The caller's buffer.
    pub fn buffer(buf: &'a mut [u8]) -> Self {
        Self { buf: Some(buf) }
    }

    /// True when the caller only asks for the length.
    pub fn is_query(&self) -> bool {
        self.buf.is_none()
    }

    /// Room in the caller's buffer, `None` for a length query.
    pub fn capacity(&self) -> Option<usize> {
        self.buf.as_ref().map(|b| b.len())
    }

    /// The answer for output of `len` bytes the buffer cannot take (a
    /// length query or a buffer too small), before the output exists;
    /// `None` when it fits.
    pub fn announce(&self, len: usize) -> Option<Delivery> {
        match self.capacity() {
            None => Some(Delivery::LengthOnly(len)),
            Some(room) if room < len => Some(Delivery::TooSmall(len)),
            Some(_) => None,
        }
    }

    /// Hands `data` to the caller under the two-call rules.
    pub fn deliver(&mut self, data: &[u8]) -> Delivery {
        match self.buf.as_deref_mut() {
            None => Delivery::LengthOnly(data.len()),
            Some(buf) if buf.len() < data.len() => Delivery::TooSmall(data.len()),
            Some(buf) => {
                buf[..data.len()].copy_from_slice(data);
                Delivery::Written(data.len())
            }
        }
    }
}

impl Delivery {
    /// The length to report to the caller.
    pub fn len(self) -> usize {
        match self {
            Self::Written(n) | Self::LengthOnly(n) | Self::TooSmall(n) => n,
        }
    }

    /// True when nothing was produced.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// True when the data reached the caller and the operation is over.
    pub fn is_complete(self) -> bool {
        matches!(self, Self::Written(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_call_convention() {
        assert_eq!(OutBuf::query().deliver(b"abcd"), Delivery::LengthOnly(4));
        let mut small = [0u8; 3];
        assert_eq!(OutBuf::buffer(&mut small).deliver(b"abcd"), Delivery::TooSmall(4));
        assert_eq!(small, [0; 3], "a too-small buffer is left untouched");
        let mut big = [0u8; 8];
        let delivery = OutBuf::buffer(&mut big).deliver(b"abcd");
        assert_eq!(delivery, Delivery::Written(4));
        assert!(delivery.is_complete());
        assert_eq!(&big[..4], b"abcd");
        assert_eq!(OutBuf::query().announce(4), Some(Delivery::LengthOnly(4)));
        assert_eq!(OutBuf::buffer(&mut small).announce(4), Some(Delivery::TooSmall(4)));
        assert_eq!(OutBuf::buffer(&mut big).announce(8), None);
    }
}

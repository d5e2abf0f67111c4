//! Buffers that end where an inaccessible page begins: a read or write
//! past their end kills the test process with SIGSEGV instead of passing
//! unnoticed. They stand for the small buffers a caller passes with a
//! length that lies.

use std::ptr::{NonNull, null_mut};

/// `len` bytes that end where readable memory ends, followed by a page
/// that may not be touched. Unmapped when dropped.
#[derive(Debug)]
pub(crate) struct Fenced {
    base: NonNull<u8>,
    len: usize,
    /// Where the fence page starts, from `base`.
    fence: usize,
    page: usize,
}

impl Fenced {
    /// A fenced buffer holding `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> Self {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).expect("page size");
        let fence = bytes.len().div_ceil(page).max(1) * page;
        // SAFETY: an anonymous private mapping of fresh pages.
        let base = unsafe {
            libc::mmap(
                null_mut(),
                fence + page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED, "mmap");
        let base = NonNull::new(base.cast::<u8>()).expect("mapping");
        // SAFETY: the last page belongs to the mapping just made.
        let fenced = unsafe { libc::mprotect(base.as_ptr().add(fence).cast(), page, libc::PROT_NONE) };
        assert_eq!(fenced, 0, "mprotect");
        let buffer = Self { base, len: bytes.len(), fence, page };
        // SAFETY: the buffer's bytes lie in the first, writable page.
        unsafe { buffer.as_mut_ptr().copy_from_nonoverlapping(bytes.as_ptr(), bytes.len()) };
        buffer
    }

    /// The buffer's first byte; the byte after its last is the fence's first.
    pub(crate) fn as_mut_ptr(&self) -> *mut u8 {
        // SAFETY: `fence - len` is inside the readable part of the mapping.
        unsafe { self.base.as_ptr().add(self.fence - self.len) }
    }
}

impl Drop for Fenced {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, used by no one now.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.fence + self.page) };
    }
}

#[test]
fn the_fence_holds_the_bytes_at_the_end_of_the_page() {
    let buffer = Fenced::new(b"abc");
    // SAFETY: reads the three bytes of the buffer.
    let read = unsafe { std::slice::from_raw_parts(buffer.as_mut_ptr(), 3) };
    assert_eq!(read, b"abc");
    assert_eq!((buffer.as_mut_ptr() as usize + 3) % buffer.page, 0, "the next byte is on the fenced page");
}

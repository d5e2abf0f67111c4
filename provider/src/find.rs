//! An object search in progress: the daemon sends every match at
//! `C_FindObjectsInit` (one round trip), and `C_FindObjects` pages through
//! them here.

use p11kms_ffi::sys::CK_OBJECT_HANDLE;

/// The handles found, and how many the application has taken.
#[derive(Debug, Default)]
pub struct FindState {
    handles: Vec<CK_OBJECT_HANDLE>,
    taken: usize,
}

impl FindState {
    /// A search over these results.
    pub fn new(handles: Vec<CK_OBJECT_HANDLE>) -> Self {
        Self { handles, taken: 0 }
    }

    /// Up to `max` handles not returned yet; empty when all were.
    pub fn next(&mut self, max: usize) -> Vec<CK_OBJECT_HANDLE> {
        let rest = self.handles.get(self.taken..).unwrap_or_default();
        let page: Vec<_> = rest.iter().take(max).copied().collect();
        self.taken += page.len();
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_through_the_results() {
        let mut find = FindState::new(vec![1, 2, 3, 4, 5]);
        assert_eq!(find.next(2), vec![1, 2]);
        assert_eq!(find.next(0), Vec::<CK_OBJECT_HANDLE>::new());
        assert_eq!(find.next(2), vec![3, 4]);
        assert_eq!(find.next(10), vec![5]);
        assert!(find.next(10).is_empty());
        assert!(find.next(10).is_empty());
    }
}

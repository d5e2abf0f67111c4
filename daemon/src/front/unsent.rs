//! The reply bytes the daemon holds, all connections together, for peers
//! that do not read them. A tiny request can ask for a reply of megabytes
//! (`GenerateRandom` needs no login); a peer that then does not read it
//! would make the daemon hold it for the frame time limit, and a thousand
//! such peers gigabytes. Over the budget, a reply the socket does not take
//! at once is dropped and its connection closed.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The budget and what is held against it.
#[derive(Debug)]
pub struct UnsentReplies {
    limit: usize,
    held: AtomicUsize,
}

/// A reply's bytes counted against the budget until dropped.
#[derive(Debug)]
pub struct Held<'a> {
    budget: &'a UnsentReplies,
    bytes: usize,
}

impl UnsentReplies {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { limit, held: AtomicUsize::new(0) }
    }

    /// Counts `bytes` against the budget, if they fit.
    pub fn hold(&self, bytes: usize) -> Option<Held<'_>> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .ok()
            .map(|_| Held { budget: self, bytes })
    }

    /// The budget, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_held_within_the_budget_and_released_when_sent() {
        let budget = UnsentReplies::new(10);
        let six = budget.hold(6).expect("fits");
        assert!(budget.hold(5).is_none(), "6 + 5 is over 10");
        let four = budget.hold(4).expect("6 + 4 fits");
        drop(six);
        assert!(budget.hold(6).is_some(), "room again once a reply is gone");
        drop(four);
        assert!(budget.hold(11).is_none(), "never more than the whole budget");
        assert!(budget.hold(usize::MAX).is_none(), "no overflow");
    }
}

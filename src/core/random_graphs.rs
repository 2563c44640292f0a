//! Random revision graphs for the core's property tests.

use crate::core::graph::RevisionMap;
use crate::core::revision::Revision;

/// Xorshift: tiny and seedable, so a failing case can be replayed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// A random graph in creation order: mostly chains, with forks, merges,
/// a few bases and `depends_on` links, then shuffled into map order.
pub(crate) fn random_map(rng: &mut Rng, len: usize) -> RevisionMap {
    let mut revisions: Vec<Revision> = Vec::new();
    for n in 0..len {
        let id = format!("r{n}");
        let mut downs: Vec<String> = Vec::new();
        if n > 0 && rng.below(12) != 0 {
            // Build on something recent, as branches do.
            downs.push(format!("r{}", n - 1 - rng.below(n.min(6))));
            if n > 2 && rng.below(5) == 0 {
                let other = format!("r{}", n - 1 - rng.below(n.min(9)));
                if !downs.contains(&other) {
                    downs.push(other);
                }
            }
        }
        let down_refs: Vec<&str> = downs.iter().map(String::as_str).collect();
        let mut rev = Revision::synthetic(&id, &down_refs);
        if n > 3 && rng.below(6) == 0 {
            rev.depends_on = vec![format!("r{}", rng.below(n))];
        }
        revisions.push(rev);
    }
    for i in (1..revisions.len()).rev() {
        revisions.swap(i, rng.below(i + 1));
    }
    RevisionMap::build(revisions).expect("generated graphs are valid")
}

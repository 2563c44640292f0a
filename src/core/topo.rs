//! The order revisions run in: Alembic's `_topological_sort`, reproduced
//! step for step, without its per-head ancestor sets.
//!
//! Alembic keeps a list of pending heads and a cursor. It follows the head
//! under the cursor down its branch; when the revision there still has
//! another listed head above it, the cursor jumps to the first such head in
//! list order. An emitted revision's head is replaced in place by its first
//! new down revision, further new downs go to the end of the list, and a head
//! with none is removed, the cursor stepping back one place.
//!
//! The costly question is "which listed head, first in list order, lies
//! above revision `c`?". A listed head keeps its place in the list while it
//! moves down, so each list slot gets a key that only grows with list order.
//! Then:
//! - a slot never comes to lie above a revision it was not above before
//!   (slots only move down; new slots get keys larger than any before), so
//!   the answer for `c` only ever moves to later keys, and each revision can
//!   keep a pointer into the key order that only moves forward;
//! - whether a slot lies above `c` is one lookup in the map's reachability
//!   labels.
//!
//! Alongside that scan, a walk up through the pending revisions above `c`
//! answers the same question: it finishes first when little is pending above
//! `c` (a fork point whose branch is all that is left), the scan when much is
//! (a revision deep under a long pending trunk). Both run in lockstep and the
//! first to finish answers.

use crate::core::graph::RevisionMap;
use crate::core::reach::Reachability;

/// Orders `todo` top-down (every revision before its down revisions), from
/// the pending heads `heads`, exactly as Alembic's `_topological_sort` does.
pub(crate) fn topological_order(map: &RevisionMap, todo: &[bool], heads: &[usize]) -> Vec<usize> {
    Sorter::new(map, todo, heads, true).run()
}

/// No slot, no node.
const NONE: u32 = u32::MAX;

struct Sorter<'a> {
    map: &'a RevisionMap,
    /// Whether to use the map's reachability labels (built on first need:
    /// a straight chain never asks).
    use_labels: bool,
    pending: Vec<bool>,
    /// Whether every revision between two pending ones is pending too; then
    /// "a head above `c`" only needs the pending revisions above `c`.
    convex: bool,
    /// Pending revisions built directly on each revision (when convex).
    pending_children: Vec<u32>,
    slots: Slots,
    /// Per revision: the smallest slot key that may still lie above it.
    first_candidate: Vec<u32>,
    walk: PendingWalk,
    /// Scratch list of an emitted revision's new heads.
    additions: Vec<usize>,
}

impl<'a> Sorter<'a> {
    fn new(map: &'a RevisionMap, todo: &[bool], heads: &[usize], use_labels: bool) -> Sorter<'a> {
        let n = map.len();
        let mut pending_children = vec![0u32; n];
        for rev in (0..n).filter(|&r| todo[r]) {
            for &down in map.normalized_down(rev) {
                if todo[down] {
                    pending_children[down] += 1;
                }
            }
        }
        let mut initial: Vec<usize> = heads.iter().copied().filter(|&h| todo[h]).collect();
        initial.sort_unstable();
        initial.dedup();
        let mut slots = Slots::new(n);
        for head in initial {
            slots.push(head);
        }
        Sorter {
            map,
            use_labels,
            pending: todo.to_vec(),
            convex: is_convex(map, todo),
            pending_children,
            slots,
            first_candidate: vec![0; n],
            walk: PendingWalk::new(n),
            additions: Vec::new(),
        }
    }

    fn run(mut self) -> Vec<usize> {
        let mut output = Vec::with_capacity(self.pending.iter().filter(|&&p| p).count());
        let mut at = self.slots.first;
        while at != NONE {
            let candidate = self.slots.node[at as usize];
            if let Some(above) = self.first_slot_above(candidate, at) {
                at = above;
                continue;
            }
            output.push(candidate);
            at = self.emit(candidate, at);
        }
        output
    }

    /// Marks `candidate` done and updates the list; returns the next cursor.
    fn emit(&mut self, candidate: usize, at: u32) -> u32 {
        self.pending[candidate] = false;
        let downs = self.map.normalized_down(candidate);
        // Its down revisions in the todo set are all still pending: nothing
        // below a pending revision is emitted before it.
        for &down in downs.iter().filter(|&&d| self.pending[d]) {
            self.pending_children[down] -= 1;
        }
        let mut additions = std::mem::take(&mut self.additions);
        additions.clear();
        additions.extend(
            downs
                .iter()
                .copied()
                .filter(|&d| self.pending[d] && self.slots.slot_of[d] == NONE),
        );
        let next = match additions.split_first() {
            None => self.slots.remove(at),
            Some((&first, rest)) => {
                self.slots.move_to(at, first);
                for &extra in rest {
                    self.slots.push(extra);
                }
                at
            }
        };
        self.additions = additions;
        next
    }

    /// The first slot, in list order, other than `own` (the slot at `rev`)
    /// holding a revision above `rev`.
    fn first_slot_above(&mut self, rev: usize, own: u32) -> Option<u32> {
        if self.convex && self.pending_children[rev] == 0 {
            return None;
        }
        let labels = if self.use_labels {
            self.map.reachability()
        } else {
            None
        };
        match (labels, self.convex) {
            (Some(reach), true) => self.race(reach, rev, own),
            (Some(reach), false) => {
                let mut scan = Scan::new(self.first_candidate[rev]);
                loop {
                    if let Some(answer) = scan.step(reach, &mut self.slots, rev, own) {
                        self.first_candidate[rev] = scan.next_key;
                        return answer;
                    }
                }
            }
            (None, convex) => {
                self.walk.start(rev);
                while !self
                    .walk
                    .step(self.map, &self.pending, convex, &self.slots, own)
                {}
                self.walk.best()
            }
        }
    }

    /// Runs the key scan and the pending walk in lockstep; the first to
    /// finish answers.
    fn race(&mut self, reach: &Reachability, rev: usize, own: u32) -> Option<u32> {
        let mut scan = Scan::new(self.first_candidate[rev]);
        self.walk.start(rev);
        loop {
            if let Some(answer) = scan.step(reach, &mut self.slots, rev, own) {
                self.first_candidate[rev] = scan.next_key;
                return answer;
            }
            if self
                .walk
                .step(self.map, &self.pending, true, &self.slots, own)
            {
                let answer = self.walk.best();
                // Keys before the answer do not lie above `rev`, now or later.
                if let Some(slot) = answer {
                    self.first_candidate[rev] = slot;
                }
                return answer;
            }
        }
    }
}

/// Whether `todo` holds every revision on every path between two of its
/// revisions. Plans always are; a history range may not be.
fn is_convex(map: &RevisionMap, todo: &[bool]) -> bool {
    let starts: Vec<usize> = (0..map.len()).filter(|&r| todo[r]).collect();
    let below = map.ancestors(&starts, true);
    let above = map.descendants(&starts, true);
    (0..map.len()).all(|r| todo[r] || !(below[r] && above[r]))
}

/// The list of pending heads: slots in key order (list order), each holding
/// one revision, linked both ways so removal keeps the order of the rest.
struct Slots {
    node: Vec<usize>,
    prev: Vec<u32>,
    next: Vec<u32>,
    first: u32,
    last: u32,
    /// The slot holding each revision, if any.
    slot_of: Vec<u32>,
    /// Union-find over keys: from a removed key towards the next live one.
    skip: Vec<u32>,
}

impl Slots {
    fn new(nodes: usize) -> Slots {
        Slots {
            node: Vec::new(),
            prev: Vec::new(),
            next: Vec::new(),
            first: NONE,
            last: NONE,
            slot_of: vec![NONE; nodes],
            skip: Vec::new(),
        }
    }

    fn push(&mut self, rev: usize) {
        let key = self.node.len() as u32;
        self.node.push(rev);
        self.prev.push(self.last);
        self.next.push(NONE);
        self.skip.push(key);
        match self.last {
            NONE => self.first = key,
            last => self.next[last as usize] = key,
        }
        self.last = key;
        self.slot_of[rev] = key;
    }

    fn move_to(&mut self, key: u32, rev: usize) {
        self.slot_of[self.node[key as usize]] = NONE;
        self.node[key as usize] = rev;
        self.slot_of[rev] = key;
    }

    /// Removes a slot; returns where Alembic's cursor goes next: the slot
    /// before it, or the new first slot when it was first.
    fn remove(&mut self, key: u32) -> u32 {
        let (prev, next) = (self.prev[key as usize], self.next[key as usize]);
        match prev {
            NONE => self.first = next,
            p => self.next[p as usize] = next,
        }
        match next {
            NONE => self.last = prev,
            n => self.prev[n as usize] = prev,
        }
        self.slot_of[self.node[key as usize]] = NONE;
        self.skip[key as usize] = key + 1;
        if prev == NONE { self.first } else { prev }
    }

    /// The first live key at or after `key` (`NONE` when there is none).
    fn live_from(&mut self, key: u32) -> u32 {
        let mut root = key;
        while (root as usize) < self.skip.len() && self.skip[root as usize] != root {
            root = self.skip[root as usize];
        }
        // Path compression: later lookups jump straight to `root`.
        let mut at = key;
        while (at as usize) < self.skip.len() && self.skip[at as usize] != at {
            let next = self.skip[at as usize];
            self.skip[at as usize] = root;
            at = next;
        }
        if (root as usize) < self.skip.len() {
            root
        } else {
            NONE
        }
    }
}

/// Scans live slots in key order for the first one above a revision.
struct Scan {
    next_key: u32,
}

impl Scan {
    fn new(from: u32) -> Scan {
        Scan { next_key: from }
    }

    /// One slot looked at: `Some(answer)` once the scan is over.
    fn step(
        &mut self,
        reach: &Reachability,
        slots: &mut Slots,
        rev: usize,
        own: u32,
    ) -> Option<Option<u32>> {
        let key = slots.live_from(self.next_key);
        if key == NONE {
            return Some(None);
        }
        if key != own && reach.reaches(rev, slots.node[key as usize]) {
            self.next_key = key;
            return Some(Some(key));
        }
        self.next_key = key + 1;
        None
    }
}

/// A walk up from a revision through pending revisions (or, when the todo set
/// is not convex, through all revisions), noting the smallest slot key met.
/// Marks carry the walk's number, so no walk has to clear anything.
struct PendingWalk {
    stamps: Vec<u32>,
    current: u32,
    todo: Vec<usize>,
    best: u32,
}

impl PendingWalk {
    fn new(len: usize) -> PendingWalk {
        PendingWalk {
            stamps: vec![0; len],
            current: 0,
            todo: Vec::new(),
            best: NONE,
        }
    }

    fn start(&mut self, rev: usize) {
        self.current += 1;
        self.todo.clear();
        self.todo.push(rev);
        self.best = NONE;
    }

    /// Expands one revision; true once the walk is over.
    fn step(
        &mut self,
        map: &RevisionMap,
        pending: &[bool],
        pending_only: bool,
        slots: &Slots,
        own: u32,
    ) -> bool {
        let Some(node) = self.todo.pop() else {
            return true;
        };
        for &child in map.all_children(node) {
            if (pending[child] || !pending_only) && self.stamps[child] != self.current {
                self.stamps[child] = self.current;
                self.todo.push(child);
                let slot = slots.slot_of[child];
                if slot != NONE && slot != own {
                    self.best = self.best.min(slot);
                }
            }
        }
        self.todo.is_empty()
    }

    fn best(&self) -> Option<u32> {
        (self.best != NONE).then_some(self.best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::random_graphs::{Rng, random_map};

    /// Alembic's `_topological_sort`, transcribed literally: one full ancestor
    /// set per listed head, every head checked for every candidate.
    fn alembic_sort(map: &RevisionMap, todo: &[bool], heads: &[usize]) -> Vec<usize> {
        let mut todo = todo.to_vec();
        let mut current: Vec<usize> = heads.iter().copied().filter(|&h| todo[h]).collect();
        current.sort_unstable();
        current.dedup();
        let mut ancestors: Vec<Vec<bool>> =
            current.iter().map(|&h| map.ancestors(&[h], true)).collect();
        let mut output = Vec::new();
        let mut at = 0;
        while !current.is_empty() {
            let candidate = current[at];
            if let Some(other) = (0..current.len()).find(|&j| j != at && ancestors[j][candidate]) {
                at = other;
                continue;
            }
            if std::mem::replace(&mut todo[candidate], false) {
                output.push(candidate);
            }
            let additions: Vec<usize> = map
                .normalized_down(candidate)
                .iter()
                .copied()
                .filter(|&d| todo[d] && !current.contains(&d))
                .collect();
            match additions.split_first() {
                None => {
                    current.remove(at);
                    ancestors.remove(at);
                    at = at.saturating_sub(1);
                }
                Some((&first, rest)) => {
                    current[at] = first;
                    ancestors[at] = map.ancestors(&[first], true);
                    for &extra in rest {
                        current.push(extra);
                        ancestors.push(map.ancestors(&[extra], true));
                    }
                }
            }
        }
        output
    }

    /// Todo sets as the planner and `history` build them.
    fn todo_sets(rng: &mut Rng, map: &RevisionMap) -> Vec<(Vec<bool>, Vec<usize>)> {
        let n = map.len();
        let pick = |rng: &mut Rng| -> Vec<usize> {
            let mut picked: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(n)).collect();
            picked.sort_unstable();
            picked.dedup();
            picked
        };
        let mut sets = Vec::new();
        let heads = map.real_heads().to_vec();
        // Upgrade from some applied revisions to every head.
        let applied = map.ancestors(&pick(rng), true);
        let required = map.ancestors(&heads, true);
        let todo = (0..n).map(|i| required[i] && !applied[i]).collect();
        sets.push((todo, heads.clone()));
        // Downgrade from the heads to below some revisions.
        let above = map.descendants(&pick(rng), true);
        let todo = (0..n).map(|i| above[i] && required[i]).collect();
        sets.push((todo, heads.clone()));
        // A history range whose lower end keeps only versioned descendants:
        // this one need not be convex.
        let lower = pick(rng);
        let below_lower = map.ancestors(&lower, true);
        let above_lower = map.descendants(&lower, false);
        let todo = (0..n)
            .map(|i| (required[i] && !below_lower[i] || lower.contains(&i)) && above_lower[i])
            .collect();
        sets.push((todo, heads));
        sets
    }

    fn names(map: &RevisionMap, order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| map.id(i).to_string()).collect()
    }

    #[test]
    fn matches_alembics_sort_on_random_graphs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut non_convex = 0;
        for round in 0..300 {
            let map = random_map(&mut rng, 5 + round % 60);
            for (todo, heads) in todo_sets(&mut rng, &map) {
                non_convex += usize::from(!is_convex(&map, &todo));
                let expected = names(&map, &alembic_sort(&map, &todo, &heads));
                let labelled = Sorter::new(&map, &todo, &heads, true).run();
                assert_eq!(names(&map, &labelled), expected, "round {round}, labelled");
                let walked = Sorter::new(&map, &todo, &heads, false).run();
                assert_eq!(names(&map, &walked), expected, "round {round}, walked");
            }
        }
        // The generator must exercise the non-convex path too.
        assert!(non_convex > 10, "only {non_convex} non-convex sets");
    }
}

//! Exact reachability queries over the revision graph, answered without a
//! walk: "does revision `upper` lie on or above revision `lower`?".
//!
//! The planner asks this question thousands of times per plan on branchy
//! graphs (Alembic answers it with one ancestor set per pending head, which is
//! quadratic). Here every revision gets a preorder number from one depth-first
//! walk up the graph, and a short sorted list of preorder intervals that
//! together hold exactly the revisions above it: its own subtree of the walk,
//! plus the intervals of the revisions it reaches through edges the walk
//! did not take (a merge's second parent, a `depends_on`). This is the
//! "tree cover" labelling of Agrawal, Borgida and Jagadish (1989).
//!
//! On migration graphs (a trunk, short branches that merge back, lineages
//! that depend on the trunk) nested intervals collapse and each revision keeps
//! one or a few, so building is linear and a query is a binary search over a
//! handful of intervals. A pathological graph could need many intervals per
//! revision; the build gives up past a budget and callers fall back to walks.

/// Inclusive range of preorder numbers.
type Span = (u32, u32);

/// Preorder numbers and interval lists of one graph.
#[derive(Debug, Clone)]
pub struct Reachability {
    /// Preorder number of each node in the walk.
    preorder: Vec<u32>,
    /// Each node's intervals, as (offset, length) into `spans`.
    lists: Vec<(u32, u32)>,
    /// All interval lists, each sorted and disjoint.
    spans: Vec<Span>,
}

/// Budget, in intervals per node, past which labelling is not worth it.
const SPANS_PER_NODE: usize = 64;

impl Reachability {
    /// Labels the graph whose upward edges are `up` (node -> the nodes built
    /// on it). The graph must be acyclic. `None` when the labels would exceed
    /// the budget.
    pub fn build<'a>(len: usize, up: impl Fn(usize) -> &'a [usize]) -> Option<Reachability> {
        let budget = len.saturating_mul(SPANS_PER_NODE).saturating_add(1024);
        let mut has_parent = vec![false; len];
        for node in 0..len {
            for &child in up(node) {
                has_parent[child] = true;
            }
        }
        let mut labels = Reachability {
            preorder: vec![u32::MAX; len],
            lists: vec![(0, 0); len],
            spans: Vec::with_capacity(len + len / 4),
        };
        let mut walk = Walk {
            next_number: 0,
            stack: Vec::new(),
            scratch: Vec::new(),
            subtree_end: vec![0; len],
        };
        for root in (0..len).filter(|&r| !has_parent[r]) {
            if !walk.label_from(root, &up, &mut labels, budget) {
                return None;
            }
        }
        Some(labels)
    }

    /// Whether `upper` is `lower` or lies above it.
    pub fn reaches(&self, lower: usize, upper: usize) -> bool {
        let target = self.preorder[upper];
        let (offset, length) = self.lists[lower];
        let list = &self.spans[offset as usize..(offset + length) as usize];
        // The last interval starting at or before `target` is the only one
        // that can hold it: the list is sorted and disjoint.
        let after = list.partition_point(|&(start, _)| start <= target);
        after > 0 && list[after - 1].1 >= target
    }

    /// The sorted, disjoint intervals of preorder numbers on or above `node`.
    pub fn spans(&self, node: usize) -> &[(u32, u32)] {
        let (offset, length) = self.lists[node];
        &self.spans[offset as usize..(offset + length) as usize]
    }

    /// The members of `nodes` that lie above another member.
    ///
    /// Counts, at each member's preorder number, the intervals of all members
    /// holding it: each member's intervals are disjoint, so the count is the
    /// number of members on or below it, itself included.
    pub fn above_another(&self, nodes: &[usize]) -> Vec<usize> {
        let mut members = nodes.to_vec();
        members.sort_unstable();
        members.dedup();
        let spans = members.iter().flat_map(|&m| self.spans(m));
        let mut starts: Vec<u32> = spans.clone().map(|&(start, _)| start).collect();
        let mut ends: Vec<u32> = spans.map(|&(_, end)| end).collect();
        starts.sort_unstable();
        ends.sort_unstable();
        members
            .into_iter()
            .filter(|&m| {
                let point = self.preorder[m];
                let opened = starts.partition_point(|&start| start <= point);
                let closed = ends.partition_point(|&end| end < point);
                opened - closed > 1
            })
            .collect()
    }

    /// Intervals stored in all, to judge how well the graph compressed.
    pub fn span_count(&self) -> usize {
        self.spans.len()
    }
}

/// State of the depth-first labelling walk.
struct Walk {
    next_number: u32,
    /// (node, index of the next child to look at).
    stack: Vec<(usize, usize)>,
    scratch: Vec<Span>,
    subtree_end: Vec<u32>,
}

impl Walk {
    /// Numbers every node reachable from `root` not numbered yet and labels
    /// each when the walk leaves it (its children are labelled by then: the
    /// graph has no cycles). False when the budget ran out.
    fn label_from<'a>(
        &mut self,
        root: usize,
        up: &impl Fn(usize) -> &'a [usize],
        labels: &mut Reachability,
        budget: usize,
    ) -> bool {
        self.enter(root, labels);
        while let Some(&mut (node, ref mut next_child)) = self.stack.last_mut() {
            let children = up(node);
            if let Some(&child) = children.get(*next_child) {
                *next_child += 1;
                if labels.preorder[child] == u32::MAX {
                    self.enter(child, labels);
                }
                continue;
            }
            self.stack.pop();
            self.subtree_end[node] = self.next_number - 1;
            self.leave(node, children, labels);
            if labels.spans.len() > budget {
                return false;
            }
        }
        true
    }

    fn enter(&mut self, node: usize, labels: &mut Reachability) {
        labels.preorder[node] = self.next_number;
        self.next_number += 1;
        self.stack.push((node, 0));
    }

    /// The node's list: its own subtree, merged with every child's list.
    fn leave(&mut self, node: usize, children: &[usize], labels: &mut Reachability) {
        let own = (labels.preorder[node], self.subtree_end[node]);
        self.scratch.clear();
        self.scratch.push(own);
        for &child in children {
            let (offset, length) = labels.lists[child];
            let list = &labels.spans[offset as usize..(offset + length) as usize];
            // Intervals inside our own subtree add nothing.
            self.scratch.extend(
                list.iter()
                    .filter(|&&(start, end)| start < own.0 || end > own.1),
            );
        }
        self.scratch.sort_unstable();
        let offset = labels.spans.len();
        for &(start, end) in &self.scratch {
            match labels.spans[offset..].last_mut() {
                // Overlapping or adjacent: numbers are whole, so join them.
                Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
                _ => labels.spans.push((start, end)),
            }
        }
        labels.lists[node] = (offset as u32, (labels.spans.len() - offset) as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference answer: a plain walk up from `lower`.
    fn walk_reaches(up: &[Vec<usize>], lower: usize, upper: usize) -> bool {
        let mut seen = vec![false; up.len()];
        let mut todo = vec![lower];
        while let Some(node) = todo.pop() {
            if node == upper {
                return true;
            }
            if !std::mem::replace(&mut seen[node], true) {
                todo.extend(up[node].iter().copied());
            }
        }
        false
    }

    /// A random DAG: each node links up to a few later nodes.
    fn random_dag(len: usize, seed: u64) -> Vec<Vec<usize>> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..len)
            .map(|node| {
                let mut children: Vec<usize> = (0..next() % 4)
                    .filter_map(|_| {
                        let span = (len - node - 1) as u64;
                        (span > 0).then(|| node + 1 + (next() % span.min(12)) as usize)
                    })
                    .collect();
                children.sort_unstable();
                children.dedup();
                children
            })
            .collect()
    }

    #[test]
    fn answers_match_a_walk_on_random_graphs() {
        for seed in 1..40u64 {
            let up = random_dag(60, seed * 7919);
            let labels = Reachability::build(up.len(), |n| &up[n]).expect("small graph");
            for lower in 0..up.len() {
                for upper in 0..up.len() {
                    assert_eq!(
                        labels.reaches(lower, upper),
                        walk_reaches(&up, lower, upper),
                        "seed {seed}: {upper} above {lower}?"
                    );
                }
            }
        }
    }

    #[test]
    fn members_above_another_member() {
        for seed in 1..40u64 {
            let up = random_dag(50, seed * 104_729);
            let labels = Reachability::build(up.len(), |n| &up[n]).expect("small graph");
            let members: Vec<usize> = (0..up.len())
                .filter(|n| n % 3 == seed as usize % 3)
                .collect();
            let expected: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&m| members.iter().any(|&o| o != m && walk_reaches(&up, o, m)))
                .collect();
            assert_eq!(labels.above_another(&members), expected, "seed {seed}");
        }
    }

    #[test]
    fn a_trunk_with_merged_branches_needs_few_intervals() {
        // Trunk 0..100; every fifth trunk node forks a two-node branch that
        // merges back three trunk nodes later.
        let trunk = 100;
        let mut up: Vec<Vec<usize>> = (0..trunk)
            .map(|t| {
                if t + 1 < trunk {
                    vec![t + 1]
                } else {
                    Vec::new()
                }
            })
            .collect();
        for fork in (0..trunk - 4).step_by(5) {
            let first = up.len();
            up.push(vec![first + 1]);
            up.push(vec![fork + 3]);
            up[fork].push(first);
        }
        let labels = Reachability::build(up.len(), |n| &up[n]).expect("small graph");
        assert!(
            labels.span_count() <= 2 * up.len(),
            "{}",
            labels.span_count()
        );
        assert!(labels.reaches(0, trunk - 1));
        assert!(labels.reaches(trunk, 3));
        assert!(!labels.reaches(trunk, 2));
    }
}

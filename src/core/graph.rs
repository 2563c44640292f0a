//! The revision map: every revision indexed, validated and linked, with
//! Alembic's notions of heads, bases, branch labels and dependencies.
//!
//! Revisions are addressed by their index in map order (file-name order),
//! which is also the order that breaks ties everywhere, as in Alembic.
//! Every traversal marks visited nodes in a bitmap, so walks are linear in the
//! size of the graph.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::core::reach::Reachability;
use crate::core::revision::Revision;
use crate::core::short_id::{MIN_SHORT_ID, shorten, unique_prefix_lengths};

/// Errors found while building the map: the graph as a whole is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct GraphError {
    /// File and line the problem points at, when there is one.
    pub location: Option<(PathBuf, usize)>,
    pub message: String,
}

impl GraphError {
    fn at(path: &std::path::Path, line: usize, message: String) -> GraphError {
        GraphError {
            location: Some((path.to_path_buf(), line)),
            message,
        }
    }

    fn render(&self) -> String {
        match &self.location {
            Some((path, line)) => format!("{}:{line}: {}", path.display(), self.message),
            None => self.message.clone(),
        }
    }
}

/// A key of the map: a revision id or a branch label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum KeyKind {
    Id,
    Label,
}

/// The linked revision graph.
pub struct RevisionMap {
    revisions: Vec<Revision>,
    ids: HashMap<String, usize>,
    /// Branch label -> revision that declares it.
    labels: HashMap<String, usize>,
    /// Every key (ids and labels), sorted, for prefix lookups.
    /// Built on the first prefix lookup: most commands name revisions in
    /// full or not at all, and sorting every key is a large part of building.
    sorted_keys: OnceLock<Vec<(String, KeyKind, usize)>>,
    /// `down_revision` links.
    versioned_down: Vec<Vec<usize>>,
    /// `depends_on` resolved to revisions.
    resolved_deps: Vec<Vec<usize>>,
    /// Dependencies not already declared by a down-ancestor.
    normalized_deps: Vec<Vec<usize>>,
    /// Down revisions plus normalized dependencies (Alembic's
    /// `_normalized_down_revisions`): the edges of every ancestry walk.
    normalized_down: Vec<Vec<usize>>,
    /// Children through `down_revision` only.
    next: Vec<Vec<usize>>,
    /// Children through `down_revision` or `depends_on`.
    all_next: Vec<Vec<usize>>,
    /// Branch labels after spreading along each branch.
    spread_labels: Vec<BTreeSet<String>>,
    heads: Vec<usize>,
    real_heads: Vec<usize>,
    bases: Vec<usize>,
    /// Reachability labels over all edges, built on first use.
    reach: OnceLock<Option<Reachability>>,
    /// Characters of each id's short form, and the widest short form, built
    /// on first use (only the console shortens ids).
    short_ids: OnceLock<(Vec<usize>, usize)>,
}

impl RevisionMap {
    /// Index and validate `revisions`, given in file-name order.
    pub fn build(revisions: Vec<Revision>) -> Result<RevisionMap, GraphError> {
        let ids = index_ids(&revisions)?;
        let labels = index_labels(&revisions, &ids)?;
        let versioned_down = link_downs(&revisions, &ids)?;
        let resolved_deps = link_dependencies(&revisions, &ids, &labels)?;
        let n = revisions.len();
        let mut next = vec![Vec::new(); n];
        let mut all_next = vec![Vec::new(); n];
        // Children arrive in increasing order, so a repeat can only be the
        // last entry: checking it keeps a much-depended-on revision linear.
        let link = |list: &mut Vec<usize>, child: usize| {
            if list.last() != Some(&child) {
                list.push(child);
            }
        };
        for child in 0..n {
            for &parent in &versioned_down[child] {
                link(&mut next[parent], child);
                link(&mut all_next[parent], child);
            }
            for &parent in &resolved_deps[child] {
                link(&mut all_next[parent], child);
            }
        }
        let heads = (0..n).filter(|&i| next[i].is_empty()).collect();
        let real_heads = (0..n).filter(|&i| all_next[i].is_empty()).collect();
        let bases = (0..n).filter(|&i| versioned_down[i].is_empty()).collect();
        let mut map = RevisionMap {
            sorted_keys: OnceLock::new(),
            revisions,
            ids,
            labels,
            versioned_down,
            resolved_deps,
            normalized_deps: vec![Vec::new(); n],
            normalized_down: vec![Vec::new(); n],
            next,
            all_next,
            spread_labels: vec![BTreeSet::new(); n],
            heads,
            real_heads,
            bases,
            reach: OnceLock::new(),
            short_ids: OnceLock::new(),
        };
        map.detect_cycles()?;
        map.normalize_dependencies();
        map.spread_branch_labels();
        Ok(map)
    }

    /// All revisions, in map (file-name) order.
    pub fn revisions(&self) -> &[Revision] {
        &self.revisions
    }

    pub fn len(&self) -> usize {
        self.revisions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.revisions.is_empty()
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.ids.get(id).map(|&i| &self.revisions[i])
    }

    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.ids.get(id).copied()
    }

    pub fn revision(&self, index: usize) -> &Revision {
        &self.revisions[index]
    }

    pub fn id(&self, index: usize) -> &str {
        &self.revisions[index].id
    }

    /// `id` as narrow columns show it: its shortest unique prefix of at
    /// least [`MIN_SHORT_ID`] characters, with `…` when cut. An id the map
    /// does not hold (a version-table row without a file) is shown whole.
    pub fn short_id(&self, id: &str) -> String {
        match self.index_of(id) {
            Some(index) => shorten(id, self.short_ids().0[index]),
            None => id.to_string(),
        }
    }

    /// Characters of the widest short id (for a column of them).
    pub fn short_id_width(&self) -> usize {
        self.short_ids().1
    }

    fn short_ids(&self) -> &(Vec<usize>, usize) {
        self.short_ids.get_or_init(|| {
            let ids: Vec<&str> = self.revisions.iter().map(|r| r.id.as_str()).collect();
            let lengths = unique_prefix_lengths(&ids, MIN_SHORT_ID);
            let widest = ids
                .iter()
                .zip(&lengths)
                .map(|(id, &n)| shorten(id, n).chars().count())
                .max()
                .unwrap_or(0);
            (lengths, widest)
        })
    }

    /// Revisions no other revision names as `down_revision` (Alembic's `heads`).
    pub fn heads(&self) -> &[usize] {
        &self.heads
    }

    /// Heads counting `depends_on` as a link too (Alembic's `_real_heads`).
    pub fn real_heads(&self) -> &[usize] {
        &self.real_heads
    }

    /// Revisions without a `down_revision`.
    pub fn bases(&self) -> &[usize] {
        &self.bases
    }

    pub fn versioned_down(&self, index: usize) -> &[usize] {
        &self.versioned_down[index]
    }

    pub fn resolved_dependencies(&self, index: usize) -> &[usize] {
        &self.resolved_deps[index]
    }

    pub fn normalized_dependencies(&self, index: usize) -> &[usize] {
        &self.normalized_deps[index]
    }

    pub fn normalized_down(&self, index: usize) -> &[usize] {
        &self.normalized_down[index]
    }

    /// Children through `down_revision`.
    pub fn children(&self, index: usize) -> &[usize] {
        &self.next[index]
    }

    /// Children through `down_revision` or `depends_on`.
    pub fn all_children(&self, index: usize) -> &[usize] {
        &self.all_next[index]
    }

    /// Branch labels of a revision after spreading along its branch.
    pub fn branch_labels(&self, index: usize) -> &BTreeSet<String> {
        &self.spread_labels[index]
    }

    pub fn is_head(&self, index: usize) -> bool {
        self.next[index].is_empty()
    }

    pub fn is_real_head(&self, index: usize) -> bool {
        self.all_next[index].is_empty()
    }

    pub fn is_base(&self, index: usize) -> bool {
        self.versioned_down[index].is_empty()
    }

    pub fn is_branch_point(&self, index: usize) -> bool {
        self.next[index].len() > 1
    }

    pub fn is_real_branch_point(&self, index: usize) -> bool {
        self.all_next[index].len() > 1
    }

    pub fn is_merge_point(&self, index: usize) -> bool {
        self.versioned_down[index].len() > 1
    }

    /// The revision declaring this exact branch label.
    pub fn label_owner(&self, label: &str) -> Option<usize> {
        self.labels.get(label).copied()
    }

    /// Exact key lookup: a revision id, else a branch label.
    pub fn exact_key(&self, key: &str) -> Option<usize> {
        self.ids.get(key).or_else(|| self.labels.get(key)).copied()
    }

    /// Keys (ids and labels) of more than three characters starting with
    /// `prefix`, in map order (ids first), as Alembic matches partial ids.
    pub fn keys_with_prefix(&self, prefix: &str) -> Vec<(String, usize)> {
        let sorted_keys = self
            .sorted_keys
            .get_or_init(|| sorted_keys(&self.ids, &self.labels));
        let start = sorted_keys.partition_point(|(key, _, _)| key.as_str() < prefix);
        let mut found: Vec<(KeyKind, usize, String)> = sorted_keys[start..]
            .iter()
            .take_while(|(key, _, _)| key.starts_with(prefix))
            .filter(|(key, _, _)| key.chars().count() > 3)
            .map(|(key, kind, index)| (*kind, *index, key.clone()))
            .collect();
        found.sort_by_key(|(kind, index, _)| (*kind == KeyKind::Label, *index));
        found
            .into_iter()
            .map(|(_, index, key)| (key, index))
            .collect()
    }

    /// Every revision reachable from `starts` through down revisions and
    /// normalized dependencies, the starts included.
    pub fn ancestors(&self, starts: &[usize], include_dependencies: bool) -> Vec<bool> {
        if include_dependencies {
            self.closure(starts, |i| &self.normalized_down[i])
        } else {
            self.closure(starts, |i| &self.versioned_down[i])
        }
    }

    /// Every revision reachable from `starts` through children, the starts
    /// included.
    pub fn descendants(&self, starts: &[usize], include_dependencies: bool) -> Vec<bool> {
        if include_dependencies {
            self.closure(starts, |i| &self.all_next[i])
        } else {
            self.closure(starts, |i| &self.next[i])
        }
    }

    /// Marks every node reachable from `starts` along `edges`.
    pub fn closure<'a>(
        &'a self,
        starts: &[usize],
        edges: impl Fn(usize) -> &'a [usize],
    ) -> Vec<bool> {
        let mut seen = vec![false; self.revisions.len()];
        let mut todo: Vec<usize> = starts.to_vec();
        while let Some(node) = todo.pop() {
            if std::mem::replace(&mut seen[node], true) {
                continue;
            }
            todo.extend(edges(node).iter().copied().filter(|&n| !seen[n]));
        }
        seen
    }

    /// Labels answering "is one revision on or above another?" (through down
    /// revisions and dependencies) without a walk; `None` for a graph too
    /// tangled to label cheaply, where callers walk instead.
    pub(crate) fn reachability(&self) -> Option<&Reachability> {
        self.reach
            .get_or_init(|| Reachability::build(self.len(), |i| &self.all_next[i]))
            .as_ref()
    }

    /// Marks the revisions on one line of descent with any of `revs`: their
    /// ancestors and their descendants (the revisions themselves included).
    /// `None` for no revisions, which puts no restriction.
    pub fn lineage_of(&self, revs: &[usize], include_dependencies: bool) -> Option<Vec<bool>> {
        if revs.is_empty() {
            return None;
        }
        let mut lineage = self.ancestors(revs, include_dependencies);
        let above = self.descendants(revs, include_dependencies);
        for (mark, above) in lineage.iter_mut().zip(above) {
            *mark |= above;
        }
        Some(lineage)
    }

    /// Whether `target` lies on one line of descent with one of `others`
    /// (either is an ancestor of the other, or they are equal); true when
    /// `others` is empty.
    pub fn shares_lineage(
        &self,
        target: usize,
        others: &[usize],
        include_dependencies: bool,
    ) -> bool {
        self.lineage_of(others, include_dependencies)
            .is_none_or(|lineage| lineage[target])
    }

    fn detect_cycles(&self) -> Result<(), GraphError> {
        let all = self.revisions.len();
        if all == 0 || self.is_acyclic() {
            return Ok(());
        }
        let stuck = self.unreachable(&self.heads, &self.bases, &self.versioned_down, &self.next);
        if !stuck.is_empty() {
            return Err(self.cycle_error("Cycle", &stuck, |rev| rev.header_lines.down_revision));
        }
        let real_bases: Vec<usize> = self
            .bases
            .iter()
            .copied()
            .filter(|&i| self.resolved_deps[i].is_empty())
            .collect();
        let all_down: Vec<Vec<usize>> = (0..all)
            .map(|i| {
                let mut downs = self.versioned_down[i].clone();
                for &d in &self.resolved_deps[i] {
                    push_unique(&mut downs, d);
                }
                downs
            })
            .collect();
        let stuck = self.unreachable(&self.real_heads, &real_bases, &all_down, &self.all_next);
        if !stuck.is_empty() {
            return Err(self.cycle_error("Dependency cycle", &stuck, |rev| {
                rev.header_lines
                    .depends_on
                    .or(rev.header_lines.down_revision)
            }));
        }
        Ok(())
    }

    /// One pass peeling revisions whose down revisions and dependencies are
    /// all peeled (Kahn's algorithm): the usual answer, cheaply. The walks
    /// that name a cycle's members only run when this fails.
    fn is_acyclic(&self) -> bool {
        let mut unpeeled_below = vec![0usize; self.revisions.len()];
        for children in &self.all_next {
            for &child in children {
                unpeeled_below[child] += 1;
            }
        }
        let mut ready: Vec<usize> = (0..self.revisions.len())
            .filter(|&i| unpeeled_below[i] == 0)
            .collect();
        let mut peeled = 0;
        while let Some(node) = ready.pop() {
            peeled += 1;
            for &child in &self.all_next[node] {
                unpeeled_below[child] -= 1;
                if unpeeled_below[child] == 0 {
                    ready.push(child);
                }
            }
        }
        peeled == self.revisions.len()
    }

    /// Alembic's message, located at the first member's link line, and the
    /// files of the next few members: with only ids, finding the files that
    /// close a cycle means grepping the whole directory.
    fn cycle_error(
        &self,
        what: &str,
        stuck: &[usize],
        link_line: impl Fn(&Revision) -> Option<usize>,
    ) -> GraphError {
        const FILES_SHOWN: usize = 5;
        let ids: Vec<&str> = stuck.iter().map(|&i| self.id(i)).collect();
        let mut message = format!("{what} is detected in revisions ({})", ids.join(", "));
        let place = |&i: &usize| {
            let rev = &self.revisions[i];
            let line = link_line(rev).unwrap_or(rev.header_lines.revision);
            (rev, line)
        };
        let others: Vec<String> = stuck
            .iter()
            .skip(1)
            .take(FILES_SHOWN)
            .map(place)
            .map(|(rev, line)| format!("{} at {}:{line}", rev.id, rev.path.display()))
            .collect();
        if !others.is_empty() {
            let more = if stuck.len() > FILES_SHOWN + 1 {
                ", ..."
            } else {
                ""
            };
            message.push_str(&format!(" (also {}{more})", others.join(", ")));
        }
        let (first, line) = place(&stuck[0]);
        GraphError::at(&first.path, line, message)
    }

    /// The revisions not reachable both down from the heads and up from the
    /// bases: the members of cycles and what hangs off them, sorted by id.
    fn unreachable(
        &self,
        heads: &[usize],
        bases: &[usize],
        down: &[Vec<usize>],
        up: &[Vec<usize>],
    ) -> Vec<usize> {
        let from_heads = self.closure(heads, |i| &down[i]);
        let from_bases = self.closure(bases, |i| &up[i]);
        let mut stuck: Vec<usize> = (0..self.revisions.len())
            .filter(|&i| !(from_heads[i] && from_bases[i]))
            .collect();
        stuck.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        stuck
    }

    /// Drops dependencies that a down-ancestor already declares (Alembic's
    /// `_normalize_depends_on`).
    fn normalize_dependencies(&mut self) {
        let implied = self.implied_dependencies();
        for rev in 0..self.revisions.len() {
            let mut kept = self.resolved_deps[rev].clone();
            kept.retain(|&dep| !implied.contains(&(rev, dep)));
            let mut downs = self.versioned_down[rev].clone();
            for &dep in &kept {
                push_unique(&mut downs, dep);
            }
            self.normalized_deps[rev] = kept;
            self.normalized_down[rev] = downs;
        }
    }

    /// (revision, dependency) pairs where a down-ancestor of the revision
    /// declares the same dependency. Only dependencies declared by several
    /// revisions can be such; for each, the declarers standing on another
    /// declarer come from the labels of the `down_revision` graph in one pass
    /// (a walk per revision would be quadratic on long histories).
    fn implied_dependencies(&self) -> HashSet<(usize, usize)> {
        let mut declarers: HashMap<usize, Vec<usize>> = HashMap::new();
        for (rev, deps) in self.resolved_deps.iter().enumerate() {
            for &dep in deps {
                declarers.entry(dep).or_default().push(rev);
            }
        }
        declarers.retain(|_, revs| revs.len() > 1);
        let mut implied = HashSet::new();
        if declarers.is_empty() {
            return implied;
        }
        match Reachability::build(self.revisions.len(), |i| &self.next[i]) {
            Some(reach) => {
                for (&dep, revs) in &declarers {
                    for rev in reach.above_another(revs) {
                        implied.insert((rev, dep));
                    }
                }
                implied
            }
            None => self.implied_dependencies_by_walks(&declarers),
        }
    }

    /// The same pairs, one walk down per declaring revision.
    fn implied_dependencies_by_walks(
        &self,
        declarers: &HashMap<usize, Vec<usize>>,
    ) -> HashSet<(usize, usize)> {
        let mut implied = HashSet::new();
        for (&dep, revs) in declarers {
            for &rev in revs {
                let below = self.ancestors(&[rev], false);
                if revs.iter().any(|&other| other != rev && below[other]) {
                    implied.insert((rev, dep));
                }
            }
        }
        implied
    }

    /// Spreads each declared label to the revision's descendants and to its
    /// ancestors down to the nearest branch or merge point (Alembic's
    /// `_add_branches`).
    fn spread_branch_labels(&mut self) {
        // Stamps shared by every label's walk: each walk costs what it
        // visits, not a fresh bitmap of the whole graph.
        let mut walked_for = vec![usize::MAX; self.revisions.len()];
        for rev in 0..self.revisions.len() {
            let own: Vec<String> = self.revisions[rev].branch_labels.clone();
            if own.is_empty() {
                continue;
            }
            let order = self.descendants_in_walk_order(rev, &mut walked_for);
            for &node in &order {
                self.spread_labels[node].extend(own.iter().cloned());
            }
            // Alembic walks down from the last descendant it visited.
            let mut node = *order.last().unwrap_or(&rev);
            while !self.is_real_branch_point(node) && !self.is_merge_point(node) {
                self.spread_labels[node].extend(own.iter().cloned());
                match self.versioned_down[node].first() {
                    Some(&down) => node = down,
                    None => break,
                }
            }
        }
    }

    /// Depth-first walk up through `down_revision` children, in the order
    /// Alembic's stack-based iteration visits them. `walked_for[n] == start`
    /// marks nodes this walk has seen.
    fn descendants_in_walk_order(&self, start: usize, walked_for: &mut [usize]) -> Vec<usize> {
        let mut order = Vec::new();
        let mut todo = vec![start];
        while let Some(node) = todo.pop() {
            if std::mem::replace(&mut walked_for[node], start) == start {
                continue;
            }
            order.push(node);
            todo.extend(self.next[node].iter().copied());
        }
        order
    }
}

fn push_unique(list: &mut Vec<usize>, value: usize) {
    if !list.contains(&value) {
        list.push(value);
    }
}

fn index_ids(revisions: &[Revision]) -> Result<HashMap<String, usize>, GraphError> {
    let mut ids: HashMap<String, usize> = HashMap::with_capacity(revisions.len());
    for (index, rev) in revisions.iter().enumerate() {
        // One hash per id: the common case inserts.
        if let Some(first) = ids.insert(rev.id.clone(), index) {
            return Err(GraphError::at(
                &rev.path,
                rev.header_lines.revision,
                format!(
                    "Revision {} is present more than once (also in {})",
                    rev.id,
                    revisions[first].path.display()
                ),
            ));
        }
    }
    Ok(ids)
}

fn index_labels(
    revisions: &[Revision],
    ids: &HashMap<String, usize>,
) -> Result<HashMap<String, usize>, GraphError> {
    let mut labels: HashMap<String, usize> = HashMap::new();
    for (index, rev) in revisions.iter().enumerate() {
        for label in &rev.branch_labels {
            let taken_by = labels.get(label).or_else(|| ids.get(label));
            if let Some(&other) = taken_by {
                return Err(GraphError::at(
                    &rev.path,
                    rev.header_lines
                        .branch_labels
                        .unwrap_or(rev.header_lines.revision),
                    format!(
                        "Branch name '{label}' in revision {} already used by revision {}",
                        rev.id, revisions[other].id
                    ),
                ));
            }
            labels.insert(label.clone(), index);
        }
    }
    Ok(labels)
}

fn link_downs(
    revisions: &[Revision],
    ids: &HashMap<String, usize>,
) -> Result<Vec<Vec<usize>>, GraphError> {
    revisions
        .iter()
        .map(|rev| {
            let mut downs = Vec::with_capacity(rev.down_revisions.len());
            for down in &rev.down_revisions {
                let Some(&index) = ids.get(down) else {
                    return Err(GraphError::at(
                        &rev.path,
                        rev.header_lines.down_revision.unwrap_or(rev.header_lines.revision),
                        format!(
                            "down_revision '{down}' of revision {} is not present in the migrations directory",
                            rev.id
                        ),
                    ));
                };
                push_unique(&mut downs, index);
            }
            Ok(downs)
        })
        .collect()
}

fn link_dependencies(
    revisions: &[Revision],
    ids: &HashMap<String, usize>,
    labels: &HashMap<String, usize>,
) -> Result<Vec<Vec<usize>>, GraphError> {
    revisions
        .iter()
        .enumerate()
        .map(|(own_index, rev)| {
            let mut deps = Vec::with_capacity(rev.depends_on.len());
            for dep in &rev.depends_on {
                let Some(&index) = ids.get(dep).or_else(|| labels.get(dep)) else {
                    return Err(GraphError::at(
                        &rev.path,
                        rev.header_lines
                            .depends_on
                            .unwrap_or(rev.header_lines.revision),
                        format!(
                            "depends_on '{dep}' of revision {} names no revision or branch label",
                            rev.id
                        ),
                    ));
                };
                if index == own_index {
                    return Err(GraphError::at(
                        &rev.path,
                        rev.header_lines
                            .depends_on
                            .unwrap_or(rev.header_lines.revision),
                        format!("Dependency self-loop is detected in revisions ({})", rev.id),
                    ));
                }
                push_unique(&mut deps, index);
            }
            Ok(deps)
        })
        .collect()
}

fn sorted_keys(
    ids: &HashMap<String, usize>,
    labels: &HashMap<String, usize>,
) -> Vec<(String, KeyKind, usize)> {
    let mut keys: Vec<(String, KeyKind, usize)> = ids
        .iter()
        .map(|(k, &i)| (k.clone(), KeyKind::Id, i))
        .chain(labels.iter().map(|(k, &i)| (k.clone(), KeyKind::Label, i)))
        .collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(id: &str, downs: &[&str]) -> Revision {
        Revision::synthetic(id, downs)
    }

    fn ids(map: &RevisionMap, list: &[usize]) -> Vec<String> {
        list.iter().map(|&i| map.id(i).to_string()).collect()
    }

    #[test]
    fn shared_dependencies_drop_where_a_down_ancestor_declares_them() {
        // Branches off a trunk; every third revision depends on one of three
        // early revisions, so most dependencies are declared many times.
        let mut revisions = vec![rev("t0", &[]), rev("t1", &["t0"]), rev("t2", &["t1"])];
        for n in 3..150 {
            let down = if n % 7 == 0 { n / 2 } else { n - 1 };
            let mut r = rev(&format!("t{n}"), &[&format!("t{down}")]);
            if n % 3 == 0 {
                r.depends_on = vec![format!("t{}", n % 9 / 3)];
            }
            revisions.push(r);
        }
        let map = RevisionMap::build(revisions).unwrap();
        let mut declarers: HashMap<usize, Vec<usize>> = HashMap::new();
        for rev in 0..map.len() {
            for &dep in map.resolved_dependencies(rev) {
                declarers.entry(dep).or_default().push(rev);
            }
        }
        let walked = map.implied_dependencies_by_walks(&declarers);
        assert!(
            walked.len() > 20,
            "the graph should imply many: {}",
            walked.len()
        );
        assert_eq!(map.implied_dependencies(), walked);
        let first = map.index_of("t3").unwrap();
        assert_eq!(map.normalized_dependencies(first).len(), 1);
        let later = map.index_of("t12").unwrap();
        assert!(map.normalized_dependencies(later).is_empty());
    }

    #[test]
    fn heads_and_bases_of_a_fork() {
        let map =
            RevisionMap::build(vec![rev("a", &[]), rev("b", &["a"]), rev("c", &["a"])]).unwrap();
        assert_eq!(ids(&map, map.heads()), ["b", "c"]);
        assert_eq!(ids(&map, map.bases()), ["a"]);
        assert!(map.is_branch_point(0));
    }

    #[test]
    fn dependency_is_not_a_versioned_child() {
        let mut e = rev("e", &[]);
        e.depends_on = vec!["c".into()];
        let map = RevisionMap::build(vec![rev("a", &[]), rev("c", &["a"]), e]).unwrap();
        assert_eq!(ids(&map, map.heads()), ["c", "e"]);
        assert_eq!(ids(&map, map.real_heads()), ["e"]);
    }

    #[test]
    fn missing_down_revision_names_the_file() {
        let err = RevisionMap::build(vec![rev("a", &["zz"])]).err().unwrap();
        assert_eq!(err.location, Some((PathBuf::from("a.sql"), 1)));
        assert!(err.message.contains("'zz'"), "{err}");
    }

    #[test]
    fn cycle_is_reported_with_sorted_members() {
        let err = RevisionMap::build(vec![rev("a", &[]), rev("b", &["a", "c"]), rev("c", &["b"])])
            .err()
            .unwrap();
        // No revision is left without children, so, as in Alembic, every one is named.
        assert!(
            err.message
                .starts_with("Cycle is detected in revisions (a, b, c)"),
            "{err}"
        );
        // And each is located, so the files that close the cycle can be found.
        assert_eq!(err.location, Some((PathBuf::from("a.sql"), 1)));
        assert!(
            err.message.ends_with(" (also b at b.sql:1, c at c.sql:1)"),
            "{err}"
        );
    }

    #[test]
    fn dependency_cycle_points_at_depends_on_lines() {
        let mut a = rev("a", &[]);
        a.depends_on = vec!["c".into()];
        a.header_lines.depends_on = Some(3);
        let mut b = rev("b", &["a"]);
        b.header_lines.down_revision = Some(2);
        let mut c = rev("c", &["b"]);
        c.header_lines.down_revision = Some(2);
        let err = RevisionMap::build(vec![a, b, c]).err().unwrap();
        assert_eq!(
            err.to_string(),
            "a.sql:3: Dependency cycle is detected in revisions (a, b, c) (also b at b.sql:2, c at c.sql:2)"
        );
    }

    #[test]
    fn long_cycles_list_a_few_files() {
        let n = 9;
        let revs: Vec<Revision> = (0..n)
            .map(|i| {
                let id = format!("r{i}");
                let down = format!("r{}", (i + n - 1) % n);
                rev(&id, &[down.as_str()])
            })
            .collect();
        let err = RevisionMap::build(revs).err().unwrap();
        assert!(err.message.ends_with("r5 at r5.sql:1, ...)"), "{err}");
        assert!(!err.message.contains("r6.sql"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_labels_are_refused() {
        let err = RevisionMap::build(vec![rev("a", &[]), rev("a", &[])])
            .err()
            .unwrap();
        assert!(err.message.contains("more than once"));
        let mut b = rev("b", &["a"]);
        b.branch_labels = vec!["x".into()];
        let mut c = rev("c", &["a"]);
        c.branch_labels = vec!["x".into()];
        let err = RevisionMap::build(vec![rev("a", &[]), b, c]).err().unwrap();
        assert_eq!(
            err.message,
            "Branch name 'x' in revision c already used by revision b"
        );
    }

    #[test]
    fn labels_spread_to_descendants_and_down_to_the_branch_point() {
        let mut c = rev("c", &["b"]);
        c.branch_labels = vec!["feature".into()];
        let map = RevisionMap::build(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            c,
            rev("d", &["c"]),
            rev("x", &["a"]),
        ])
        .unwrap();
        let labelled: Vec<&str> = (0..map.len())
            .filter(|&i| map.branch_labels(i).contains("feature"))
            .map(|i| map.id(i))
            .collect();
        assert_eq!(labelled, ["b", "c", "d"]);
    }

    #[test]
    fn prefix_lookup_needs_more_than_three_characters_per_key() {
        let map = RevisionMap::build(vec![
            rev("abcd1", &[]),
            rev("abcd2", &["abcd1"]),
            rev("abc", &["abcd2"]),
        ])
        .unwrap();
        let found: Vec<String> = map
            .keys_with_prefix("ab")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(found, ["abcd1", "abcd2"]);
    }

    #[test]
    fn short_ids_are_unique_prefixes_of_the_map() {
        let map = RevisionMap::build(vec![
            rev("v20251105000001_index", &[]),
            rev("v20251105000002_backfill", &["v20251105000001_index"]),
            rev("4f1c8a2e9b07", &["v20251105000002_backfill"]),
        ])
        .unwrap();
        assert_eq!(map.short_id("v20251105000001_index"), "v20251105000001…");
        assert_eq!(map.short_id("v20251105000002_backfill"), "v20251105000002…");
        assert_eq!(map.short_id("4f1c8a2e9b07"), "4f1c8a2e9b07");
        // Not in the map (a version-table row without a file): whole.
        assert_eq!(map.short_id("v20251105000003_gone"), "v20251105000003_gone");
        assert_eq!(map.short_id_width(), 16);
    }
}

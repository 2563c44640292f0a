//! The version table's rows while a plan is simulated step by step.
//!
//! Each step asks whether a row exists and whether a revision is implied by
//! (is, or lies below) some other row. A graph can have thousands of heads
//! (many independent lineages), so neither question may cost a pass over all
//! rows per step, let alone a walk over the graph: membership is a hash
//! lookup, and "implied by another row" races a walk up from the revision
//! against a scan of the rows through the reachability labels, whichever
//! finishes first.

use std::collections::HashMap;

use crate::core::graph::RevisionMap;

pub(crate) struct Rows<'a> {
    map: &'a RevisionMap,
    /// The rows, in no particular order (removal swaps the last one in).
    ids: Vec<String>,
    /// The revision of each row in `ids`, looked up once when it is added.
    nodes: Vec<Option<usize>>,
    /// Position of each row in `ids`.
    position: HashMap<String, usize>,
    /// Rows by revision index, for walks.
    is_row: Vec<bool>,
    /// Marks of the walk in `implied`, stamped with the walk's number.
    walked: Vec<u32>,
    walk_number: u32,
}

impl<'a> Rows<'a> {
    pub(crate) fn new(map: &'a RevisionMap, ids: &[String]) -> Rows<'a> {
        let mut rows = Rows {
            map,
            ids: Vec::with_capacity(ids.len()),
            nodes: Vec::with_capacity(ids.len()),
            position: HashMap::with_capacity(ids.len()),
            is_row: vec![false; map.len()],
            walked: vec![0; map.len()],
            walk_number: 0,
        };
        for id in ids {
            rows.add(id.clone());
        }
        rows
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.position.contains_key(id)
    }

    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The rows, for messages.
    pub(crate) fn list(&self) -> String {
        self.ids.join(", ")
    }

    /// The rows, sorted.
    pub(crate) fn into_sorted(mut self) -> Vec<String> {
        self.ids.sort();
        self.ids
    }

    /// Adds a row; fails, as the database would, when it is there already.
    pub(crate) fn insert(&mut self, version: &str) -> Result<(), String> {
        if self.contains(version) {
            return Err(already_there(version));
        }
        self.add(version.to_string());
        Ok(())
    }

    pub(crate) fn delete(&mut self, version: &str) -> Result<(), String> {
        if !self.contains(version) {
            return Err(format!(
                "Expected to delete version row '{version}', but it is not a current head"
            ));
        }
        self.remove(version);
        Ok(())
    }

    pub(crate) fn update(&mut self, from: &str, to: &str) -> Result<(), String> {
        if !self.contains(from) {
            return Err(format!(
                "Expected to update version row '{from}' to '{to}', but '{from}' is not a current head"
            ));
        }
        if self.contains(to) {
            return Err(already_there(to));
        }
        self.remove(from);
        self.add(to.to_string());
        Ok(())
    }

    fn add(&mut self, id: String) {
        let node = self.map.index_of(&id);
        if let Some(index) = node {
            self.is_row[index] = true;
        }
        self.position.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.nodes.push(node);
    }

    fn remove(&mut self, id: &str) {
        let Some(at) = self.position.remove(id) else {
            return;
        };
        self.ids.swap_remove(at);
        if let Some(index) = self.nodes.swap_remove(at) {
            self.is_row[index] = false;
        }
        if let Some(moved) = self.ids.get(at) {
            self.position.insert(moved.clone(), at);
        }
    }

    /// Whether `rev` is a row or lies below a row, not counting the rows of
    /// the revisions in `except`.
    pub(crate) fn implied(&mut self, rev: usize, except: &[usize]) -> bool {
        let counts = |node: usize, rows: &Rows| rows.is_row[node] && !except.contains(&node);
        if counts(rev, self) {
            return true;
        }
        self.walk_number += 1;
        let mut walk = vec![rev];
        let mut scan = self.nodes.iter().flatten();
        let reach = self.map.reachability();
        loop {
            if let Some(reach) = reach {
                match scan.next() {
                    None => return false,
                    Some(&row) if !except.contains(&row) && reach.reaches(rev, row) => {
                        return true;
                    }
                    Some(_) => {}
                }
            }
            let Some(node) = walk.pop() else {
                return false;
            };
            for &child in self.map.all_children(node) {
                if self.walked[child] == self.walk_number {
                    continue;
                }
                self.walked[child] = self.walk_number;
                if self.is_row[child] && !except.contains(&child) {
                    return true;
                }
                walk.push(child);
            }
        }
    }
}

fn already_there(version: &str) -> String {
    format!("Revision {version} is already in the version table")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::random_graphs::{Rng, random_map};

    #[test]
    fn implied_matches_a_walk_down_from_the_other_rows() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for round in 0..200 {
            let map = random_map(&mut rng, 4 + round % 50);
            let n = map.len();
            let row_nodes: Vec<usize> = (0..1 + rng.below(5)).map(|_| rng.below(n)).collect();
            let mut ids: Vec<String> = row_nodes.iter().map(|&r| map.id(r).to_string()).collect();
            ids.sort();
            ids.dedup();
            let mut rows = Rows::new(&map, &ids);
            let except: Vec<usize> = (0..rng.below(3)).map(|_| rng.below(n)).collect();
            let others: Vec<usize> = ids
                .iter()
                .filter_map(|id| map.index_of(id))
                .filter(|r| !except.contains(r))
                .collect();
            let below_others = map.ancestors(&others, true);
            for (rev, &expected) in below_others.iter().enumerate() {
                assert_eq!(
                    rows.implied(rev, &except),
                    expected,
                    "round {round}: {} under rows {ids:?} except {except:?}",
                    map.id(rev)
                );
            }
        }
    }

    #[test]
    fn rows_change_like_the_version_table() {
        let mut rng = Rng(7);
        let map = random_map(&mut rng, 10);
        let (a, b, c) = (map.id(0), map.id(1), map.id(2));
        let mut rows = Rows::new(&map, &[a.to_string(), b.to_string()]);
        rows.update(a, c).expect("a is a row");
        rows.delete(b).expect("b is a row");
        assert!(rows.delete(b).is_err(), "b is gone");
        assert!(rows.insert(c).is_err(), "c is there already");
        assert!(rows.update(b, a).is_err(), "b is not a row to update");
        assert_eq!(rows.into_sorted(), [c.to_string()]);
    }
}

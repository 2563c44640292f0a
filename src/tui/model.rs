//! What the graph pane shows, computed once per revision map (display order
//! and lanes) or once per database refresh (statuses), never per frame.

use crate::core::graph::RevisionMap;
use crate::tui::lanes::{GraphNode, GraphRow, layout, topo_order_newest_first};

/// Where a revision stands relative to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevStatus {
    /// The database state is not known (not connected yet, or unreachable).
    Unknown,
    Pending,
    Applied,
    /// A row of the version table names it.
    Current,
}

/// The revision graph laid out newest on top.
#[derive(Debug, Clone)]
pub struct GraphLayout {
    /// Display row -> revision index in the map.
    pub order: Vec<usize>,
    /// Revision index -> display row.
    pub row_of: Vec<usize>,
    /// Lanes of each display row.
    pub rows: Vec<GraphRow>,
    /// Lanes of the `base` row under every revision (the database before
    /// any of them), into which each revision without a down revision
    /// leads; `None` when there are no revisions.
    pub base: Option<GraphRow>,
    /// Widest lane drawing, in characters.
    pub lane_width: usize,
}

impl GraphLayout {
    pub fn build(map: &RevisionMap) -> GraphLayout {
        let mut nodes: Vec<GraphNode> = (0..map.len())
            .map(|i| GraphNode {
                id: map.id(i).to_string(),
                parents: map
                    .versioned_down(i)
                    .iter()
                    .map(|&d| map.id(d).to_string())
                    .collect(),
                deps: map
                    .resolved_dependencies(i)
                    .iter()
                    .map(|&d| map.id(d).to_string())
                    .collect(),
            })
            .collect();
        // Base is drawn as the parent of every root, so the lanes show that
        // downgrading to it removes every line; being everyone's ancestor,
        // it sorts last.
        if !nodes.is_empty() {
            for node in nodes.iter_mut().filter(|n| n.parents.is_empty()) {
                node.parents.push(BASE_NODE.to_string());
            }
            nodes.push(GraphNode {
                id: BASE_NODE.to_string(),
                ..GraphNode::default()
            });
        }
        let mut order = topo_order_newest_first(&nodes);
        let with_base = nodes.len() > map.len();
        if with_base {
            // Already last in any valid order; kept last whatever happens,
            // as `order` must end up holding revisions only.
            order.retain(|&i| i != map.len());
            order.push(map.len());
        }
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let mut rows = layout(&ordered);
        let base = with_base.then(|| {
            order.pop();
            rows.pop().unwrap_or_else(|| GraphRow {
                cells: Vec::new(),
                node_lane: 0,
                deps: Vec::new(),
            })
        });
        let mut row_of = vec![0; map.len()];
        for (row, &rev) in order.iter().enumerate() {
            row_of[rev] = row;
        }
        let lane_width = rows
            .iter()
            .chain(&base)
            .map(GraphRow::text_width)
            .max()
            .unwrap_or(0);
        GraphLayout {
            order,
            row_of,
            rows,
            base,
            lane_width,
        }
    }
}

/// The id of the base node in the layout; not a possible revision id (ids
/// are single words from a file header).
const BASE_NODE: &str = "\u{0}base";

/// The database's rows mapped onto the graph.
#[derive(Debug, Clone, Default)]
pub struct Statuses {
    /// Per revision index; empty when the state is unknown.
    per_revision: Vec<RevStatus>,
    /// Version-table rows that name no revision file.
    pub missing: Vec<String>,
    pub pending: usize,
}

impl Statuses {
    pub fn unknown() -> Statuses {
        Statuses::default()
    }

    pub fn compute(map: &RevisionMap, rows: &[String]) -> Statuses {
        let mut current = Vec::new();
        let mut missing = Vec::new();
        for row in rows {
            match map.index_of(row) {
                Some(index) => current.push(index),
                None => missing.push(row.clone()),
            }
        }
        let applied = map.ancestors(&current, true);
        let per_revision: Vec<RevStatus> = (0..map.len())
            .map(|i| {
                if current.contains(&i) {
                    RevStatus::Current
                } else if applied[i] {
                    RevStatus::Applied
                } else {
                    RevStatus::Pending
                }
            })
            .collect();
        let pending = per_revision
            .iter()
            .filter(|s| **s == RevStatus::Pending)
            .count();
        Statuses {
            per_revision,
            missing,
            pending,
        }
    }

    pub fn is_known(&self) -> bool {
        !self.per_revision.is_empty() || !self.missing.is_empty()
    }

    pub fn of(&self, index: usize) -> RevStatus {
        self.per_revision
            .get(index)
            .copied()
            .unwrap_or(RevStatus::Unknown)
    }
}

/// One row of the graph pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A version-table row without a revision file (index into `missing`).
    Missing(usize),
    /// A display row of the layout.
    Row(usize),
    /// The `base` row below every revision: the database before any of them.
    Base,
}

/// Whether revision `index` matches a filter text (case-insensitive, in the
/// id, the message, or a branch label it carries as Alembic spreads them:
/// `billing` matches the whole billing branch).
pub fn matches_filter(map: &RevisionMap, index: usize, needle_lower: &str) -> bool {
    if needle_lower.is_empty() {
        return true;
    }
    let rev = map.revision(index);
    rev.id.to_lowercase().contains(needle_lower)
        || rev.message.to_lowercase().contains(needle_lower)
        || map
            .branch_labels(index)
            .iter()
            .any(|l| l.to_lowercase().contains(needle_lower))
}

/// The entries the graph pane lists: missing-file rows first, then every
/// revision (or those matching `filter`) in display order, then `base`
/// (unless the filter leaves it out).
pub fn entries(
    map: &RevisionMap,
    layout: &GraphLayout,
    statuses: &Statuses,
    filter: Option<&str>,
) -> Vec<Entry> {
    let needle = filter.map(str::to_lowercase).unwrap_or_default();
    let missing = (0..statuses.missing.len())
        .filter(|&i| needle.is_empty() || statuses.missing[i].to_lowercase().contains(&needle))
        .map(Entry::Missing);
    let rows = (0..layout.order.len())
        .filter(|&row| matches_filter(map, layout.order[row], &needle))
        .map(Entry::Row);
    let base = (layout.base.is_some() && "base".contains(needle.as_str())).then_some(Entry::Base);
    missing.chain(rows).chain(base).collect()
}

#[cfg(test)]
mod tests {
    use super::{Entry, GraphLayout, RevStatus, RevisionMap, Statuses, entries};
    use crate::core::revision::Revision;

    fn map(revs: &[(&str, &[&str])]) -> RevisionMap {
        RevisionMap::build(
            revs.iter()
                .map(|(id, downs)| Revision::synthetic(id, downs))
                .collect(),
        )
        .expect("valid graph")
    }

    #[test]
    fn statuses_follow_the_version_table() {
        let map = map(&[
            ("a1", &[]),
            ("b1", &["a1"]),
            ("c1", &["a1"]),
            ("m1", &["b1", "c1"]),
        ]);
        let s = Statuses::compute(&map, &["b1".to_string(), "gone".to_string()]);
        let status = |id: &str| s.of(map.index_of(id).expect("known"));
        assert_eq!(status("a1"), RevStatus::Applied);
        assert_eq!(status("b1"), RevStatus::Current);
        assert_eq!(status("c1"), RevStatus::Pending);
        assert_eq!(status("m1"), RevStatus::Pending);
        assert_eq!(s.missing, ["gone"]);
        assert_eq!(s.pending, 2);
        assert!(!Statuses::unknown().is_known());
        assert_eq!(Statuses::unknown().of(0), RevStatus::Unknown);
    }

    #[test]
    fn layout_puts_heads_on_top_and_indexes_both_ways() {
        let map = map(&[("a1", &[]), ("b1", &["a1"]), ("c1", &["b1"])]);
        let layout = GraphLayout::build(&map);
        let ids: Vec<&str> = layout.order.iter().map(|&i| map.id(i)).collect();
        assert_eq!(ids, ["c1", "b1", "a1"]);
        for (row, &rev) in layout.order.iter().enumerate() {
            assert_eq!(layout.row_of[rev], row);
        }
    }

    #[test]
    fn every_root_leads_into_the_base_row_at_the_bottom() {
        let map = map(&[("a1", &[]), ("b1", &["a1"]), ("x1", &[])]);
        let layout = GraphLayout::build(&map);
        assert_eq!(layout.order.len(), 3, "the base row is not a revision row");
        let base = layout.base.as_ref().expect("a base row");
        let mut text: Vec<String> = layout.rows.iter().map(|r| r.prefix('●')).collect();
        text.push(base.prefix('◆'));
        assert_eq!(text, ["●", "●", "│ ●", "◆─╯"]);
        assert_eq!(layout.lane_width, 3);

        let statuses = Statuses::unknown();
        let all = entries(&map, &layout, &statuses, None);
        assert_eq!(all.last(), Some(&Entry::Base));
        assert_eq!(all.len(), 4);
        let filtered = entries(&map, &layout, &statuses, Some("x1"));
        assert!(
            !filtered.contains(&Entry::Base),
            "the filter leaves base out"
        );
        let named = entries(&map, &layout, &statuses, Some("BAS"));
        assert_eq!(named, [Entry::Base]);

        let empty = RevisionMap::build(Vec::new()).expect("valid");
        let none = GraphLayout::build(&empty);
        assert!(none.base.is_none());
        assert!(entries(&empty, &none, &statuses, None).is_empty());
    }

    #[test]
    fn filter_matches_ids_labels_and_messages() {
        let mut a = Revision::synthetic("aaaa1111", &[]);
        a.message = "Create Users".to_string();
        let mut b = Revision::synthetic("bbbb2222", &["aaaa1111"]);
        b.branch_labels = vec!["billing".to_string()];
        // A sibling makes aaaa1111 a branch point, where Alembic stops
        // spreading the label downwards.
        let c = Revision::synthetic("cccc3333", &["aaaa1111"]);
        let map = RevisionMap::build(vec![a, b, c]).expect("valid");
        let layout = GraphLayout::build(&map);
        let statuses = Statuses::compute(&map, &["zzzz".to_string()]);
        let ids = |filter: &str| -> Vec<String> {
            entries(&map, &layout, &statuses, Some(filter))
                .into_iter()
                .map(|e| match e {
                    Entry::Row(r) => map.id(layout.order[r]).to_string(),
                    Entry::Missing(m) => statuses.missing[m].clone(),
                    Entry::Base => "base".to_string(),
                })
                .collect()
        };
        assert_eq!(ids("users"), ["aaaa1111"]);
        assert_eq!(ids("BILL"), ["bbbb2222"]);
        assert_eq!(ids("2222"), ["bbbb2222"]);
        assert_eq!(ids("zz"), ["zzzz"]);
        assert_eq!(ids("").len(), 5, "three revisions, a missing row, base");
        assert_eq!(ids("")[0], "zzzz", "rows without a file come first");
    }
}

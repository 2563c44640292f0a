//! Lane allocation for drawing the revision graph newest-on-top, one text row
//! per revision, the way `git log --graph` does but with box-drawing characters.
//!
//! Pure: ids in, rows of cells out. The caller picks the node marker of each
//! row (applied, pending, head, ...) when rendering, so statuses never change
//! the layout.
//!
//! Drawing rules, chosen so every picture has exactly one reading:
//! - a column that carries an edge draws `│`; nodes are drawn with the marker;
//! - edges only bend on the row of the node they belong to: lanes of children
//!   converging into their parent end with `╯`/`╰`/`┴`, lanes leaving a merge
//!   for its second and further parents start with `╮`/`╭`/`┬`;
//! - a lane passing under such a horizontal connection is drawn `┼` (a
//!   crossing, never a junction: a column that ends on a row is not reused on
//!   the same row, and a column whose node sits on the previous row does not
//!   receive a node right below it, which would read as an edge);
//! - `depends_on` links are not drawn as lanes (they would cut across the whole
//!   graph); each row lists where its dependencies sit, for the caller to show.

use std::borrow::Borrow;
use std::collections::HashMap;

/// One revision as the graph needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphNode {
    pub id: String,
    /// Down revisions, in order (first parent first). Ids not among the nodes
    /// (filtered out, missing) are ignored.
    pub parents: Vec<String>,
    /// `depends_on` targets, already resolved from labels to revision ids.
    /// Not drawn; reported per row in [`GraphRow::deps`].
    pub deps: Vec<String>,
}

/// What one cell of a row connects to. A cell is one lane column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneCell {
    /// The node of this row sits here.
    pub node: bool,
    /// A line arrives from the row above.
    pub up: bool,
    /// A line leaves towards the row below.
    pub down: bool,
    /// A horizontal line leaves to the left (towards the lower column).
    pub left: bool,
    /// A horizontal line leaves to the right.
    pub right: bool,
}

impl LaneCell {
    pub fn is_empty(self) -> bool {
        !(self.node || self.up || self.down || self.left || self.right)
    }

    /// The box-drawing character of this cell; `marker` is used for the node.
    pub fn glyph(self, marker: char) -> char {
        if self.node {
            return marker;
        }
        match (self.up, self.down, self.left, self.right) {
            (false, false, false, false) => ' ',
            (true, true, false, false)
            | (true, false, false, false)
            | (false, true, false, false) => '│',
            (false, false, _, _) => '─',
            (true, false, true, false) => '╯',
            (true, false, false, true) => '╰',
            (false, true, true, false) => '╮',
            (false, true, false, true) => '╭',
            (true, true, false, true) => '├',
            (true, true, true, false) => '┤',
            (true, false, true, true) => '┴',
            (false, true, true, true) => '┬',
            (true, true, true, true) => '┼',
        }
    }
}

/// One row of the drawing: the cells of every column in use on that row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphRow {
    /// One cell per column, trailing empty columns trimmed.
    pub cells: Vec<LaneCell>,
    /// Column of this row's node.
    pub node_lane: usize,
    /// For each entry of the node's `deps`, the row of that revision, or
    /// `None` when it is not in the graph.
    pub deps: Vec<Option<usize>>,
}

impl GraphRow {
    /// Width of the drawing of this row in characters (two per column, minus
    /// the gap after the last one).
    pub fn text_width(&self) -> usize {
        (self.cells.len() * 2).saturating_sub(1)
    }

    /// The row drawn as text: each column's glyph followed by `─` when a
    /// horizontal line continues to the next column, else a space.
    pub fn prefix(&self, marker: char) -> String {
        let mut out = String::with_capacity(self.cells.len() * 6);
        for (column, cell) in self.cells.iter().enumerate() {
            if column > 0 {
                out.push(if self.cells[column - 1].right {
                    '─'
                } else {
                    ' '
                });
            }
            out.push(cell.glyph(marker));
        }
        out
    }
}

/// Lays out `nodes`, which must already be in display order (every node above
/// all of its parents, e.g. from [`topo_order_newest_first`]). Edges that point
/// upwards or to unknown ids are left out instead of failing.
///
/// Runs in O(rows × columns).
pub fn layout<N: Borrow<GraphNode>>(nodes: &[N]) -> Vec<GraphRow> {
    let index = index_by_id(nodes);
    let mut lanes = Lanes::default();
    let mut rows = Vec::with_capacity(nodes.len());
    for (row, node) in nodes.iter().enumerate() {
        let node = node.borrow();
        let parents = resolve_parents(node, row, &index);
        let mut drawn = lanes.advance(row, &parents);
        drawn.deps = node
            .deps
            .iter()
            .map(|dep| index.get(dep.as_str()).copied())
            .collect();
        rows.push(drawn);
    }
    rows
}

/// A display order, newest first, in which every node comes before its parents
/// and its dependencies (like git's `--topo-order`): once a line of history is
/// started it is followed down until it reaches a revision that still has
/// children to show, so branches stay contiguous.
///
/// Generation numbers (longest distance from a base) stand in for dates:
/// heads are shown deepest first, so a stale branch is drawn next to where it
/// forked instead of dragging a lane from the top of the screen; below a merge,
/// the shallower parent's line is shown first, so a side branch with its own
/// base does not keep a lane open past the whole main line. Remaining ties
/// follow input order (earlier heads first, a merge's first parent first).
///
/// Nodes caught in a cycle (an invalid graph) are appended in input order.
/// Runs in O(nodes log nodes + edges).
pub fn topo_order_newest_first<N: Borrow<GraphNode>>(nodes: &[N]) -> Vec<usize> {
    let index = index_by_id(nodes);
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| older_neighbours(node.borrow(), i, &index))
        .collect();
    let generation = generations(&edges);
    let mut waiting_children = vec![0usize; nodes.len()];
    for targets in &edges {
        for &target in targets {
            waiting_children[target] += 1;
        }
    }
    // A stack: what was made ready last is followed next, which is what keeps
    // a line of history together. Pushed in reverse of the wanted pop order.
    let mut ready: Vec<usize> = (0..nodes.len())
        .filter(|&i| waiting_children[i] == 0)
        .collect();
    ready.sort_by_key(|&i| (generation[i], std::cmp::Reverse(i)));
    let mut order = Vec::with_capacity(nodes.len());
    let mut emitted = vec![false; nodes.len()];
    let mut released = Vec::new();
    while let Some(node) = ready.pop() {
        order.push(node);
        emitted[node] = true;
        released.clear();
        for (rank, &target) in edges[node].iter().enumerate() {
            waiting_children[target] -= 1;
            if waiting_children[target] == 0 {
                released.push((generation[target], rank, target));
            }
        }
        released.sort_unstable();
        ready.extend(released.iter().rev().map(|&(_, _, target)| target));
    }
    order.extend((0..nodes.len()).filter(|&i| !emitted[i]));
    order
}

/// Longest distance of each node from a base, following `edges` (node to its
/// parents and dependencies) backwards. Nodes in or above a cycle stay at 0.
fn generations(edges: &[Vec<usize>]) -> Vec<usize> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); edges.len()];
    let mut unvisited_parents: Vec<usize> = edges.iter().map(Vec::len).collect();
    for (node, targets) in edges.iter().enumerate() {
        for &target in targets {
            children[target].push(node);
        }
    }
    let mut generation = vec![0usize; edges.len()];
    let mut queue: Vec<usize> = (0..edges.len())
        .filter(|&i| unvisited_parents[i] == 0)
        .collect();
    while let Some(node) = queue.pop() {
        for &child in &children[node] {
            generation[child] = generation[child].max(generation[node] + 1);
            unvisited_parents[child] -= 1;
            if unvisited_parents[child] == 0 {
                queue.push(child);
            }
        }
    }
    generation
}

/// Plain-text rendering, one line per row: `prefix id`, plus `⇢ dep, ...`
/// for the node's dependencies. For tests and logs; the console styles rows
/// itself.
pub fn render_text<N: Borrow<GraphNode>>(nodes: &[N], rows: &[GraphRow]) -> Vec<String> {
    nodes
        .iter()
        .zip(rows)
        .map(|(node, row)| {
            let node = node.borrow();
            let mut line = format!("{} {}", row.prefix('●'), node.id);
            if !node.deps.is_empty() {
                line.push_str("  ⇢ ");
                line.push_str(&node.deps.join(", "));
            }
            line
        })
        .collect()
}

fn index_by_id<N: Borrow<GraphNode>>(nodes: &[N]) -> HashMap<&str, usize> {
    let mut index = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        // The first node with an id wins; duplicates are the caller's error.
        index.entry(node.borrow().id.as_str()).or_insert(i);
    }
    index
}

/// Rows of the node's parents that lie below it, first parent first, without
/// repeats.
fn resolve_parents(node: &GraphNode, row: usize, index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut parents = Vec::with_capacity(node.parents.len());
    for parent in &node.parents {
        if let Some(&target) = index.get(parent.as_str())
            && target > row
            && !parents.contains(&target)
        {
            parents.push(target);
        }
    }
    parents
}

/// Parents then dependencies of a node, as indices, without repeats or self.
fn older_neighbours(node: &GraphNode, me: usize, index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(node.parents.len() + node.deps.len());
    for id in node.parents.iter().chain(&node.deps) {
        if let Some(&target) = index.get(id.as_str())
            && target != me
            && !out.contains(&target)
        {
            out.push(target);
        }
    }
    out
}

/// The columns between two rows: which row each column's edge is heading to.
#[derive(Default)]
struct Lanes {
    heading_to: Vec<Option<usize>>,
    /// Column of the node drawn on the previous row.
    previous_node: Option<usize>,
}

impl Lanes {
    /// Draws the row of node `row` and moves the lanes below it.
    fn advance(&mut self, row: usize, parents: &[usize]) -> GraphRow {
        let arriving: Vec<usize> = (0..self.heading_to.len())
            .filter(|&column| self.heading_to[column] == Some(row))
            .collect();
        let node_lane = match arriving.first() {
            Some(&column) => column,
            None => self.column_for_new_head(),
        };
        // Room for a head placed one past the end and one new column per parent.
        let mut cells = vec![LaneCell::default(); self.heading_to.len() + parents.len() + 2];
        for (column, cell) in self.heading_to.iter().zip(cells.iter_mut()) {
            cell.up = column.is_some();
        }
        cells[node_lane].node = true;
        self.set(node_lane, parents.first().copied());
        // New lanes are placed while the converging ones still hold their
        // columns, so that a column never ends and starts on the same row.
        for &parent in parents.iter().skip(1) {
            let column = self.column_for_new_lane(node_lane);
            self.set(column, Some(parent));
            connect(&mut cells, node_lane, column);
        }
        for &column in arriving.iter().skip(1) {
            self.heading_to[column] = None;
            connect(&mut cells, node_lane, column);
        }
        for (column, cell) in self.heading_to.iter().zip(cells.iter_mut()) {
            cell.down = column.is_some();
        }
        while self.heading_to.last() == Some(&None) {
            self.heading_to.pop();
        }
        while cells.last().is_some_and(|cell| cell.is_empty()) {
            cells.pop();
        }
        self.previous_node = Some(node_lane);
        GraphRow {
            cells,
            node_lane,
            deps: Vec::new(),
        }
    }

    fn set(&mut self, column: usize, target: Option<usize>) {
        if column >= self.heading_to.len() {
            self.heading_to.resize(column + 1, None);
        }
        self.heading_to[column] = target;
    }

    /// Leftmost free column, but never right below the previous row's node:
    /// two nodes stacked in one column read as parent and child.
    fn column_for_new_head(&self) -> usize {
        (0..)
            .find(|&column| {
                self.heading_to.get(column).copied().flatten().is_none()
                    && self.previous_node != Some(column)
            })
            .unwrap_or(self.heading_to.len())
    }

    /// The free column nearest to the node (right wins a tie), or a new one:
    /// short horizontals cross the fewest lanes.
    fn column_for_new_lane(&self, node_lane: usize) -> usize {
        let free = (0..self.heading_to.len()).filter(|&column| self.heading_to[column].is_none());
        free.chain(std::iter::once(self.heading_to.len()))
            .min_by_key(|&column| (column.abs_diff(node_lane), column < node_lane))
            .unwrap_or(self.heading_to.len())
    }
}

/// Draws a horizontal line on a node row between the node and `column`.
fn connect(cells: &mut [LaneCell], node_lane: usize, column: usize) {
    let (low, high) = (node_lane.min(column), node_lane.max(column));
    cells[low].right = true;
    cells[high].left = true;
    for cell in &mut cells[low + 1..high] {
        cell.left = true;
        cell.right = true;
    }
}

#[cfg(test)]
mod tests {
    use super::{
        GraphNode, GraphRow, HashMap, LaneCell, layout, render_text, topo_order_newest_first,
    };

    fn node(id: &str, parents: &[&str]) -> GraphNode {
        GraphNode {
            id: id.to_string(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            deps: Vec::new(),
        }
    }

    /// Orders, lays out and renders; also checks the drawing's invariants.
    fn draw(nodes: &[GraphNode]) -> String {
        let order = topo_order_newest_first(nodes);
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let rows = layout(&ordered);
        check_consistent(&ordered, &rows);
        render_text(&ordered, &rows).join("\n")
    }

    /// Reads the edges back out of the drawing, the way a person would, and
    /// compares them with the graph: every lane must start at a node, end at a
    /// node, and connect exactly each node with its parents below it.
    fn check_consistent(nodes: &[&GraphNode], rows: &[GraphRow]) {
        assert_eq!(nodes.len(), rows.len());
        let position: HashMap<&str, usize> = nodes
            .iter()
            .enumerate()
            .rev()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut expected = std::collections::BTreeSet::new();
        for (i, node) in nodes.iter().enumerate() {
            for parent in &node.parents {
                if let Some(&p) = position.get(parent.as_str())
                    && p > i
                {
                    expected.insert((i, p));
                }
            }
        }
        let mut drawn = std::collections::BTreeSet::new();
        let mut carrying: Vec<Option<usize>> = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let cells = &row.cells;
            assert_eq!(cells.iter().filter(|c| c.node).count(), 1, "row {i}");
            assert!(cells[row.node_lane].node, "row {i}");
            for (column, cell) in cells.iter().enumerate() {
                let open = carrying.get(column).copied().flatten().is_some();
                assert_eq!(cell.up, open, "row {i} column {column}: line from nowhere");
                assert_eq!(
                    cell.right,
                    cells.get(column + 1).is_some_and(|c| c.left),
                    "row {i} column {column}: broken horizontal"
                );
            }
            // Columns joined to the node by its horizontals; a column with a
            // line both above and below inside a horizontal is a crossing.
            let mut joined = vec![row.node_lane];
            let mut column = row.node_lane;
            while cells[column].right {
                column += 1;
                if cells[column].up != cells[column].down {
                    joined.push(column);
                }
            }
            let mut column = row.node_lane;
            while cells[column].left {
                column -= 1;
                if cells[column].up != cells[column].down {
                    joined.push(column);
                }
            }
            for (column, cell) in cells.iter().enumerate() {
                if !joined.contains(&column) {
                    assert_eq!(cell.up, cell.down, "row {i} column {column}: loose end");
                }
            }
            for &column in &joined {
                if cells[column].up {
                    let child = carrying[column].take().expect("checked above");
                    drawn.insert((child, i));
                }
            }
            for &column in &joined {
                if cells[column].down {
                    if carrying.len() <= column {
                        carrying.resize(column + 1, None);
                    }
                    carrying[column] = Some(i);
                }
            }
        }
        assert!(
            carrying.iter().all(Option::is_none),
            "lanes left open at the bottom"
        );
        // Each drawn (child, row) pair must be an edge from child to the node of row.
        assert_eq!(drawn, expected, "drawn edges differ from the graph");
    }

    fn with_deps(mut node: GraphNode, deps: &[&str]) -> GraphNode {
        node.deps = deps.iter().map(|d| d.to_string()).collect();
        node
    }

    #[test]
    fn linear() {
        let nodes = [
            node("a", &[]),
            node("b", &["a"]),
            node("c", &["b"]),
            node("d", &["c"]),
        ];
        insta::assert_snapshot!("linear", draw(&nodes));
    }

    #[test]
    fn fork_with_two_heads() {
        let nodes = [
            node("base", &[]),
            node("a", &["base"]),
            node("b1", &["a"]),
            node("b2", &["a"]),
            node("c1", &["b1"]),
        ];
        insta::assert_snapshot!("fork", draw(&nodes));
    }

    #[test]
    fn fork_and_merge() {
        let nodes = [
            node("r", &[]),
            node("a1", &["r"]),
            node("b1", &["r"]),
            node("a2", &["a1"]),
            node("b2", &["b1"]),
            node("m", &["a2", "b2"]),
            node("t", &["m"]),
        ];
        insta::assert_snapshot!("fork_merge", draw(&nodes));
    }

    #[test]
    fn two_bases_merged() {
        let nodes = [
            node("a1", &[]),
            node("b1", &[]),
            node("a2", &["a1"]),
            node("b2", &["b1"]),
            node("m", &["a2", "b2"]),
            node("t", &["m"]),
        ];
        insta::assert_snapshot!("two_bases", draw(&nodes));
    }

    #[test]
    fn unrelated_histories_side_by_side() {
        let nodes = [
            node("a1", &[]),
            node("a2", &["a1"]),
            node("b1", &[]),
            node("b2", &["b1"]),
            node("c1", &[]),
        ];
        insta::assert_snapshot!("unrelated", draw(&nodes));
    }

    #[test]
    fn three_way_merge() {
        let nodes = [
            node("r", &[]),
            node("a", &["r"]),
            node("b", &["r"]),
            node("c", &["r"]),
            node("m", &["a", "b", "c"]),
        ];
        insta::assert_snapshot!("three_way_merge", draw(&nodes));
    }

    #[test]
    fn diamond() {
        let nodes = [
            node("a", &[]),
            node("b", &["a"]),
            node("c", &["a"]),
            node("d", &["b", "c"]),
        ];
        insta::assert_snapshot!("diamond", draw(&nodes));
    }

    #[test]
    fn criss_cross() {
        let nodes = [
            node("r", &[]),
            node("a", &["r"]),
            node("b", &["r"]),
            node("m1", &["a", "b"]),
            node("m2", &["b", "a"]),
            node("t", &["m1", "m2"]),
        ];
        insta::assert_snapshot!("criss_cross", draw(&nodes));
    }

    #[test]
    fn branches_forking_from_a_merge() {
        let nodes = [
            node("r", &[]),
            node("a", &["r"]),
            node("b", &["r"]),
            node("m", &["a", "b"]),
            node("c1", &["m"]),
            node("c2", &["m"]),
            node("d2", &["c2"]),
        ];
        insta::assert_snapshot!("fork_from_merge", draw(&nodes));
    }

    /// Two long-lived branches whose files interleave, each merging the other
    /// once, plus a short-lived third branch.
    #[test]
    fn long_lived_branches_interleaved() {
        let nodes = [
            node("m1", &[]),
            node("m2", &["m1"]),
            node("f1", &["m2"]),
            node("m3", &["m2"]),
            node("f2", &["f1"]),
            node("m4", &["m3"]),
            node("f3", &["f2", "m4"]),
            node("h1", &["m4"]),
            node("m5", &["m4"]),
            node("f4", &["f3"]),
            node("m6", &["m5", "f4"]),
            node("f5", &["f4"]),
            node("m7", &["m6", "h1"]),
        ];
        insta::assert_snapshot!("long_lived", draw(&nodes));
    }

    /// Short branches off one main line: their columns are freed and reused.
    #[test]
    fn lanes_are_freed_and_reused() {
        let nodes = [
            node("m1", &[]),
            node("x1", &["m1"]),
            node("m2", &["m1"]),
            node("m3", &["m2", "x1"]),
            node("y1", &["m3"]),
            node("y2", &["y1"]),
            node("z1", &["m3"]),
            node("m4", &["m3"]),
            node("m5", &["m4", "y2", "z1"]),
            node("w1", &["m5"]),
            node("m6", &["m5"]),
        ];
        insta::assert_snapshot!("freed_and_reused", draw(&nodes));
    }

    #[test]
    fn depends_on_is_listed_not_drawn() {
        let nodes = [
            node("a1", &[]),
            node("b1", &["a1"]),
            with_deps(node("c1", &["a1"]), &["b1"]),
            node("b2", &["b1"]),
            with_deps(node("c2", &["c1"]), &["b2", "gone"]),
        ];
        insta::assert_snapshot!("depends_on", draw(&nodes));
        let order = topo_order_newest_first(&nodes);
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let rows = layout(&ordered);
        let c2 = ordered.iter().position(|n| n.id == "c2").expect("c2 shown");
        let b2 = ordered.iter().position(|n| n.id == "b2").expect("b2 shown");
        assert_eq!(rows[c2].deps, vec![Some(b2), None]);
        assert!(c2 < b2, "a dependency is shown below its dependent");
    }

    fn ids(nodes: &[GraphNode]) -> Vec<&str> {
        topo_order_newest_first(nodes)
            .into_iter()
            .map(|i| nodes[i].id.as_str())
            .collect()
    }

    #[test]
    fn topo_order_breaks_ties_by_input_order() {
        let nodes = [
            node("r", &[]),
            node("x", &["r"]),
            node("y", &["r"]),
            node("z", &["r"]),
        ];
        assert_eq!(ids(&nodes), ["x", "y", "z", "r"]);
        let nodes = [
            node("r", &[]),
            node("z", &["r"]),
            node("y", &["r"]),
            node("x", &["r"]),
        ];
        assert_eq!(ids(&nodes), ["z", "y", "x", "r"]);
    }

    #[test]
    fn topo_order_shows_deeper_heads_first_and_keeps_lines_together() {
        // "stale" forked from m1 long ago and comes first in the input.
        let nodes = [
            node("stale", &["m1"]),
            node("m1", &[]),
            node("m2", &["m1"]),
            node("m3", &["m2"]),
        ];
        assert_eq!(ids(&nodes), ["m3", "m2", "stale", "m1"]);
    }

    #[test]
    fn topo_order_shows_a_separately_based_side_branch_right_below_its_merge() {
        let nodes = [
            node("a1", &[]),
            node("a2", &["a1"]),
            node("a3", &["a2"]),
            node("b1", &[]),
            node("m", &["a3", "b1"]),
        ];
        assert_eq!(ids(&nodes), ["m", "b1", "a3", "a2", "a1"]);
    }

    #[test]
    fn cycles_and_bad_references_do_not_panic() {
        let nodes = [
            node("a", &["b"]),
            node("b", &["a"]),
            node("c", &["c", "missing"]),
            node("c", &["a"]),
        ];
        let order = topo_order_newest_first(&nodes);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 1, 2, 3]);
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let rows = layout(&ordered);
        assert_eq!(rows.len(), 4);
        assert!(
            rows.iter()
                .all(|r| r.cells.iter().filter(|c| c.node).count() == 1)
        );
        // Also in an order that violates the parent-below rule.
        let reversed: Vec<GraphNode> = [node("a", &[]), node("b", &["a"])].into();
        let rows = layout(&reversed);
        assert!(rows.iter().all(|r| r.cells.iter().all(|c| !c.down)));
    }

    #[test]
    fn ten_thousand_revisions_in_a_chain() {
        let nodes: Vec<GraphNode> = (0..10_000)
            .map(|i| {
                let parent = (i > 0).then(|| format!("r{}", i - 1));
                GraphNode {
                    id: format!("r{i}"),
                    parents: parent.into_iter().collect(),
                    deps: Vec::new(),
                }
            })
            .collect();
        let order = topo_order_newest_first(&nodes);
        assert_eq!(order.first(), Some(&9_999));
        assert_eq!(order.last(), Some(&0));
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let rows = layout(&ordered);
        check_consistent(&ordered, &rows);
        assert!(rows.iter().all(|r| r.cells.len() == 1));
    }

    /// A deterministic pseudo-random history: branches fork from recent
    /// revisions, some are merged back (sometimes three at a time), some
    /// stay open as heads, and a few new bases appear.
    #[test]
    fn ten_thousand_revisions_branchy() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        let mut nodes: Vec<GraphNode> = Vec::new();
        let mut open_heads: Vec<usize> = Vec::new();
        for i in 0..10_000 {
            let mut parents = Vec::new();
            let roll = next(100);
            if i == 0 || roll < 1 {
                // a new base
            } else if roll < 15 && !nodes.is_empty() {
                parents.push(nodes[i - 1 - next(i.min(40))].id.clone());
            } else if roll < 25 && open_heads.len() >= 2 {
                let take = 2 + next(2).min(open_heads.len() - 2);
                for _ in 0..take {
                    let head = open_heads.swap_remove(next(open_heads.len()));
                    parents.push(nodes[head].id.clone());
                }
            } else if let Some(position) = (!open_heads.is_empty()).then(|| next(open_heads.len()))
            {
                parents.push(nodes[open_heads.swap_remove(position)].id.clone());
            } else {
                parents.push(nodes[i - 1].id.clone());
            }
            open_heads.push(i);
            if open_heads.len() > 30 {
                open_heads.swap_remove(0);
            }
            nodes.push(GraphNode {
                id: format!("r{i}"),
                parents,
                deps: Vec::new(),
            });
        }
        let order = topo_order_newest_first(&nodes);
        let ordered: Vec<&GraphNode> = order.iter().map(|&i| &nodes[i]).collect();
        let rows = layout(&ordered);
        check_consistent(&ordered, &rows);
        let widest = rows.iter().map(|r| r.cells.len()).max().unwrap_or(0);
        assert!(widest > 2, "the generator should produce parallel branches");
    }

    #[test]
    fn glyphs_cover_every_connection() {
        let cell = |up, down, left, right| LaneCell {
            node: false,
            up,
            down,
            left,
            right,
        };
        assert_eq!(cell(true, true, false, false).glyph('●'), '│');
        assert_eq!(cell(true, false, true, false).glyph('●'), '╯');
        assert_eq!(cell(true, false, false, true).glyph('●'), '╰');
        assert_eq!(cell(false, true, true, false).glyph('●'), '╮');
        assert_eq!(cell(false, true, false, true).glyph('●'), '╭');
        assert_eq!(cell(true, true, true, true).glyph('●'), '┼');
        assert_eq!(cell(false, false, true, true).glyph('●'), '─');
        let node = LaneCell {
            node: true,
            ..LaneCell::default()
        };
        assert_eq!(node.glyph('◉'), '◉');
    }
}

//! Plans: the ordered steps that move the database from its current heads to a
//! target, each with the exact change it makes to the version table.
//!
//! A plan is computed without touching the database; the database layer only
//! executes it.

use serde::Serialize;

use crate::core::graph::RevisionMap;
use crate::core::rows::Rows;
use crate::core::target::{TargetError, TargetResult};
use crate::core::topo::topological_order;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Upgrade,
    Downgrade,
}

/// One change to the version table. Online, `Update` and `Delete` must match
/// exactly one row (as Alembic checks), otherwise the step fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum VersionOp {
    Insert { version: String },
    Update { from: String, to: String },
    Delete { version: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// Run the revision's upgrade or downgrade SQL.
    Migrate,
    /// Only move the version table (no SQL of the revision runs).
    Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub direction: Direction,
    /// The revision whose SQL runs (for `Migrate`); for `Stamp` the destination
    /// revision, or empty when stamping to base.
    pub revision: String,
    /// Alembic's `short_log` sides: the revisions the step moves from and to
    /// (down revisions without dependencies).
    pub from_revisions: Vec<String>,
    pub to_revisions: Vec<String>,
    pub version_ops: Vec<VersionOp>,
}

impl Step {
    /// Alembic's log line: `upgrade a -> b`, `downgrade b -> a`, `stamp_revision ...`.
    pub fn short_log(&self) -> String {
        let verb = match (&self.kind, self.direction) {
            (StepKind::Stamp, _) => "stamp_revision",
            (StepKind::Migrate, Direction::Upgrade) => "upgrade",
            (StepKind::Migrate, Direction::Downgrade) => "downgrade",
        };
        format!(
            "{verb} {} -> {}",
            self.from_revisions.join(", "),
            self.to_revisions.join(", ")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Version-table rows before the plan runs (sorted).
    pub heads_before: Vec<String>,
    /// Version-table rows after every step has run (sorted).
    pub heads_after: Vec<String>,
    /// Stamp with `--purge`: every row is deleted before the first step.
    pub purge: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && !self.purge
    }
}

/// Why no plan could be made, phrased as Alembic's command line phrases it,
/// with the underlying cause where that adds information.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
pub struct PlanError {
    pub message: String,
    pub detail: Option<String>,
}

impl PlanError {
    fn plain(message: impl Into<String>) -> PlanError {
        PlanError {
            message: message.into(),
            detail: None,
        }
    }
}

/// Which command a resolution error comes from, to phrase it as Alembic's
/// `_catch_revision_errors` does.
#[derive(Debug, Clone, Copy)]
enum Verb {
    Upgrade,
    Downgrade,
    Stamp,
}

fn explain(verb: Verb, destination: &str, err: TargetError) -> PlanError {
    match err {
        TargetError::Resolution { argument, message } => PlanError {
            message: format!("Can't locate revision identified by '{argument}'"),
            detail: Some(message),
        },
        TargetError::MultipleHeads { argument, heads } => {
            let message = match verb {
                Verb::Stamp => {
                    "Multiple heads are present; please specify a single target revision"
                        .to_string()
                }
                Verb::Upgrade | Verb::Downgrade => format!(
                    "Multiple head revisions are present for given argument '{}'; please specify a \
                     specific target revision, '<branchname>@{}' to narrow to a specific head, or \
                     'heads' for all heads",
                    if destination.is_empty() {
                        &argument
                    } else {
                        destination
                    },
                    if destination.is_empty() {
                        &argument
                    } else {
                        destination
                    },
                ),
            };
            PlanError {
                message,
                detail: Some(format!("heads: {}", heads.join(", "))),
            }
        }
        TargetError::RangeNotAncestor { .. } => {
            let direction = match verb {
                Verb::Downgrade => "downgrade",
                Verb::Upgrade | Verb::Stamp => "upgrade",
            };
            PlanError::plain(format!(
                "Destination {destination} is not a valid {direction} target from current head(s)"
            ))
        }
        TargetError::Revision(message) => PlanError::plain(message),
        empty @ TargetError::Empty { .. } => PlanError::plain(empty.to_string()),
    }
}

/// The steps that bring the database from `current` (the rows of the
/// version table) to `target`, in the order they run.
pub fn plan_upgrade(
    map: &RevisionMap,
    current: &[String],
    target: &str,
) -> Result<Plan, PlanError> {
    let order =
        upgrade_order(map, current, target).map_err(|e| explain(Verb::Upgrade, target, e))?;
    build_plan(map, current, &order, Direction::Upgrade)
}

/// The steps that bring the database from `current` down to `target`.
pub fn plan_downgrade(
    map: &RevisionMap,
    current: &[String],
    target: &str,
) -> Result<Plan, PlanError> {
    let order =
        downgrade_order(map, current, target).map_err(|e| explain(Verb::Downgrade, target, e))?;
    build_plan(map, current, &order, Direction::Downgrade)
}

fn upgrade_order(map: &RevisionMap, current: &[String], target: &str) -> TargetResult<Vec<usize>> {
    let targets = map.parse_upgrade_target(current, target)?;
    let required = ancestors_checked(map, &targets)?;
    let current_revs = map.resolve_all(current)?;
    let applied = ancestors_checked(map, &current_revs)?;
    let needed: Vec<bool> = (0..map.len()).map(|i| required[i] && !applied[i]).collect();
    let mut order = topological_order(map, &needed, &targets);
    order.reverse();
    Ok(order)
}

fn downgrade_order(
    map: &RevisionMap,
    current: &[String],
    target: &str,
) -> TargetResult<Vec<usize>> {
    let (branch, destination) = map.parse_downgrade_target(current, target)?;
    let mut roots: Vec<usize> = match destination {
        None => map.bases().to_vec(),
        Some(dest) => map.children(dest).to_vec(),
    };
    if let Some(branch) = branch.as_deref().filter(|_| roots.len() > 1) {
        let on_branch = map.ancestors(&[map.resolve_branch(branch)?], false);
        roots.retain(|&r| on_branch[r]);
        if roots.is_empty() {
            return Err(TargetError::Revision(
                "Not a valid downgrade target from current heads".into(),
            ));
        }
    }
    let heads = map.resolve_all(current)?;
    let above_roots = map.descendants(&roots, true);
    let applied = map.ancestors(&heads, true);
    let dropped: Vec<bool> = (0..map.len())
        .map(|i| above_roots[i] && applied[i])
        .collect();
    if let Some(dest) = destination
        && !dropped.iter().any(|&d| d)
        && !heads.contains(&dest)
    {
        return Err(TargetError::RangeNotAncestor {
            lower: map.id(dest).to_string(),
            upper: current.join(", "),
        });
    }
    Ok(topological_order(map, &dropped, &heads))
}

/// Moves the version table to `targets` without running any SQL.
pub fn plan_stamp(
    map: &RevisionMap,
    current: &[String],
    targets: &[String],
    purge: bool,
) -> Result<Plan, PlanError> {
    let start: Vec<String> = if purge { Vec::new() } else { current.to_vec() };
    let destination = targets.join(" ");
    let steps =
        stamp_steps(map, &start, targets).map_err(|e| explain(Verb::Stamp, &destination, e))?;
    let mut rows = Rows::new(map, &start);
    let mut planned = Vec::with_capacity(steps.len());
    for (n, step) in steps.into_iter().enumerate() {
        let ops = stamp_version_ops(&step, &rows)
            .and_then(|ops| apply_ops(&mut rows, &ops).map(|()| ops))
            .map_err(|err| match n {
                0 => err,
                _ => stamp_conflict(&destination, &step, err),
            })?;
        planned.push(Step {
            version_ops: ops,
            ..step.into_step()
        });
    }
    Ok(Plan {
        steps: planned,
        heads_before: sorted(current.to_vec()),
        heads_after: rows.into_sorted(),
        purge,
    })
}

/// Each revision of a stamp moves the current heads in the lineage of any of
/// them (Alembic's `_stamp_revs`), so a later revision can find the rows it
/// moves already moved, or its own row already written, by an earlier one.
/// Alembic then crashes after committing the earlier moves; retort refuses
/// the whole stamp before changing anything.
fn stamp_conflict(destination: &str, step: &StampMove, err: PlanError) -> PlanError {
    let revision = step.to.as_deref().unwrap_or("base");
    PlanError {
        message: format!(
            "Can't stamp {destination} in one command: an earlier revision of the stamp already changed the version rows that {revision} changes; stamp them one at a time"
        ),
        detail: Some(err.to_string()),
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Turns an ordered list of revision steps into a plan, working out each
/// step's version-table change from the heads the previous steps leave.
fn build_plan(
    map: &RevisionMap,
    current: &[String],
    order: &[usize],
    direction: Direction,
) -> Result<Plan, PlanError> {
    let mut rows = Rows::new(map, current);
    let mut planned = Vec::with_capacity(order.len());
    for &rev in order {
        let ops = revision_version_ops(map, &mut rows, rev, direction)?;
        apply_ops(&mut rows, &ops)?;
        let id = map.id(rev).to_string();
        let downs: Vec<String> = map
            .versioned_down(rev)
            .iter()
            .map(|&d| map.id(d).to_string())
            .collect();
        let (from_revisions, to_revisions) = match direction {
            Direction::Upgrade => (downs, vec![id.clone()]),
            Direction::Downgrade => (vec![id.clone()], downs),
        };
        planned.push(Step {
            kind: StepKind::Migrate,
            direction,
            revision: id,
            from_revisions,
            to_revisions,
            version_ops: ops,
        });
    }
    Ok(Plan {
        steps: planned,
        heads_before: sorted(current.to_vec()),
        heads_after: rows.into_sorted(),
        purge: false,
    })
}

/// The version-table change of one revision step, by the rules of Alembic's
/// `HeadMaintainer.update_to_step`: delete a branch, create a branch, merge,
/// unmerge, or move a row.
fn revision_version_ops(
    map: &RevisionMap,
    heads: &mut Rows,
    rev: usize,
    direction: Direction,
) -> Result<Vec<VersionOp>, PlanError> {
    let id = map.id(rev).to_string();
    let downs: Vec<String> = map
        .normalized_down(rev)
        .iter()
        .map(|&d| map.id(d).to_string())
        .collect();
    let is_head = heads.contains(&id);
    let downs_in_heads: Vec<&String> = downs.iter().filter(|d| heads.contains(d)).collect();
    match direction {
        Direction::Downgrade if is_head => {
            let to = if downs.is_empty() {
                Vec::new()
            } else {
                unmerge_targets(map, heads, rev, &downs)
            };
            if to.is_empty() {
                return Ok(vec![VersionOp::Delete { version: id }]);
            }
            if downs.len() > 1 {
                let (last, rest) = to.split_last().expect("checked non-empty");
                let mut ops: Vec<VersionOp> = rest
                    .iter()
                    .map(|v| VersionOp::Insert { version: v.clone() })
                    .collect();
                ops.push(VersionOp::Update {
                    from: id,
                    to: last.clone(),
                });
                return Ok(ops);
            }
        }
        Direction::Upgrade if downs_in_heads.is_empty() => {
            return Ok(vec![VersionOp::Insert { version: id }]);
        }
        Direction::Upgrade if downs.len() > 1 && downs_in_heads.len() > 1 => {
            let from = merge_sources(map, heads, &downs);
            let (last, rest) = from.split_last().expect("at least two heads are merged");
            let mut ops: Vec<VersionOp> = rest
                .iter()
                .map(|v| VersionOp::Delete { version: v.clone() })
                .collect();
            ops.push(VersionOp::Update {
                from: last.clone(),
                to: id,
            });
            return Ok(ops);
        }
        _ => {}
    }
    let down = match (downs.as_slice(), downs_in_heads.as_slice()) {
        ([only], _) => only.clone(),
        (_, [only]) => (*only).clone(),
        _ => {
            return Err(PlanError::plain(format!(
                "Can't move the version row of {id}: its down revisions ({}) do not match one current head ({})",
                downs.join(", "),
                heads.list()
            )));
        }
    };
    Ok(vec![match direction {
        Direction::Upgrade => VersionOp::Update { from: down, to: id },
        Direction::Downgrade => VersionOp::Update { from: id, to: down },
    }])
}

/// Rows a downgrade of a merge (or of a revision with dependencies) leaves:
/// its down revisions, minus those another remaining head already implies.
fn unmerge_targets(
    map: &RevisionMap,
    heads: &mut Rows,
    rev: usize,
    downs: &[String],
) -> Vec<String> {
    let others = heads.len() - usize::from(heads.contains(map.id(rev)));
    if others > 0 {
        return downs
            .iter()
            .filter(|d| !map.index_of(d).is_some_and(|i| heads.implied(i, &[rev])))
            .cloned()
            .collect();
    }
    if downs.len() == 1 {
        return downs.to_vec();
    }
    // Keep the down revisions no other down revision stands on.
    let strictly_above: Vec<usize> = downs
        .iter()
        .filter_map(|d| map.index_of(d))
        .flat_map(|d| map.normalized_down(d).iter().copied())
        .collect();
    let mut covered = Below::new(map, strictly_above);
    downs
        .iter()
        .filter(|d| !map.index_of(d).is_some_and(|i| covered.holds(i)))
        .cloned()
        .collect()
}

/// Rows an upgrade to a merge point replaces: its down revisions, minus those
/// that other current heads still imply.
fn merge_sources(map: &RevisionMap, heads: &mut Rows, downs: &[String]) -> Vec<String> {
    let down_indices: Vec<usize> = downs.iter().filter_map(|d| map.index_of(d)).collect();
    downs
        .iter()
        .filter(|d| {
            !map.index_of(d)
                .is_some_and(|i| heads.implied(i, &down_indices))
        })
        .cloned()
        .collect()
}

/// "Is this revision one of `tops` or below one of them?", asked for a few
/// revisions per plan step: answered from the map's reachability labels, so
/// a step costs no walk over the graph (a walk is the fallback).
struct Below<'a> {
    map: &'a RevisionMap,
    tops: Vec<usize>,
    walked: Option<Vec<bool>>,
}

impl<'a> Below<'a> {
    fn new(map: &'a RevisionMap, tops: Vec<usize>) -> Below<'a> {
        Below {
            map,
            tops,
            walked: None,
        }
    }

    fn holds(&mut self, rev: usize) -> bool {
        if let Some(reach) = self.map.reachability() {
            return self.tops.iter().any(|&top| reach.reaches(rev, top));
        }
        let (map, tops) = (self.map, &self.tops);
        self.walked.get_or_insert_with(|| map.ancestors(tops, true))[rev]
    }
}

/// Applies version-table changes to the simulated rows, failing where the
/// database would (a row inserted twice, a row that is not there).
fn apply_ops(rows: &mut Rows, ops: &[VersionOp]) -> Result<(), PlanError> {
    for op in ops {
        match op {
            VersionOp::Insert { version } => rows.insert(version),
            VersionOp::Delete { version } => rows.delete(version),
            VersionOp::Update { from, to } => rows.update(from, to),
        }
        .map_err(PlanError::plain)?;
    }
    Ok(())
}

/// Ancestors of `starts` (themselves included), refusing, as Alembic does,
/// a set in which one revision is an ancestor of another.
fn ancestors_checked(map: &RevisionMap, starts: &[usize]) -> TargetResult<Vec<bool>> {
    let mut seen = vec![false; map.len()];
    // Which start last popped a node: a generation stamp instead of a set per start.
    let mut touched_by = vec![usize::MAX; map.len()];
    for (n, &start) in starts.iter().enumerate() {
        let mut todo = vec![start];
        while let Some(node) = todo.pop() {
            touched_by[node] = n;
            if std::mem::replace(&mut seen[node], true) {
                continue;
            }
            todo.extend(map.normalized_down(node).iter().copied());
        }
        let overlaps: Vec<&str> = starts
            .iter()
            .filter(|&&other| other != start && touched_by[other] == n)
            .map(|&other| map.id(other))
            .collect();
        if !overlaps.is_empty() {
            return Err(TargetError::Revision(format!(
                "Requested revision {} overlaps with other requested revisions {}",
                map.id(start),
                overlaps.join(", ")
            )));
        }
    }
    Ok(seen)
}

/// A stamp movement, before its version-table change is worked out
/// (Alembic's `StampStep`).
struct StampMove {
    from: Vec<String>,
    to: Option<String>,
    is_upgrade: bool,
    branch_move: bool,
}

impl StampMove {
    fn into_step(self) -> Step {
        Step {
            kind: StepKind::Stamp,
            direction: if self.is_upgrade {
                Direction::Upgrade
            } else {
                Direction::Downgrade
            },
            revision: self.to.clone().unwrap_or_default(),
            from_revisions: self.from,
            to_revisions: self.to.into_iter().collect(),
            version_ops: Vec::new(),
        }
    }
}

/// Alembic's `_stamp_revs`: for each destination, delete the branch (base),
/// do nothing (already a head), move the heads of its lineage down or up to
/// it, or add it as a new branch.
fn stamp_steps(
    map: &RevisionMap,
    heads: &[String],
    targets: &[String],
) -> TargetResult<Vec<StampMove>> {
    let head_revs = map.resolve_all(heads)?;
    let targets: Vec<String> = if targets.is_empty() {
        vec!["base".into()]
    } else {
        targets.to_vec()
    };
    let mut lineage_heads: Vec<usize> = Vec::new();
    for target in targets.iter().filter(|t| !t.is_empty()) {
        for h in map.filter_for_lineage(&head_revs, target, true)? {
            if !lineage_heads.contains(&h) {
                lineage_heads.push(h);
            }
        }
    }
    let lineage_ids: Vec<String> = lineage_heads
        .iter()
        .map(|&h| map.id(h).to_string())
        .collect();
    let mut destinations: Vec<usize> = Vec::new();
    for target in &targets {
        destinations.extend(map.get_revisions(target)?);
    }
    if destinations.is_empty() {
        return Ok(lineage_ids
            .iter()
            .map(|head| StampMove {
                from: vec![head.clone()],
                to: None,
                is_upgrade: false,
                branch_move: true,
            })
            .collect());
    }
    let mut moves = Vec::new();
    for dest in destinations {
        if lineage_heads.contains(&dest) {
            continue;
        }
        let above = map.descendants(&[dest], true);
        let below = map.ancestors(&[dest], true);
        let to = Some(map.id(dest).to_string());
        let (from, is_upgrade, branch_move) = if lineage_heads.iter().any(|&h| above[h]) {
            (lineage_ids.clone(), false, false)
        } else if lineage_heads.iter().any(|&h| below[h]) {
            (lineage_ids.clone(), true, false)
        } else {
            (Vec::new(), true, true)
        };
        moves.push(StampMove {
            from,
            to,
            is_upgrade,
            branch_move,
        });
    }
    Ok(moves)
}

/// The version-table change of a stamp movement, by the same rules as
/// revision steps, specialised as in Alembic's `StampStep`.
fn stamp_version_ops(step: &StampMove, heads: &Rows) -> Result<Vec<VersionOp>, PlanError> {
    if !step.is_upgrade && step.branch_move {
        return Ok(vec![VersionOp::Delete {
            version: step.from[0].clone(),
        }]);
    }
    let to = step.to.clone().unwrap_or_default();
    let from_missing = step.from.iter().any(|f| !heads.contains(f));
    if step.is_upgrade && (step.branch_move || from_missing) && !heads.contains(&to) {
        return Ok(vec![VersionOp::Insert { version: to }]);
    }
    match step.from.split_last() {
        Some((last, rest)) => {
            let mut ops: Vec<VersionOp> = rest
                .iter()
                .map(|v| VersionOp::Delete { version: v.clone() })
                .collect();
            ops.push(VersionOp::Update {
                from: last.clone(),
                to,
            });
            Ok(ops)
        }
        None => Err(PlanError::plain(format!(
            "Nothing to stamp: {to} is already current"
        ))),
    }
}

/// What a changing run was asked to do, before any plan exists: the plan is
/// made from it against the version table as read under the migration lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Upgrade { target: String },
    Downgrade { target: String },
    Stamp { targets: Vec<String>, purge: bool },
}

impl Intent {
    pub fn plan(&self, map: &RevisionMap, rows: &[String]) -> Result<Plan, PlanError> {
        match self {
            Intent::Upgrade { target } => plan_upgrade(map, rows, target),
            Intent::Downgrade { target } => plan_downgrade(map, rows, target),
            Intent::Stamp { targets, purge } => plan_stamp(map, rows, targets, *purge),
        }
    }

    /// `stamp --purge` replaces every row, known or not: the way out of a
    /// version table that names revisions no file defines. Every other
    /// intent plans from the rows, so they must all be known.
    pub fn needs_known_rows(&self) -> bool {
        !matches!(self, Intent::Stamp { purge: true, .. })
    }

    /// The action the confirmation policy judges.
    pub fn action(&self) -> crate::core::policy::Action {
        use crate::core::policy::Action;
        match self {
            Intent::Upgrade { .. } => Action::Upgrade,
            Intent::Downgrade { .. } => Action::Downgrade,
            Intent::Stamp { purge: false, .. } => Action::Stamp,
            Intent::Stamp { purge: true, .. } => Action::StampPurge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::revision::Revision;

    /// The graph of the reference's worked example: a, b, c1 (label lbl1),
    /// c2, d merging c1 and c2, and e, a base that depends on c1.
    fn example() -> RevisionMap {
        let a = Revision::synthetic("a", &[]);
        let b = Revision::synthetic("b", &["a"]);
        let mut c1 = Revision::synthetic("c1", &["b"]);
        c1.branch_labels = vec!["lbl1".into()];
        let c2 = Revision::synthetic("c2", &["b"]);
        let d = Revision::synthetic("d", &["c1", "c2"]);
        let mut e = Revision::synthetic("e", &[]);
        e.depends_on = vec!["c1".into()];
        RevisionMap::build(vec![a, b, c1, c2, d, e]).unwrap()
    }

    fn order(plan: &Plan) -> Vec<&str> {
        plan.steps.iter().map(|s| s.revision.as_str()).collect()
    }

    #[test]
    fn upgrade_heads_runs_in_alembics_order() {
        let map = example();
        let plan = plan_upgrade(&map, &[], "heads").unwrap();
        assert_eq!(order(&plan), ["a", "b", "c2", "c1", "e", "d"]);
        assert_eq!(plan.heads_after, ["d", "e"]);
    }

    #[test]
    fn head_with_several_heads_is_refused() {
        let map = example();
        let err = plan_upgrade(&map, &[], "head").unwrap_err();
        assert!(
            err.message
                .starts_with("Multiple head revisions are present for given argument 'head'"),
            "{err}"
        );
    }

    #[test]
    fn downgrade_to_base_undoes_everything_top_down() {
        let map = example();
        let up = plan_upgrade(&map, &[], "heads").unwrap();
        let down = plan_downgrade(&map, &up.heads_after, "base").unwrap();
        let mut undone = order(&down);
        undone.reverse();
        assert_eq!(down.heads_after, Vec::<String>::new());
        assert_eq!(undone.len(), 6);
        assert_eq!(down.steps.first().map(|s| s.revision.as_str()), Some("d"));
    }

    #[test]
    fn merge_and_unmerge_rewrite_rows() {
        let map = example();
        let plan = plan_upgrade(&map, &["c1".into(), "c2".into()], "d").unwrap();
        assert_eq!(plan.heads_after, ["d"]);
        let back = plan_downgrade(&map, &["d".into()], "c1").unwrap();
        assert_eq!(order(&back), ["d"]);
        // A relative walk down from a merge point has two ways to go.
        // Alembic's phrase first, then where the walk forked.
        assert_eq!(
            plan_downgrade(&map, &["d".into()], "-1")
                .unwrap_err()
                .message,
            "Ambiguous walk: going down from d the graph forks into c1, c2; \
             name a branch ('<label>@-N') or a revision instead"
        );
        assert_eq!(back.heads_after, ["c1", "c2"]);
    }

    #[test]
    fn downgrade_to_a_descendant_is_invalid() {
        let map = example();
        let err = plan_downgrade(&map, &["b".into()], "d").unwrap_err();
        assert_eq!(
            err.message,
            "Destination d is not a valid downgrade target from current head(s)"
        );
    }

    #[test]
    fn stamp_moves_rows_without_steps_of_sql() {
        let map = example();
        let plan = plan_stamp(&map, &["b".into()], &["c1".into()], false).unwrap();
        assert_eq!(plan.heads_after, ["c1"]);
        assert!(plan.steps.iter().all(|s| s.kind == StepKind::Stamp));
        let plan = plan_stamp(&map, &["d".into(), "e".into()], &["base".into()], false).unwrap();
        assert_eq!(plan.heads_after, Vec::<String>::new());
        let plan = plan_stamp(&map, &["d".into()], &["heads".into()], true).unwrap();
        assert!(plan.purge);
        assert_eq!(plan.heads_after, ["d", "e"]);
    }

    fn ids(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn stamp_with_several_revisions_moves_the_heads_of_all_of_them() {
        let map = RevisionMap::build(vec![
            Revision::synthetic("r0", &[]),
            Revision::synthetic("a1", &["r0"]),
            Revision::synthetic("a2", &["a1"]),
            Revision::synthetic("b1", &["r0"]),
            Revision::synthetic("b2", &["b1"]),
        ])
        .unwrap();
        let stamp =
            |rows: &[&str], targets: &[&str]| plan_stamp(&map, &ids(rows), &ids(targets), false);
        assert_eq!(
            stamp(&["a1", "b1"], &["a2", "b2"]).unwrap().heads_after,
            ["a2", "b2"]
        );
        // b2 moves both a1 and b1 (merged into one row); a1 is then taken as
        // already current, as Alembic does.
        assert_eq!(
            stamp(&["a1", "b1"], &["b2", "a1"]).unwrap().heads_after,
            ["b2"]
        );
        // Moving down to a1 takes both rows; b1 then finds a2 gone. Alembic
        // crashes there after committing the first move.
        let err = stamp(&["a2", "b2"], &["a1", "b1"]).unwrap_err();
        assert!(
            err.message.starts_with("Can't stamp a1 b1 in one command"),
            "{err}"
        );
        let err = stamp(&[], &["a1", "a1"]).unwrap_err();
        assert!(
            err.message.starts_with("Can't stamp a1 a1 in one command"),
            "{err}"
        );
    }
}

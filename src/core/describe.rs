//! What the read-only commands show: history ranges, the current revisions,
//! and the line formats of Alembic's `history`, `heads`, `current` and
//! `branches`, plus a structured form of the same facts for `--format json`.

use serde::Serialize;

use crate::core::graph::RevisionMap;
use crate::core::plan::PlanError;
use crate::core::target::{TargetError, TargetResult, WalkPos, parse_relative};

/// One end of a history range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeEnd {
    /// As typed: `base`, `heads`, an id, a label, `label@head`, `-3`, ...
    Ident(String),
    /// Resolved revisions, e.g. the database's current heads for `current`.
    Revisions(Vec<String>),
}

/// Revisions from `base` to `head` inclusive, newest first, in the order of
/// Alembic's `walk_revisions`.
pub fn history_range(
    map: &RevisionMap,
    base: &RangeEnd,
    head: &RangeEnd,
) -> Result<Vec<usize>, PlanError> {
    let range = walk_range(map, base, head).map_err(|err| range_error(base, head, err))?;
    if range.unreached.is_empty() {
        Ok(range.order)
    } else {
        Err(unreached_error(map, base, head, &range.unreached))
    }
}

/// A history range in order, and the revisions of the range the order could
/// not reach from its upper end.
struct WalkedRange {
    order: Vec<usize>,
    unreached: Vec<usize>,
}

fn walk_range(map: &RevisionMap, base: &RangeEnd, head: &RangeEnd) -> TargetResult<WalkedRange> {
    let lower = range_lower(map, base)?;
    let targets = match head {
        RangeEnd::Ident(ident) => {
            let lower_ids: Vec<String> = lower.iter().map(|&i| map.id(i).to_string()).collect();
            map.parse_upgrade_target(&lower_ids, ident)?
        }
        // Alembic's `current` with no current revisions falls back to heads.
        RangeEnd::Revisions(ids) if ids.is_empty() => map.real_heads().to_vec(),
        RangeEnd::Revisions(ids) => map.resolve_all(ids)?,
    };
    let targets = match base {
        RangeEnd::Ident(ident) if ident.contains('@') => only_on_branch(map, ident, targets)?,
        _ => targets,
    };
    let required = map.ancestors(&targets, true);
    if lower.iter().any(|&l| !required[l]) {
        return Err(TargetError::RangeNotAncestor {
            lower: String::new(),
            upper: String::new(),
        });
    }
    let below_lower = map.ancestors(&lower, true);
    let above_lower = if lower.is_empty() {
        vec![true; map.len()]
    } else {
        map.descendants(&lower, false)
    };
    let wanted: Vec<bool> = (0..map.len())
        .map(|i| (required[i] && !below_lower[i] || lower.contains(&i)) && above_lower[i])
        .collect();
    let order = crate::core::topo::topological_order(map, &wanted, &targets);
    // The lower end keeps only down_revision descendants, so a revision the
    // upper end needs only through a depends_on link from outside the range
    // is in the range but below none of its revisions: the walk down from
    // the upper end never meets it (Alembic's sort fails an assertion).
    let mut listed = vec![false; map.len()];
    for &rev in &order {
        listed[rev] = true;
    }
    let unreached = (0..map.len())
        .filter(|&i| wanted[i] && !listed[i])
        .collect();
    Ok(WalkedRange { order, unreached })
}

/// For a range starting at `label@...`, only the targets carrying that label.
/// A revision id used as the label stands for that revision's own label.
fn only_on_branch(map: &RevisionMap, lower: &str, targets: Vec<usize>) -> TargetResult<Vec<usize>> {
    let (branch, _) = lower.split_once('@').unwrap_or((lower, ""));
    let mut label = branch.to_string();
    if let Ok(Some(rev)) = map.get_revision(branch)
        && map.id(rev) == branch
        && let Some(own) = map.revision(rev).branch_labels.first()
    {
        label = own.clone();
    }
    Ok(targets
        .into_iter()
        .filter(|&t| map.branch_labels(t).contains(&label))
        .collect())
}

/// The lower end of a range: revisions, or nothing for base. `-N` counts
/// down from the heads and stops at base instead of failing.
fn range_lower(map: &RevisionMap, base: &RangeEnd) -> TargetResult<Vec<usize>> {
    let ident = match base {
        RangeEnd::Revisions(ids) => return map.resolve_all(ids),
        RangeEnd::Ident(ident) => ident,
    };
    let relative = parse_relative(ident).filter(|rel| rel.steps < 0);
    let Some(rel) = relative else {
        return map.get_revisions(ident);
    };
    let starts: Vec<WalkPos> = match rel.symbol {
        Some(symbol) => vec![
            map.get_revision(symbol)?
                .map_or(WalkPos::Base, WalkPos::Rev),
        ],
        None => map
            .real_heads()
            .iter()
            .copied()
            .filter(|&h| rel.branch.is_none_or(|b| map.branch_labels(h).contains(b)))
            .map(WalkPos::Rev)
            .collect(),
    };
    let mut lower = Vec::new();
    for start in starts {
        match map
            .walk(start, rel.steps, None, false)?
            .and_then(WalkPos::revision)
        {
            Some(rev) => lower.push(rev),
            None => return Ok(Vec::new()),
        }
    }
    Ok(lower)
}

fn show_end(end: &RangeEnd) -> String {
    match end {
        RangeEnd::Ident(s) => s.clone(),
        RangeEnd::Revisions(ids) => ids.join(", "),
    }
}

fn unreached_error(
    map: &RevisionMap,
    base: &RangeEnd,
    head: &RangeEnd,
    unreached: &[usize],
) -> PlanError {
    let ids: Vec<&str> = unreached.iter().map(|&i| map.id(i)).collect();
    PlanError {
        message: format!(
            "Requested range {}:{} can't be listed in order: {} {} below its upper end only through revisions outside the range",
            show_end(base),
            show_end(head),
            ids.join(", "),
            if ids.len() == 1 { "is" } else { "are" },
        ),
        detail: Some("a range keeps only the down_revision descendants of its lower end".into()),
    }
}

fn range_error(base: &RangeEnd, head: &RangeEnd, err: TargetError) -> PlanError {
    match err {
        TargetError::RangeNotAncestor { .. } => PlanError {
            message: format!(
                "Requested range {}:{} does not refer to ancestor/descendant revisions along the same branch",
                show_end(base),
                show_end(head)
            ),
            detail: None,
        },
        TargetError::Resolution { argument, message } => PlanError {
            message: format!("Can't locate revision identified by '{argument}'"),
            detail: Some(message),
        },
        other => PlanError {
            message: other.to_string(),
            detail: None,
        },
    }
}

/// The current revisions as `alembic current` lists them: the rows plus
/// every head they imply through dependencies, reduced to branch heads, in
/// map order.
pub fn current_revisions(map: &RevisionMap, rows: &[String]) -> TargetResult<Vec<usize>> {
    let rows = map.resolve_all(rows)?;
    let all = map.ancestors(&rows, true);
    Ok((0..map.len())
        .filter(|&i| all[i] && !map.children(i).iter().any(|&c| all[c]))
        .collect())
}

/// Which parts a one-line description includes (Alembic's `_head_only`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineStyle {
    pub parents: bool,
    pub branches: bool,
    pub doc: bool,
    pub tree_indicators: bool,
    pub head_indicators: bool,
}

impl LineStyle {
    pub const HISTORY: LineStyle = LineStyle {
        parents: true,
        branches: true,
        doc: true,
        tree_indicators: true,
        head_indicators: true,
    };
    pub const HEADS: LineStyle = LineStyle {
        parents: false,
        branches: true,
        doc: false,
        tree_indicators: false,
        head_indicators: true,
    };
    pub const CURRENT: LineStyle = LineStyle {
        parents: false,
        branches: false,
        doc: false,
        tree_indicators: true,
        head_indicators: true,
    };
}

/// `<base> -> a1b2 (billing) (head) (current) (branchpoint), message`
///
/// Built in one string: `history` makes a line per revision.
pub fn revision_line(map: &RevisionMap, rev: usize, style: LineStyle, is_current: bool) -> String {
    let r = map.revision(rev);
    let mut text = String::with_capacity(LINE_CAPACITY);
    if style.parents {
        push_downs(&mut text, &r.down_revisions);
        if !r.depends_on.is_empty() {
            text.push_str(" (");
            push_joined(&mut text, &r.depends_on);
            text.push(')');
        }
        text.push_str(" -> ");
    }
    text.push_str(&r.id);
    let labels = map.branch_labels(rev);
    if style.branches && !labels.is_empty() {
        text.push_str(" (");
        push_joined(&mut text, labels);
        text.push(')');
    }
    if style.head_indicators || style.tree_indicators {
        if map.is_real_head(rev) {
            text.push_str(" (head)");
        } else if map.is_head(rev) {
            text.push_str(" (effective head)");
        }
        if is_current {
            text.push_str(" (current)");
        }
    }
    if style.tree_indicators {
        if map.is_branch_point(rev) {
            text.push_str(" (branchpoint)");
        }
        if map.is_merge_point(rev) {
            text.push_str(" (mergepoint)");
        }
    }
    if style.doc {
        text.push_str(", ");
        text.push_str(&r.message);
    }
    text
}

/// Room for a typical history line, so that building one rarely reallocates.
const LINE_CAPACITY: usize = 128;

fn format_downs(map: &RevisionMap, rev: usize) -> String {
    let mut text = String::new();
    push_downs(&mut text, &map.revision(rev).down_revisions);
    text
}

/// The parents as Alembic shows them: `<base>` for none.
fn push_downs(text: &mut String, downs: &[String]) {
    if downs.is_empty() {
        text.push_str("<base>");
    } else {
        push_joined(text, downs);
    }
}

fn push_joined<'a>(text: &mut String, items: impl IntoIterator<Item = &'a String>) {
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        text.push_str(item);
    }
}

/// The verbose block of `history -v`, `heads -v`, `current -v` (Alembic's
/// `log_entry`).
pub fn log_entry(map: &RevisionMap, rev: usize, is_current: bool) -> String {
    let r = map.revision(rev);
    let mut entry = format!(
        "Rev: {}{}{}{}{}\n",
        r.id,
        if map.is_head(rev) { " (head)" } else { "" },
        if map.is_branch_point(rev) {
            " (branchpoint)"
        } else {
            ""
        },
        if map.is_merge_point(rev) {
            " (mergepoint)"
        } else {
            ""
        },
        if is_current { " (current)" } else { "" },
    );
    let parent_key = if map.is_merge_point(rev) {
        "Merges"
    } else {
        "Parent"
    };
    entry += &format!("{parent_key}: {}\n", format_downs(map, rev));
    if !r.depends_on.is_empty() {
        entry += &format!("Also depends on: {}\n", r.depends_on.join(", "));
    }
    if map.is_branch_point(rev) {
        let children: Vec<&str> = map.children(rev).iter().map(|&c| map.id(c)).collect();
        entry += &format!("Branches into: {}\n", children.join(", "));
    }
    let labels = map.branch_labels(rev);
    if !labels.is_empty() {
        entry += &format!(
            "Branch names: {}\n",
            labels.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    entry += &format!("Path: {}\n", r.path.display());
    let doc: Vec<String> = r
        .message
        .lines()
        .map(|line| format!("    {line}"))
        .collect();
    entry += &format!("\n{}\n", doc.join("\n"));
    entry
}

/// A revision as `--format json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RevisionInfo {
    pub revision: String,
    pub down_revisions: Vec<String>,
    pub depends_on: Vec<String>,
    pub branch_labels: Vec<String>,
    pub message: String,
    pub create_date: Option<String>,
    pub transactional: bool,
    pub reversible: bool,
    pub path: String,
    pub is_head: bool,
    pub is_effective_head: bool,
    pub is_branch_point: bool,
    pub is_merge_point: bool,
    pub is_current: bool,
}

pub fn revision_info(map: &RevisionMap, rev: usize, is_current: bool) -> RevisionInfo {
    let r = map.revision(rev);
    RevisionInfo {
        revision: r.id.clone(),
        down_revisions: r.down_revisions.clone(),
        depends_on: r.depends_on.clone(),
        branch_labels: map.branch_labels(rev).iter().cloned().collect(),
        message: r.message.clone(),
        create_date: r.create_date.clone(),
        transactional: r.transactional,
        reversible: !r.is_irreversible(),
        path: r.path.display().to_string(),
        is_head: map.is_real_head(rev),
        is_effective_head: map.is_head(rev) && !map.is_real_head(rev),
        is_branch_point: map.is_branch_point(rev),
        is_merge_point: map.is_merge_point(rev),
        is_current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::revision::Revision;

    fn map() -> RevisionMap {
        let a = Revision::synthetic("aaaa", &[]);
        let b = Revision::synthetic("bbbb", &["aaaa"]);
        let mut c = Revision::synthetic("cccc", &["bbbb"]);
        c.message = "third".into();
        let d = Revision::synthetic("dddd", &["bbbb"]);
        RevisionMap::build(vec![a, b, c, d]).unwrap()
    }

    fn ids(map: &RevisionMap, list: &[usize]) -> Vec<String> {
        list.iter().map(|&i| map.id(i).to_string()).collect()
    }

    #[test]
    fn full_history_is_newest_first() {
        let m = map();
        let all = history_range(
            &m,
            &RangeEnd::Ident("base".into()),
            &RangeEnd::Ident("heads".into()),
        )
        .unwrap();
        assert_eq!(ids(&m, &all), ["cccc", "dddd", "bbbb", "aaaa"]);
    }

    #[test]
    fn range_from_a_revision_includes_it() {
        let m = map();
        let part = history_range(
            &m,
            &RangeEnd::Ident("bbbb".into()),
            &RangeEnd::Ident("cccc".into()),
        )
        .unwrap();
        assert_eq!(ids(&m, &part), ["cccc", "bbbb"]);
        let err = history_range(
            &m,
            &RangeEnd::Ident("cccc".into()),
            &RangeEnd::Ident("dddd".into()),
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("Requested range cccc:dddd"),
            "{err}"
        );
    }

    #[test]
    fn range_reaching_a_revision_only_from_outside_is_refused() {
        // x, a base of its own, depends on a; h merges b and x. From L the
        // range keeps a (h needs it) but not x, the only way from h to a.
        let mut x = Revision::synthetic("x", &[]);
        x.depends_on = vec!["a".into()];
        let m = RevisionMap::build(vec![
            Revision::synthetic("L", &[]),
            Revision::synthetic("a", &["L"]),
            Revision::synthetic("b", &["L"]),
            x,
            Revision::synthetic("h", &["b", "x"]),
        ])
        .unwrap();
        let err = history_range(
            &m,
            &RangeEnd::Ident("L".into()),
            &RangeEnd::Ident("h".into()),
        )
        .unwrap_err();
        assert!(
            err.message
                .starts_with("Requested range L:h can't be listed in order: a is below"),
            "{err}"
        );
        let from_b = history_range(
            &m,
            &RangeEnd::Ident("b".into()),
            &RangeEnd::Ident("h".into()),
        )
        .unwrap();
        assert_eq!(ids(&m, &from_b), ["h", "b"]);
    }

    #[test]
    fn lines_follow_alembics_format() {
        let m = map();
        assert_eq!(
            revision_line(&m, 2, LineStyle::HISTORY, false),
            "bbbb -> cccc (head), third"
        );
        assert_eq!(
            revision_line(&m, 1, LineStyle::HISTORY, true),
            "aaaa -> bbbb (current) (branchpoint), "
        );
        assert_eq!(revision_line(&m, 3, LineStyle::HEADS, false), "dddd (head)");
    }
}

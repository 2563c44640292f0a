//! Changes as text: one line per change (`index invoices_account_idx:
//! missing`, `column users.age: default now() → none`); a long or
//! multi-line value (a view's definition, a function's body) as the lines
//! that differ, `-` before and `+` after, below its change line. Column
//! order changes come last, since no ALTER can make them.

use super::diff::{Change, ChangeKind};

/// Values longer than this are shown as line differences below the line.
const INLINE_WIDTH: usize = 60;

/// Each change as its text (several lines for a long value).
pub fn change_lines(changes: &[Change]) -> Vec<String> {
    let (order, rest): (Vec<&Change>, Vec<&Change>) =
        changes.iter().partition(|c| c.is_column_order());
    rest.into_iter().chain(order).map(change_text).collect()
}

/// All changes, one per line, ending in a newline; empty when none.
pub fn render_changes(changes: &[Change]) -> String {
    change_lines(changes)
        .into_iter()
        .map(|line| line + "\n")
        .collect()
}

fn change_text(change: &Change) -> String {
    let key = &change.key;
    match &change.kind {
        ChangeKind::Missing => format!("{key}: missing"),
        ChangeKind::Extra => format!("{key}: extra"),
        ChangeKind::ColumnOrder { before, after } => format!(
            "{key}: column order {} → {}",
            before.join(", "),
            after.join(", ")
        ),
        ChangeKind::Altered {
            attribute,
            before,
            after,
        } if is_long(before) || is_long(after) => {
            let mut text = format!("{key}: {attribute} changed");
            for line in line_changes(before.as_deref(), after.as_deref()) {
                text.push_str("\n    ");
                text.push_str(&line);
            }
            text
        }
        ChangeKind::Altered {
            attribute,
            before,
            after,
        } => format!("{key}: {attribute} {} → {}", shown(before), shown(after)),
    }
}

fn shown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

fn is_long(value: &Option<String>) -> bool {
    value
        .as_deref()
        .is_some_and(|v| v.contains('\n') || v.chars().count() > INLINE_WIDTH)
}

/// The lines only one side has, `- ` for `before` and `+ ` for `after`,
/// in the order of a longest-common-subsequence walk (values are short:
/// view definitions and function bodies).
fn line_changes(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    let old: Vec<&str> = before.map_or(vec!["(none)"], |v| v.lines().collect());
    let new: Vec<&str> = after.map_or(vec!["(none)"], |v| v.lines().collect());
    let common = lcs_table(&old, &new);
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < new.len() && (i == old.len() || common[i][j + 1] >= common[i + 1][j]) {
            out.push(format!("+ {}", new[j]));
            j += 1;
        } else {
            out.push(format!("- {}", old[i]));
            i += 1;
        }
    }
    // Removals first within each run of changes reads as before → after.
    out.sort_by_key(|line| !line.starts_with('-'));
    out
}

/// `table[i][j]`: the longest common subsequence of `a[i..]` and `b[j..]`.
fn lcs_table(a: &[&str], b: &[&str]) -> Vec<Vec<usize>> {
    let mut table = vec![vec![0; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            table[i][j] = match a[i] == b[j] {
                true => table[i + 1][j + 1] + 1,
                false => table[i + 1][j].max(table[i][j + 1]),
            };
        }
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::model::{ObjectKey, ObjectKind};

    fn altered(before: Option<&str>, after: Option<&str>) -> Change {
        Change {
            key: ObjectKey::new(ObjectKind::View, "public", "active_users"),
            kind: ChangeKind::Altered {
                attribute: "definition".into(),
                before: before.map(str::to_string),
                after: after.map(str::to_string),
            },
        }
    }

    #[test]
    fn short_values_stay_on_the_line() {
        let lines = change_lines(&[altered(Some("a"), None)]);
        assert_eq!(lines, vec!["view active_users: definition a → none"]);
    }

    #[test]
    fn multi_line_values_show_the_lines_that_differ() {
        let before = " SELECT users.id\n   FROM users\n  WHERE users.active;";
        let after = " SELECT users.id\n   FROM users\n  WHERE NOT users.active;";
        let lines = change_lines(&[altered(Some(before), Some(after))]);
        assert_eq!(
            lines,
            vec![
                "view active_users: definition changed\n    -   WHERE users.active;\n    +   WHERE NOT users.active;"
            ]
        );
    }

    #[test]
    fn column_order_comes_last() {
        let order = Change {
            key: ObjectKey::new(ObjectKind::Table, "public", "a"),
            kind: ChangeKind::ColumnOrder {
                before: vec!["x".into(), "y".into()],
                after: vec!["y".into(), "x".into()],
            },
        };
        let missing = Change {
            key: ObjectKey::new(ObjectKind::Policy, "public", "a.p"),
            kind: ChangeKind::Missing,
        };
        assert_eq!(
            change_lines(&[order, missing]),
            vec!["policy a.p: missing", "table a: column order x, y → y, x"]
        );
    }
}

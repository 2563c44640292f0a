//! A new revision, built from the loaded graph before any file is written:
//! parents and dependencies resolved to what the loader will accept, labels
//! and the id checked against the graph and the loader's rules, the file's
//! text checked to read back as given. `revision`, `merge` and the console's
//! new-revision form all come through here, so none of them can write a
//! file that the next command refuses to load.

use std::path::Path;

use crate::core::graph::RevisionMap;
use crate::core::revision::{
    Revision, SqlSection, is_revision_file_name, name_problem, normalize_line_endings,
    parse_revision, render_revision,
};
use crate::core::target::{TargetError, check_target};

/// Longest slug `revision_file_name` derives from a message.
const MAX_SLUG_CHARS: usize = 40;

/// What the user asked for. Identifiers are as typed; `rev_id` is the id
/// the user gave, or a fresh one from [`unused_id`].
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub rev_id: String,
    /// Revisions the new one comes after (ids, prefixes, `head`, `heads`,
    /// labels); none for a new base.
    pub parents: Vec<String>,
    /// Parents need not be heads (the new revision starts a branch).
    pub splice: bool,
    pub depends_on: Vec<String>,
    pub branch_labels: Vec<String>,
    pub message: String,
    /// The clock's reading, supplied by the caller (the core reads none).
    pub create_date: Option<String>,
    pub transactional: bool,
    pub upgrade: String,
    pub downgrade: String,
}

/// A new revision ready to be written: the revision as it will load, its
/// file name (in the migrations directory) and the file's text.
#[derive(Debug, Clone)]
pub struct Authored {
    pub revision: Revision,
    pub file_name: String,
    pub text: String,
}

/// Why a new revision was refused; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthoringError {
    /// A parent names no revision, or is ambiguous.
    #[error("Can't locate revision identified by '{ident}' ({cause})")]
    Parent { ident: String, cause: TargetError },
    /// A parent (e.g. `head`) stands for several heads.
    #[error("Multiple heads are present: {}", heads.join(", "))]
    SeveralHeads { heads: Vec<String> },
    /// Without `splice`, every parent must be a head.
    #[error(
        "Revision {id} is not a head revision; please specify --splice to create a new branch from this revision"
    )]
    NotAHead { id: String },
    #[error("Duplicate head revisions specified")]
    DuplicateParent,
    #[error("depends_on '{ident}': {cause}")]
    DependsOn { ident: String, cause: String },
    #[error("branch label '{label}': {cause}")]
    Label { label: String, cause: String },
    #[error("revision id '{id}': {cause}")]
    RevId { id: String, cause: String },
    /// The new revision does not fit the graph (e.g. a cycle).
    #[error("the new revision does not fit the graph: {0}")]
    Graph(String),
    /// The file would not read back as given.
    #[error("the new file would not read back as given: {0}")]
    Unwritable(String),
}

/// Builds the new revision described by `draft` on top of `map`.
pub fn author(map: &RevisionMap, draft: Draft) -> Result<Authored, AuthoringError> {
    let file_name = revision_file_name(&draft.rev_id, &draft.message);
    check_rev_id(map, &draft.rev_id, &file_name)?;
    let down_revisions = resolve_parents(map, &draft.parents, draft.splice)?;
    let depends_on = resolve_dependencies(map, &draft.depends_on)?;
    check_labels(map, &draft.branch_labels, &draft.rev_id)?;
    let revision = Revision {
        id: draft.rev_id,
        down_revisions,
        branch_labels: draft.branch_labels,
        depends_on,
        message: draft.message,
        create_date: draft.create_date,
        transactional: draft.transactional,
        lock_timeout: None,
        statement_timeout: None,
        lint_ignore: Vec::new(),
        upgrade: SqlSection {
            sql: draft.upgrade,
            first_line: 1,
        },
        downgrade: Some(SqlSection {
            sql: draft.downgrade,
            first_line: 1,
        }),
        path: file_name.clone().into(),
        header_lines: Default::default(),
    };
    let text = file_text(&revision).map_err(AuthoringError::Unwritable)?;
    let mut all = map.revisions().to_vec();
    all.push(revision.clone());
    RevisionMap::build(all).map_err(|e| AuthoringError::Graph(e.to_string()))?;
    Ok(Authored {
        revision,
        file_name,
        text,
    })
}

/// Twelve hex digits, like Alembic's ids, that no revision has and no
/// revision's id starts with; `random` supplies the randomness.
pub fn unused_id(map: &RevisionMap, mut random: impl FnMut() -> u64) -> String {
    loop {
        let id = format!("{:012x}", random() & 0xffff_ffff_ffff);
        if map.get(&id).is_none() && map.keys_with_prefix(&id).is_empty() {
            return id;
        }
    }
}

/// The id must be a valid revision id, unused, and give a file name the
/// loader reads (no path separator, no leading dot): otherwise the file
/// would land elsewhere or be skipped, and the next revision would fork.
fn check_rev_id(map: &RevisionMap, id: &str, file_name: &str) -> Result<(), AuthoringError> {
    let refuse = |cause: String| AuthoringError::RevId {
        id: id.to_string(),
        cause,
    };
    if id.is_empty() {
        return Err(refuse("must not be empty".into()));
    }
    if id.contains(['/', '\\']) {
        return Err(refuse(
            "must not contain a path separator: the id names the file".into(),
        ));
    }
    if id.chars().any(char::is_control) {
        return Err(refuse("must not contain control characters".into()));
    }
    if let Some(problem) = name_problem(id, "revision identifier") {
        return Err(refuse(problem));
    }
    if !is_revision_file_name(file_name.as_bytes()) {
        return Err(refuse(format!(
            "the file '{file_name}' would be skipped when the revisions load \
             (hidden files, those starting with '.', are not read)"
        )));
    }
    if map.get(id).is_some() {
        return Err(refuse("a revision with this id already exists".into()));
    }
    if let Some(owner) = map.label_owner(id) {
        return Err(refuse(format!(
            "is a branch label of revision {}",
            map.id(owner)
        )));
    }
    Ok(())
}

/// The down revisions: each identifier resolved to full ids; each must be a
/// head unless `splice` allows a new branch.
pub fn resolve_parents(
    map: &RevisionMap,
    idents: &[String],
    splice: bool,
) -> Result<Vec<String>, AuthoringError> {
    let mut downs: Vec<String> = Vec::new();
    for ident in idents {
        let found = check_target(ident)
            .and_then(|()| map.get_revisions(ident))
            .map_err(|cause| match cause {
                TargetError::MultipleHeads { heads, .. } => AuthoringError::SeveralHeads { heads },
                cause => AuthoringError::Parent {
                    ident: ident.clone(),
                    cause,
                },
            })?;
        for rev in found {
            if !splice && !map.is_head(rev) {
                return Err(AuthoringError::NotAHead {
                    id: map.id(rev).to_string(),
                });
            }
            let id = map.id(rev).to_string();
            if downs.contains(&id) {
                return Err(AuthoringError::DuplicateParent);
            }
            downs.push(id);
        }
    }
    Ok(downs)
}

/// Labels stay labels (as Alembic writes them); ids and unique prefixes
/// become full ids, which is all the loader accepts.
fn resolve_dependencies(map: &RevisionMap, deps: &[String]) -> Result<Vec<String>, AuthoringError> {
    let mut resolved: Vec<String> = Vec::new();
    for dep in deps {
        let refuse = |cause: String| AuthoringError::DependsOn {
            ident: dep.clone(),
            cause,
        };
        let full = if map.label_owner(dep).is_some() {
            dep.clone()
        } else {
            check_target(dep)
                .and_then(|()| map.revision_for_ident(dep, None))
                .map(|rev| map.id(rev).to_string())
                .map_err(|e| refuse(e.to_string()))?
        };
        if resolved.contains(&full) {
            return Err(refuse("listed twice".into()));
        }
        resolved.push(full);
    }
    Ok(resolved)
}

/// Each label must be a valid name, not already a label or an id, and
/// given once.
fn check_labels(map: &RevisionMap, labels: &[String], rev_id: &str) -> Result<(), AuthoringError> {
    for (n, label) in labels.iter().enumerate() {
        let refuse = |cause: String| AuthoringError::Label {
            label: label.clone(),
            cause,
        };
        if let Some(problem) = name_problem(label, "branch label") {
            return Err(refuse(problem));
        }
        if let Some(owner) = map.label_owner(label) {
            return Err(refuse(format!(
                "already used by revision {}",
                map.id(owner)
            )));
        }
        if map.get(label).is_some() || label == rev_id {
            return Err(refuse("is the id of a revision".into()));
        }
        if labels[..n].contains(label) {
            return Err(refuse("listed twice".into()));
        }
    }
    Ok(())
}

/// The text of `rev`'s file, provided it parses back to the same revision
/// (an invalid id, or SQL holding a section marker line, would not).
pub fn file_text(rev: &Revision) -> Result<String, String> {
    let text = render_revision(rev);
    let reread = parse_revision(Path::new(&rev.path), &text)
        .map_err(|e| format!("line {} of the new file: {}", e.line, e.message))?;
    if let Some(field) = first_difference(rev, &reread) {
        return Err(format!(
            "its {field} would not read back as given (does the SQL contain a \
             '-- migrate:...' marker line?)"
        ));
    }
    Ok(text)
}

/// The first field of `given` that `reread` (its rendered-and-parsed form)
/// does not reproduce, comparing texts in their normalised form.
fn first_difference(given: &Revision, reread: &Revision) -> Option<&'static str> {
    let sql = |s: &str| normalize_line_endings(s).trim_end().to_string();
    let one_line = |s: &str| s.replace(['\r', '\n'], " ").trim().to_string();
    if given.id != reread.id
        || given.down_revisions != reread.down_revisions
        || given.branch_labels != reread.branch_labels
        || given.depends_on != reread.depends_on
    {
        return Some("header");
    }
    if one_line(&given.message) != reread.message {
        return Some("message");
    }
    if sql(&given.upgrade.sql) != reread.upgrade.sql {
        return Some("upgrade SQL");
    }
    let given_down = given.downgrade.as_ref().map(|s| sql(&s.sql));
    let reread_down = reread.downgrade.as_ref().map(|s| s.sql.clone());
    if given_down != reread_down {
        return Some("downgrade SQL");
    }
    None
}

/// `<revision>_<slug>.sql`, the slug made from the message: lowercase ASCII
/// letters and digits, runs of anything else turned into one `_`, cut at a word
/// boundary to about 40 characters. Just `<revision>.sql` when the slug is
/// empty. Path separators in the id are replaced so the file stays in place
/// (an id with one is refused by [`author`] anyway).
pub fn revision_file_name(rev_id: &str, message: &str) -> String {
    let id: String = rev_id
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let slug = slug(message);
    if slug.is_empty() {
        format!("{id}.sql")
    } else {
        format!("{id}_{slug}.sql")
    }
}

fn slug(message: &str) -> String {
    let words: Vec<String> = message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut slug = String::new();
    for word in words {
        let separator = usize::from(!slug.is_empty());
        if slug.len() + separator + word.len() > MAX_SLUG_CHARS {
            if slug.is_empty() {
                // A single very long word: cut it rather than drop it.
                slug.push_str(&word[..MAX_SLUG_CHARS]);
            }
            break;
        }
        if separator == 1 {
            slug.push('_');
        }
        slug.push_str(&word);
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph() -> RevisionMap {
        RevisionMap::build(vec![
            Revision::synthetic("a27f0c1d2e3f", &[]),
            Revision {
                branch_labels: vec!["billing".into()],
                ..Revision::synthetic("b38e1d2c3b4a", &["a27f0c1d2e3f"])
            },
        ])
        .unwrap()
    }

    fn draft(id: &str) -> Draft {
        Draft {
            rev_id: id.into(),
            parents: vec!["head".into()],
            transactional: true,
            message: "next".into(),
            ..Draft::default()
        }
    }

    #[test]
    fn prefixes_become_full_ids_and_labels_stay_labels() {
        let map = graph();
        let authored = author(
            &map,
            Draft {
                parents: vec!["b38e".into()],
                depends_on: vec!["a27f".into(), "billing".into()],
                ..draft("c0ffee000001")
            },
        )
        .unwrap();
        assert_eq!(authored.revision.down_revisions, ["b38e1d2c3b4a"]);
        assert_eq!(authored.revision.depends_on, ["a27f0c1d2e3f", "billing"]);
        assert_eq!(authored.file_name, "c0ffee000001_next.sql");
        assert!(
            authored
                .text
                .contains("-- depends_on: a27f0c1d2e3f, billing\n")
        );
    }

    #[test]
    fn ids_the_loader_would_skip_or_misplace_are_refused() {
        let map = graph();
        for (id, cause) in [
            (".hidden", "would be skipped"),
            ("../../pwned", "path separator"),
            ("a\\b", "path separator"),
            ("", "must not be empty"),
            ("a b", "not allowed"),
            ("x@y", "not allowed"),
            ("head", "reserved word"),
            ("a27f0c1d2e3f", "already exists"),
            ("billing", "branch label of revision b38e1d2c3b4a"),
        ] {
            let err = author(&map, draft(id)).unwrap_err();
            assert!(
                matches!(err, AuthoringError::RevId { .. }) && err.to_string().contains(cause),
                "{id:?}: {err}"
            );
        }
    }

    #[test]
    fn labels_and_dependencies_the_loader_would_refuse_are_refused() {
        let map = graph();
        let with = |labels: &[&str], deps: &[&str]| {
            author(
                &map,
                Draft {
                    branch_labels: labels.iter().map(|s| s.to_string()).collect(),
                    depends_on: deps.iter().map(|s| s.to_string()).collect(),
                    ..draft("c0ffee000001")
                },
            )
            .unwrap_err()
            .to_string()
        };
        assert!(with(&["a27f0c1d2e3f"], &[]).contains("is the id of a revision"));
        assert!(with(&["billing"], &[]).contains("already used by revision b38e1d2c3b4a"));
        assert!(with(&["x", "x"], &[]).contains("listed twice"));
        assert!(with(&[], &["zzzz"]).contains("depends_on 'zzzz'"));
        assert!(with(&[], &[""]).contains("empty target"));
        assert!(with(&[], &["a27f", "a27f0c1d2e3f"]).contains("listed twice"));
    }

    #[test]
    fn parents_must_be_heads_unless_spliced() {
        let map = graph();
        let err = author(
            &map,
            Draft {
                parents: vec!["a27f".into()],
                ..draft("c0ffee000001")
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            AuthoringError::NotAHead {
                id: "a27f0c1d2e3f".into()
            }
        );
        let spliced = Draft {
            parents: vec!["a27f".into()],
            splice: true,
            ..draft("c0ffee000001")
        };
        assert!(author(&map, spliced).is_ok());
        let base = Draft {
            parents: Vec::new(),
            ..draft("c0ffee000001")
        };
        assert!(
            author(&map, base)
                .unwrap()
                .revision
                .down_revisions
                .is_empty()
        );
    }

    #[test]
    fn unused_ids_avoid_existing_ids_and_prefixes() {
        let map = graph();
        let mut values = [0xa27f0c1d2e3f_u64, 0x0000_0000_0001].into_iter();
        assert_eq!(unused_id(&map, || values.next().unwrap()), "000000000001");
    }

    #[test]
    fn file_names_from_messages() {
        assert_eq!(
            revision_file_name("3c2e5a7b9d1e", "add invoices"),
            "3c2e5a7b9d1e_add_invoices.sql"
        );
        assert_eq!(
            revision_file_name("ab12", "  Add users' e-mail (UNIQUE!) -- v2 "),
            "ab12_add_users_e_mail_unique_v2.sql"
        );
        assert_eq!(revision_file_name("ab12", ""), "ab12.sql");
        assert_eq!(revision_file_name("ab12", "é!"), "ab12.sql");
        assert_eq!(revision_file_name("a/b", "x"), "a_b_x.sql");
        let long = revision_file_name(
            "r",
            "split the accounts table into accounts and account settings for billing",
        );
        assert_eq!(long, "r_split_the_accounts_table_into_accounts.sql");
        let slug_len = long.len() - "r_".len() - ".sql".len();
        assert!(slug_len <= MAX_SLUG_CHARS);
        let one_word = revision_file_name("r", &"x".repeat(100));
        assert_eq!(one_word, format!("r_{}.sql", "x".repeat(MAX_SLUG_CHARS)));
    }
}

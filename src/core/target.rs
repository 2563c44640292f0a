//! Resolving what the user typed (`head`, `heads`, `base`, ids and prefixes,
//! `label@head`, `+N`, `rev-N`, `label@+N`, ...) to revisions, following
//! Alembic's grammar and its errors.

use crate::core::graph::RevisionMap;

/// Why a target could not be resolved or planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No revision, or several, match an identifier.
    #[error("{message}")]
    Resolution { argument: String, message: String },
    /// `head` (or `label@head`) names several heads.
    #[error("Multiple heads are present for given argument '{argument}'; {}", heads.join(", "))]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
    },
    /// The destination is not an ancestor or descendant of where we are.
    #[error("Revision {lower} is not an ancestor of revision {upper}")]
    RangeNotAncestor { lower: String, upper: String },
    /// A target that names no revision: empty, or nothing after its `@`.
    /// Alembic fails an assertion on these; an empty shell variable must not
    /// silently mean base.
    #[error("{}", empty_target_message(argument))]
    Empty { argument: String },
    /// Any other problem, already phrased for the user.
    #[error("{0}")]
    Revision(String),
}

fn empty_target_message(argument: &str) -> String {
    match argument.rsplit_once('@') {
        Some((branch, _)) if !branch.trim().is_empty() => format!(
            "target '{argument}' names the branch '{branch}' but no revision after '@'; \
             write '{branch}@head', '{branch}@base' or '{branch}@<revision>'"
        ),
        _ => format!(
            "empty target '{argument}': name a revision, 'head', 'heads' or 'base' \
             (an empty value is never taken for base)"
        ),
    }
}

/// Refuses a target that names no revision: empty or blank, or with nothing
/// after its last `@` (`@`, `label@`). Every verb checks this before
/// resolving, so no empty value is ever read as base. `from:to` (offline
/// scripts) is checked by the caller on its `to` part.
pub fn check_target(target: &str) -> TargetResult<()> {
    let symbol = target.rsplit_once('@').map_or(target, |(_, symbol)| symbol);
    if symbol.trim().is_empty() {
        return Err(TargetError::Empty {
            argument: target.to_string(),
        });
    }
    Ok(())
}

pub type TargetResult<T> = Result<T, TargetError>;

/// A position of a relative walk: a revision, or the base below everything.
/// Alembic distinguishes the implicit base (`None`) from the `"base"`
/// symbol a downward walk ends on; only the latter stops further walks down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkPos {
    Base,
    BaseSymbol,
    Rev(usize),
}

impl WalkPos {
    pub fn revision(self) -> Option<usize> {
        match self {
            WalkPos::Rev(index) => Some(index),
            WalkPos::Base | WalkPos::BaseSymbol => None,
        }
    }
}

/// A relative target, `[branch@][symbol](+|-)N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative<'a> {
    pub branch: Option<&'a str>,
    pub symbol: Option<&'a str>,
    /// The signed number as typed, e.g. `+2`.
    pub text: &'a str,
    pub steps: i64,
}

/// Parses a relative target the way Alembic's `re.match` of
/// `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` does: anchored at the start only, the
/// shortest branch prefix that lets the rest match.
pub fn parse_relative(target: &str) -> Option<Relative<'_>> {
    let at_positions = target.char_indices().filter(|&(i, c)| c == '@' && i > 0);
    for (at, _) in at_positions {
        if let Some((symbol, text, steps)) = match_symbol_and_offset(&target[at + 1..]) {
            return Some(Relative {
                branch: Some(&target[..at]),
                symbol,
                text,
                steps,
            });
        }
    }
    match_symbol_and_offset(target).map(|(symbol, text, steps)| Relative {
        branch: None,
        symbol,
        text,
        steps,
    })
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn match_symbol_and_offset(s: &str) -> Option<(Option<&str>, &str, i64)> {
    let symbol_end = s.find(|c: char| !is_word_char(c)).unwrap_or(s.len());
    let rest = &s[symbol_end..];
    let sign = rest.chars().next().filter(|c| *c == '+' || *c == '-')?;
    let digits_len = rest[1..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len() - 1);
    if digits_len == 0 {
        return None;
    }
    let text = &rest[..1 + digits_len];
    // Walks longer than any graph behave like any other overlong walk.
    let magnitude: i64 = text[1..].parse().unwrap_or(i64::MAX / 2);
    let steps = if sign == '-' { -magnitude } else { magnitude };
    let symbol = (symbol_end > 0).then(|| &s[..symbol_end]);
    Some((symbol, text, steps))
}

impl RevisionMap {
    /// Alembic's `_resolve_revision_number`: splits `branch@` off and expands
    /// `heads`, `head` and `base`. Other identifiers are returned as typed.
    /// An empty branch (`@head`) is no branch, as in Alembic; an empty
    /// identifier is refused rather than read as base.
    pub fn resolve_number(&self, ident: &str) -> TargetResult<(Vec<String>, Option<String>)> {
        let (branch, id) = match ident.split_once('@') {
            Some((branch, id)) => ((!branch.is_empty()).then(|| branch.to_string()), id),
            None => (None, ident),
        };
        if id.is_empty() {
            return Err(TargetError::Empty {
                argument: ident.to_string(),
            });
        }
        let ids = match id {
            "heads" => match &branch {
                Some(b) => {
                    let heads = self.heads().to_vec();
                    self.ids_of(&self.filter_for_lineage(&heads, b, false)?)
                }
                None => self.ids_of(self.real_heads()),
            },
            "head" => self
                .current_head(branch.as_deref())?
                .map(|i| vec![self.id(i).to_string()])
                .unwrap_or_default(),
            "base" => Vec::new(),
            other => vec![other.to_string()],
        };
        Ok((ids, branch))
    }

    fn ids_of(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| self.id(i).to_string()).collect()
    }

    /// The single versioned head (of a branch), or an error naming them all.
    pub fn current_head(&self, branch: Option<&str>) -> TargetResult<Option<usize>> {
        let mut heads = self.heads().to_vec();
        if let Some(b) = branch {
            heads = self.filter_for_lineage(&heads, b, false)?;
        }
        if heads.len() > 1 {
            return Err(TargetError::MultipleHeads {
                argument: branch.map_or("head".to_string(), |b| format!("{b}@head")),
                heads: self.ids_of(&heads),
            });
        }
        Ok(heads.first().copied())
    }

    /// Alembic's `_revision_for_ident`: exact key, else a unique prefix of
    /// more than three characters, optionally restricted to a branch.
    pub fn revision_for_ident(
        &self,
        ident: &str,
        check_branch: Option<&str>,
    ) -> TargetResult<usize> {
        let branch_rev = match check_branch {
            Some(b) if !b.is_empty() => Some(self.resolve_branch(b)?),
            _ => None,
        };
        let revision = match self.exact_key(ident) {
            Some(index) => index,
            None => self.revision_for_prefix(ident, check_branch, branch_rev)?,
        };
        if let (Some(branch_rev), Some(branch)) = (branch_rev, check_branch)
            && !self.shares_lineage(revision, &[branch_rev], false)
        {
            return Err(TargetError::Resolution {
                argument: ident.to_string(),
                message: format!(
                    "Revision {} is not a member of branch '{branch}'",
                    self.id(revision)
                ),
            });
        }
        Ok(revision)
    }

    fn revision_for_prefix(
        &self,
        ident: &str,
        check_branch: Option<&str>,
        branch_rev: Option<usize>,
    ) -> TargetResult<usize> {
        let mut matches = self.keys_with_prefix(ident);
        if let (Some(branch_rev), Some(_)) = (branch_rev, check_branch)
            && let Some(lineage) = self.lineage_of(&[branch_rev], false)
        {
            matches.retain(|&(_, index)| lineage[index]);
        }
        match matches.as_slice() {
            [] => {
                let hint = if ident.chars().count() < 4 {
                    "; please ensure at least four characters are present for partial revision identifier matches"
                } else {
                    ""
                };
                Err(TargetError::Resolution {
                    argument: ident.to_string(),
                    message: format!("No such revision or branch '{ident}'{hint}"),
                })
            }
            [(_, index)] => Ok(*index),
            several => {
                let listed: Vec<String> = several
                    .iter()
                    .take(3)
                    .map(|(k, _)| format!("'{k}'"))
                    .collect();
                Err(TargetError::Resolution {
                    argument: ident.to_string(),
                    message: format!(
                        "Multiple revisions start with '{ident}': {}...",
                        listed.join(", ")
                    ),
                })
            }
        }
    }

    /// A branch given by label or by any revision on it.
    pub fn resolve_branch(&self, branch: &str) -> TargetResult<usize> {
        if let Some(index) = self.exact_key(branch) {
            return Ok(index);
        }
        self.revision_for_prefix(branch, None, None)
            .map_err(|_| TargetError::Resolution {
                argument: branch.to_string(),
                message: format!("No such branch: '{branch}'"),
            })
    }

    /// Alembic's `get_revision`: one revision, `None` for base.
    pub fn get_revision(&self, ident: &str) -> TargetResult<Option<usize>> {
        let (ids, branch) = self.resolve_number(ident)?;
        if ids.len() > 1 {
            return Err(TargetError::MultipleHeads {
                argument: ident.to_string(),
                heads: ids,
            });
        }
        match ids.first() {
            Some(id) => self.revision_for_ident(id, branch.as_deref()).map(Some),
            None => Ok(None),
        }
    }

    /// Alembic's `get_revisions`: every revision an identifier names.
    pub fn get_revisions(&self, ident: &str) -> TargetResult<Vec<usize>> {
        let (ids, branch) = self.resolve_number(ident)?;
        ids.iter()
            .map(|id| self.revision_for_ident(id, branch.as_deref()))
            .collect()
    }

    /// Keeps the targets on the same line of descent as `check_against`
    /// (a label, a revision, or `label@rev`).
    pub fn filter_for_lineage(
        &self,
        targets: &[usize],
        check_against: &str,
        include_dependencies: bool,
    ) -> TargetResult<Vec<usize>> {
        // One pair of walks for all targets: `branch_starts` passes every
        // applied revision.
        let lineage = self.lineage_named(check_against, include_dependencies)?;
        Ok(keep_in(&lineage, targets))
    }

    /// The revisions on one line of descent with `check_against` (a label, a
    /// revision, or `label@rev`); `None` when it names none.
    fn lineage_named(
        &self,
        check_against: &str,
        include_dependencies: bool,
    ) -> TargetResult<Option<Vec<bool>>> {
        let (ids, branch) = self.resolve_number(check_against)?;
        let mut shares = Vec::new();
        for key in branch.iter().chain(ids.iter()) {
            shares.push(self.revision_for_ident(key, None)?);
        }
        Ok(self.lineage_of(&shares, include_dependencies))
    }

    /// Walks `steps` up (positive) or down (negative) from `start`. Returns
    /// `None` when the walk runs off the graph and `no_overwalk` is set.
    pub fn walk(
        &self,
        start: WalkPos,
        steps: i64,
        branch: Option<&str>,
        no_overwalk: bool,
    ) -> TargetResult<Option<WalkPos>> {
        let mut position = start;
        // Walks longer than the graph end the same way as a walk of n + 1.
        let count = steps.unsigned_abs().min(self.len() as u64 + 1);
        // Resolved once: a step must not cost a walk over the graph.
        let lineage = match branch {
            Some(b) if steps > 0 => self.lineage_named(b, false)?,
            _ => None,
        };
        for _ in 0..count {
            let next = if steps > 0 {
                self.walk_up_choices(position, &lineage)
            } else {
                self.walk_down_choices(position)
            };
            match next.as_slice() {
                [] => return Ok(if no_overwalk { None } else { Some(position) }),
                [only] => position = *only,
                choices => return Err(self.ambiguous_walk(position, steps > 0, choices)),
            }
        }
        Ok(Some(position))
    }

    /// Alembic's "Ambiguous walk", followed by where the walk forked and what
    /// to type instead, since the bare phrase leaves the user guessing.
    fn ambiguous_walk(&self, from: WalkPos, up: bool, choices: &[WalkPos]) -> TargetError {
        let name = |pos: &WalkPos| match pos.revision() {
            Some(index) => self.id(index).to_string(),
            None => "base".to_string(),
        };
        let ways: Vec<String> = choices.iter().map(name).collect();
        let (direction, sign) = if up { ("up", '+') } else { ("down", '-') };
        TargetError::Revision(format!(
            "Ambiguous walk: going {direction} from {} the graph forks into {}; \
             name a branch ('<label>@{sign}N') or a revision instead",
            name(&from),
            ways.join(", ")
        ))
    }

    /// The next revisions up from `from`, kept to `lineage` when walking a
    /// branch.
    fn walk_up_choices(&self, from: WalkPos, lineage: &Option<Vec<bool>>) -> Vec<WalkPos> {
        let candidates = match from {
            WalkPos::Rev(index) => self.children(index),
            WalkPos::Base | WalkPos::BaseSymbol => self.bases(),
        };
        keep_in(lineage, candidates)
            .into_iter()
            .map(WalkPos::Rev)
            .collect()
    }

    fn walk_down_choices(&self, from: WalkPos) -> Vec<WalkPos> {
        let downs = match from {
            WalkPos::BaseSymbol => return Vec::new(),
            WalkPos::Base => self.heads().to_vec(),
            WalkPos::Rev(index) => self.versioned_down(index).to_vec(),
        };
        if downs.is_empty() {
            vec![WalkPos::BaseSymbol]
        } else {
            downs.into_iter().map(WalkPos::Rev).collect()
        }
    }

    /// Alembic's `_parse_upgrade_target`: the revisions to upgrade to (empty
    /// for base).
    pub fn parse_upgrade_target(
        &self,
        current: &[String],
        target: &str,
    ) -> TargetResult<Vec<usize>> {
        check_target(target)?;
        let Some(rel) = parse_relative(target) else {
            return self.get_revisions(target);
        };
        if rel.steps <= 0 {
            let Some(symbol) = rel.symbol else {
                return Err(didnt_produce(&rel.steps.to_string(), rel.steps));
            };
            let start = self.symbol_position(symbol, rel.branch)?;
            // Alembic crashes when such a walk ends on base; say why instead.
            return match self.walk(start, rel.steps, None, true)? {
                Some(WalkPos::Rev(index)) => Ok(vec![index]),
                Some(_) => Err(TargetError::Revision(format!(
                    "Relative revision {target} ends at base, which is not a revision to upgrade to"
                ))),
                None => Err(didnt_produce(rel.text, rel.steps)),
            };
        }
        let start = match rel.symbol {
            Some(symbol) => pos(self.get_revision(symbol)?),
            None => self.upgrade_start(current, rel.branch)?,
        };
        match self.walk(start, rel.steps, rel.branch, true)? {
            Some(WalkPos::Rev(index)) => Ok(vec![index]),
            _ => Err(didnt_produce(rel.text, rel.steps)),
        }
    }

    /// Where `+N` starts from: the single current head (on the branch), or the
    /// tip of the branch's applied part, or base.
    fn upgrade_start(&self, current: &[String], branch: Option<&str>) -> TargetResult<WalkPos> {
        let current_revs = self.resolve_all(current)?;
        let mut starts: Vec<WalkPos> = match branch {
            None => current_revs.iter().map(|&i| WalkPos::Rev(i)).collect(),
            Some(b) => self
                .branch_starts(&current_revs, b)?
                .into_iter()
                .map(WalkPos::Rev)
                .collect(),
        };
        if starts.is_empty() {
            starts.push(WalkPos::Base);
        }
        if starts.len() > 1 {
            return Err(TargetError::Revision(
                "Ambiguous upgrade from multiple current revisions".into(),
            ));
        }
        Ok(starts[0])
    }

    /// For `branch@+N`: the current heads on the branch, else the tips of the
    /// applied revisions on it.
    fn branch_starts(&self, current: &[usize], branch: &str) -> TargetResult<Vec<usize>> {
        let on_branch = self.filter_for_lineage(current, branch, false)?;
        if !on_branch.is_empty() {
            return Ok(on_branch);
        }
        let applied = self.ancestors(current, true);
        let applied: Vec<usize> = (0..self.len()).filter(|&i| applied[i]).collect();
        let active = self.filter_for_lineage(&applied, branch, false)?;
        let mut is_down = vec![false; self.len()];
        for &rev in &active {
            for &down in self.normalized_down(rev) {
                is_down[down] = true;
            }
        }
        Ok(active.into_iter().filter(|&rev| !is_down[rev]).collect())
    }

    fn symbol_position(&self, symbol: &str, branch: Option<&str>) -> TargetResult<WalkPos> {
        let revision = match branch {
            None => self.get_revision(symbol)?,
            Some(b) => self.get_revision(&format!("{b}@{symbol}"))?,
        };
        Ok(pos(revision))
    }

    /// Resolves identifiers that must each name one revision (e.g. the rows
    /// of the version table).
    pub fn resolve_all(&self, idents: &[String]) -> TargetResult<Vec<usize>> {
        idents
            .iter()
            .map(|id| self.revision_for_ident(id, None))
            .collect()
    }

    /// Alembic's `_parse_downgrade_target`: the branch the downgrade is
    /// limited to, and the revision to go down to (`None` for base).
    pub fn parse_downgrade_target(
        &self,
        current: &[String],
        target: &str,
    ) -> TargetResult<(Option<String>, Option<usize>)> {
        check_target(target)?;
        let Some(rel) = parse_relative(target) else {
            let (branch, symbol) = match target.rsplit_once('@') {
                Some((b, s)) if !b.is_empty() => (Some(b.to_string()), s),
                Some((_, s)) => (None, s),
                None => (None, target),
            };
            return Ok((branch, self.get_revision(symbol)?));
        };
        if rel.steps >= 0 {
            let Some(symbol) = rel.symbol else {
                return Err(didnt_produce(rel.text, rel.steps));
            };
            let start = pos(self.get_revision(symbol)?);
            return match self.walk(start, rel.steps, rel.branch, true)? {
                Some(end) => Ok((rel.branch.map(str::to_string), end.revision())),
                None => Err(TargetError::Revision("Walked too far".into())),
            };
        }
        let (branch, symbol) = match rel.symbol {
            Some(symbol) => (rel.branch.map(str::to_string), symbol.to_string()),
            None => self.downgrade_start(current, rel.branch, rel.text, rel.steps)?,
        };
        let start = self.symbol_position(&symbol, branch.as_deref())?;
        match self.walk(start, rel.steps, None, true)? {
            Some(end) => Ok((branch, end.revision())),
            None if rel.symbol.is_none() => Err(didnt_produce(rel.text, rel.steps)),
            None => Err(TargetError::Revision("Walked too far".into())),
        }
    }

    /// Where `-N` starts from: the one current head (of the branch). Alembic
    /// only warns when several heads are current and picks one arbitrarily;
    /// we refuse, since the row order of the version table is not defined.
    fn downgrade_start(
        &self,
        current: &[String],
        branch: Option<&str>,
        text: &str,
        steps: i64,
    ) -> TargetResult<(Option<String>, String)> {
        if let Some(b) = branch {
            let current_revs = self.resolve_all(current)?;
            let mut on_branch = self.filter_for_lineage(&current_revs, b, false)?;
            if on_branch.is_empty() {
                on_branch = self.filter_for_lineage(&self.all_current(&current_revs), b, false)?;
            }
            return match on_branch.as_slice() {
                [only] => Ok((Some(b.to_string()), self.id(*only).to_string())),
                [] => Err(TargetError::Revision(format!(
                    "No current revision is on branch '{b}'; nothing to downgrade from"
                ))),
                several => Err(TargetError::Revision(format!(
                    "Branch '{b}' has several current heads ({}); downgrade one of them by id",
                    self.ids_of(several).join(", ")
                ))),
            };
        }
        let mut distinct: Vec<&String> = current.iter().collect();
        distinct.sort();
        distinct.dedup();
        match distinct.as_slice() {
            [] => Err(didnt_produce(text, steps)),
            [only] => Ok((Some((*only).clone()), (*only).clone())),
            several => Err(TargetError::Revision(format!(
                "downgrade {text} from multiple heads is ambiguous (current heads: {}); \
                 name the branch, e.g. '{}@{text}', or give a revision",
                several
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                several[0]
            ))),
        }
    }

    /// Alembic's `_get_all_current`: the current heads plus everything they
    /// imply, reduced to branch heads.
    fn all_current(&self, current: &[usize]) -> Vec<usize> {
        let all = self.ancestors(current, true);
        // `all` is closed under down revisions, so a revision has a
        // descendant in it exactly when it has a direct child in it.
        (0..self.len())
            .filter(|&i| all[i] && !self.children(i).iter().any(|&c| all[c]))
            .collect()
    }
}

/// The revisions of `revs` marked in `lineage`, or all of them without one.
fn keep_in(lineage: &Option<Vec<bool>>, revs: &[usize]) -> Vec<usize> {
    revs.iter()
        .copied()
        .filter(|&r| lineage.as_ref().is_none_or(|l| l[r]))
        .collect()
}

fn pos(revision: Option<usize>) -> WalkPos {
    revision.map_or(WalkPos::Base, WalkPos::Rev)
}

fn didnt_produce(text: &str, steps: i64) -> TargetError {
    TargetError::Revision(format!(
        "Relative revision {text} didn't produce {} migrations",
        steps.unsigned_abs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::revision::Revision;

    fn map(revs: Vec<Revision>) -> RevisionMap {
        RevisionMap::build(revs).unwrap()
    }

    fn chain() -> RevisionMap {
        map(vec![
            Revision::synthetic("aaaa1111", &[]),
            Revision::synthetic("bbbb2222", &["aaaa1111"]),
            Revision::synthetic("cccc3333", &["bbbb2222"]),
        ])
    }

    #[test]
    fn relative_targets_parse_like_alembics_regex() {
        let r = parse_relative("+2").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (None, None, 2));
        let r = parse_relative("billing@-1").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (Some("billing"), None, -1));
        let r = parse_relative("ae10+3").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (None, Some("ae10"), 3));
        let r = parse_relative("br@ae10-1").unwrap();
        assert_eq!(
            (r.branch, r.symbol, r.text),
            (Some("br"), Some("ae10"), "-1")
        );
        assert!(parse_relative("ae10").is_none());
        assert!(parse_relative("heads").is_none());
        assert!(parse_relative("a+").is_none());
    }

    #[test]
    fn prefixes_resolve_and_errors_read_like_alembic() {
        let m = chain();
        assert_eq!(m.get_revision("bbbb").unwrap(), Some(1));
        let err = m.get_revision("zz").unwrap_err();
        assert_eq!(
            err.to_string(),
            "No such revision or branch 'zz'; please ensure at least four characters are present for partial revision identifier matches"
        );
    }

    #[test]
    fn relative_upgrade_walks_from_the_current_head() {
        let m = chain();
        assert_eq!(m.parse_upgrade_target(&[], "+2").unwrap(), vec![1]);
        assert_eq!(
            m.parse_upgrade_target(&["aaaa1111".into()], "+1").unwrap(),
            vec![1]
        );
        let err = m
            .parse_upgrade_target(&["bbbb2222".into()], "+2")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Relative revision +2 didn't produce 2 migrations"
        );
    }

    #[test]
    fn relative_downgrade_walks_down_and_refuses_to_overshoot() {
        let m = chain();
        let current = vec!["cccc3333".to_string()];
        assert_eq!(m.parse_downgrade_target(&current, "-1").unwrap().1, Some(1));
        assert_eq!(m.parse_downgrade_target(&current, "-3").unwrap().1, None);
        let err = m.parse_downgrade_target(&current, "-4").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Relative revision -4 didn't produce 4 migrations"
        );
    }

    #[test]
    fn empty_targets_are_refused_never_read_as_base() {
        let m = map(vec![
            Revision::synthetic("aaaa1111", &[]),
            Revision {
                branch_labels: vec!["lbl".into()],
                ..Revision::synthetic("bbbb2222", &["aaaa1111"])
            },
        ]);
        let current = vec!["bbbb2222".to_string()];
        for target in ["", " ", "@", "lbl@", "aaaa@"] {
            let err = m.parse_downgrade_target(&current, target).unwrap_err();
            assert!(
                matches!(err, TargetError::Empty { .. }),
                "{target:?}: {err}"
            );
            let err = m.parse_upgrade_target(&[], target).unwrap_err();
            assert!(
                matches!(err, TargetError::Empty { .. }),
                "{target:?}: {err}"
            );
        }
        assert!(m.get_revisions("").is_err());
        let err = m.parse_downgrade_target(&current, "lbl@").unwrap_err();
        assert!(err.to_string().contains("'lbl@base'"), "{err}");
        let err = m.parse_downgrade_target(&current, "").unwrap_err();
        assert!(err.to_string().starts_with("empty target ''"), "{err}");
        // What Alembic accepts stays: an empty branch is no branch.
        assert_eq!(m.get_revision("@head").unwrap(), Some(1));
        assert_eq!(
            m.parse_downgrade_target(&current, "@base").unwrap(),
            (None, None)
        );
        assert_eq!(
            m.parse_downgrade_target(&current, "base").unwrap(),
            (None, None)
        );
        // The planner the command line and the console share refuses them.
        use crate::core::plan::{plan_downgrade, plan_stamp, plan_upgrade};
        for target in ["", "@", "lbl@"] {
            assert!(plan_downgrade(&m, &current, target).is_err(), "{target:?}");
            assert!(plan_upgrade(&m, &[], target).is_err(), "{target:?}");
            let stamped = plan_stamp(&m, &current, &[target.to_string()], false);
            assert!(
                stamped.unwrap_err().to_string().contains("target"),
                "{target:?}"
            );
        }
    }
}

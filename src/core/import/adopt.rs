//! Which imported revision a database is at, from what the source tool
//! recorded in its own version table.

use std::cmp::Ordering;

use super::{SourceKind, flyway, numeric_key};

/// The source tool's record of a database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Versions applied, as the tool stored them. For golang-migrate, the
    /// one current version (everything up to it is applied).
    pub applied: Vec<String>,
    /// A migration the tool marks as failed or dirty: refuse to adopt.
    pub unfinished: Option<String>,
    /// Flyway's baseline: the database started at this version, so it and
    /// every version before it count as applied.
    pub baseline: Option<String>,
}

/// Why a database cannot be adopted as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdoptError {
    #[error(
        "{table} marks version {version} as {state}: the migration stopped halfway. Finish or undo it \
         by hand, then {fix}, and import again"
    )]
    Unfinished {
        table: &'static str,
        version: String,
        state: &'static str,
        fix: &'static str,
    },
    #[error("{table} records version {version}, which the imported project does not have")]
    Unknown {
        table: &'static str,
        version: String,
    },
    #[error(
        "{table} records {applied} but not the earlier {missing}: apply {missing} with the source \
         tool first, then import again"
    )]
    Gap {
        table: &'static str,
        applied: String,
        missing: String,
    },
}

/// What the source tool says of an unfinished migration, and how it is
/// cleared with that tool.
fn unfinished_words(kind: SourceKind) -> (&'static str, &'static str) {
    match kind {
        SourceKind::GolangMigrate => ("dirty", "`migrate force <version>`"),
        SourceKind::Flyway => ("failed", "`flyway repair`"),
        _ => ("failed", "delete its row"),
    }
}

fn same_version(kind: SourceKind, a: &str, b: &str) -> bool {
    match kind {
        SourceKind::Sqlx | SourceKind::GolangMigrate => numeric_key(a) == numeric_key(b),
        SourceKind::Flyway => flyway::compare(a, b) == Ordering::Equal,
        SourceKind::Diesel | SourceKind::Dbmate | SourceKind::Pop => a == b,
    }
}

/// The revision id (one of `chain`, the imported versions in order) the
/// database is at, or `None` when the record holds no version.
pub fn adopted_revision(
    kind: SourceKind,
    chain: &[String],
    record: &Record,
) -> Result<Option<String>, AdoptError> {
    let table = kind.version_table();
    if let Some(version) = &record.unfinished {
        let (state, fix) = unfinished_words(kind);
        return Err(AdoptError::Unfinished {
            table,
            version: version.clone(),
            state,
            fix,
        });
    }
    let position = |version: &str| chain.iter().position(|c| same_version(kind, c, version));
    let baseline = match &record.baseline {
        Some(version) => Some(position(version).ok_or_else(|| AdoptError::Unknown {
            table,
            version: version.clone(),
        })?),
        None => None,
    };
    let mut highest: Option<usize> = baseline;
    for version in &record.applied {
        let found = position(version).ok_or_else(|| AdoptError::Unknown {
            table,
            version: version.clone(),
        })?;
        highest = highest.max(Some(found));
    }
    let Some(highest) = highest else {
        return Ok(None);
    };
    if kind != SourceKind::GolangMigrate
        && let Some(missing) = chain[..highest]
            .iter()
            .enumerate()
            .filter(|(n, _)| baseline.is_none_or(|b| *n > b))
            .map(|(_, c)| c)
            .find(|c| !record.applied.iter().any(|a| same_version(kind, c, a)))
    {
        return Err(AdoptError::Gap {
            table,
            applied: chain[highest].clone(),
            missing: missing.clone(),
        });
    }
    Ok(Some(chain[highest].clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> Vec<String> {
        ["0001", "0002", "0010"].map(String::from).to_vec()
    }

    fn record(applied: &[&str]) -> Record {
        Record {
            applied: applied.iter().map(|s| s.to_string()).collect(),
            unfinished: None,
            baseline: None,
        }
    }

    #[test]
    fn the_highest_applied_version_in_chain_order() {
        let at = adopted_revision(SourceKind::Sqlx, &chain(), &record(&["1", "10", "2"]));
        assert_eq!(at, Ok(Some("0010".into())));
        let at = adopted_revision(SourceKind::GolangMigrate, &chain(), &record(&["2"]));
        assert_eq!(at, Ok(Some("0002".into())));
        assert_eq!(
            adopted_revision(SourceKind::Sqlx, &chain(), &record(&[])),
            Ok(None)
        );
    }

    #[test]
    fn gaps_unknown_versions_and_unfinished_runs_are_refused() {
        let gap = adopted_revision(SourceKind::Sqlx, &chain(), &record(&["1", "10"])).unwrap_err();
        assert!(
            gap.to_string().contains("but not the earlier 0002"),
            "{gap}"
        );
        let unknown = adopted_revision(SourceKind::Dbmate, &chain(), &record(&["3"])).unwrap_err();
        assert!(matches!(unknown, AdoptError::Unknown { .. }));
        let baselined = Record {
            baseline: Some("2".into()),
            ..record(&["10"])
        };
        let at = adopted_revision(SourceKind::Flyway, &chain(), &baselined);
        assert_eq!(at, Ok(Some("0010".into())));
        let dirty = Record {
            unfinished: Some("2".into()),
            ..record(&["2"])
        };
        let err = adopted_revision(SourceKind::GolangMigrate, &chain(), &dirty).unwrap_err();
        assert!(err.to_string().contains("as dirty"), "{err}");
        assert!(err.to_string().contains("migrate force"), "{err}");
    }
}

//! Which of Squawk's rules run, and what each kind of finding weighs.
//!
//! The rules themselves are Squawk's; retort only chooses among them and
//! ranks what they find. Squawk's own defaults include style rules that, on
//! a real history, outnumber the lock and data-loss findings many times
//! over; those are off here unless `[lint] enable` names them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use squawk_linter::Rule;

/// Style advice rather than a hazard of running the statement: off unless
/// `[lint] enable` lists them. Squawk's own opt-in rules stay off too.
pub const OFF_BY_DEFAULT: [&str; 7] = [
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-robust-stmts",
    "prefer-text-field",
    "prefer-timestamp-tz",
    "ban-char-field",
];

/// Rules whose statements destroy data: always an error (downgrades during
/// incidents are where a `DROP COLUMN` loses data).
const DATA_LOSS: [Rule; 6] = [
    Rule::BanDropColumn,
    Rule::BanDropTable,
    Rule::BanDropDatabase,
    Rule::BanDropSchema,
    Rule::BanTruncateCascade,
    Rule::BanDropSequence,
];

/// Rules about a lock held, or a table rewritten or scanned, for as long as
/// the table is big: the live size decides how much they weigh.
const SIZE_BOUND: [Rule; 14] = [
    Rule::RequireConcurrentIndexCreation,
    Rule::RequireConcurrentIndexDeletion,
    Rule::RequireConcurrentReindex,
    Rule::RequireConcurrentPartitionDetach,
    Rule::ConstraintMissingNotValid,
    Rule::AddingFieldWithDefault,
    Rule::AddingForeignKeyConstraint,
    Rule::ChangingColumnType,
    Rule::AddingNotNullableField,
    Rule::AddingSerialPrimaryKeyField,
    Rule::AddingRequiredField,
    Rule::DisallowedUniqueConstraint,
    Rule::BanDropNotNull,
    Rule::PreferRepack,
];

/// How much a finding weighs; `[lint] fail_on` names the lightest that
/// makes `lint` and `check` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a hazard (e.g. a table created earlier in the plan).
    Info,
    /// A lock, rewrite or compatibility hazard.
    Warning,
    /// Data loss, or a lock or rewrite on a large table.
    Error,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Severity, String> {
        match text {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity '{other}' (expected info, warning or error)"
            )),
        }
    }
}

/// A rule by its Squawk name, in its one canonical spelling.
pub fn canonical_rule_name(name: &str) -> Result<String, String> {
    name.parse::<Rule>()
        .map(|rule| rule.to_string())
        .map_err(|_| format!("unknown lint rule '{name}'"))
}

pub(super) fn is_data_loss(rule: Rule) -> bool {
    DATA_LOSS.contains(&rule)
}

pub(super) fn is_size_bound(rule: Rule) -> bool {
    SIZE_BOUND.contains(&rule)
}

/// The rules that run: Squawk's defaults without the style rules and
/// `disable`, plus `enable`.
pub(super) fn selected_rules(enable: &[String], disable: &[String]) -> Vec<Rule> {
    let parsed = |names: &[String]| -> Vec<Rule> {
        names
            .iter()
            .filter_map(|n| n.parse::<Rule>().ok())
            .flat_map(expanded)
            .collect()
    };
    let (enabled, disabled) = (parsed(enable), parsed(disable));
    let style: Vec<Rule> = OFF_BY_DEFAULT
        .iter()
        .filter_map(|n| n.parse::<Rule>().ok())
        .collect();
    let defaults = squawk_linter::Linter::with_default_rules().rules;
    let mut rules: Vec<Rule> = defaults
        .into_iter()
        .filter(|rule| !style.contains(rule))
        .chain(enabled)
        .filter(|rule| !disabled.contains(rule))
        .collect();
    rules.sort_by_key(|rule| rule.to_string());
    rules.dedup();
    rules
}

/// `require-timeout-settings` is Squawk's alias for the two timeout rules.
fn expanded(rule: Rule) -> Vec<Rule> {
    match rule.expands_to() {
        [] => vec![rule],
        many => many.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_rules_are_off_and_lock_rules_on_by_default() {
        let rules = selected_rules(&[], &[]);
        assert!(!rules.contains(&Rule::PreferTextField));
        assert!(!rules.contains(&Rule::PreferBigintOverInt));
        assert!(rules.contains(&Rule::RequireConcurrentIndexCreation));
        assert!(rules.contains(&Rule::RequireLockTimeout));
        assert!(rules.contains(&Rule::BanDropColumn));
    }

    #[test]
    fn enable_and_disable_override_the_defaults() {
        let rules = selected_rules(
            &[
                "prefer-text-field".into(),
                "require-timeout-settings".into(),
            ],
            &["ban-drop-column".into()],
        );
        let without_timeouts = selected_rules(&[], &["require-timeout-settings".into()]);
        assert!(!without_timeouts.contains(&Rule::RequireLockTimeout));
        assert!(rules.contains(&Rule::PreferTextField));
        assert!(rules.contains(&Rule::RequireStatementTimeout));
        assert!(!rules.contains(&Rule::BanDropColumn));
    }

    #[test]
    fn every_style_rule_name_is_one_squawk_knows() {
        for name in OFF_BY_DEFAULT {
            assert_eq!(canonical_rule_name(name).as_deref(), Ok(name));
        }
        assert!(canonical_rule_name("no-such-rule").is_err());
    }
}

//! What a lock trace says about a lint finding: the rule's claim set beside
//! what the statement was seen doing when it ran on a throwaway database.
//!
//! Squawk reads the file; the trace watched the statement run. Only the
//! rules whose claim the trace can observe get a verdict:
//!
//! | rule family | confirmed when | refuted when |
//! |---|---|---|
//! | rewrite: `changing-column-type`, `adding-field-with-default`, `adding-serial-primary-key-field`, `prefer-repack` | the table was rewritten | the table was not rewritten (the locks taken are said) |
//! | lock: `require-concurrent-index-creation`, `require-concurrent-index-deletion`, `require-concurrent-reindex`, `require-concurrent-partition-detach`, `constraint-missing-not-valid`, `adding-foreign-key-constraint`, `disallowed-unique-constraint`, `adding-not-nullable-field`, `adding-required-field`, `ban-drop-not-null` | a lock that blocks writes (SHARE or stronger) was taken on the table | the locks were seen and none on the table blocks writes |
//! | everything else (style, data loss, timeouts, renames) | no verdict: the trace does not see what the rule is about | |
//!
//! No verdict either when the hazard names no table, or the statement's
//! locks were not observed (a sampled statement no sample caught): a
//! trace that saw nothing refutes nothing. Rewrites are read from
//! `relfilenode` before and after, so they are known even then.
//!
//! Pure: a hazard and a statement's trace in, a verdict out.

use super::{Hazard, TraceVerdict};
use crate::core::lock_trace::{LockMode, StatementTrace, StepTrace};

/// What a rule claims that a trace can observe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// The statement rewrites the table.
    Rewrite,
    /// The statement blocks writes to the table while it runs.
    BlocksWrites,
}

const REWRITE_RULES: [&str; 4] = [
    "changing-column-type",
    "adding-field-with-default",
    "adding-serial-primary-key-field",
    "prefer-repack",
];

const LOCK_RULES: [&str; 10] = [
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
    "require-concurrent-reindex",
    "require-concurrent-partition-detach",
    "constraint-missing-not-valid",
    "adding-foreign-key-constraint",
    "disallowed-unique-constraint",
    "adding-not-nullable-field",
    "adding-required-field",
    "ban-drop-not-null",
];

fn claim_of(rule: &str) -> Option<Claim> {
    if REWRITE_RULES.contains(&rule) {
        Some(Claim::Rewrite)
    } else if LOCK_RULES.contains(&rule) {
        Some(Claim::BlocksWrites)
    } else {
        None
    }
}

/// Whether the trace can judge this rule at all (the lock and rewrite
/// families of the module doc).
pub fn traceable(rule: &str) -> bool {
    claim_of(rule).is_some()
}

/// The verdict of `statement`'s trace on `hazard`, or `None` when the
/// trace says nothing about the rule (see the module doc).
pub fn verdict(hazard: &Hazard, statement: &StatementTrace) -> Option<TraceVerdict> {
    let claim = claim_of(&hazard.rule)?;
    let table = &hazard.table.as_ref()?.name;
    let rewrote = statement.rewrote(table);
    let lock = statement.strongest_lock_on(table);
    let observed = observed(rewrote, lock, statement.locks_observed());
    match claim {
        Claim::Rewrite if rewrote => Some(TraceVerdict::Confirmed { observed }),
        Claim::Rewrite => Some(TraceVerdict::Refuted { observed }),
        Claim::BlocksWrites if lock.is_some_and(LockMode::blocks_writes) => {
            Some(TraceVerdict::Confirmed { observed })
        }
        Claim::BlocksWrites if statement.locks_observed() => {
            Some(TraceVerdict::Refuted { observed })
        }
        Claim::BlocksWrites => None,
    }
}

/// What was seen on the table, in words: `rewrite, ACCESS EXCLUSIVE`,
/// `no rewrite, ACCESS EXCLUSIVE`, `no rewrite, no lock`.
fn observed(rewrote: bool, lock: Option<LockMode>, locks_seen: bool) -> String {
    let rewrite = match rewrote {
        true => "rewrite",
        false => "no rewrite",
    };
    match (lock, locks_seen) {
        (Some(mode), _) => format!("{rewrite}, {mode}"),
        (None, true) => format!("{rewrite}, no lock on the table"),
        (None, false) => format!("{rewrite}, locks not observed"),
    }
}

/// Fills [`Hazard::trace`] of each hazard from the statement of `trace`
/// it points into: the last one starting at or before the hazard's line
/// (Squawk's range may start inside a statement, at `TYPE bigint`).
pub fn judge_hazards(hazards: &mut [Hazard], trace: &StepTrace) {
    for hazard in hazards {
        hazard.trace = statement_containing(trace, hazard.line)
            .and_then(|statement| verdict(hazard, statement));
    }
}

fn statement_containing(trace: &StepTrace, line: usize) -> Option<&StatementTrace> {
    trace.statements.iter().rev().find(|s| s.line <= line)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::lint::{Severity, TableRef};
    use crate::core::lock_trace::{LockTaken, Observation, Relation, RelationKind, Rewrite};

    fn hazard(rule: &str, table: &str) -> Hazard {
        Hazard {
            rule: rule.to_string(),
            message: String::new(),
            help: None,
            fix: None,
            severity: Severity::Warning,
            ignored: false,
            data_loss: false,
            range: 0..1,
            section_lines: 1..2,
            line: 3,
            column: 1,
            table: Some(TableRef {
                written: table.to_string(),
                name: table.to_string(),
            }),
            new_table: false,
            size: None,
            trace: None,
        }
    }

    fn relation(name: &str) -> Relation {
        Relation {
            oid: 16_384,
            schema: "public".to_string(),
            name: name.to_string(),
            kind: RelationKind::Table,
            index_of: None,
        }
    }

    fn statement(observation: Observation, locks: &[LockMode], rewrote: bool) -> StatementTrace {
        StatementTrace {
            line: 3,
            column: 1,
            sql: String::new(),
            command: "ALTER TABLE".to_string(),
            rows: None,
            duration: Duration::from_millis(1),
            observation,
            transaction: Some(1),
            locks: locks
                .iter()
                .map(|mode| LockTaken {
                    relation: relation("t"),
                    mode: *mode,
                    newly_acquired: true,
                    new_relation: false,
                })
                .collect(),
            rewrites: match rewrote {
                true => vec![Rewrite {
                    relation: relation("t"),
                    new_relation: false,
                }],
                false => Vec::new(),
            },
        }
    }

    fn in_tx(locks: &[LockMode], rewrote: bool) -> StatementTrace {
        statement(Observation::InTransaction, locks, rewrote)
    }

    #[test]
    fn a_type_change_that_rewrote_is_confirmed() {
        let seen = in_tx(&[LockMode::AccessExclusive], true);
        let verdict = verdict(&hazard("changing-column-type", "t"), &seen);
        assert_eq!(
            verdict,
            Some(TraceVerdict::Confirmed {
                observed: "rewrite, ACCESS EXCLUSIVE".to_string()
            })
        );
    }

    #[test]
    fn a_type_change_without_rewrite_is_refuted_with_its_lock() {
        let seen = in_tx(&[LockMode::AccessExclusive], false);
        let verdict = verdict(&hazard("changing-column-type", "t"), &seen);
        assert_eq!(
            verdict,
            Some(TraceVerdict::Refuted {
                observed: "no rewrite, ACCESS EXCLUSIVE".to_string()
            })
        );
    }

    #[test]
    fn a_lock_rule_is_confirmed_by_a_lock_that_blocks_writes() {
        let seen = in_tx(&[LockMode::Share], false);
        let verdict = verdict(&hazard("require-concurrent-index-creation", "t"), &seen);
        assert!(matches!(verdict, Some(TraceVerdict::Confirmed { .. })));
    }

    #[test]
    fn a_lock_rule_is_refuted_when_only_weak_locks_were_seen() {
        let seen = in_tx(&[LockMode::ShareUpdateExclusive], false);
        let verdict = verdict(&hazard("constraint-missing-not-valid", "t"), &seen);
        assert_eq!(
            verdict,
            Some(TraceVerdict::Refuted {
                observed: "no rewrite, SHARE UPDATE EXCLUSIVE".to_string()
            })
        );
    }

    #[test]
    fn a_sampled_statement_no_sample_caught_refutes_no_lock_rule() {
        let seen = statement(Observation::Sampled { samples: 0 }, &[], false);
        let verdict = verdict(&hazard("require-concurrent-index-creation", "t"), &seen);
        assert_eq!(verdict, None);
    }

    #[test]
    fn style_and_data_loss_rules_get_no_verdict() {
        let seen = in_tx(&[LockMode::AccessExclusive], true);
        assert_eq!(verdict(&hazard("prefer-text-field", "t"), &seen), None);
        assert_eq!(verdict(&hazard("ban-drop-column", "t"), &seen), None);
    }

    #[test]
    fn a_hazard_on_another_table_is_judged_on_that_table() {
        let seen = in_tx(&[LockMode::AccessExclusive], true);
        let verdict = verdict(&hazard("changing-column-type", "other"), &seen);
        assert_eq!(
            verdict,
            Some(TraceVerdict::Refuted {
                observed: "no rewrite, no lock on the table".to_string()
            })
        );
    }

    #[test]
    fn judge_hazards_fills_the_trace_of_the_statement_at_the_hazard_line() {
        let trace = StepTrace {
            transactional: true,
            statements: vec![in_tx(&[LockMode::AccessExclusive], true)],
        };
        let mut hazards = vec![hazard("changing-column-type", "t")];
        hazards.push(Hazard {
            line: 2,
            ..hazard("changing-column-type", "t")
        });
        judge_hazards(&mut hazards, &trace);
        assert!(matches!(
            hazards[0].trace,
            Some(TraceVerdict::Confirmed { .. })
        ));
        // Line 2 comes before the only traced statement (line 3).
        assert_eq!(hazards[1].trace, None);
    }
}

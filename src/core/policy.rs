//! One confirmation policy for both front ends: which actions run on a plain
//! "yes", which need a deliberate one, which need the protected
//! environment's name typed, and which are refused outright.
//!
//! The front ends word the answer their own way (the command line as
//! `--confirm NAME` and `--allow-drift`, the console as a key or a typed
//! name); the rules live here once, so the two cannot disagree about what a
//! downgrade on production asks of the person running it.

/// What is about to change the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upgrade,
    Downgrade,
    Stamp,
    /// Stamp replacing every row of the version table.
    StampPurge,
    /// Records a stopped step as finished and sets the version table.
    ResolveApplied,
    /// Records a stopped step as undone, or accepts a drifted file.
    ResolveOther,
}

impl Action {
    /// The words the confirmation is asked for.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
            Action::Stamp => "stamp",
            Action::StampPurge => "stamp --purge",
            Action::ResolveApplied => "resolve --applied (it sets the version table)",
            Action::ResolveOther => "resolve",
        }
    }

    /// Actions that undo work or rewrite the record of it without running
    /// the SQL that would justify it.
    fn rewrites_record(self) -> bool {
        matches!(
            self,
            Action::Downgrade | Action::Stamp | Action::StampPurge | Action::ResolveApplied
        )
    }
}

/// How the database stands against the files, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftState {
    Clean,
    /// Files and history disagree; the user may choose to run anyway.
    Overridable,
    /// A step stopped halfway and was not resolved: nothing runs.
    Blocking,
}

/// Why the confirmation is asked for; front ends show each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The action undoes work or rewrites the version table.
    Destructive,
    /// The run goes ahead on top of drift.
    Drift,
}

/// What the person must do before the action runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// A plain yes (Enter; nothing extra on the command line).
    Plain,
    /// A deliberate yes, for these reasons (a dedicated key; on the command
    /// line, `--allow-drift` when drift is among them).
    Deliberate { reasons: Vec<Reason> },
    /// The protected environment's name, typed exactly, for these reasons.
    TypeName {
        environment: String,
        reasons: Vec<Reason>,
    },
    /// Not allowed at all; resolve the stopped step first.
    Refused,
}

impl Requirement {
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Requirement::Deliberate { reasons } | Requirement::TypeName { reasons, .. } => reasons,
            Requirement::Plain | Requirement::Refused => &[],
        }
    }

    pub fn overrides_drift(&self) -> bool {
        self.reasons().contains(&Reason::Drift)
    }
}

/// The one rule: a partial step refuses everything but resolving it;
/// destructive actions and running on top of drift are deliberate; on a
/// protected environment, deliberate means typing its name.
pub fn requirement(
    action: Action,
    drift: DriftState,
    protected_environment: Option<&str>,
) -> Requirement {
    let resolving = matches!(action, Action::ResolveApplied | Action::ResolveOther);
    if drift == DriftState::Blocking && !resolving {
        return Requirement::Refused;
    }
    let mut reasons = Vec::new();
    if action.rewrites_record() {
        reasons.push(Reason::Destructive);
    }
    if drift == DriftState::Overridable && !resolving {
        reasons.push(Reason::Drift);
    }
    match (reasons.is_empty(), protected_environment) {
        (true, _) => Requirement::Plain,
        (false, Some(name)) => Requirement::TypeName {
            environment: name.to_string(),
            reasons,
        },
        (false, None) => Requirement::Deliberate { reasons },
    }
}

/// What a person gave: the name they typed, and whether they chose to run
/// on top of drift.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consent<'a> {
    pub typed_name: Option<&'a str>,
    pub allow_drift: bool,
    /// A deliberate yes was given (the console's key; on the command line,
    /// the verb itself is deliberate).
    pub deliberate: bool,
}

/// Whether `consent` meets `requirement`.
pub fn satisfied(requirement: &Requirement, consent: &Consent<'_>) -> bool {
    let drift_ok = !requirement.overrides_drift() || consent.allow_drift;
    match requirement {
        Requirement::Plain => true,
        Requirement::Refused => false,
        Requirement::Deliberate { .. } => consent.deliberate && drift_ok,
        Requirement::TypeName { environment, .. } => {
            consent.typed_name == Some(environment.as_str()) && drift_ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_on_a_clean_database_is_plain_even_when_protected() {
        assert_eq!(
            requirement(Action::Upgrade, DriftState::Clean, Some("prod")),
            Requirement::Plain
        );
    }

    #[test]
    fn destructive_actions_are_deliberate_and_typed_on_a_protected_environment() {
        for action in [
            Action::Downgrade,
            Action::Stamp,
            Action::StampPurge,
            Action::ResolveApplied,
        ] {
            assert_eq!(
                requirement(action, DriftState::Clean, None),
                Requirement::Deliberate {
                    reasons: vec![Reason::Destructive]
                },
                "{action:?}"
            );
            assert_eq!(
                requirement(action, DriftState::Clean, Some("prod")),
                Requirement::TypeName {
                    environment: "prod".into(),
                    reasons: vec![Reason::Destructive]
                },
                "{action:?}"
            );
        }
    }

    #[test]
    fn running_on_top_of_drift_is_deliberate_and_needs_the_override() {
        let needed = requirement(Action::Upgrade, DriftState::Overridable, Some("prod"));
        assert_eq!(
            needed,
            Requirement::TypeName {
                environment: "prod".into(),
                reasons: vec![Reason::Drift]
            }
        );
        let named = Consent {
            typed_name: Some("prod"),
            ..Consent::default()
        };
        assert!(!satisfied(&needed, &named), "the name alone is not enough");
        let both = Consent {
            allow_drift: true,
            ..named
        };
        assert!(satisfied(&needed, &both));
    }

    #[test]
    fn a_partial_step_refuses_everything_but_resolve() {
        for action in [Action::Upgrade, Action::Downgrade, Action::Stamp] {
            assert_eq!(
                requirement(action, DriftState::Blocking, None),
                Requirement::Refused
            );
        }
        assert_eq!(
            requirement(Action::ResolveOther, DriftState::Blocking, None),
            Requirement::Plain
        );
    }

    #[test]
    fn a_wrong_name_does_not_confirm() {
        let needed = requirement(Action::Downgrade, DriftState::Clean, Some("prod"));
        for typed in [None, Some("Prod"), Some("prod "), Some("")] {
            let consent = Consent {
                typed_name: typed,
                deliberate: true,
                allow_drift: true,
            };
            assert!(!satisfied(&needed, &consent), "{typed:?}");
        }
    }
}

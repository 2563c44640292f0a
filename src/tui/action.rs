//! What a key press asks the console to do. Keys map to actions through the
//! [`KeyMap`](crate::tui::keymap::KeyMap); each screen interprets the actions
//! that make sense in its context.
//!
//! The actions and everything about them (config name, help line, default
//! keys, contexts, footer label) live in one table, `config::ACTIONS`, so
//! the config file's validation can read it too.

pub use crate::config::{ACTIONS, Action, ActionSpec, HelpGroup, KeyContext};

#[cfg(test)]
mod tests {
    use super::{ACTIONS, Action, KeyContext};
    use crate::config::{CONSOLE_ACTIONS, parse_key};

    /// Names every variant, so that adding one without a table row fails to
    /// compile here and then fails the test below.
    fn variant_index(action: Action) -> usize {
        match action {
            Action::Quit
            | Action::Help
            | Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
            | Action::FocusNext
            | Action::FocusPrev
            | Action::Zoom
            | Action::ToggleSql
            | Action::UpgradeOne
            | Action::UpgradeTo
            | Action::DowngradeTo
            | Action::DowngradeOne
            | Action::Stamp
            | Action::Refresh
            | Action::Search
            | Action::SearchNext
            | Action::SearchPrev
            | Action::NewRevision
            | Action::Edit
            | Action::History
            | Action::WriteSql
            | Action::SaveLog
            | Action::Cancel
            | Action::Confirm
            | Action::ConfirmDestructive
            | Action::ToggleWrap
            | Action::ScrollLeft
            | Action::ScrollRight
            | Action::NextStep
            | Action::PreviousStep
            | Action::Rehearse
            | Action::Autogenerate => action as usize,
        }
    }

    #[test]
    fn every_action_has_exactly_one_table_entry() {
        for (i, spec) in ACTIONS.iter().enumerate() {
            assert_eq!(
                variant_index(spec.action),
                i,
                "{:?} out of place",
                spec.action
            );
            let rows = ACTIONS.iter().filter(|s| s.action == spec.action).count();
            assert_eq!(rows, 1, "{:?}", spec.action);
            assert_eq!(spec.action.spec().name, spec.name);
            assert!(!spec.contexts.is_empty(), "{:?} is never read", spec.action);
        }
        // The last variant sits at the end of the table: none is missing.
        assert_eq!(variant_index(Action::Quit) + 1, ACTIONS.len());
        let mut names: Vec<&str> = ACTIONS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ACTIONS.len(), "config names are unique");
        assert_eq!(CONSOLE_ACTIONS.len(), ACTIONS.len());
    }

    #[test]
    fn names_round_trip_and_default_keys_parse() {
        for action in Action::ALL {
            assert_eq!(Action::from_name(action.name()), Some(action));
            for key in action.default_keys() {
                assert_eq!(parse_key(key).as_deref(), Ok(*key), "{action:?}");
            }
        }
        assert_eq!(Action::from_name("nonsense"), None);
    }

    #[test]
    fn contexts_list_their_actions_in_table_order() {
        let log = KeyContext::Log.actions();
        let next = log.iter().position(|a| *a == Action::SearchNext);
        let new = log.iter().position(|a| *a == Action::NewRevision);
        assert!(next < new, "in the log, n steps through matches");
        assert!(!KeyContext::Main.actions().contains(&Action::SaveLog));
        assert!(
            KeyContext::Plan
                .actions()
                .contains(&Action::ConfirmDestructive)
        );
    }
}

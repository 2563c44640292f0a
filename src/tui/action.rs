//! What a key press asks the console to do. Keys map to actions through the
//! [`KeyMap`](crate::tui::keymap::KeyMap); each screen interprets the actions
//! that make sense in its context.

/// Every bindable action. The names are those of the `[keys]` table in the
/// config file (see `config::CONSOLE_ACTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Quit,
    Help,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    FocusNext,
    FocusPrev,
    Zoom,
    ToggleSql,
    UpgradeOne,
    UpgradeTo,
    DowngradeTo,
    DowngradeOne,
    Stamp,
    Refresh,
    Search,
    SearchNext,
    SearchPrev,
    NewRevision,
    Edit,
    History,
    WriteSql,
    SaveLog,
    Cancel,
    Confirm,
    ConfirmDestructive,
    ToggleWrap,
    ScrollLeft,
    ScrollRight,
    NextStep,
    PreviousStep,
}

impl Action {
    pub const ALL: [Action; 34] = [
        Action::Quit,
        Action::Help,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::FocusNext,
        Action::FocusPrev,
        Action::Zoom,
        Action::ToggleSql,
        Action::UpgradeOne,
        Action::UpgradeTo,
        Action::DowngradeTo,
        Action::DowngradeOne,
        Action::Stamp,
        Action::Refresh,
        Action::Search,
        Action::SearchNext,
        Action::SearchPrev,
        Action::NewRevision,
        Action::Edit,
        Action::History,
        Action::WriteSql,
        Action::SaveLog,
        Action::Cancel,
        Action::Confirm,
        Action::ConfirmDestructive,
        Action::ToggleWrap,
        Action::ScrollLeft,
        Action::ScrollRight,
        Action::NextStep,
        Action::PreviousStep,
    ];

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Up => "up",
            Action::Down => "down",
            Action::PageUp => "page_up",
            Action::PageDown => "page_down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::FocusNext => "focus_next",
            Action::FocusPrev => "focus_prev",
            Action::Zoom => "zoom",
            Action::ToggleSql => "toggle_sql",
            Action::UpgradeOne => "upgrade_one",
            Action::UpgradeTo => "upgrade_to",
            Action::DowngradeTo => "downgrade_to",
            Action::DowngradeOne => "downgrade_one",
            Action::Stamp => "stamp",
            Action::Refresh => "refresh",
            Action::Search => "search",
            Action::SearchNext => "search_next",
            Action::SearchPrev => "search_prev",
            Action::NewRevision => "new_revision",
            Action::Edit => "edit",
            Action::History => "history",
            Action::WriteSql => "write_sql",
            Action::SaveLog => "save_log",
            Action::Cancel => "cancel",
            Action::Confirm => "confirm",
            Action::ConfirmDestructive => "confirm_destructive",
            Action::ToggleWrap => "toggle_wrap",
            Action::ScrollLeft => "scroll_left",
            Action::ScrollRight => "scroll_right",
            Action::NextStep => "next_step",
            Action::PreviousStep => "previous_step",
        }
    }

    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The keys bound when the config file says nothing about the action.
    pub fn default_keys(self) -> &'static [&'static str] {
        match self {
            Action::Quit => &["q", "ctrl-c"],
            Action::Help => &["?", "f1"],
            Action::Up => &["up", "k"],
            Action::Down => &["down", "j"],
            Action::PageUp => &["pgup", "ctrl-b"],
            Action::PageDown => &["pgdown", "ctrl-f"],
            Action::Top => &["home", "g"],
            Action::Bottom => &["end", "G"],
            Action::FocusNext => &["tab"],
            Action::FocusPrev => &["backtab"],
            Action::Zoom => &["z"],
            Action::ToggleSql => &["t"],
            Action::UpgradeOne => &["u"],
            Action::UpgradeTo => &["U"],
            Action::DowngradeTo => &["D"],
            Action::DowngradeOne => &["d"],
            Action::Stamp => &["s"],
            Action::Refresh => &["r", "f5"],
            Action::Search => &["/"],
            Action::SearchNext => &["n"],
            Action::SearchPrev => &["N"],
            Action::NewRevision => &["n"],
            Action::Edit => &["e"],
            Action::History => &["h"],
            Action::WriteSql => &["w"],
            Action::SaveLog => &["w"],
            Action::Cancel => &["esc"],
            Action::Confirm => &["enter"],
            Action::ConfirmDestructive => &["Y"],
            Action::ToggleWrap => &["W"],
            Action::ScrollLeft => &["left"],
            Action::ScrollRight => &["right"],
            // Tab also works while a protected environment's name is typed.
            Action::NextStep => &["]", "tab"],
            Action::PreviousStep => &["[", "backtab"],
        }
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "leave the console",
            Action::Help => "show or hide this help",
            Action::Up => "move up / scroll up",
            Action::Down => "move down / scroll down",
            Action::PageUp => "one page up",
            Action::PageDown => "one page down",
            Action::Top => "first row",
            Action::Bottom => "last row; in the log: follow the tail",
            Action::FocusNext => "next pane",
            Action::FocusPrev => "previous pane",
            Action::Zoom => "enlarge the focused pane / back",
            Action::ToggleSql => "upgrade / downgrade SQL tab",
            Action::UpgradeOne => "upgrade one step towards the selection",
            Action::UpgradeTo => "upgrade to the selected revision",
            Action::DowngradeTo => "downgrade to the selected revision",
            Action::DowngradeOne => "downgrade one step (selected branch)",
            Action::Stamp => "stamp the selection (runs no SQL)",
            Action::Refresh => "re-read the database and the files",
            Action::Search => "filter the graph; in the log: search",
            Action::SearchNext => "log: next match (newer)",
            Action::SearchPrev => "log: previous match (older)",
            Action::NewRevision => "write a new revision file",
            Action::Edit => "edit the selected file in $EDITOR",
            Action::History => "the audit history, newest first",
            Action::WriteSql => "write a plan's SQL to a file",
            Action::SaveLog => "write the log to a file (log pane)",
            Action::Cancel => "close a dialog; ask to cancel a run",
            Action::Confirm => "confirm a dialog; run an upgrade plan",
            Action::ConfirmDestructive => "run a downgrade or stamp plan",
            Action::ToggleWrap => "wrap long SQL lines / cut them",
            Action::ScrollLeft => "cut SQL lines: scroll left",
            Action::ScrollRight => "cut SQL lines: scroll right",
            Action::NextStep => "plan: go to the next step",
            Action::PreviousStep => "plan: go to the previous step",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CONSOLE_ACTIONS, parse_key};

    #[test]
    fn every_action_is_bindable_in_the_config_file() {
        let mut ours: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
        let mut config: Vec<&str> = CONSOLE_ACTIONS.to_vec();
        ours.sort_unstable();
        config.sort_unstable();
        assert_eq!(ours, config);
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
}

//! Syntax of console key bindings in the `[keys]` table.

/// The contexts in which the console reads keys. Two actions of one
/// context must not share a key: the press would be ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyContext {
    /// The graph and SQL panes.
    Main,
    /// The log pane.
    Log,
    /// A plan dialog, before the run is confirmed.
    Plan,
    /// The help overlay (scrolling only).
    Help,
    /// The history dialog.
    History,
    /// The new-revision form: its text fields take every printable key,
    /// so its actions are chords.
    Form,
}

impl KeyContext {
    pub fn describe(self) -> &'static str {
        match self {
            KeyContext::Main => "the graph and SQL panes",
            KeyContext::Log => "the log pane",
            KeyContext::Plan => "a plan dialog",
            KeyContext::Help => "the help overlay",
            KeyContext::History => "the history dialog",
            KeyContext::Form => "the new-revision form",
        }
    }

    /// The actions read in this context, in table order: on a key both a
    /// default and no configured binding share, the earlier entry wins.
    pub fn actions(self) -> Vec<Action> {
        ACTIONS
            .iter()
            .filter(|spec| spec.contexts.contains(&self))
            .map(|spec| spec.action)
            .collect()
    }
}

/// Every bindable action of the console; its `[keys]` name, help text,
/// defaults and contexts are in [`ACTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
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
    ToggleWrap,
    ScrollLeft,
    ScrollRight,
    UpgradeOne,
    UpgradeTo,
    DowngradeOne,
    DowngradeTo,
    Stamp,
    Cancel,
    Refresh,
    Search,
    SearchNext,
    SearchPrev,
    NewRevision,
    Edit,
    History,
    WriteSql,
    SaveLog,
    Confirm,
    ConfirmDestructive,
    NextStep,
    PreviousStep,
    Rehearse,
    Autogenerate,
    Help,
    Quit,
}

/// The help overlay's headings, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpGroup {
    Move,
    Migrate,
    Files,
    Dialogs,
}

impl HelpGroup {
    pub const ALL: [HelpGroup; 4] = [
        HelpGroup::Move,
        HelpGroup::Migrate,
        HelpGroup::Files,
        HelpGroup::Dialogs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            HelpGroup::Move => "Move",
            HelpGroup::Migrate => "Migrate",
            HelpGroup::Files => "Files",
            HelpGroup::Dialogs => "Dialogs",
        }
    }

    /// The group's actions, in table order.
    pub fn actions(self) -> impl Iterator<Item = Action> {
        ACTIONS
            .iter()
            .filter(move |spec| spec.group == self)
            .map(|spec| spec.action)
    }
}

/// One row of the key table.
#[derive(Debug)]
pub struct ActionSpec {
    pub action: Action,
    /// The heading the help overlay lists the action under.
    pub group: HelpGroup,
    /// The name in the config file's `[keys]` table.
    pub name: &'static str,
    /// One line of the help overlay.
    pub description: &'static str,
    /// Bound when the config file says nothing about the action.
    pub defaults: &'static [&'static str],
    pub contexts: &'static [KeyContext],
    /// What the footer says next to the key.
    pub footer: &'static str,
}

use KeyContext::{Form as F, Help as H, History as Hi, Log as L, Main as M, Plan as P};

#[allow(clippy::too_many_arguments)]
const fn spec(
    action: Action,
    group: HelpGroup,
    name: &'static str,
    defaults: &'static [&'static str],
    contexts: &'static [KeyContext],
    footer: &'static str,
    description: &'static str,
) -> ActionSpec {
    ActionSpec {
        action,
        group,
        name,
        description,
        defaults,
        contexts,
        footer,
    }
}

/// The one table of console actions, in the order of [`Action`]'s variants
/// (checked by a test) and of the help overlay: lookup, help, footer and the config file's
/// validation all read it, so they cannot disagree.
pub const ACTIONS: [ActionSpec; 36] = [
    spec(
        Action::Up,
        HelpGroup::Move,
        "up",
        &["up", "k"],
        &[M, L, P, H, Hi],
        "scroll",
        "move up / scroll up",
    ),
    spec(
        Action::Down,
        HelpGroup::Move,
        "down",
        &["down", "j"],
        &[M, L, P, H, Hi],
        "scroll",
        "move down / scroll down",
    ),
    spec(
        Action::PageUp,
        HelpGroup::Move,
        "page_up",
        &["pgup", "ctrl-b"],
        &[M, L, P, H, Hi],
        "page up",
        "one page up",
    ),
    spec(
        Action::PageDown,
        HelpGroup::Move,
        "page_down",
        &["pgdown", "ctrl-f"],
        &[M, L, P, H, Hi],
        "page",
        "one page down",
    ),
    spec(
        Action::Top,
        HelpGroup::Move,
        "top",
        &["home", "g"],
        &[M, L, P, H, Hi],
        "top",
        "first row",
    ),
    spec(
        Action::Bottom,
        HelpGroup::Move,
        "bottom",
        &["end", "G"],
        &[M, L, P, H, Hi],
        "follow",
        "last row; in the log: follow the tail",
    ),
    spec(
        Action::FocusNext,
        HelpGroup::Move,
        "focus_next",
        &["tab"],
        &[M, L],
        "pane",
        "next pane",
    ),
    spec(
        Action::FocusPrev,
        HelpGroup::Move,
        "focus_prev",
        &["backtab"],
        &[M, L],
        "previous pane",
        "previous pane",
    ),
    spec(
        Action::Zoom,
        HelpGroup::Move,
        "zoom",
        &["z"],
        &[M, L],
        "zoom",
        "enlarge the focused pane / back",
    ),
    spec(
        Action::ToggleSql,
        HelpGroup::Move,
        "toggle_sql",
        &["t"],
        &[M, L, Hi],
        "upgrade/downgrade",
        "upgrade / downgrade SQL tab",
    ),
    spec(
        Action::ToggleWrap,
        HelpGroup::Move,
        "toggle_wrap",
        &["W"],
        &[M, P],
        "wrap",
        "wrap long SQL lines / cut them",
    ),
    spec(
        Action::ScrollLeft,
        HelpGroup::Move,
        "scroll_left",
        &["left"],
        &[M, P],
        "sideways",
        "cut SQL lines: scroll left",
    ),
    spec(
        Action::ScrollRight,
        HelpGroup::Move,
        "scroll_right",
        &["right"],
        &[M, P],
        "sideways",
        "cut SQL lines: scroll right",
    ),
    spec(
        Action::UpgradeOne,
        HelpGroup::Migrate,
        "upgrade_one",
        &["u"],
        &[M, L],
        "step up",
        "upgrade one step towards the selection",
    ),
    spec(
        Action::UpgradeTo,
        HelpGroup::Migrate,
        "upgrade_to",
        &["U"],
        &[M, L],
        "upgrade to",
        "upgrade to the selected revision",
    ),
    spec(
        Action::DowngradeOne,
        HelpGroup::Migrate,
        "downgrade_one",
        &["d"],
        &[M, L],
        "step down",
        "downgrade one step (selected branch)",
    ),
    spec(
        Action::DowngradeTo,
        HelpGroup::Migrate,
        "downgrade_to",
        &["D"],
        &[M, L],
        "downgrade to",
        "downgrade to the selected revision",
    ),
    spec(
        Action::Stamp,
        HelpGroup::Migrate,
        "stamp",
        &["s"],
        &[M, L],
        "stamp",
        "stamp the selection (runs no SQL)",
    ),
    spec(
        Action::Cancel,
        HelpGroup::Migrate,
        "cancel",
        &["esc"],
        &[M, L, P],
        "close",
        "close a dialog; ask to cancel a run",
    ),
    spec(
        Action::Refresh,
        HelpGroup::Migrate,
        "refresh",
        &["r", "f5"],
        &[M, L, Hi],
        "refresh",
        "re-read the database and the files",
    ),
    spec(
        Action::Search,
        HelpGroup::Files,
        "search",
        &["/"],
        &[M, L],
        "filter",
        "filter the graph; in the log: search",
    ),
    // Before NewRevision: in the log, n and N step through matches.
    spec(
        Action::SearchNext,
        HelpGroup::Files,
        "search_next",
        &["n"],
        &[L],
        "next match",
        "log: next match (newer)",
    ),
    spec(
        Action::SearchPrev,
        HelpGroup::Files,
        "search_prev",
        &["N"],
        &[L],
        "previous match",
        "log: previous match (older)",
    ),
    spec(
        Action::NewRevision,
        HelpGroup::Files,
        "new_revision",
        &["n"],
        &[M, L],
        "new",
        "write a new revision file",
    ),
    spec(
        Action::Edit,
        HelpGroup::Files,
        "edit",
        &["e"],
        &[M, L],
        "edit",
        "edit the selected file in $EDITOR",
    ),
    spec(
        Action::History,
        HelpGroup::Files,
        "history",
        &["h"],
        &[M, L],
        "history",
        "the audit history, newest first",
    ),
    spec(
        Action::WriteSql,
        HelpGroup::Files,
        "write_sql",
        &["w"],
        &[M, P],
        "write SQL to a file",
        "write a plan's SQL to a file",
    ),
    spec(
        Action::SaveLog,
        HelpGroup::Files,
        "save_log",
        &["w"],
        &[L],
        "save to file",
        "write the log to a file (log pane)",
    ),
    spec(
        Action::Confirm,
        HelpGroup::Dialogs,
        "confirm",
        &["enter"],
        &[P],
        "run the upgrade",
        "confirm a dialog; run an upgrade plan",
    ),
    spec(
        Action::ConfirmDestructive,
        HelpGroup::Dialogs,
        "confirm_destructive",
        &["Y"],
        &[P],
        "run",
        "run a downgrade or stamp plan",
    ),
    // Tab also works while a protected environment's name is typed.
    spec(
        Action::NextStep,
        HelpGroup::Dialogs,
        "next_step",
        &["]", "tab"],
        &[P],
        "step",
        "plan: go to the next step",
    ),
    spec(
        Action::PreviousStep,
        HelpGroup::Dialogs,
        "previous_step",
        &["[", "backtab"],
        &[P],
        "step",
        "plan: go to the previous step",
    ),
    // The live database is only read; the result never confirms a run.
    spec(
        Action::Rehearse,
        HelpGroup::Dialogs,
        "rehearse",
        // Ctrl-r also works while a protected environment's name is typed.
        &["R", "ctrl-r"],
        &[P],
        "rehearse",
        "plan: rehearse on a throwaway database",
    ),
    // Nothing is written: the SQL lands in the form, to be read first.
    spec(
        Action::Autogenerate,
        HelpGroup::Dialogs,
        "autogenerate",
        &["ctrl-g"],
        &[F],
        "autogenerate",
        "new revision: SQL from [schema]",
    ),
    spec(
        Action::Help,
        HelpGroup::Dialogs,
        "help",
        &["?", "f1"],
        &[M, L, P],
        "help",
        "show or hide this help",
    ),
    spec(
        Action::Quit,
        HelpGroup::Dialogs,
        "quit",
        &["q", "ctrl-c"],
        &[M, L, P],
        "quit",
        "leave the console",
    ),
];

/// Actions the console can bind keys to; `[keys]` accepts exactly these
/// names, in table order.
pub const CONSOLE_ACTIONS: [&str; ACTIONS.len()] = {
    let mut names = [""; ACTIONS.len()];
    let mut i = 0;
    while i < ACTIONS.len() {
        names[i] = ACTIONS[i].name;
        i += 1;
    }
    names
};

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; ACTIONS.len()] = {
        let mut all = [Action::Up; ACTIONS.len()];
        let mut i = 0;
        while i < ACTIONS.len() {
            all[i] = ACTIONS[i].action;
            i += 1;
        }
        all
    };

    pub fn spec(self) -> &'static ActionSpec {
        // The table is in variant order (a test checks it).
        &ACTIONS[self as usize]
    }

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<Action> {
        ACTIONS.iter().find(|s| s.name == name).map(|s| s.action)
    }

    /// The keys bound when the config file says nothing about the action.
    pub fn default_keys(self) -> &'static [&'static str] {
        self.spec().defaults
    }

    /// One line for the help overlay.
    pub fn description(self) -> &'static str {
        self.spec().description
    }

    /// What the footer says next to the action's key.
    pub fn footer(self) -> &'static str {
        self.spec().footer
    }
}

/// A problem with the `[keys]` table as a whole; `actions` are the
/// configured actions involved, so the error can point at one of their
/// entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingProblem {
    pub actions: Vec<&'static str>,
    pub message: String,
}

/// Checks the bindings that result from the defaults and `configured`
/// (action name -> canonical keys): no two actions of one context may share
/// a key unless it is a default of both (the defaults' one overlap, `n` in
/// the log, is deliberate and resolved by table order; the example config
/// spells it out), and a destructive confirmation is never Enter,
/// which is pressed out of habit.
pub fn check_bindings(
    configured: &std::collections::BTreeMap<String, Vec<String>>,
) -> Result<(), BindingProblem> {
    let bound = |spec: &ActionSpec| -> Vec<String> {
        match configured.get(spec.name) {
            Some(keys) => keys.iter().map(|k| comparable_key(k)).collect(),
            None => spec.defaults.iter().map(|k| comparable_key(k)).collect(),
        }
    };
    if let Some(keys) = configured.get(Action::ConfirmDestructive.name())
        && keys.iter().any(|k| comparable_key(k) == "enter")
    {
        return Err(BindingProblem {
            actions: vec![Action::ConfirmDestructive.name()],
            message: "key \"enter\" cannot confirm a downgrade or stamp: Enter is pressed out of habit (choose another key)".to_string(),
        });
    }
    for (i, first) in ACTIONS.iter().enumerate() {
        for second in &ACTIONS[i + 1..] {
            let first_set = configured.contains_key(first.name);
            let second_set = configured.contains_key(second.name);
            if !first_set && !second_set {
                continue;
            }
            let Some(context) = first.contexts.iter().find(|c| second.contexts.contains(c)) else {
                continue;
            };
            let theirs = bound(second);
            let designed = |key: &String| {
                let default =
                    |spec: &ActionSpec| spec.defaults.iter().any(|d| comparable_key(d) == *key);
                default(first) && default(second)
            };
            let Some(key) = bound(first)
                .into_iter()
                .find(|k| theirs.contains(k) && !designed(k))
            else {
                continue;
            };
            let actions = [(first, first_set), (second, second_set)]
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(spec, _)| spec.name)
                .collect();
            return Err(BindingProblem {
                actions,
                message: format!(
                    "key \"{key}\" is bound to both {} and {} in {}",
                    first.name,
                    second.name,
                    context.describe()
                ),
            });
        }
    }
    Ok(())
}

/// Folds spellings that reach the console as the same key event:
/// `shift-tab` arrives as BackTab, `shift-g` as `G`.
pub fn comparable_key(canonical: &str) -> String {
    if canonical == "shift-tab" {
        return "backtab".to_string();
    }
    if let Some(rest) = canonical.strip_prefix("shift-") {
        let mut chars = rest.chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && c.is_alphabetic()
        {
            return c.to_uppercase().collect();
        }
    }
    canonical.to_string()
}

/// Named keys, each with its accepted spellings; the first is canonical.
const NAMED_KEYS: &[&[&str]] = &[
    &["enter", "return"],
    &["esc", "escape"],
    &["tab"],
    &["backtab"],
    &["backspace"],
    &["delete", "del"],
    &["insert", "ins"],
    &["home"],
    &["end"],
    &["pgup", "pageup"],
    &["pgdown", "pagedown", "pgdn"],
    &["up"],
    &["down"],
    &["left"],
    &["right"],
    &["space"],
];

const MODIFIERS: &[&str] = &["ctrl", "alt", "shift"];

/// Highest function key accepted (`f1` .. `f24`).
const MAX_FUNCTION_KEY: u8 = 24;

/// Checks a key string and returns its canonical form: lowercase modifiers
/// in the order `ctrl-alt-shift-`, then a lowercase key name (`enter`, `esc`,
/// `tab`, `backtab`, `backspace`, `delete`, `insert`, `home`, `end`, `pgup`,
/// `pgdown`, `up`, `down`, `left`, `right`, `space`, `f1`..`f24`) or a single
/// character kept as written (`q`, `G`, `?`, `-`), except that a letter
/// after `ctrl-` is lowercased (`Ctrl-C` -> `ctrl-c`).
pub fn parse_key(spec: &str) -> Result<String, String> {
    let invalid = |why: &str| {
        Err(format!(
            "invalid key \"{spec}\": {why} (examples: \"q\", \"ctrl-c\", \"shift-tab\", \"f5\", \"pgup\")"
        ))
    };
    let mut modifiers = [false; 3];
    let mut rest = spec;
    // A lone character such as "-" is a key, not a modifier separator.
    while rest.chars().count() > 1 {
        let Some((word, tail)) = rest.split_once('-') else {
            break;
        };
        let Some(index) = MODIFIERS.iter().position(|m| m.eq_ignore_ascii_case(word)) else {
            break;
        };
        if modifiers[index] {
            return invalid(&format!("modifier '{}' given twice", MODIFIERS[index]));
        }
        modifiers[index] = true;
        rest = tail;
    }
    let key = match canonical_key_name(rest) {
        // Terminals send the same code for ctrl-c and ctrl-C.
        Some(key) if modifiers[0] && key.len() == 1 => key.to_ascii_lowercase(),
        Some(key) => key,
        None if rest.is_empty() => return invalid("missing the key after the modifiers"),
        None if rest.contains('-') => {
            let word = rest.split('-').next().unwrap_or(rest);
            return invalid(&format!(
                "unknown modifier '{word}' (modifiers: ctrl, alt, shift)"
            ));
        }
        None => return invalid(&format!("unknown key name '{rest}'")),
    };
    let mut canonical = String::new();
    for (modifier, on) in MODIFIERS.iter().zip(modifiers) {
        if on {
            canonical.push_str(modifier);
            canonical.push('-');
        }
    }
    canonical.push_str(&key);
    Ok(canonical)
}

fn canonical_key_name(name: &str) -> Option<String> {
    let mut chars = name.chars();
    if let (Some(single), None) = (chars.next(), chars.next()) {
        return (!single.is_control() && !single.is_whitespace()).then(|| single.to_string());
    }
    let lower = name.to_ascii_lowercase();
    if let Some(spellings) = NAMED_KEYS
        .iter()
        .find(|spellings| spellings.contains(&lower.as_str()))
    {
        return Some(spellings[0].to_string());
    }
    let digits = lower.strip_prefix('f')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u8 = digits.parse().ok()?;
    (1..=MAX_FUNCTION_KEY)
        .contains(&number)
        .then(|| format!("f{number}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn the_defaults_pass_and_overlap_only_where_meant_to() {
        assert_eq!(check_bindings(&BTreeMap::new()), Ok(()));
        let mut overlaps = Vec::new();
        for (i, first) in ACTIONS.iter().enumerate() {
            for second in &ACTIONS[i + 1..] {
                let shared = first.contexts.iter().any(|c| second.contexts.contains(c));
                let key = first.defaults.iter().find(|k| second.defaults.contains(k));
                if let (true, Some(key)) = (shared, key) {
                    overlaps.push((first.name, second.name, *key));
                }
            }
        }
        assert_eq!(overlaps, [("search_next", "new_revision", "n")]);
    }

    #[test]
    fn rebinding_to_the_same_key_as_written_is_no_collision() {
        let mut configured = BTreeMap::new();
        configured.insert("down".to_string(), vec!["j".to_string()]);
        assert_eq!(check_bindings(&configured), Ok(()));
        configured.insert("top".to_string(), vec!["j".to_string()]);
        let problem = check_bindings(&configured).unwrap_err();
        assert_eq!(problem.actions, ["down", "top"]);
        assert!(problem.message.contains("key \"j\""), "{}", problem.message);
    }
}

//! Key bindings: the defaults of each [`Action`], replaced per action by the
//! config file's `[keys]` table, looked up in the context of a screen.

use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::{comparable_key as normalize, parse_key};
use crate::tui::action::{Action, KeyContext};

/// Bindings of every action, as canonical key strings (see
/// [`parse_key`]), normalised so they compare with [`key_string`].
#[derive(Debug, Clone)]
pub struct KeyMap {
    keys: BTreeMap<Action, Vec<String>>,
    /// Actions the config file bound: they win over defaults on a clash.
    configured: BTreeSet<Action>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap::new(&BTreeMap::new())
    }
}

impl KeyMap {
    /// Defaults, with the actions `config_keys` names rebound. Names that are
    /// not actions are ignored (the config parser has already refused them).
    pub fn new(config_keys: &BTreeMap<String, Vec<String>>) -> KeyMap {
        let mut keys = BTreeMap::new();
        for action in Action::ALL {
            let defaults = action.default_keys().iter().map(|k| normalize(k)).collect();
            keys.insert(action, defaults);
        }
        let mut configured = BTreeSet::new();
        for (name, specs) in config_keys {
            let Some(action) = Action::from_name(name) else {
                continue;
            };
            let bound = specs
                .iter()
                .filter_map(|spec| parse_key(spec).ok())
                .map(|k| normalize(&k))
                .collect();
            keys.insert(action, bound);
            configured.insert(action);
        }
        KeyMap { keys, configured }
    }

    /// The action `key` triggers among `candidates` (the actions the current
    /// screen understands). A configured binding beats a default one; among
    /// equals, the earlier candidate wins.
    pub fn lookup(&self, key: &KeyEvent, candidates: &[Action]) -> Option<Action> {
        let pressed = key_string(key)?;
        let bound = |action: &&Action| self.keys(**action).contains(&pressed);
        candidates
            .iter()
            .filter(|a| self.configured.contains(a))
            .find(bound)
            .or_else(|| candidates.iter().find(bound))
            .copied()
    }

    /// The action `key` triggers in `context`, per the action table.
    pub fn lookup_in(&self, key: &KeyEvent, context: KeyContext) -> Option<Action> {
        self.lookup(key, &context.actions())
    }

    pub fn keys(&self, action: Action) -> &[String] {
        self.keys.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The first key of `action` as shown to the user (`↑`, `Enter`, `Ctrl-c`).
    pub fn label(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(|| "unbound".to_string(), |k| display_key(k))
    }

    /// Every key of `action`, for the help overlay.
    pub fn labels(&self, action: Action) -> String {
        let keys = self.keys(action);
        if keys.is_empty() {
            return "unbound".to_string();
        }
        keys.iter()
            .map(|k| display_key(k))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The canonical string of a key event, comparable with normalised bindings.
/// `None` for keys no binding can name (media keys, lone modifiers, ...).
pub fn key_string(key: &KeyEvent) -> Option<String> {
    let mut modifiers = key.modifiers;
    let name = match key.code {
        // The character already carries the case; shift is part of it.
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) => {
            modifiers.remove(KeyModifiers::SHIFT);
            if modifiers.contains(KeyModifiers::CONTROL) {
                c.to_ascii_lowercase().to_string()
            } else {
                c.to_string()
            }
        }
        KeyCode::BackTab => {
            modifiers.remove(KeyModifiers::SHIFT);
            "backtab".to_string()
        }
        KeyCode::Enter => "enter".to_string(),
        KeyCode::Esc => "esc".to_string(),
        KeyCode::Tab => "tab".to_string(),
        KeyCode::Backspace => "backspace".to_string(),
        KeyCode::Delete => "delete".to_string(),
        KeyCode::Insert => "insert".to_string(),
        KeyCode::Home => "home".to_string(),
        KeyCode::End => "end".to_string(),
        KeyCode::PageUp => "pgup".to_string(),
        KeyCode::PageDown => "pgdown".to_string(),
        KeyCode::Up => "up".to_string(),
        KeyCode::Down => "down".to_string(),
        KeyCode::Left => "left".to_string(),
        KeyCode::Right => "right".to_string(),
        KeyCode::F(n) => format!("f{n}"),
        _ => return None,
    };
    let mut out = String::new();
    for (flag, word) in [
        (KeyModifiers::CONTROL, "ctrl-"),
        (KeyModifiers::ALT, "alt-"),
        (KeyModifiers::SHIFT, "shift-"),
    ] {
        if modifiers.contains(flag) {
            out.push_str(word);
        }
    }
    out.push_str(&name);
    Some(out)
}

/// A canonical key as the footer and help show it.
pub fn display_key(canonical: &str) -> String {
    let mut modifiers = String::new();
    let mut key = canonical;
    // A lone '-' is the minus key, not a separator.
    while key.chars().count() > 1 {
        let Some((word, rest)) = ["ctrl-", "alt-", "shift-"]
            .iter()
            .find_map(|m| key.strip_prefix(m).map(|rest| (*m, rest)))
        else {
            break;
        };
        modifiers.push_str(match word {
            "ctrl-" => "Ctrl-",
            "alt-" => "Alt-",
            _ => "Shift-",
        });
        key = rest;
    }
    let key = match key {
        "up" => "↑",
        "down" => "↓",
        "left" => "←",
        "right" => "→",
        "enter" => "Enter",
        "esc" => "Esc",
        "tab" => "Tab",
        "backtab" => "S-Tab",
        "backspace" => "Bksp",
        "delete" => "Del",
        "insert" => "Ins",
        "home" => "Home",
        "end" => "End",
        "pgup" => "PgUp",
        "pgdown" => "PgDn",
        "space" => "Space",
        other if other.len() > 1 && other.starts_with('f') => {
            return format!("{modifiers}{}", other.to_uppercase());
        }
        other => other,
    };
    format!("{modifiers}{key}")
}

#[cfg(test)]
mod tests {
    use super::{
        Action, BTreeMap, KeyCode, KeyEvent, KeyMap, KeyModifiers, display_key, key_string,
    };

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn key_events_compare_with_bindings() {
        assert_eq!(
            key_string(&key(KeyCode::Char('G'), KeyModifiers::SHIFT)).as_deref(),
            Some("G")
        );
        assert_eq!(
            key_string(&key(
                KeyCode::Char('C'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            ))
            .as_deref(),
            Some("ctrl-c")
        );
        assert_eq!(
            key_string(&key(KeyCode::BackTab, KeyModifiers::SHIFT)).as_deref(),
            Some("backtab")
        );
        assert_eq!(
            key_string(&key(KeyCode::F(5), KeyModifiers::NONE)).as_deref(),
            Some("f5")
        );
        assert_eq!(
            key_string(&key(KeyCode::Char(' '), KeyModifiers::NONE)).as_deref(),
            Some("space")
        );
        assert_eq!(
            key_string(&key(KeyCode::Up, KeyModifiers::ALT)).as_deref(),
            Some("alt-up")
        );
        assert_eq!(key_string(&key(KeyCode::Null, KeyModifiers::NONE)), None);
    }

    #[test]
    fn defaults_resolve_in_context() {
        let map = KeyMap::default();
        let j = key(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(
            map.lookup(&j, &[Action::Up, Action::Down]),
            Some(Action::Down)
        );
        assert_eq!(map.lookup(&j, &[Action::Up]), None);
        let w = key(KeyCode::Char('w'), KeyModifiers::NONE);
        assert_eq!(
            map.lookup(&w, &[Action::SaveLog, Action::WriteSql]),
            Some(Action::SaveLog)
        );
        assert_eq!(map.lookup(&w, &[Action::WriteSql]), Some(Action::WriteSql));
    }

    #[test]
    fn configured_keys_replace_defaults_and_win_clashes() {
        let mut config = BTreeMap::new();
        config.insert("down".to_string(), vec!["n".to_string()]);
        config.insert(
            "stamp".to_string(),
            vec!["shift-tab".to_string(), "shift-x".to_string()],
        );
        let map = KeyMap::new(&config);
        let context = [
            Action::Down,
            Action::NewRevision,
            Action::FocusPrev,
            Action::Stamp,
        ];
        let n = key(KeyCode::Char('n'), KeyModifiers::NONE);
        let j = key(KeyCode::Char('j'), KeyModifiers::NONE);
        let backtab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        let big_x = key(KeyCode::Char('X'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(&n, &context), Some(Action::Down));
        assert_eq!(map.lookup(&j, &context), None, "the default j was replaced");
        assert_eq!(map.lookup(&backtab, &context), Some(Action::Stamp));
        assert_eq!(map.lookup(&big_x, &context), Some(Action::Stamp));
        assert_eq!(map.label(Action::Down), "n");
    }

    #[test]
    fn keys_display_readably() {
        assert_eq!(display_key("ctrl-c"), "Ctrl-c");
        assert_eq!(display_key("pgdown"), "PgDn");
        assert_eq!(display_key("-"), "-");
        assert_eq!(display_key("alt--"), "Alt--");
        assert_eq!(display_key("f5"), "F5");
        assert_eq!(display_key("up"), "↑");
        assert_eq!(display_key("G"), "G");
    }
}

//! Syntax of console key bindings in the `[keys]` table.

/// Actions the console can bind keys to; `[keys]` accepts exactly these
/// names. The console interprets them (extend this list when adding one).
pub const CONSOLE_ACTIONS: &[&str] = &[
    "quit",
    "help",
    "up",
    "down",
    "page_up",
    "page_down",
    "top",
    "bottom",
    "focus_next",
    "focus_prev",
    "zoom",
    "toggle_sql",
    "upgrade_one",
    "upgrade_to",
    "downgrade_to",
    "downgrade_one",
    "stamp",
    "refresh",
    "search",
    "search_next",
    "search_prev",
    "new_revision",
    "edit",
    "history",
    "write_sql",
    "save_log",
    "cancel",
    "confirm",
    "confirm_destructive",
    "toggle_wrap",
    "scroll_left",
    "scroll_right",
    "next_step",
    "previous_step",
];

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

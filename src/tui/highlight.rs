//! SQL syntax highlighting for the console, with syntect and the bundled
//! PostgreSQL syntax (`assets/syntaxes/`) and Retort Night theme
//! (`assets/themes/`).
//!
//! Built to stay off the UI thread's critical path: a [`Highlighter`] is
//! `Send`, so a worker can own it and answer "lines a..b of text X" requests.
//! It only ever highlights what is asked for. Texts are keyed by a hash of
//! their content; every [`CHECKPOINT_INTERVAL`] lines the parser state is kept,
//! so a window deep into a large file resumes from the nearest checkpoint
//! instead of line 0, and rendered windows are cached (bounded).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Cursor;
use std::ops::Range;
use std::sync::Arc;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::highlighting::{
    FontStyle, HighlightIterator, HighlightState, Highlighter as StyleResolver, Theme, ThemeSet,
};
use syntect::parsing::{
    ParseState, ScopeStack, SyntaxDefinition, SyntaxReference, SyntaxSet, SyntaxSetBuilder,
};

const SYNTAX_PATH: &str = "assets/syntaxes/PostgreSQL.sublime-syntax";
const SYNTAX_SOURCE: &str = include_str!("../../assets/syntaxes/PostgreSQL.sublime-syntax");
const THEME_PATH: &str = "assets/themes/RetortNight.tmTheme";
const THEME_SOURCE: &[u8] = include_bytes!("../../assets/themes/RetortNight.tmTheme");

/// Name of the bundled theme.
pub const THEME_NAME: &str = "Retort Night";
/// Top-level scope of the bundled syntax.
pub const SYNTAX_SCOPE: &str = "source.sql.postgresql";
/// Lines between two kept parser states; also the unit of rendering and
/// caching.
pub const CHECKPOINT_INTERVAL: usize = 64;
/// Bytes of a line that get highlighted; the rest of a longer line is shown
/// plain (regex matching on megabyte lines would stall the worker).
pub const MAX_HIGHLIGHTED_LINE_BYTES: usize = 4096;
/// Rendered lines kept across all texts before the least recently used
/// windows are dropped.
pub const MAX_CACHED_LINES: usize = 16_384;
/// Texts kept (with their checkpoints) before the least recently used is
/// dropped.
pub const MAX_TEXTS: usize = 32;
const TAB_WIDTH: usize = 4;

/// The bundled assets failed to load (a packaging bug, named by file).
#[derive(Debug, thiserror::Error)]
pub enum HighlightError {
    #[error("{SYNTAX_PATH}: {0}")]
    Syntax(String),
    #[error("{THEME_PATH}: {0}")]
    Theme(String),
}

/// The compiled syntax and theme; share one between highlighters with `Arc`.
pub struct Assets {
    syntaxes: SyntaxSet,
    /// Position of the PostgreSQL syntax in `syntaxes`, checked at load.
    syntax_index: usize,
    theme: Theme,
}

impl Assets {
    pub fn load() -> Result<Assets, HighlightError> {
        let definition = SyntaxDefinition::load_from_str(SYNTAX_SOURCE, true, None)
            .map_err(|e| HighlightError::Syntax(e.to_string()))?;
        let mut builder = SyntaxSetBuilder::new();
        builder.add(definition);
        let syntaxes = builder.build();
        let syntax_index = syntaxes
            .syntaxes()
            .iter()
            .position(|syntax| syntax.scope.build_string() == SYNTAX_SCOPE)
            .ok_or_else(|| HighlightError::Syntax(format!("does not define {SYNTAX_SCOPE}")))?;
        let theme = ThemeSet::load_from_reader(&mut Cursor::new(THEME_SOURCE))
            .map_err(|e| HighlightError::Theme(e.to_string()))?;
        Ok(Assets {
            syntaxes,
            syntax_index,
            theme,
        })
    }

    pub fn syntax_set(&self) -> &SyntaxSet {
        &self.syntaxes
    }

    pub fn syntax(&self) -> &SyntaxReference {
        &self.syntaxes.syntaxes()[self.syntax_index]
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }
}

/// A text known to a [`Highlighter`]: the hash of its content. Stable within
/// one process only (not something to store on disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TextId(u64);

impl TextId {
    /// The id `text` has (or would have) in any highlighter.
    pub fn of(text: &str) -> TextId {
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        TextId(hasher.finish())
    }
}

/// Parser position at the start of a line: enough to resume highlighting.
#[derive(Clone)]
struct Checkpoint {
    parse: ParseState,
    scopes: ScopeStack,
}

struct CachedWindow {
    lines: Vec<Line<'static>>,
    last_used: u64,
}

struct TextEntry {
    text: Arc<str>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// `checkpoints[k]` is the state at line `k * CHECKPOINT_INTERVAL`,
    /// filled in order as far as highlighting has gone.
    checkpoints: Vec<Checkpoint>,
    /// Rendered windows by index (`lines / CHECKPOINT_INTERVAL`).
    windows: HashMap<usize, CachedWindow>,
    last_used: u64,
}

impl TextEntry {
    fn line(&self, index: usize) -> &str {
        let start = self.line_starts[index];
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = &self.text[start..end];
        let line = line.strip_suffix('\n').unwrap_or(line);
        line.strip_suffix('\r').unwrap_or(line)
    }

    fn window_lines(&self, window: usize) -> Range<usize> {
        let start = window * CHECKPOINT_INTERVAL;
        start..(start + CHECKPOINT_INTERVAL).min(self.line_starts.len())
    }
}

/// Highlights SQL texts into ratatui lines, incrementally and with caching.
pub struct Highlighter {
    assets: Arc<Assets>,
    texts: HashMap<TextId, TextEntry>,
    clock: u64,
    cached_lines: usize,
}

impl Highlighter {
    /// A highlighter with the bundled syntax and theme.
    pub fn new() -> Result<Highlighter, HighlightError> {
        Ok(Highlighter::with_assets(Arc::new(Assets::load()?)))
    }

    pub fn with_assets(assets: Arc<Assets>) -> Highlighter {
        Highlighter {
            assets,
            texts: HashMap::new(),
            clock: 0,
            cached_lines: 0,
        }
    }

    pub fn assets(&self) -> &Arc<Assets> {
        &self.assets
    }

    /// Makes `text` known and returns its id. Loading the same content again
    /// is cheap apart from hashing it, and keeps its cache.
    pub fn load(&mut self, text: impl Into<Arc<str>>) -> TextId {
        let text = text.into();
        let id = TextId::of(&text);
        self.clock += 1;
        let clock = self.clock;
        if let Some(entry) = self.texts.get_mut(&id)
            && *entry.text == *text
        {
            entry.last_used = clock;
            return id;
        }
        self.forget(id);
        let entry = TextEntry {
            line_starts: line_starts(&text),
            text,
            checkpoints: vec![Checkpoint {
                parse: ParseState::new(self.assets.syntax()),
                scopes: ScopeStack::new(),
            }],
            windows: HashMap::new(),
            last_used: clock,
        };
        self.texts.insert(id, entry);
        self.evict_texts(id);
        id
    }

    pub fn contains(&self, id: TextId) -> bool {
        self.texts.contains_key(&id)
    }

    /// Number of lines (a final newline does not start another line).
    pub fn line_count(&self, id: TextId) -> Option<usize> {
        self.texts.get(&id).map(|entry| entry.line_starts.len())
    }

    /// Drops a text and everything cached for it.
    pub fn forget(&mut self, id: TextId) {
        if let Some(entry) = self.texts.remove(&id) {
            self.cached_lines -= entry.windows.values().map(|w| w.lines.len()).sum::<usize>();
        }
    }

    /// The highlighted lines `lines` of text `id`, clamped to the text; empty
    /// for an unknown id. Work done is proportional to the lines between the
    /// nearest kept checkpoint and the end of the range.
    pub fn highlight_range(&mut self, id: TextId, lines: Range<usize>) -> Vec<Line<'static>> {
        let Some(count) = self.line_count(id) else {
            return Vec::new();
        };
        let end = lines.end.min(count);
        if lines.start >= end {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(end - lines.start);
        let first_window = lines.start / CHECKPOINT_INTERVAL;
        let last_window = (end - 1) / CHECKPOINT_INTERVAL;
        for window in first_window..=last_window {
            let window_start = window * CHECKPOINT_INTERVAL;
            let rendered = self.window(id, window);
            let from = lines.start.saturating_sub(window_start);
            let to = (end - window_start).min(rendered.len());
            out.extend_from_slice(rendered.get(from..to).unwrap_or_default());
        }
        out
    }

    /// Loads `text` and highlights all of it. For small texts.
    pub fn highlight(&mut self, text: &str) -> Vec<Line<'static>> {
        let id = self.load(text);
        self.highlight_range(id, 0..usize::MAX)
    }

    /// The rendered window, from the cache or rendered now (caching it).
    fn window(&mut self, id: TextId, window: usize) -> Vec<Line<'static>> {
        self.clock += 1;
        let clock = self.clock;
        let assets = Arc::clone(&self.assets);
        let Some(entry) = self.texts.get_mut(&id) else {
            return Vec::new();
        };
        entry.last_used = clock;
        if let Some(cached) = entry.windows.get_mut(&window) {
            cached.last_used = clock;
            return cached.lines.clone();
        }
        let lines = render_window(&assets, entry, window);
        self.cached_lines += lines.len();
        entry.windows.insert(
            window,
            CachedWindow {
                lines: lines.clone(),
                last_used: clock,
            },
        );
        self.evict_windows((id, window));
        lines
    }

    fn evict_texts(&mut self, keep: TextId) {
        while self.texts.len() > MAX_TEXTS {
            let oldest = self
                .texts
                .iter()
                .filter(|(id, _)| **id != keep)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(id, _)| *id);
            match oldest {
                Some(id) => self.forget(id),
                None => break,
            }
        }
    }

    fn evict_windows(&mut self, keep: (TextId, usize)) {
        while self.cached_lines > MAX_CACHED_LINES {
            let oldest = self
                .texts
                .iter()
                .flat_map(|(id, entry)| {
                    entry
                        .windows
                        .iter()
                        .map(move |(window, cached)| (cached.last_used, *id, *window))
                })
                .filter(|&(_, id, window)| (id, window) != keep)
                .min();
            let Some((_, id, window)) = oldest else {
                break;
            };
            if let Some(removed) = self
                .texts
                .get_mut(&id)
                .and_then(|entry| entry.windows.remove(&window))
            {
                self.cached_lines -= removed.lines.len();
            }
        }
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    if text.is_empty() {
        return Vec::new();
    }
    let mut starts = vec![0];
    starts.extend(
        text.match_indices('\n')
            .map(|(at, _)| at + 1)
            .filter(|&start| start < text.len()),
    );
    starts
}

/// Renders one window, first walking (parse only, no styling) from the
/// nearest checkpoint, and records the checkpoints passed on the way.
fn render_window(assets: &Assets, entry: &mut TextEntry, window: usize) -> Vec<Line<'static>> {
    let mut from = window.min(entry.checkpoints.len() - 1);
    let mut state = entry.checkpoints[from].clone();
    while from < window {
        for index in entry.window_lines(from) {
            advance(assets, &mut state, entry.line(index));
        }
        from += 1;
        if entry.checkpoints.len() == from {
            entry.checkpoints.push(state.clone());
        }
    }
    let resolver = StyleResolver::new(assets.theme());
    let default_fg = resolver.get_default().foreground;
    let mut styles = HighlightState::new(&resolver, state.scopes.clone());
    let mut lines = Vec::with_capacity(CHECKPOINT_INTERVAL);
    for index in entry.window_lines(window) {
        let raw = entry.line(index);
        let (head, tail) = split_for_highlighting(raw);
        let input = format!("{head}\n");
        let mut line = StyledLine::default();
        match state.parse.parse_line(&input, assets.syntax_set()) {
            Ok(ops) => {
                for (style, piece) in HighlightIterator::new(&mut styles, &ops, &input, &resolver) {
                    line.push(
                        piece.trim_end_matches('\n'),
                        convert_style(style, default_fg),
                    );
                }
            }
            // The parser refused the line: show it plain and keep the state
            // from before it, so the next lines still highlight.
            Err(_) => line.push(head, Style::default()),
        }
        line.push(tail, Style::default());
        lines.push(line.finish());
    }
    state.scopes = styles.path;
    if entry.checkpoints.len() == window + 1 {
        entry.checkpoints.push(state);
    }
    lines
}

/// Moves the parser over a line without producing styles.
fn advance(assets: &Assets, state: &mut Checkpoint, raw: &str) {
    let (head, _) = split_for_highlighting(raw);
    let input = format!("{head}\n");
    if let Ok(ops) = state.parse.parse_line(&input, assets.syntax_set()) {
        for (_, op) in &ops {
            // A scope error means a malformed syntax; the stack stays usable.
            let _ = state.scopes.apply(op);
        }
    }
}

/// The part of a line to highlight (at most [`MAX_HIGHLIGHTED_LINE_BYTES`],
/// cut on a character boundary) and the rest.
fn split_for_highlighting(line: &str) -> (&str, &str) {
    if line.len() <= MAX_HIGHLIGHTED_LINE_BYTES {
        return (line, "");
    }
    let mut cut = MAX_HIGHLIGHTED_LINE_BYTES;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    line.split_at(cut)
}

fn convert_style(
    style: syntect::highlighting::Style,
    default_fg: syntect::highlighting::Color,
) -> Style {
    let mut out = Style::default();
    // Plain text keeps the terminal's own colour.
    if style.foreground != default_fg {
        let c = style.foreground;
        out = out.fg(Color::Rgb(c.r, c.g, c.b));
    }
    let font = style.font_style;
    for (flag, modifier) in [
        (FontStyle::BOLD, Modifier::BOLD),
        (FontStyle::ITALIC, Modifier::ITALIC),
        (FontStyle::UNDERLINE, Modifier::UNDERLINED),
    ] {
        if font.contains(flag) {
            out = out.add_modifier(modifier);
        }
    }
    out
}

/// Spans under construction: merges neighbours of equal style, expands tabs
/// and replaces control characters, which would corrupt the terminal.
#[derive(Default)]
struct StyledLine {
    spans: Vec<(Style, String)>,
    column: usize,
}

impl StyledLine {
    fn push(&mut self, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        if self.spans.last().is_none_or(|(last, _)| *last != style) {
            self.spans.push((style, String::with_capacity(text.len())));
        }
        let Some((_, out)) = self.spans.last_mut() else {
            return;
        };
        for c in text.chars() {
            if c == '\t' {
                let spaces = TAB_WIDTH - self.column % TAB_WIDTH;
                out.extend(std::iter::repeat_n(' ', spaces));
                self.column += spaces;
            } else {
                out.push(if c.is_control() { '\u{FFFD}' } else { c });
                self.column += 1;
            }
        }
    }

    fn finish(self) -> Line<'static> {
        Line::from(
            self.spans
                .into_iter()
                .map(|(style, text)| Span::styled(text, style))
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(test)]
mod tests;

//! Scrollable SQL text with syntax highlighting that never blocks the UI:
//! a highlighter thread renders windows of lines on request, the UI shows
//! plain text for a window until its highlighted version arrives, and keeps
//! the rendered windows in a bounded cache.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc;

use ratatui::text::{Line, Span};
use tokio::sync::mpsc::UnboundedSender;

use crate::tui::highlight::{CHECKPOINT_INTERVAL, Highlighter, TextId};

/// Lines per highlight request: the highlighter's own unit of caching.
const WINDOW: usize = CHECKPOINT_INTERVAL;
/// Rendered windows the UI keeps before it starts over.
const MAX_CACHED_WINDOWS: usize = 512;
const TAB_WIDTH: usize = 4;

/// How a view shows a line wider than itself. Either way nothing is cut
/// off without a sign: wrapped rows carry a continuation marker, cut lines
/// an arrow at the edge where they continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// A long line continues on the next rows.
    #[default]
    Wrap,
    /// A long line is cut at the edge; the view scrolls sideways.
    Scroll,
}

impl Overflow {
    pub fn toggled(self) -> Overflow {
        match self {
            Overflow::Wrap => Overflow::Scroll,
            Overflow::Scroll => Overflow::Wrap,
        }
    }
}

/// One screen row of a view: a piece of one line of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewRow {
    /// Index of the line in the text.
    pub line: usize,
    /// Bytes of the line's display text (see [`display_line`]) on this row.
    pub bytes: Range<usize>,
    /// The row starts its line (else it continues the row above).
    pub first: bool,
    /// Text is cut at the left edge (horizontal scrolling).
    pub more_left: bool,
    /// Text is cut at the right edge (horizontal scrolling).
    pub more_right: bool,
}

/// The rows a view shows from its position, and what they cover.
struct Shown {
    rows: Vec<ViewRow>,
    lines: Range<usize>,
    widest: usize,
    more_below: bool,
}

/// A text being shown, with its scroll position.
#[derive(Debug, Clone)]
pub struct TextView {
    text: Arc<str>,
    id: TextId,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Number shown for the first line (its line in the file).
    pub first_number: usize,
    /// The line at the top of the view.
    pub scroll: usize,
    /// Rows of the top line above the view, when it wraps.
    pub scroll_row: usize,
    /// Columns cut at the left, when lines are cut rather than wrapped.
    pub scroll_column: usize,
    /// Rows shown at the last draw, for paging.
    pub height: usize,
    /// Columns of text at the last draw, for wrapping while scrolling.
    pub width: usize,
    pub overflow: Overflow,
    /// Lines shown at the last draw, and the widest of them in columns.
    shown: Range<usize>,
    widest_shown: usize,
    /// Rows follow below the last draw's.
    more_below: bool,
}

impl TextView {
    pub fn new(text: impl Into<Arc<str>>, first_number: usize) -> TextView {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        if line_starts.len() > 1 && line_starts.last() == Some(&text.len()) {
            line_starts.pop();
        }
        TextView {
            id: TextId::of(&text),
            text,
            line_starts,
            first_number,
            scroll: 0,
            scroll_row: 0,
            scroll_column: 0,
            height: 10,
            width: 80,
            overflow: Overflow::default(),
            shown: 0..0,
            widest_shown: 0,
            more_below: false,
        }
    }

    pub fn id(&self) -> TextId {
        self.id
    }

    pub fn text(&self) -> &Arc<str> {
        &self.text
    }

    pub fn line_count(&self) -> usize {
        if self.text.is_empty() {
            0
        } else {
            self.line_starts.len()
        }
    }

    pub fn line(&self, index: usize) -> &str {
        let Some(&start) = self.line_starts.get(index) else {
            return "";
        };
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |next| next - 1);
        let line = &self.text[start..end.max(start)];
        let line = line.strip_suffix('\n').unwrap_or(line);
        line.strip_suffix('\r').unwrap_or(line)
    }

    /// Screen rows line `index` takes at the current width and overflow.
    fn rows_of(&self, index: usize) -> usize {
        match self.overflow {
            Overflow::Scroll => 1,
            Overflow::Wrap => wrap_rows(&display_line(self.line(index)), self.width).len(),
        }
    }

    /// The position (line, row within it) that shows the last row at the
    /// bottom of the view.
    fn max_position(&self) -> (usize, usize) {
        let mut remaining = self.height.max(1);
        let mut line = self.line_count();
        while line > 0 {
            line -= 1;
            let rows = self.rows_of(line);
            if rows >= remaining {
                return (line, rows - remaining);
            }
            remaining -= rows;
        }
        (0, 0)
    }

    fn clamp(&mut self) {
        let max = self.max_position();
        if (self.scroll, self.scroll_row) > max {
            (self.scroll, self.scroll_row) = max;
        }
        if self.scroll_row > 0 && self.scroll_row >= self.rows_of(self.scroll) {
            self.scroll_row = 0;
        }
    }

    /// Moves by `delta` screen rows (a wrapped line has several).
    pub fn scroll_by(&mut self, delta: isize) {
        if self.line_count() == 0 {
            return;
        }
        let mut steps = delta.unsigned_abs();
        if delta >= 0 {
            let last = self.line_count() - 1;
            while steps > 0 && (self.scroll, self.scroll_row) < self.max_position() {
                let rows = self.rows_of(self.scroll);
                let step = steps.min(rows - self.scroll_row);
                self.scroll_row += step;
                steps -= step;
                if self.scroll_row >= rows && self.scroll < last {
                    self.scroll += 1;
                    self.scroll_row = 0;
                }
            }
        } else {
            while steps > 0 && (self.scroll, self.scroll_row) > (0, 0) {
                if self.scroll_row == 0 {
                    self.scroll -= 1;
                    self.scroll_row = self.rows_of(self.scroll);
                }
                let step = steps.min(self.scroll_row);
                self.scroll_row -= step;
                steps -= step;
            }
        }
        self.clamp();
    }

    pub fn page(&mut self, down: bool) {
        let rows = self.height.saturating_sub(1).max(1) as isize;
        self.scroll_by(if down { rows } else { -rows });
    }

    pub fn top(&mut self) {
        self.scroll = 0;
        self.scroll_row = 0;
    }

    pub fn bottom(&mut self) {
        (self.scroll, self.scroll_row) = self.max_position();
    }

    /// Puts line `index` at the top (as far as the end of the text allows).
    pub fn scroll_to_line(&mut self, index: usize) {
        self.scroll = index.min(self.line_count().saturating_sub(1));
        self.scroll_row = 0;
        self.clamp();
    }

    /// Scrolls sideways by half a view (lines cut, not wrapped).
    pub fn scroll_sideways(&mut self, right: bool) {
        let step = (self.width / 2).max(1);
        self.scroll_column = if right {
            self.scroll_column + step
        } else {
            self.scroll_column.saturating_sub(step)
        };
        // The draw clamps it to the widest line it shows.
        self.scroll_column = self
            .scroll_column
            .min(self.widest_shown.saturating_sub(self.width));
    }

    /// Fits the view to a text area `width` columns wide (text only, no
    /// gutter) and `height` rows high: remembers the size for scrolling and
    /// paging, keeps the position inside the text, and notes what the rows
    /// from there show (for [`position`](Self::position)). The layout pass
    /// calls it; the draw then takes [`rows`](Self::rows).
    pub fn fit(&mut self, width: usize, height: usize, overflow: Overflow) {
        self.width = width.max(1);
        self.height = height.max(1);
        self.overflow = overflow;
        self.clamp();
        loop {
            let shown = self.layout_rows();
            self.shown = shown.lines;
            self.widest_shown = shown.widest;
            self.more_below = shown.more_below;
            let max = shown.widest.saturating_sub(self.width);
            if self.overflow == Overflow::Scroll && self.scroll_column > max {
                self.scroll_column = max;
                continue;
            }
            return;
        }
    }

    /// The screen rows from the current position, at the size of the last
    /// [`fit`](Self::fit).
    pub fn rows(&self) -> Vec<ViewRow> {
        self.layout_rows().rows
    }

    fn layout_rows(&self) -> Shown {
        let mut rows = Vec::with_capacity(self.height);
        let mut index = self.scroll;
        let mut skip = self.scroll_row;
        let mut widest = 0;
        let mut more_below = false;
        while rows.len() < self.height && index < self.line_count() {
            let text = display_line(self.line(index));
            let total = columns(&text);
            widest = widest.max(total);
            match self.overflow {
                Overflow::Wrap => {
                    for (k, bytes) in wrap_rows(&text, self.width).into_iter().enumerate() {
                        if k < skip {
                            continue;
                        }
                        if rows.len() == self.height {
                            more_below = true;
                            break;
                        }
                        rows.push(ViewRow {
                            line: index,
                            bytes,
                            first: k == 0,
                            more_left: false,
                            more_right: false,
                        });
                    }
                }
                Overflow::Scroll => {
                    let bytes = column_range(&text, self.scroll_column, self.width);
                    rows.push(ViewRow {
                        line: index,
                        more_left: self.scroll_column > 0 && total > 0,
                        more_right: self.scroll_column + self.width < total,
                        first: true,
                        bytes,
                    });
                }
            }
            skip = 0;
            index += 1;
        }
        Shown {
            lines: rows.first().map_or(0..0, |r: &ViewRow| r.line..index),
            more_below: more_below || index < self.line_count(),
            widest,
            rows,
        }
    }

    /// `lines 3–20 of 45`, with `↓` when rows follow (the last line may
    /// go on below) and the columns shown when lines are cut:
    /// `lines 3–20 of 45 ↓ · cols 41–120 of 300`. From the last draw.
    pub fn position(&self) -> String {
        if self.line_count() == 0 {
            return String::new();
        }
        let mut text = format!(
            "lines {}–{} of {}",
            self.shown.start + 1,
            self.shown.end.max(self.shown.start + 1),
            self.line_count()
        );
        if self.more_below {
            text += " ↓";
        }
        if self.overflow == Overflow::Scroll && self.widest_shown > self.width {
            text += &format!(
                " · cols {}–{} of {}",
                self.scroll_column + 1,
                (self.scroll_column + self.width).min(self.widest_shown),
                self.widest_shown
            );
        }
        text
    }

    /// Screen rows the whole text takes at `width` columns when wrapped
    /// (for sizing a dialog; walks every line).
    pub fn wrapped_rows(&self, width: usize) -> usize {
        (0..self.line_count())
            .map(|i| wrap_rows(&display_line(self.line(i)), width.max(1)).len())
            .sum()
    }
}

/// A line as the screen shows it, the same text the highlighter renders:
/// tabs expanded to stops every four characters, control characters
/// (which would corrupt the terminal) replaced.
pub fn display_line(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut column = 0;
    for c in raw.chars() {
        if c == '\t' {
            let spaces = TAB_WIDTH - column % TAB_WIDTH;
            out.extend(std::iter::repeat_n(' ', spaces));
            column += spaces;
        } else {
            out.push(if c.is_control() { '\u{FFFD}' } else { c });
            column += 1;
        }
    }
    out
}

/// Terminal columns of a character (wide East Asian characters take two).
fn char_width(c: char) -> usize {
    if c.is_ascii() {
        return 1;
    }
    let mut buf = [0; 4];
    Span::raw(&*c.encode_utf8(&mut buf)).width()
}

fn columns(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

/// Splits `text` into rows of at most `width` columns, after the last
/// space that fits where there is one, else inside the word. Byte ranges;
/// an empty text is one empty row.
pub fn wrap_rows(text: &str, width: usize) -> Vec<Range<usize>> {
    let width = width.max(2);
    let mut rows = Vec::new();
    let mut start = 0;
    let mut used = 0;
    // Byte just after the last space of the current row.
    let mut after_space = None;
    for (at, c) in text.char_indices() {
        let w = char_width(c);
        if used + w > width && at > start {
            let cut = match after_space {
                Some(cut) if cut > start && cut <= at => cut,
                _ => at,
            };
            rows.push(start..cut);
            start = cut;
            used = columns(&text[start..at]);
            after_space = None;
            if used + w > width {
                rows.push(start..at);
                start = at;
                used = 0;
            }
        }
        used += w;
        if c == ' ' {
            after_space = Some(at + 1);
        }
    }
    rows.push(start..text.len());
    rows
}

/// The bytes of `text` that fall in columns `from..from + width`: a wide
/// character cut by either edge is left out.
fn column_range(text: &str, from: usize, width: usize) -> Range<usize> {
    let mut column = 0;
    let mut start = text.len();
    let mut end = text.len();
    for (at, c) in text.char_indices() {
        let w = char_width(c);
        if column >= from && start == text.len() {
            start = at;
        }
        if column + w > from + width {
            end = at;
            break;
        }
        column += w;
    }
    start..end.max(start)
}

/// The part of a rendered line that covers `bytes` of its text, styles kept.
pub fn slice_line(line: &Line<'static>, bytes: &Range<usize>) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut at = 0;
    for span in &line.spans {
        let (start, end) = (at, at + span.content.len());
        at = end;
        let (from, to) = (bytes.start.max(start), bytes.end.min(end));
        if from < to {
            let piece = &span.content[from - start..to - start];
            out.push(Span::styled(piece.to_string(), span.style));
        }
    }
    out
}

/// A request to the highlighter thread.
struct Request {
    text: Arc<str>,
    id: TextId,
    window: usize,
}

/// What the highlighter thread sends back.
pub enum HighlightAnswer {
    Window(Highlighted),
    /// The bundled syntax or theme did not load; the text stays plain.
    Unavailable(String),
}

/// Highlighted lines of one window, sent back to the UI.
pub struct Highlighted {
    pub id: TextId,
    pub window: usize,
    pub lines: Vec<Line<'static>>,
}

/// The UI's side of highlighting: requests, and the cache of answers.
pub struct Highlights {
    requests: Option<mpsc::Sender<Request>>,
    cache: HashMap<(TextId, usize), Vec<Line<'static>>>,
    requested: HashSet<(TextId, usize)>,
}

impl Highlights {
    /// Starts the highlighter thread; answers arrive on `results`. The
    /// bundled syntax is compiled on that thread, so the first frame does
    /// not wait for it; should it fail to load, the thread says so once
    /// ([`HighlightAnswer::Unavailable`]) and text stays plain.
    pub fn start(results: UnboundedSender<HighlightAnswer>) -> Highlights {
        let (requests, receiver) = mpsc::channel::<Request>();
        let failures = results.clone();
        let spawned = std::thread::Builder::new()
            .name("retort-highlight".to_string())
            .spawn(move || match Highlighter::new() {
                Ok(highlighter) => serve(highlighter, receiver, results),
                Err(e) => {
                    let _ = results.send(HighlightAnswer::Unavailable(e.to_string()));
                }
            });
        match spawned {
            Ok(_) => Highlights {
                requests: Some(requests),
                cache: HashMap::new(),
                requested: HashSet::new(),
            },
            Err(e) => {
                let _ = failures.send(HighlightAnswer::Unavailable(format!(
                    "cannot start the highlighter thread: {e}"
                )));
                Highlights::plain()
            }
        }
    }

    /// Stops asking for highlighting (the highlighter is unavailable).
    pub fn disable(&mut self) {
        self.requests = None;
        self.requested.clear();
    }

    /// No highlighting: every line is shown plain.
    pub fn plain() -> Highlights {
        Highlights {
            requests: None,
            cache: HashMap::new(),
            requested: HashSet::new(),
        }
    }

    pub fn accept(&mut self, answer: Highlighted) {
        let key = (answer.id, answer.window);
        self.requested.remove(&key);
        if self.cache.len() >= MAX_CACHED_WINDOWS {
            self.cache.clear();
        }
        self.cache.insert(key, answer.lines);
    }

    /// Lines `range` of `view`: highlighted where known, plain otherwise
    /// (asking the highlighter for the missing windows).
    pub fn lines(&mut self, view: &TextView, range: Range<usize>) -> Vec<Line<'static>> {
        let mut out = Vec::with_capacity(range.len());
        for index in range {
            let window = index / WINDOW;
            let key = (view.id, window);
            let cached = self
                .cache
                .get(&key)
                .and_then(|lines| lines.get(index - window * WINDOW));
            match cached {
                Some(line) => out.push(line.clone()),
                None => {
                    self.request(view, window);
                    out.push(Line::raw(display_line(view.line(index))));
                }
            }
        }
        out
    }

    fn request(&mut self, view: &TextView, window: usize) {
        let Some(requests) = &self.requests else {
            return;
        };
        if self.cache.contains_key(&(view.id, window)) || !self.requested.insert((view.id, window))
        {
            return;
        }
        let sent = requests.send(Request {
            text: Arc::clone(&view.text),
            id: view.id,
            window,
        });
        if sent.is_err() {
            // The thread is gone: stay plain from now on.
            self.requests = None;
        }
    }
}

fn serve(
    mut highlighter: Highlighter,
    requests: mpsc::Receiver<Request>,
    results: UnboundedSender<HighlightAnswer>,
) {
    while let Ok(request) = requests.recv() {
        let id = highlighter.load(request.text);
        debug_assert_eq!(id, request.id);
        let start = request.window * WINDOW;
        let lines = highlighter.highlight_range(id, start..start + WINDOW);
        let answer = Highlighted {
            id: request.id,
            window: request.window,
            lines,
        };
        if results.send(HighlightAnswer::Window(answer)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        Highlights, Overflow, Span, TextView, ViewRow, display_line, slice_line, wrap_rows,
    };

    /// What a draw at this size shows, after the layout pass fitted the view.
    fn fit_rows(
        view: &mut TextView,
        width: usize,
        height: usize,
        overflow: Overflow,
    ) -> Vec<ViewRow> {
        view.fit(width, height, overflow);
        view.rows()
    }

    #[test]
    fn lines_and_scrolling() {
        let mut view = TextView::new("a\nb\r\nc\n", 7);
        assert_eq!(view.line_count(), 3);
        assert_eq!(
            (view.line(0), view.line(1), view.line(2), view.line(3)),
            ("a", "b", "c", "")
        );
        let rows = fit_rows(&mut view, 10, 2, Overflow::Wrap);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(view.position(), "lines 1–2 of 3 ↓");
        view.scroll_by(5);
        assert_eq!(view.scroll, 1, "clamped to the last page");
        view.top();
        view.page(true);
        assert_eq!(view.scroll, 1);
        assert_eq!(TextView::new("", 1).line_count(), 0);
    }

    #[test]
    fn wrapping_breaks_after_spaces_and_inside_long_words() {
        let rows = |text: &str, width| -> Vec<String> {
            wrap_rows(text, width)
                .into_iter()
                .map(|r| text[r].to_string())
                .collect()
        };
        assert_eq!(
            rows("UPDATE t SET v = 1 WHERE id IN (1, 2)", 14),
            ["UPDATE t SET ", "v = 1 WHERE ", "id IN (1, 2)"]
        );
        assert_eq!(rows("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(rows("", 4), [""]);
        // Wide characters take two columns and are never split.
        assert_eq!(rows("日本語テキスト", 5), ["日本", "語テ", "キス", "ト"]);
    }

    #[test]
    fn a_wrapped_line_scrolls_row_by_row() {
        let long = "x ".repeat(30);
        let text = format!("first\n{long}\nlast");
        let mut view = TextView::new(text, 1);
        // 60 columns of the long line at width 10: six rows.
        let rows = fit_rows(&mut view, 10, 3, Overflow::Wrap);
        assert_eq!(rows.len(), 3);
        assert!(rows[0].first && rows[1].first && !rows[2].first);
        assert_eq!((rows[1].line, rows[2].line), (1, 1));
        view.scroll_by(3);
        assert_eq!((view.scroll, view.scroll_row), (1, 2));
        let rows = fit_rows(&mut view, 10, 3, Overflow::Wrap);
        assert!(rows.iter().all(|r| r.line == 1 && !r.first));
        view.bottom();
        let rows = fit_rows(&mut view, 10, 3, Overflow::Wrap);
        assert_eq!(rows.last().map(|r| r.line), Some(2), "the last line shows");
        assert_eq!((view.scroll, view.scroll_row), (1, 4));
        view.scroll_by(-5);
        assert_eq!((view.scroll, view.scroll_row), (0, 0));
        assert_eq!(view.wrapped_rows(10), 8);
    }

    #[test]
    fn cut_lines_scroll_sideways_and_say_where_they_continue() {
        let text = format!("{}\nshort", "0123456789".repeat(5));
        let mut view = TextView::new(text, 1);
        let rows = fit_rows(&mut view, 20, 5, Overflow::Scroll);
        assert_eq!(rows.len(), 2);
        assert!(!rows[0].more_left && rows[0].more_right);
        assert!(!rows[1].more_right);
        assert_eq!(view.position(), "lines 1–2 of 2 · cols 1–20 of 50");
        fit_rows(&mut view, 20, 1, Overflow::Scroll);
        assert_eq!(view.position(), "lines 1–1 of 2 ↓ · cols 1–20 of 50");
        view.scroll_sideways(true);
        view.scroll_sideways(true);
        view.scroll_sideways(true);
        let rows = fit_rows(&mut view, 20, 5, Overflow::Scroll);
        assert_eq!(view.scroll_column, 30, "no further than the widest line");
        assert!(rows[0].more_left && !rows[0].more_right);
        assert_eq!(rows[0].bytes, 30..50);
        assert!(rows[1].bytes.is_empty());
        view.scroll_sideways(false);
        assert_eq!(view.scroll_column, 20);
    }

    #[test]
    fn highlighting_survives_wrapping() {
        let sql = "UPDATE t SET v = 'a\tb' WHERE id IN (1, 2, 3);";
        let mut highlighter = crate::tui::highlight::Highlighter::new().expect("assets");
        let rendered = highlighter.highlight(sql).remove(0);
        let display = display_line(sql);
        assert_eq!(rendered.to_string(), display, "same text as the plain view");
        let pieces: Vec<Vec<Span>> = wrap_rows(&display, 16)
            .iter()
            .map(|row| slice_line(&rendered, row))
            .collect();
        let joined: String = pieces
            .iter()
            .flatten()
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(joined, display);
        let styled_where = pieces
            .iter()
            .flatten()
            .find(|s| s.content.contains("WHERE"))
            .expect("WHERE is shown");
        assert_ne!(
            styled_where.style,
            ratatui::style::Style::default(),
            "the keyword keeps its colour on its row"
        );
    }

    #[test]
    fn display_text_matches_the_highlighter_for_tabs_and_controls() {
        let raw = "a\tbc\tdef\t\u{7}x";
        assert_eq!(display_line(raw), "a   bc  def \u{FFFD}x");
    }

    #[test]
    fn plain_highlights_show_the_text() {
        let view = TextView::new("SELECT\t1;\nSELECT 2;", 1);
        let mut plain = Highlights::plain();
        let lines = plain.lines(&view, 0..2);
        assert_eq!(lines[0].to_string(), "SELECT  1;");
        assert_eq!(lines[1].to_string(), "SELECT 2;");
    }
}

//! Scrollable SQL text with syntax highlighting that never blocks the UI:
//! a highlighter thread renders windows of lines on request, the UI shows
//! plain text for a window until its highlighted version arrives, and keeps
//! the rendered windows in a bounded cache.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc;

use ratatui::text::Line;
use tokio::sync::mpsc::UnboundedSender;

use crate::tui::highlight::{CHECKPOINT_INTERVAL, Highlighter, TextId};

/// Lines per highlight request: the highlighter's own unit of caching.
const WINDOW: usize = CHECKPOINT_INTERVAL;
/// Rendered windows the UI keeps before it starts over.
const MAX_CACHED_WINDOWS: usize = 512;
const TAB: &str = "    ";

/// A text being shown, with its scroll position.
#[derive(Debug, Clone)]
pub struct TextView {
    text: Arc<str>,
    id: TextId,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Number shown for the first line (its line in the file).
    pub first_number: usize,
    pub scroll: usize,
    /// Rows shown at the last draw, for paging.
    pub height: usize,
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
            height: 10,
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

    fn max_scroll(&self) -> usize {
        self.line_count().saturating_sub(self.height.max(1))
    }

    pub fn scroll_by(&mut self, delta: isize) {
        let target = self.scroll.saturating_add_signed(delta);
        self.scroll = target.min(self.max_scroll());
    }

    pub fn page(&mut self, down: bool) {
        let rows = self.height.saturating_sub(1).max(1) as isize;
        self.scroll_by(if down { rows } else { -rows });
    }

    pub fn top(&mut self) {
        self.scroll = 0;
    }

    pub fn bottom(&mut self) {
        self.scroll = self.max_scroll();
    }

    /// The lines a view of `height` rows shows now.
    pub fn visible(&mut self, height: usize) -> Range<usize> {
        self.height = height.max(1);
        self.scroll = self.scroll.min(self.max_scroll());
        self.scroll..(self.scroll + height).min(self.line_count())
    }
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
                    out.push(Line::raw(view.line(index).replace('\t', TAB)));
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
    use super::*;

    #[test]
    fn lines_and_scrolling() {
        let mut view = TextView::new("a\nb\r\nc\n", 7);
        assert_eq!(view.line_count(), 3);
        assert_eq!(
            (view.line(0), view.line(1), view.line(2), view.line(3)),
            ("a", "b", "c", "")
        );
        assert_eq!(view.visible(2), 0..2);
        view.scroll_by(5);
        assert_eq!(view.scroll, 1, "clamped to the last page");
        view.top();
        view.page(true);
        assert_eq!(view.scroll, 1);
        assert_eq!(TextView::new("", 1).line_count(), 0);
    }

    #[test]
    fn plain_highlights_show_the_text() {
        let view = TextView::new("SELECT\t1;\nSELECT 2;", 1);
        let mut plain = Highlights::plain();
        let lines = plain.lines(&view, 0..2);
        assert_eq!(lines[0].to_string(), "SELECT    1;");
        assert_eq!(lines[1].to_string(), "SELECT 2;");
    }
}

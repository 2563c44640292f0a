//! What the screen keeps between frames apart from the console's state:
//! where the panes were drawn (for the mouse), whether the terminal was too
//! small, which graph rows are in view, and the highlight cache. The layout
//! pass of [`crate::tui::ui`] writes it, the draw reads it (and fills the
//! cache), and the key and mouse handlers that need geometry read it.

use ratatui::layout::Rect;

use crate::tui::textview::Highlights;

/// Screen areas of the last draw, for the mouse.
#[derive(Debug, Clone, Copy, Default)]
pub struct PaneAreas {
    pub graph: Rect,
    pub sql: Rect,
    pub log: Rect,
    /// First row of graph entries inside the graph pane.
    pub graph_rows: Rect,
}

/// The graph rows in view: the first one shown and how many fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphViewport {
    pub offset: usize,
    pub height: usize,
}

impl Default for GraphViewport {
    fn default() -> Self {
        GraphViewport {
            offset: 0,
            height: 10,
        }
    }
}

impl GraphViewport {
    /// Scrolls as little as needed to show entry `selected` of `entries`.
    pub fn keep_visible(&mut self, selected: usize, entries: usize) {
        let height = self.height.max(1);
        if selected < self.offset {
            self.offset = selected;
        } else if selected >= self.offset + height {
            self.offset = selected + 1 - height;
        }
        self.offset = self.offset.min(entries.saturating_sub(height));
    }

    /// Rows a page key moves by (one row of context stays).
    pub fn page_rows(&self) -> usize {
        self.height.saturating_sub(1).max(1)
    }
}

pub struct ViewState {
    /// The terminal was below the minimum size at the last draw.
    pub too_small: bool,
    pub areas: PaneAreas,
    pub graph: GraphViewport,
    /// Highlighted SQL windows, asked for by the draw.
    pub highlights: Highlights,
}

impl ViewState {
    pub fn new(highlights: Highlights) -> ViewState {
        ViewState {
            too_small: false,
            areas: PaneAreas::default(),
            graph: GraphViewport::default(),
            highlights,
        }
    }
}

//! The revision graph as the console lists it: the revisions, their lanes,
//! the entries the filter leaves, and the selection.

use std::sync::Arc;

use ratatui_textarea::TextArea;

use crate::core::graph::RevisionMap;
use crate::tui::model::{Entry, GraphLayout, Statuses, entries};

/// The selection key of the `base` row (revision ids hold no parentheses).
const BASE_KEY: &str = "(base)";

pub struct GraphView {
    pub map: Arc<RevisionMap>,
    pub layout: GraphLayout,
    pub entries: Vec<Entry>,
    pub selected: usize,
    pub filter: Option<String>,
    /// The filter being typed (the search bar is open).
    pub search: Option<TextArea<'static>>,
}

impl GraphView {
    /// The graph of `map`, nothing listed until [`rebuild`](Self::rebuild).
    pub fn new(map: RevisionMap) -> GraphView {
        GraphView {
            layout: GraphLayout::build(&map),
            map: Arc::new(map),
            entries: Vec::new(),
            selected: 0,
            filter: None,
            search: None,
        }
    }

    /// Shows the revisions of `map` (files reloaded), keeping the filter.
    pub fn replace_map(&mut self, map: RevisionMap) {
        self.layout = GraphLayout::build(&map);
        self.map = Arc::new(map);
    }

    /// The revision (map index) of the selected entry, if it is one.
    pub fn selected_revision(&self) -> Option<usize> {
        match self.entries.get(self.selected)? {
            Entry::Row(row) => self.layout.order.get(*row).copied(),
            Entry::Missing(_) | Entry::Base => None,
        }
    }

    /// Whether the `base` row (below every revision) is selected.
    pub fn base_selected(&self) -> bool {
        self.entries.get(self.selected) == Some(&Entry::Base)
    }

    /// What stays selected when the entries change: a revision's id, a
    /// missing row's id, or the base row.
    pub fn selected_key(&self, statuses: &Statuses) -> Option<String> {
        match self.entries.get(self.selected)? {
            Entry::Row(row) => Some(self.map.id(self.layout.order[*row]).to_string()),
            Entry::Missing(m) => statuses.missing.get(*m).map(|s| format!("missing:{s}")),
            Entry::Base => Some(BASE_KEY.to_string()),
        }
    }

    /// Recomputes the listed entries, keeping the selection on `keep` (a
    /// key of [`selected_key`](Self::selected_key)) or on what was selected.
    pub fn rebuild(&mut self, statuses: &Statuses, keep: Option<String>) {
        let keep = keep.or_else(|| self.selected_key(statuses));
        self.entries = entries(&self.map, &self.layout, statuses, self.filter.as_deref());
        let found = keep.and_then(|key| {
            self.entries.iter().position(|e| match e {
                Entry::Row(row) => self.map.id(self.layout.order[*row]) == key,
                Entry::Missing(m) => format!("missing:{}", statuses.missing[*m]) == key,
                Entry::Base => key == BASE_KEY,
            })
        });
        self.selected = found.unwrap_or(0).min(self.entries.len().saturating_sub(1));
    }

    /// Selects entry `index`, or the last one when it is past the end.
    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.entries.len().saturating_sub(1));
    }
}

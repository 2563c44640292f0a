//! Searching the log pane: `/` opens a query typed in the pane's title,
//! Enter shows the newest line that contains it, and the search keys step
//! to newer and older matches, wrapping around.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, FlashLevel};
use crate::tui::action::Action;
use crate::tui::log::LogSearch;

impl App {
    pub(super) fn open_log_search(&mut self) {
        let query = self.log.search.take().map(|s| s.query).unwrap_or_default();
        self.log.search = Some(LogSearch {
            query,
            current: None,
            typing: true,
        });
    }

    /// A key while the query is typed: text edits it, Enter finds, Esc
    /// closes the search.
    pub(super) fn log_search_key(&mut self, key: KeyEvent) {
        let Some(search) = &mut self.log.search else {
            return;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => self.log.search = None,
            KeyCode::Enter => {
                search.typing = false;
                let query = search.query.clone();
                self.jump_to_match(&query, None, false);
            }
            KeyCode::Backspace => {
                search.query.pop();
            }
            KeyCode::Char('u') if ctrl => search.query.clear(),
            KeyCode::Char(c) if !ctrl => search.query.push(c),
            _ => {}
        }
    }

    /// `n` / `N` in the log pane: the next newer (`forward`) or older match.
    pub(super) fn log_search_step(&mut self, forward: bool) {
        let Some(search) = &self.log.search else {
            self.set_flash(
                FlashLevel::Info,
                format!(
                    "No search: press {} in the log pane to search it",
                    self.keymap.label(Action::Search)
                ),
            );
            return;
        };
        let (query, from) = (search.query.clone(), search.current);
        self.jump_to_match(&query, from, forward);
    }

    fn jump_to_match(&mut self, query: &str, from: Option<u64>, forward: bool) {
        match self.log.find(query, from, forward) {
            Some(seq) => {
                if let Some(search) = &mut self.log.search {
                    search.current = Some(seq);
                }
                self.log.show(seq);
            }
            None => {
                if let Some(search) = &mut self.log.search {
                    search.current = None;
                }
                self.set_flash(
                    FlashLevel::Warning,
                    format!("No line of the log contains '{query}'"),
                );
            }
        }
    }
}

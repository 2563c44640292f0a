//! The SQL pane: which revision and section it shows, its text view, and
//! whether SQL views wrap long lines.

use crate::core::graph::RevisionMap;
use crate::core::revision::{Revision, SqlSection};
use crate::tui::textview::{Overflow, TextView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlTab {
    Upgrade,
    Downgrade,
}

/// The SQL pane's content: which revision and tab it shows.
pub struct SqlPane {
    pub revision: Option<usize>,
    pub tab: SqlTab,
    pub view: Option<TextView>,
    /// Whether long lines wrap or are cut (and scroll sideways), here and
    /// in the plan dialog: one choice for every SQL view.
    pub overflow: Overflow,
}

impl Default for SqlPane {
    fn default() -> Self {
        SqlPane {
            revision: None,
            tab: SqlTab::Upgrade,
            view: None,
            overflow: Overflow::default(),
        }
    }
}

impl SqlPane {
    /// Shows revision `revision` of `map` (a new view, at the top) unless
    /// it is already shown.
    pub fn show(&mut self, map: &RevisionMap, revision: Option<usize>) {
        let unchanged = self.revision == revision && self.view.is_some();
        if unchanged {
            return;
        }
        self.revision = revision;
        self.view = revision.and_then(|index| {
            section(map.revision(index), self.tab)
                .map(|s| TextView::new(s.sql.as_str(), s.first_line))
        });
    }

    /// Switches between the upgrade and the downgrade section; the next
    /// [`show`](Self::show) makes the view.
    pub fn toggle_tab(&mut self) {
        self.tab = match self.tab {
            SqlTab::Upgrade => SqlTab::Downgrade,
            SqlTab::Downgrade => SqlTab::Upgrade,
        };
        self.forget();
    }

    /// Drops the view: its text is no longer what the files hold.
    pub fn forget(&mut self) {
        self.revision = None;
        self.view = None;
    }

    /// Keeps the view across a reload from `old` to `new` when its text did
    /// not change (the revision may have another index now), else drops it.
    pub fn carry(&mut self, old: &RevisionMap, new: &RevisionMap) {
        let Some(index) = self.revision else {
            return;
        };
        let before = section(old.revision(index), self.tab);
        let now = new.index_of(old.id(index));
        let same = now.is_some_and(|i| section(new.revision(i), self.tab) == before);
        if same {
            self.revision = now;
        } else {
            self.forget();
        }
    }
}

pub fn section(rev: &Revision, tab: SqlTab) -> Option<&SqlSection> {
    match tab {
        SqlTab::Upgrade => Some(&rev.upgrade),
        SqlTab::Downgrade => rev.downgrade.as_ref(),
    }
}

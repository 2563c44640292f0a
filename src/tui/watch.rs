//! Noticing changes to the migrations directory by itself: file events
//! from the operating system (through `notify`), or a periodic scan where
//! events are unavailable, debounced into one [`WatchEvent::Changed`] per
//! burst. A `git pull` or an editor's save touches several files (and
//! temporary ones) within milliseconds; the console should reload once,
//! after the burst, not once per file and not in its middle.
//!
//! The console compares what it reloads with what it shows ([`changes`]),
//! so a burst that changed nothing it loads costs one reload and nothing
//! else.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::core::graph::RevisionMap;

/// A burst ends after this long without another event.
const QUIET: Duration = Duration::from_millis(150);
/// A burst that never goes quiet (a long copy) still reloads this often.
const LONGEST_WAIT: Duration = Duration::from_secs(1);
/// How often the directory is scanned when the system gives no events.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// What the watcher tells the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Something under the directory changed: reload.
    Changed,
    /// The watcher reported a problem (e.g. the directory went away).
    Failed(String),
}

/// How the directory is being watched, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// The operating system's file events.
    Events,
    /// A scan every [`POLL_EVERY`]: file events could not be had (`why`).
    Polling { why: String },
}

/// A running watch; dropping it stops the watching and its debounce thread.
pub struct DirWatch {
    pub how: How,
    // Only held: the backend stops when dropped.
    _backend: Box<dyn Watcher + Send>,
}

/// Watches `dir` and everything under it, sending to `events`. File
/// events first; a periodic scan when the system refuses them (no
/// inotify, its limits reached). `Err` says why neither works.
pub fn watch(dir: &Path, events: UnboundedSender<WatchEvent>) -> Result<DirWatch, String> {
    let raw = debounced(dir, events)?;
    match with_events(dir, raw.clone()) {
        Ok(watcher) => Ok(DirWatch {
            how: How::Events,
            _backend: Box::new(watcher),
        }),
        Err(why) => polling(dir, raw, why),
    }
}

/// Watches `dir` by scanning it periodically only (what [`watch`] falls
/// back to; tests use it to check the fallback itself).
pub fn poll(dir: &Path, events: UnboundedSender<WatchEvent>) -> Result<DirWatch, String> {
    let raw = debounced(dir, events)?;
    polling(dir, raw, "asked for".to_string())
}

type Raw = Sender<notify::Result<notify::Event>>;

fn with_events(dir: &Path, raw: Raw) -> Result<RecommendedWatcher, String> {
    let mut watcher = notify::recommended_watcher(raw).map_err(|e| e.to_string())?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| e.to_string())?;
    Ok(watcher)
}

fn polling(dir: &Path, raw: Raw, why: String) -> Result<DirWatch, String> {
    let config = notify::Config::default()
        .with_poll_interval(POLL_EVERY)
        .with_follow_symlinks(true);
    let mut watcher = PollWatcher::new(raw, config).map_err(|e| e.to_string())?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", dir.display()))?;
    Ok(DirWatch {
        how: How::Polling { why },
        _backend: Box::new(watcher),
    })
}

/// The sender a backend reports to; a thread turns its events into
/// debounced [`WatchEvent`]s. The thread ends when every backend holding
/// the sender is gone.
fn debounced(dir: &Path, events: UnboundedSender<WatchEvent>) -> Result<Raw, String> {
    let (raw, receiver) = channel();
    let root = dir.to_path_buf();
    std::thread::Builder::new()
        .name("retort-watch".to_string())
        .spawn(move || debounce(&root, &receiver, &events))
        .map_err(|e| format!("cannot start the watching thread: {e}"))?;
    Ok(raw)
}

/// One `Changed` per burst of relevant events: sent once no event came for
/// [`QUIET`], or [`LONGEST_WAIT`] after the burst began.
fn debounce(
    root: &Path,
    raw: &Receiver<notify::Result<notify::Event>>,
    events: &UnboundedSender<WatchEvent>,
) {
    while let Ok(first) = raw.recv() {
        match first {
            Err(e) => {
                if events.send(WatchEvent::Failed(e.to_string())).is_err() {
                    return;
                }
                continue;
            }
            Ok(event) if !relevant(root, &event) => continue,
            Ok(_) => {}
        }
        let began = Instant::now();
        let ended = loop {
            match raw.recv_timeout(QUIET) {
                Ok(_) if began.elapsed() < LONGEST_WAIT => continue,
                Ok(_) | Err(RecvTimeoutError::Timeout) => break false,
                Err(RecvTimeoutError::Disconnected) => break true,
            }
        };
        if events.send(WatchEvent::Changed).is_err() || ended {
            return;
        }
    }
}

/// Whether an event can change what the console loads: reads do not, and
/// neither do hidden entries (the loader skips them: editors' swap files,
/// `.git`). Events without paths (a rescan after the system dropped
/// events) always count.
fn relevant(root: &Path, event: &notify::Event) -> bool {
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return false,
        _ => {}
    }
    event.paths.is_empty() || event.paths.iter().any(|path| !hidden(root, path))
}

fn hidden(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// A revision file that differs between two loads of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub revision: String,
    pub path: PathBuf,
    pub how: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Edited,
    Added,
    Deleted,
}

impl ChangeKind {
    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Edited => "edited",
            ChangeKind::Added => "added",
            ChangeKind::Deleted => "deleted",
        }
    }
}

/// The revisions of `ids` that differ between `before` and `after`, in the
/// order of `ids` (a revision moved to another file counts as edited).
pub fn changes<'a>(
    before: &RevisionMap,
    after: &RevisionMap,
    ids: impl IntoIterator<Item = &'a str>,
) -> Vec<FileChange> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(*id))
        .filter_map(|id| {
            let (how, path) = match (before.get(id), after.get(id)) {
                (Some(old), Some(new)) if old == new => return None,
                (Some(_), Some(new)) => (ChangeKind::Edited, &new.path),
                (Some(old), None) => (ChangeKind::Deleted, &old.path),
                (None, Some(new)) => (ChangeKind::Added, &new.path),
                (None, None) => return None,
            };
            Some(FileChange {
                revision: id.to_string(),
                path: path.clone(),
                how,
            })
        })
        .collect()
}

/// Whether two loads hold the same revisions, file for file.
pub fn same_revisions(before: &RevisionMap, after: &RevisionMap) -> bool {
    before.len() == after.len()
        && before
            .revisions()
            .iter()
            .all(|rev| after.get(&rev.id) == Some(rev))
}

#[cfg(test)]
mod tests {
    use super::{
        AccessKind, AccessMode, ChangeKind, EventKind, How, Path, PathBuf, RevisionMap, WatchEvent,
        changes, channel, debounce, poll, relevant, same_revisions, watch,
    };
    use notify::event::{CreateKind, ModifyKind};
    use tokio::sync::mpsc::unbounded_channel;

    fn event(kind: EventKind, path: &str) -> notify::Event {
        notify::Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn reads_and_hidden_entries_are_not_changes() {
        let root = Path::new("/m");
        let write = EventKind::Modify(ModifyKind::Any);
        assert!(relevant(root, &event(write, "/m/a1_x.sql")));
        assert!(relevant(root, &event(write, "/m/sub/a1_x.sql")));
        assert!(!relevant(root, &event(write, "/m/.a1_x.sql.swp")));
        assert!(!relevant(root, &event(write, "/m/.git/index")));
        let read = EventKind::Access(AccessKind::Read);
        assert!(!relevant(root, &event(read, "/m/a1_x.sql")));
        let closed = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(relevant(root, &event(closed, "/m/a1_x.sql")));
        // The system dropped events: rescan.
        assert!(relevant(root, &notify::Event::new(EventKind::Other)));
    }

    #[test]
    fn a_burst_is_one_change() {
        let (raw, receiver) = channel();
        let (events, mut out) = unbounded_channel();
        for i in 0..5 {
            let kind = EventKind::Create(CreateKind::File);
            raw.send(Ok(event(kind, &format!("/m/{i}.sql"))))
                .expect("send");
        }
        raw.send(Ok(event(EventKind::Modify(ModifyKind::Any), "/m/.hidden")))
            .expect("send");
        // The backend goes away with the burst pending: it is still reported.
        drop(raw);
        debounce(Path::new("/m"), &receiver, &events);
        assert_eq!(out.try_recv(), Ok(WatchEvent::Changed));
        assert!(out.try_recv().is_err(), "one change for the burst");
    }

    #[test]
    fn only_hidden_entries_changing_is_no_change() {
        let (raw, receiver) = channel();
        let (events, mut out) = unbounded_channel();
        raw.send(Ok(event(EventKind::Modify(ModifyKind::Any), "/m/.swp")))
            .expect("send");
        raw.send(Err(notify::Error::generic("the directory went away")))
            .expect("send");
        drop(raw);
        debounce(Path::new("/m"), &receiver, &events);
        assert_eq!(
            out.try_recv(),
            Ok(WatchEvent::Failed("the directory went away".to_string()))
        );
        assert!(out.try_recv().is_err());
    }

    fn map(files: &[(&str, &str, &str)]) -> RevisionMap {
        let revisions = files
            .iter()
            .map(|(id, down, sql)| {
                let text = format!(
                    "-- revision: {id}\n-- down_revision: {down}\n-- migrate:upgrade\n{sql}\n"
                );
                let path = PathBuf::from(format!("/m/{id}.sql"));
                crate::core::revision::parse_revision(&path, &text).expect("parses")
            })
            .collect();
        RevisionMap::build(revisions).expect("builds")
    }

    #[test]
    fn changes_name_edited_added_and_deleted_revisions_in_order() {
        let before = map(&[("a1", "", "SELECT 1;"), ("b2", "a1", "SELECT 2;")]);
        let after = map(&[
            ("a1", "", "SELECT 1;"),
            ("b2", "a1", "SELECT 22;"),
            ("c3", "b2", ""),
        ]);
        assert!(same_revisions(&before, &before));
        assert!(!same_revisions(&before, &after));
        let found = changes(&before, &after, ["c3", "a1", "b2", "b2"]);
        let named: Vec<_> = found.iter().map(|c| (c.revision.as_str(), c.how)).collect();
        assert_eq!(
            named,
            [("c3", ChangeKind::Added), ("b2", ChangeKind::Edited)]
        );
        let gone = changes(&after, &before, ["c3"]);
        assert_eq!(gone[0].how, ChangeKind::Deleted);
        assert_eq!(gone[0].path, PathBuf::from("/m/c3.sql"));
    }

    /// A real directory, scanned: the fallback notices an edit by itself.
    #[test]
    fn polling_notices_a_new_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (events, mut out) = unbounded_channel();
        let watch = poll(dir.path(), events).expect("poll");
        assert!(matches!(watch.how, How::Polling { .. }));
        std::fs::write(dir.path().join("a1_x.sql"), "-- revision: a1\n").expect("write");
        assert_eq!(out.blocking_recv(), Some(WatchEvent::Changed));
    }

    #[test]
    fn file_events_notice_an_edit() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a1_x.sql"), "one").expect("write");
        let (events, mut out) = unbounded_channel();
        let _watch = watch(dir.path(), events).expect("watch");
        std::fs::write(dir.path().join("a1_x.sql"), "two").expect("edit");
        assert_eq!(out.blocking_recv(), Some(WatchEvent::Changed));
    }
}

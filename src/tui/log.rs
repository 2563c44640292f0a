//! The log pane's history: a bounded buffer of lines with a view that
//! follows the tail until the user scrolls up.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::path::Path;

/// Lines kept before the oldest are dropped.
pub const DEFAULT_LOG_CAPACITY: usize = 10_000;
/// Longer lines are cut: a single huge NOTICE must not hold megabytes.
const MAX_LINE_CHARS: usize = 2_000;

/// A saved log's timestamps: `2026-12-07 03:22:09.123 +01:00`.
const SAVED_TIME: &str = "%Y-%m-%d %H:%M:%S%.3f %:z";

/// Columns of the time in front of each line (`HH:MM:SS `).
pub const TIME_COLUMNS: usize = 9;

/// One screen row of the log pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedRow<'a> {
    /// The seq of the line the row belongs to.
    pub seq: u64,
    /// The line's time, on its first row only.
    pub time: Option<&'a str>,
    pub kind: LogKind,
    pub text: &'a str,
}

/// `text` cut into pieces of at most `width` characters, at a space when
/// one is in the second half of the piece.
pub(crate) fn split_rows(text: &str, width: usize) -> Vec<&str> {
    let mut rows = Vec::new();
    let mut rest = text;
    loop {
        let Some((cut, _)) = rest.char_indices().nth(width) else {
            rows.push(rest);
            return rows;
        };
        let half = rest.char_indices().nth(width / 2).map_or(0, |(i, _)| i);
        let cut = match rest[..cut].rfind(' ') {
            Some(space) if space > half => space + 1,
            _ => cut,
        };
        rows.push(&rest[..cut]);
        rest = &rest[cut..];
    }
}

/// What a line reports; decides its colour and symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Info,
    /// A plan or step starts.
    Step,
    /// A statement about to run.
    Statement,
    /// Server NOTICE / INFO / LOG / DEBUG.
    Notice,
    /// Server WARNING, or something the user should look at.
    Warning,
    /// A step or plan finished.
    Success,
    Error,
    /// Continuation of the line above (DETAIL, HINT, ...).
    Detail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Position in the whole history, counting dropped lines.
    pub seq: u64,
    /// Local wall-clock time, `HH:MM:SS`, as the pane shows it.
    pub time: String,
    /// When the line was logged, with its date and UTC offset, as a saved
    /// log writes it (a log read the next day, or in another zone, must
    /// still say when things happened).
    pub at: chrono::DateTime<chrono::FixedOffset>,
    pub kind: LogKind,
    pub text: String,
}

/// A search inside the log: what is looked for and the match shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSearch {
    /// Matched without regard to case.
    pub query: String,
    /// The seq of the line shown as the current match.
    pub current: Option<u64>,
    /// The query is being typed (keys go to it).
    pub typing: bool,
}

#[derive(Debug)]
pub struct LogBuffer {
    /// The search, while one is open.
    pub search: Option<LogSearch>,
    lines: VecDeque<LogLine>,
    capacity: usize,
    next_seq: u64,
    /// `None`: the view follows the tail. Otherwise the seq of the first
    /// visible line.
    anchor: Option<u64>,
    /// Rows of the pane at the last draw, for paging.
    view_height: usize,
    /// Shown instead of the clock (reproducible screenshots in tests).
    frozen_time: Option<String>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_LOG_CAPACITY)
    }
}

impl LogBuffer {
    pub fn new(capacity: usize) -> LogBuffer {
        LogBuffer {
            search: None,
            lines: VecDeque::with_capacity(capacity.min(1024)),
            capacity: capacity.max(1),
            next_seq: 0,
            anchor: None,
            view_height: 10,
            frozen_time: None,
        }
    }

    /// Appends `text`, one log line per text line.
    pub fn push(&mut self, kind: LogKind, text: &str) {
        let at = chrono::Local::now().fixed_offset();
        let time = match &self.frozen_time {
            Some(time) => time.clone(),
            None => at.format("%H:%M:%S").to_string(),
        };
        for (index, line) in text.lines().enumerate() {
            let kind = if index == 0 { kind } else { LogKind::Detail };
            self.push_line(kind, time.clone(), at, line);
        }
        if text.is_empty() {
            self.push_line(kind, time, at, "");
        }
    }

    fn push_line(
        &mut self,
        kind: LogKind,
        time: String,
        at: chrono::DateTime<chrono::FixedOffset>,
        line: &str,
    ) {
        let text = match line.char_indices().nth(MAX_LINE_CHARS) {
            Some((cut, _)) => format!(
                "{}… (line cut at {MAX_LINE_CHARS} characters)",
                &line[..cut]
            ),
            None => line.to_string(),
        };
        if self.lines.len() == self.capacity {
            self.lines.pop_front();
        }
        self.lines.push_back(LogLine {
            seq: self.next_seq,
            time,
            at,
            kind,
            text,
        });
        self.next_seq += 1;
    }

    /// Shows `time` for every line, past and future, instead of the clock:
    /// for screenshots that must not change from run to run.
    pub fn freeze_time(&mut self, time: &str) {
        self.frozen_time = Some(time.to_string());
        for line in &mut self.lines {
            line.time = time.to_string();
        }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Lines dropped from the front because of the capacity.
    pub fn dropped(&self) -> u64 {
        self.next_seq - self.lines.len() as u64
    }

    pub fn lines(&self) -> impl Iterator<Item = &LogLine> {
        self.lines.iter()
    }

    pub fn last(&self) -> Option<&LogLine> {
        self.lines.back()
    }

    pub fn is_following(&self) -> bool {
        self.anchor.is_none()
    }

    /// Index (into the kept lines) of the first line a view of `height` rows shows.
    fn first_visible(&self, height: usize) -> usize {
        let tail_start = self.lines.len().saturating_sub(height);
        match self.anchor {
            None => tail_start,
            Some(seq) => (seq.saturating_sub(self.dropped()) as usize).min(tail_start),
        }
    }

    /// The lines a view of `height` rows shows, and remembers the height for paging.
    pub fn visible(&mut self, height: usize) -> impl Iterator<Item = &LogLine> {
        self.view_height = height.max(1);
        let first = self.first_visible(height);
        self.lines
            .range(first..(first + height).min(self.lines.len()))
    }

    /// Remembers the rows the pane shows, for scrolling and paging.
    pub fn set_view_height(&mut self, height: usize) {
        self.view_height = height.max(1);
    }

    /// The rows a view of `height` rows and `width` columns shows, long lines
    /// wrapped under their text: `(time on the first row of a line, kind,
    /// text of the row)`. Following, the newest line is on the last row.
    pub fn wrapped_rows(&self, height: usize, width: usize) -> Vec<WrappedRow<'_>> {
        let text_width = width.saturating_sub(TIME_COLUMNS).max(8);
        let mut out: Vec<WrappedRow> = Vec::new();
        match self.anchor {
            None => {
                for line in self.lines.iter().rev() {
                    if out.len() >= height {
                        break;
                    }
                    let rows = split_rows(&line.text, text_width);
                    for (i, text) in rows.into_iter().enumerate().rev() {
                        out.push(WrappedRow {
                            seq: line.seq,
                            time: (i == 0).then_some(line.time.as_str()),
                            kind: line.kind,
                            text,
                        });
                    }
                }
                out.reverse();
                let excess = out.len().saturating_sub(height);
                out.drain(..excess);
            }
            Some(_) => {
                let first = self.first_visible(height);
                for line in self.lines.range(first..) {
                    if out.len() >= height {
                        break;
                    }
                    for (i, text) in split_rows(&line.text, text_width).into_iter().enumerate() {
                        out.push(WrappedRow {
                            seq: line.seq,
                            time: (i == 0).then_some(line.time.as_str()),
                            kind: line.kind,
                            text,
                        });
                    }
                }
                out.truncate(height);
            }
        }
        out
    }

    /// 1-based number of the first visible line among the kept ones, for the title.
    pub fn position(&self) -> usize {
        self.first_visible(self.view_height) + 1
    }

    pub fn scroll_up(&mut self, rows: usize) {
        let first = self.first_visible(self.view_height);
        let target = first.saturating_sub(rows);
        self.anchor = Some(self.dropped() + target as u64);
    }

    pub fn scroll_down(&mut self, rows: usize) {
        let Some(_) = self.anchor else { return };
        let first = self.first_visible(self.view_height) + rows;
        if first + self.view_height >= self.lines.len() {
            self.anchor = None;
        } else {
            self.anchor = Some(self.dropped() + first as u64);
        }
    }

    pub fn page_up(&mut self) {
        self.scroll_up(self.view_height.saturating_sub(1).max(1));
    }

    pub fn page_down(&mut self) {
        self.scroll_down(self.view_height.saturating_sub(1).max(1));
    }

    pub fn top(&mut self) {
        self.anchor = Some(self.dropped());
    }

    pub fn follow(&mut self) {
        self.anchor = None;
    }

    /// The seq of the next line containing `query` (any case) after
    /// `from` (`forward`) or before it, wrapping around; from the end
    /// (`forward`: the start) when `from` is `None`.
    pub fn find(&self, query: &str, from: Option<u64>, forward: bool) -> Option<u64> {
        let needle = query.to_lowercase();
        if needle.is_empty() {
            return None;
        }
        let hit = |line: &&LogLine| line.text.to_lowercase().contains(&needle);
        let from = from.map(|seq| seq.saturating_sub(self.dropped()) as usize);
        let n = self.lines.len();
        let order: Vec<usize> = match (forward, from) {
            (true, Some(at)) => ((at + 1)..n).chain(0..(at + 1).min(n)).collect(),
            (true, None) => (0..n).collect(),
            (false, Some(at)) => (0..at.min(n)).rev().chain((at.min(n)..n).rev()).collect(),
            (false, None) => (0..n).rev().collect(),
        };
        order
            .into_iter()
            .filter_map(|i| self.lines.get(i))
            .find(|line| hit(line))
            .map(|line| line.seq)
    }

    /// How many kept lines contain `query`, and the 1-based rank of the
    /// line `seq` among them.
    pub fn match_rank(&self, query: &str, seq: u64) -> (usize, usize) {
        let needle = query.to_lowercase();
        let mut total = 0;
        let mut rank = 0;
        for line in &self.lines {
            if line.text.to_lowercase().contains(&needle) {
                total += 1;
                if line.seq == seq {
                    rank = total;
                }
            }
        }
        (rank, total)
    }

    /// Scrolls so the line `seq` is in view, a few lines below the top.
    pub fn show(&mut self, seq: u64) {
        let context = (self.view_height / 3) as u64;
        self.anchor = Some(seq.saturating_sub(context).max(self.dropped()));
    }

    /// Writes every kept line to `path` (replacing the file), each with
    /// its date, time and UTC offset; returns how many.
    pub fn write_to(&self, path: &Path) -> io::Result<usize> {
        let mut out = io::BufWriter::new(std::fs::File::create(path)?);
        let saved = chrono::Local::now();
        writeln!(
            out,
            "# retort console log, saved {} (times are local, UTC{})",
            saved.format(SAVED_TIME),
            saved.format("%:z")
        )?;
        if self.dropped() > 0 {
            writeln!(
                out,
                "# {} older lines were dropped (the console keeps the last {})",
                self.dropped(),
                self.capacity
            )?;
        }
        for line in &self.lines {
            writeln!(
                out,
                "{} {:<7} {}",
                line.at.format(SAVED_TIME),
                kind_label(line.kind),
                line.text
            )?;
        }
        out.flush()?;
        Ok(self.lines.len())
    }
}

/// The word a line's kind is written as in a saved log.
pub fn kind_label(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Info => "info",
        LogKind::Step => "step",
        LogKind::Statement => "sql",
        LogKind::Notice => "notice",
        LogKind::Warning => "warning",
        LogKind::Success => "done",
        LogKind::Error => "error",
        LogKind::Detail => "",
    }
}

#[cfg(test)]
mod tests {
    use super::{LogBuffer, LogKind, LogLine, MAX_LINE_CHARS, SAVED_TIME, split_rows};

    fn texts<'a>(lines: impl Iterator<Item = &'a LogLine>) -> Vec<String> {
        lines.map(|l| l.text.clone()).collect()
    }

    #[test]
    fn keeps_only_the_newest_lines() {
        let mut log = LogBuffer::new(3);
        for i in 0..5 {
            log.push(LogKind::Info, &format!("line {i}"));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.dropped(), 2);
        assert_eq!(texts(log.lines()), ["line 2", "line 3", "line 4"]);
    }

    #[test]
    fn multi_line_texts_become_detail_lines() {
        let mut log = LogBuffer::new(10);
        log.push(LogKind::Error, "failed\n  DETAIL: x");
        let kinds: Vec<LogKind> = log.lines().map(|l| l.kind).collect();
        assert_eq!(kinds, [LogKind::Error, LogKind::Detail]);
    }

    #[test]
    fn follows_the_tail_until_scrolled_up() {
        let mut log = LogBuffer::new(100);
        for i in 0..20 {
            log.push(LogKind::Info, &i.to_string());
        }
        assert_eq!(texts(log.visible(5)), ["15", "16", "17", "18", "19"]);
        log.scroll_up(3);
        assert!(!log.is_following());
        assert_eq!(texts(log.visible(5)), ["12", "13", "14", "15", "16"]);
        // New lines do not move a view the user scrolled.
        log.push(LogKind::Info, "20");
        assert_eq!(texts(log.visible(5)), ["12", "13", "14", "15", "16"]);
        log.scroll_down(10);
        assert!(log.is_following());
        assert_eq!(texts(log.visible(5)), ["16", "17", "18", "19", "20"]);
    }

    #[test]
    fn a_scrolled_view_survives_dropped_lines() {
        let mut log = LogBuffer::new(10);
        for i in 0..10 {
            log.push(LogKind::Info, &i.to_string());
        }
        let _ = log.visible(3).count();
        log.top();
        for i in 10..15 {
            log.push(LogKind::Info, &i.to_string());
        }
        // The anchored lines are gone; the view clamps to the oldest kept.
        assert_eq!(texts(log.visible(3)), ["5", "6", "7"]);
    }

    #[test]
    fn long_lines_wrap_and_the_newest_stays_on_the_last_row() {
        let mut log = LogBuffer::new(10);
        log.push(LogKind::Info, "old");
        log.push(LogKind::Error, &"e".repeat(25));
        // 9 columns of time leave 10 for text: the error takes three rows.
        let rows = log.wrapped_rows(3, 19);
        let texts: Vec<&str> = rows.iter().map(|r| r.text).collect();
        assert_eq!(texts, ["eeeeeeeeee", "eeeeeeeeee", "eeeee"]);
        assert!(rows[0].time.is_some() && rows[1].time.is_none());
        let rows = log.wrapped_rows(4, 19);
        assert_eq!(rows[0].text, "old");
        log.top();
        let rows = log.wrapped_rows(2, 19);
        let texts: Vec<&str> = rows.iter().map(|r| r.text).collect();
        assert_eq!(texts, ["old", "eeeeeeeeee"]);
    }

    #[test]
    fn wrapping_prefers_spaces() {
        assert_eq!(
            split_rows("connecting to postgres", 16),
            ["connecting to ", "postgres"]
        );
        assert_eq!(
            split_rows("a verylongwordthatgoeson", 10),
            ["a verylong", "wordthatgo", "eson"]
        );
        assert_eq!(split_rows("", 10), [""]);
    }

    #[test]
    fn search_finds_lines_in_both_directions_and_wraps() {
        let mut log = LogBuffer::new(3);
        for text in ["drop", "UPDATE 1", "x", "update 2"] {
            log.push(LogKind::Info, text);
        }
        // "drop" was dropped: seqs 1..=3 are kept.
        assert_eq!(log.find("update", None, false), Some(3));
        assert_eq!(log.find("update", Some(3), false), Some(1));
        assert_eq!(log.find("update", Some(1), false), Some(3));
        assert_eq!(log.find("update", Some(1), true), Some(3));
        assert_eq!(log.find("update", Some(3), true), Some(1));
        assert_eq!(log.find("drop", None, true), None);
        assert_eq!(log.find("", None, true), None);
        assert_eq!(log.match_rank("UPDATE", 3), (2, 2));
    }

    #[test]
    fn huge_lines_are_cut() {
        let mut log = LogBuffer::new(2);
        log.push(LogKind::Notice, &"x".repeat(10 * MAX_LINE_CHARS));
        let line = log.last().map(|l| l.text.chars().count()).unwrap_or(0);
        assert!(line < MAX_LINE_CHARS + 50, "{line}");
    }

    #[test]
    fn writes_every_kept_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("console.log");
        let mut log = LogBuffer::new(2);
        for i in 0..3 {
            log.push(LogKind::Notice, &format!("n{i}"));
        }
        assert_eq!(log.write_to(&path).expect("written"), 2);
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.starts_with("# retort console log, saved 2"), "{text}");
        assert!(text.contains("\n# 1 older lines were dropped"), "{text}");
        // Every line: a date, a time with milliseconds and the UTC offset.
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(lines.len(), 2, "{text}");
        for line in lines {
            let (stamp, rest) = line.split_at(30);
            assert!(
                chrono::DateTime::parse_from_str(stamp, SAVED_TIME).is_ok(),
                "{line}"
            );
            assert!(rest.starts_with(" notice  n"), "{line}");
        }
        assert!(
            text.contains("notice  n1") && text.contains("notice  n2"),
            "{text}"
        );
        assert!(!text.contains("n0"), "{text}");
    }
}

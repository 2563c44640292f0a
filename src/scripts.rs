//! Revision files on disk: loading a migrations directory and writing new
//! revision files. Parsing itself is pure and lives in `core::revision`.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::core::authoring::Authored;
pub use crate::core::authoring::revision_file_name;
use crate::core::revision::{
    ParseError, Revision, is_hidden_name, is_revision_file_name, parse_revision,
};
use crate::core::split::position_to_line_col;

/// Files a loading thread takes at a time: enough to make taking them cheap,
/// few enough that the threads finish close together.
const LOAD_BATCH_FILES: usize = 64;

/// Starting size of the buffer a loading thread reads files into; most
/// revision files fit, so each is read with one `read` plus the one that
/// finds the end.
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// One problem with the migrations directory or one of its files.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("migrations directory '{}' does not exist", path.display())]
    MissingDirectory { path: PathBuf },
    #[error("'{}' is not a directory", path.display())]
    NotADirectory { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{}:{line}: invalid UTF-8 at column {column} (byte {byte_offset} of the file); revision files must be UTF-8",
        path.display()
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        column: usize,
        byte_offset: usize,
    },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("{}: already exists; refusing to overwrite it", path.display())]
    AlreadyExists { path: PathBuf },
    /// The revision would not read back as given (e.g. an invalid id, or SQL
    /// containing a section marker line), so it was not written.
    #[error("{}: not written: {message}", path.display())]
    Unwritable { path: PathBuf, message: String },
}

/// Every problem found while loading, so that all broken files are reported
/// at once. Displayed one problem per line, in file-name order.
#[derive(Debug)]
pub struct LoadError {
    pub errors: Vec<ScriptError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl From<ScriptError> for LoadError {
    fn from(error: ScriptError) -> Self {
        LoadError {
            errors: vec![error],
        }
    }
}

/// Loads every `*.sql` file under `dir` (recursively), sorted by file name and
/// then by full path: Alembic's load order, which later breaks ties in the
/// graph. Hidden files and directories (names starting with `.`) are skipped,
/// which keeps out editor lock files and macOS `._` resource forks. Each
/// revision's path is `dir` joined with the file's relative path.
pub fn load_revisions(dir: &Path) -> Result<Vec<Revision>, LoadError> {
    check_directory(dir)?;
    let (files, mut errors) = revision_files(dir);
    let mut revisions = Vec::with_capacity(files.len());
    for loaded in load_files(&files).into_iter().flatten() {
        match loaded {
            Ok(revision) => revisions.push(revision),
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        Ok(revisions)
    } else {
        Err(LoadError { errors })
    }
}

fn check_directory(dir: &Path) -> Result<(), ScriptError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(ScriptError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ScriptError::MissingDirectory {
            path: dir.to_path_buf(),
        }),
        Err(source) => Err(ScriptError::Io {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// The `.sql` files under `dir` in load order, and the problems met on the way.
fn revision_files(dir: &Path) -> (Vec<PathBuf>, Vec<ScriptError>) {
    // Each file with its name, so that sorting does not split paths again.
    let mut files: Vec<(OsString, PathBuf)> = Vec::new();
    let mut errors = Vec::new();
    // Directories already walked: symlinks may form loops, or lead to a
    // directory walked elsewhere, whose files must not load twice.
    let mut visited = HashSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        // A directory that cannot be identified cannot be read either:
        // `read_dir` reports it.
        if let Ok(meta) = fs::metadata(&current)
            && !visited.insert((meta.dev(), meta.ino()))
        {
            continue;
        }
        let entries = match fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(source) => {
                errors.push(ScriptError::Io {
                    path: current,
                    source,
                });
                continue;
            }
        };
        for entry in entries {
            match entry {
                Ok(entry) => sort_entry(&entry, &mut files, &mut pending, &mut errors),
                Err(source) => errors.push(ScriptError::Io {
                    path: current.clone(),
                    source,
                }),
            }
        }
    }
    files.sort_unstable();
    errors.sort_by(|a, b| error_path(a).cmp(&error_path(b)));
    (files.into_iter().map(|(_, path)| path).collect(), errors)
}

/// Files `entry` among the revision files, the directories still to walk, or
/// nothing. Hidden entries and files not named `*.sql` are ignored.
fn sort_entry(
    entry: &fs::DirEntry,
    files: &mut Vec<(OsString, PathBuf)>,
    pending: &mut Vec<PathBuf>,
    errors: &mut Vec<ScriptError>,
) {
    let name = entry.file_name();
    let bytes = name.as_encoded_bytes();
    if is_hidden_name(bytes) {
        return;
    }
    let is_sql = is_revision_file_name(bytes);
    let path = entry.path();
    // The entry's own type costs no system call on most file systems; only a
    // symlink needs `metadata`, which follows it, so that linked files and
    // directories count.
    let file_type = match entry.file_type() {
        Ok(t) if t.is_symlink() => fs::metadata(&path).map(|meta| meta.file_type()),
        other => other,
    };
    match file_type {
        Ok(t) if t.is_dir() => pending.push(path),
        Ok(t) if t.is_file() && is_sql => files.push((name, path)),
        Ok(_) => {}
        Err(source) if is_sql => errors.push(ScriptError::Io { path, source }),
        Err(_) => {}
    }
}

fn error_path(error: &ScriptError) -> Option<&Path> {
    match error {
        ScriptError::Io { path, .. } => Some(path),
        _ => None,
    }
}

/// Reads and parses `files` on every available core: one result per file,
/// in batches, all in the order of `files`.
fn load_files(files: &[PathBuf]) -> Vec<Vec<Result<Revision, ScriptError>>> {
    let batches: Vec<&[PathBuf]> = files.chunks(LOAD_BATCH_FILES).collect();
    let workers = thread::available_parallelism()
        .map_or(1, usize::from)
        .min(batches.len());
    if workers <= 1 {
        return vec![load_batch(files, &mut Vec::new())];
    }
    // Workers take the next batch as they finish one, so a core busy with
    // something else holds back only the batch it has.
    let next = AtomicUsize::new(0);
    let work = || {
        let mut buffer = Vec::new();
        let mut done = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(batch) = batches.get(index) else {
                return done;
            };
            done.push((index, load_batch(batch, &mut buffer)));
        }
    };
    let mut done = thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut done = work();
        for helper in helpers {
            match helper.join() {
                Ok(more) => done.extend(more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, loaded)| loaded).collect()
}

fn load_batch(files: &[PathBuf], buffer: &mut Vec<u8>) -> Vec<Result<Revision, ScriptError>> {
    files.iter().map(|path| load_file(path, buffer)).collect()
}

/// Reads and parses one file, reading into `buffer` (kept between files).
fn load_file(path: &Path, buffer: &mut Vec<u8>) -> Result<Revision, ScriptError> {
    let len = read_whole(path, buffer).map_err(|source| ScriptError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = &buffer[..len];
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // `valid` is UTF-8 by construction; the fallback is never taken.
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = position_to_line_col(valid, valid.len());
        ScriptError::NotUtf8 {
            path: path.to_path_buf(),
            line,
            column,
            byte_offset: e.valid_up_to(),
        }
    })?;
    Ok(parse_revision(path, text)?)
}

/// Reads the whole file into the start of `buffer`, growing it as needed, and
/// returns the file's length. Unlike `fs::read`, asks for no metadata: a
/// revision file usually fits the buffer, so this is one `open`, a `read`
/// and the `read` that finds the end.
fn read_whole(path: &Path, buffer: &mut Vec<u8>) -> io::Result<usize> {
    let mut file = fs::File::open(path)?;
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            buffer.resize((buffer.len() * 2).max(READ_BUFFER_BYTES), 0);
        }
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes a revision built by [`crate::core::authoring::author`] into `dir`
/// and returns its path; never overwrites a file.
pub fn write_authored(dir: &Path, authored: &Authored) -> Result<PathBuf, ScriptError> {
    write_revision_file(dir, &authored.file_name, &authored.text)
}

fn write_revision_file(dir: &Path, file_name: &str, text: &str) -> Result<PathBuf, ScriptError> {
    check_directory(dir)?;
    let path = dir.join(file_name);
    create_file(&path, text)?;
    Ok(path)
}

fn create_file(path: &Path, text: &str) -> Result<(), ScriptError> {
    let io_error = |source: io::Error| ScriptError::Io {
        path: path.to_path_buf(),
        source,
    };
    // `create_new` makes the existence check and the creation one step.
    let mut file = match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(ScriptError::AlreadyExists {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_error(e)),
    };
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        // Leave no half-written revision behind for the next load to trip on.
        drop(file);
        let _ = fs::remove_file(path);
        return Err(io_error(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::authoring::file_text;
    use crate::core::revision::SqlSection;

    /// Writes `rev` as the front ends do after authoring, without the graph
    /// checks: the file text must read back, and no file is overwritten.
    fn write_new_revision(dir: &Path, rev: &Revision) -> Result<PathBuf, ScriptError> {
        let path = dir.join(revision_file_name(&rev.id, &rev.message));
        let text = file_text(rev).map_err(|message| ScriptError::Unwritable {
            path: path.clone(),
            message,
        })?;
        write_revision_file(dir, &revision_file_name(&rev.id, &rev.message), &text)
    }

    fn revision_text(id: &str, down: &str) -> String {
        format!(
            "-- revision: {id}\n-- down_revision: {down}\n-- message: {id}\n\n\
             -- migrate:upgrade\nCREATE TABLE t_{id} ();\n\n-- migrate:downgrade\nDROP TABLE t_{id};\n"
        )
    }

    fn write(dir: &Path, relative: &str, contents: &[u8]) {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {parent:?}: {e}"));
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
    }

    fn load_errors(dir: &Path) -> LoadError {
        match load_revisions(dir) {
            Ok(revisions) => panic!("expected errors, loaded {} revisions", revisions.len()),
            Err(e) => e,
        }
    }

    #[test]
    fn loads_recursively_sorted_by_file_name() {
        let tmp = temp_dir();
        let dir = tmp.path();
        write(dir, "0003_c.sql", revision_text("c3", "b2").as_bytes());
        write(
            dir,
            "sub/deeper/0001_a.sql",
            revision_text("a1", "").as_bytes(),
        );
        write(
            dir,
            "another/0002_b.sql",
            revision_text("b2", "a1").as_bytes(),
        );
        write(dir, "README.md", b"not a revision");
        write(dir, "notes.sql.bak", b"not a revision either");
        write(dir, ".hidden.sql", b"\xff\xfe junk");
        write(dir, ".git/x.sql", b"junk");
        let revisions = load_revisions(dir).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = revisions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["a1", "b2", "c3"]);
        assert_eq!(revisions[0].path, dir.join("sub/deeper/0001_a.sql"));
        assert_eq!(revisions[2].path, dir.join("0003_c.sql"));
    }

    #[test]
    fn same_file_name_sorted_by_full_path() {
        let tmp = temp_dir();
        let dir = tmp.path();
        write(dir, "z/same.sql", revision_text("z1", "").as_bytes());
        write(dir, "a/same.sql", revision_text("a1", "").as_bytes());
        write(dir, "m/other.sql", revision_text("m1", "").as_bytes());
        let revisions = load_revisions(dir).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = revisions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["m1", "a1", "z1"]);
    }

    #[test]
    fn every_broken_file_is_reported() {
        let tmp = temp_dir();
        let dir = tmp.path();
        write(dir, "1_ok.sql", revision_text("a1", "").as_bytes());
        write(
            dir,
            "2_bad_key.sql",
            b"-- revision: b2\n-- revises: a1\n-- migrate:upgrade\n",
        );
        write(dir, "3_no_marker.sql", b"-- revision: c3\nSELECT 1;\n");
        write(
            dir,
            "4_latin1.sql",
            b"-- revision: d4\n-- message: caf\xe9\n-- migrate:upgrade\n",
        );
        let error = load_errors(dir);
        assert_eq!(error.errors.len(), 3, "{error}");
        let lines: Vec<String> = error.to_string().lines().map(String::from).collect();
        assert_eq!(lines.len(), 3);
        let bad_key = dir.join("2_bad_key.sql");
        assert!(
            lines[0].starts_with(&format!(
                "{}:2: unknown header key 'revises'",
                bad_key.display()
            )),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("3_no_marker.sql:2: SQL before"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("4_latin1.sql:2: invalid UTF-8 at column 16"),
            "{}",
            lines[2]
        );
        assert!(
            matches!(
                error.errors[2],
                ScriptError::NotUtf8 {
                    line: 2,
                    column: 16,
                    byte_offset: 31,
                    ..
                }
            ),
            "{:?}",
            error.errors[2]
        );
    }

    #[test]
    fn relative_directory_paths_are_kept_in_messages() {
        let tmp = temp_dir();
        write(
            tmp.path(),
            "migrations/0003_x.sql",
            b"-- revision: x\n\n\n-- transactional: maybe\n",
        );
        let relative = tmp.path().join("migrations");
        let error = load_errors(&relative);
        let expected = format!(
            "{}:4: transactional must be",
            relative.join("0003_x.sql").display()
        );
        assert!(error.to_string().starts_with(&expected), "{error}");
    }

    #[test]
    fn missing_directory_and_file_instead_of_directory() {
        let tmp = temp_dir();
        let missing = tmp.path().join("nope");
        let error = load_errors(&missing);
        assert!(matches!(
            error.errors.as_slice(),
            [ScriptError::MissingDirectory { .. }]
        ));
        assert!(error.to_string().contains("does not exist"), "{error}");
        write(tmp.path(), "file.sql", b"");
        let error = load_errors(&tmp.path().join("file.sql"));
        assert!(matches!(
            error.errors.as_slice(),
            [ScriptError::NotADirectory { .. }]
        ));
    }

    #[test]
    fn empty_directory_loads_nothing() {
        let tmp = temp_dir();
        let revisions = load_revisions(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(revisions.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_terminate() {
        let tmp = temp_dir();
        write(tmp.path(), "sub/a.sql", revision_text("a1", "").as_bytes());
        std::os::unix::fs::symlink(tmp.path(), tmp.path().join("sub/loop"))
            .unwrap_or_else(|e| panic!("symlink: {e}"));
        let revisions = load_revisions(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(revisions.len(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_files_and_directories_load_and_dangling_ones_are_reported() {
        let tmp = temp_dir();
        let outside = temp_dir();
        write(
            outside.path(),
            "b2.sql",
            revision_text("b2", "a1").as_bytes(),
        );
        write(
            outside.path(),
            "more/c3.sql",
            revision_text("c3", "b2").as_bytes(),
        );
        let dir = tmp.path();
        write(dir, "a1.sql", revision_text("a1", "").as_bytes());
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, dir.join(name))
                .unwrap_or_else(|e| panic!("symlink {name}: {e}"));
        };
        link(&outside.path().join("b2.sql"), "b2.sql");
        link(&outside.path().join("more"), "linked");
        // A directory named like a revision file is walked, not read.
        write(dir, "d4.sql/d4.sql", revision_text("d4", "c3").as_bytes());
        let revisions = load_revisions(dir).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = revisions.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, vec!["a1", "b2", "c3", "d4"]);
        assert_eq!(revisions[2].path, dir.join("linked/c3.sql"));

        link(&dir.join("nowhere.sql"), "dangling.sql");
        link(&dir.join("nowhere"), "dangling_notes");
        let error = load_errors(dir);
        assert!(
            matches!(error.errors.as_slice(), [ScriptError::Io { path, .. }] if *path == dir.join("dangling.sql")),
            "{error}"
        );
    }

    #[test]
    fn many_files_load_in_order_and_errors_come_in_file_order() {
        let tmp = temp_dir();
        let dir = tmp.path();
        let count = LOAD_BATCH_FILES * 5 + 3;
        // Spread over subdirectories, so that walk order and name order differ.
        let relative = |n: usize| format!("{}/{n:05}.sql", n % 3);
        let good = |n: usize| {
            let down = n
                .checked_sub(1)
                .map(|d| format!("r{d}"))
                .unwrap_or_default();
            revision_text(&format!("r{n}"), &down)
        };
        let broken = [7, LOAD_BATCH_FILES + 1, count - 1];
        for n in 0..count {
            let text = if broken.contains(&n) {
                format!("-- revision: r{n}\n-- bogus: x\n")
            } else {
                good(n)
            };
            write(dir, &relative(n), text.as_bytes());
        }
        let error = load_errors(dir);
        let named: Vec<String> = error
            .errors
            .iter()
            .map(|e| {
                e.to_string()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let expected: Vec<String> = broken
            .iter()
            .map(|&n| dir.join(relative(n)).display().to_string())
            .collect();
        assert_eq!(named, expected);

        for n in broken {
            write(dir, &relative(n), good(n).as_bytes());
        }
        let revisions = load_revisions(dir).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<String> = revisions.iter().map(|r| r.id.clone()).collect();
        let expected: Vec<String> = (0..count).map(|n| format!("r{n}")).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn files_larger_than_the_read_buffer_load_whole() {
        let tmp = temp_dir();
        let rows = "INSERT INTO t VALUES (1);\n".repeat(READ_BUFFER_BYTES / 10);
        let text = format!(
            "-- revision: big\n\n-- migrate:upgrade\n{rows}SELECT 'last';\n\n\
             -- migrate:downgrade\nDELETE FROM t;\n"
        );
        assert!(text.len() > 2 * READ_BUFFER_BYTES);
        write(tmp.path(), "big.sql", text.as_bytes());
        write(
            tmp.path(),
            "small.sql",
            revision_text("small", "big").as_bytes(),
        );
        let revisions = load_revisions(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(revisions[0].upgrade.sql, format!("{rows}SELECT 'last';"));
        assert_eq!(
            revisions[0].downgrade.as_ref().map(|d| d.sql.as_str()),
            Some("DELETE FROM t;")
        );
        assert_eq!(revisions[1].id, "small");
    }

    #[test]
    fn writes_a_new_revision_that_loads_back() {
        let tmp = temp_dir();
        let mut rev = Revision::synthetic("a1b2c3", &["f0"]);
        rev.message = "add invoices".into();
        rev.upgrade.sql = "CREATE TABLE invoices (id int);\n".into();
        rev.downgrade = Some(SqlSection {
            sql: "DROP TABLE invoices;".into(),
            first_line: 1,
        });
        let path = write_new_revision(tmp.path(), &rev).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(path, tmp.path().join("a1b2c3_add_invoices.sql"));
        let loaded = load_revisions(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].id, "a1b2c3");
        assert_eq!(loaded[0].down_revisions, vec!["f0"]);
        assert_eq!(loaded[0].upgrade.sql, "CREATE TABLE invoices (id int);");
        assert_eq!(loaded[0].path, path);
    }

    #[test]
    fn stray_carriage_returns_in_new_sql_are_normalised_not_refused() {
        let tmp = temp_dir();
        let mut rev = Revision::synthetic("cr1", &[]);
        rev.upgrade.sql = "SELECT 1;\r\r\nSELECT 2;\r\n".into();
        let path = write_new_revision(tmp.path(), &rev).unwrap_or_else(|e| panic!("{e}"));
        let text = fs::read_to_string(path).unwrap_or_default();
        assert!(text.contains("SELECT 1;\nSELECT 2;\n"), "{text:?}");
    }

    #[test]
    fn refuses_to_overwrite() {
        let tmp = temp_dir();
        let rev = Revision::synthetic("a1", &[]);
        let path = tmp.path().join(revision_file_name("a1", ""));
        write(tmp.path(), "a1.sql", b"precious");
        let error = write_new_revision(tmp.path(), &rev).err();
        assert!(
            matches!(error, Some(ScriptError::AlreadyExists { .. })),
            "{error:?}"
        );
        assert_eq!(fs::read(&path).unwrap_or_default(), b"precious");
    }

    #[test]
    fn refuses_revisions_that_would_not_load_back() {
        let tmp = temp_dir();
        let bad_id = Revision::synthetic("a-1", &[]);
        let error = write_new_revision(tmp.path(), &bad_id).err();
        assert!(
            matches!(&error, Some(ScriptError::Unwritable { message, .. }) if message.contains("'-' not allowed")),
            "{error:?}"
        );
        let mut marker_in_sql = Revision::synthetic("b1", &[]);
        marker_in_sql.upgrade.sql = "SELECT 1;\n-- migrate:downgrade\nSELECT 2;".into();
        marker_in_sql.downgrade = None;
        let error = write_new_revision(tmp.path(), &marker_in_sql).err();
        assert!(
            matches!(&error, Some(ScriptError::Unwritable { message, .. }) if message.contains("upgrade SQL")),
            "{error:?}"
        );
        let mut unterminated = Revision::synthetic("c1", &[]);
        unterminated.upgrade.sql = "SELECT 'oops;".into();
        assert!(write_new_revision(tmp.path(), &unterminated).is_err());
        let left: Vec<_> = fs::read_dir(tmp.path())
            .map(|d| d.count())
            .into_iter()
            .collect();
        assert_eq!(left, vec![0], "nothing may be written");
    }

    #[test]
    fn writing_into_a_missing_directory_fails_clearly() {
        let tmp = temp_dir();
        let error =
            write_new_revision(&tmp.path().join("nope"), &Revision::synthetic("a1", &[])).err();
        assert!(
            matches!(error, Some(ScriptError::MissingDirectory { .. })),
            "{error:?}"
        );
    }
}

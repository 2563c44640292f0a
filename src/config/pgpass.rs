//! libpq's password file (`~/.pgpass`, or `PGPASSFILE`, or the `passfile`
//! parameter): lines of `hostname:port:database:username:password`, where
//! each of the first four fields may be `*`, and `\:` / `\\` stand for a
//! colon and a backslash. The first matching line wins.
//!
//! As libpq does, a file that is not a plain file, or that the group or
//! others may read, is ignored with a warning (the warning names the file;
//! nothing of its content is ever shown).

use std::path::{Path, PathBuf};

/// libpq matches a Unix socket in its default directory as `localhost`.
const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";

/// Who is connecting where, as the password file's lines are matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<'a> {
    /// A host name, or a socket directory.
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The password file to read: `passfile` of the connection string, else
/// `PGPASSFILE`, else `~/.pgpass`.
pub fn password_file(
    passfile: Option<&Path>,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Option<PathBuf> {
    if let Some(path) = passfile {
        return Some(path.to_path_buf());
    }
    if let Some(path) = getenv("PGPASSFILE") {
        return Some(PathBuf::from(path));
    }
    getenv("HOME")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()))
        .map(|home| home.join(".pgpass"))
}

/// The password for `lookup` from the file at `path`, if it exists, may be
/// used and has a matching line; `warnings` receives why a file was ignored.
pub fn find_password(
    path: &Path,
    lookup: &Lookup<'_>,
    warnings: &mut Vec<String>,
) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() {
        warnings.push(format!(
            "password file {} is not a plain file; it is ignored",
            path.display()
        ));
        return None;
    }
    if let Some(warning) = too_open(path, &metadata) {
        warnings.push(warning);
        return None;
    }
    let text = std::fs::read(path).ok()?;
    match_lines(&String::from_utf8_lossy(&text), lookup)
}

#[cfg(unix)]
fn too_open(path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    (metadata.permissions().mode() & 0o077 != 0).then(|| {
        format!(
            "password file {} has group or world access; permissions should be u=rw (0600) or less; it is ignored",
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn too_open(_path: &Path, _metadata: &std::fs::Metadata) -> Option<String> {
    None
}

/// The password of the first line matching `lookup`.
pub fn match_lines(text: &str, lookup: &Lookup<'_>) -> Option<String> {
    let host = if lookup.host == DEFAULT_SOCKET_DIR {
        "localhost"
    } else {
        lookup.host
    };
    let port = lookup.port.to_string();
    let wanted = [host, port.as_str(), lookup.database, lookup.user];
    text.lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .find_map(|line| {
            let fields = split_fields(line)?;
            let matches = fields
                .iter()
                .zip(wanted)
                .all(|(field, value)| field.as_str() == "*" || field.as_str() == value);
            matches.then(|| fields[4].clone())
        })
}

/// The five fields of a line, unescaped; `None` for a line with fewer.
/// As in libpq, an unescaped colon ends the password too.
fn split_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            ':' => break,
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(host: &'a str, port: u16, database: &'a str, user: &'a str) -> Lookup<'a> {
        Lookup {
            host,
            port,
            database,
            user,
        }
    }

    #[test]
    fn the_first_matching_line_wins_with_wildcards_and_escapes() {
        let file = "# comment\n\
                    db.example:5432:app:alice:first\n\
                    *:5432:*:alice:second\n\
                    *:*:*:*:pa\\:ss:ignored\n";
        let find = |l: Lookup<'_>| match_lines(file, &l);
        assert_eq!(
            find(lookup("db.example", 5432, "app", "alice")).as_deref(),
            Some("first")
        );
        assert_eq!(
            find(lookup("other", 5432, "x", "alice")).as_deref(),
            Some("second")
        );
        assert_eq!(
            find(lookup("other", 6000, "x", "bob")).as_deref(),
            Some("pa:ss")
        );
        assert_eq!(match_lines("a:1:b:c\n", &lookup("a", 1, "b", "c")), None);
    }

    #[test]
    fn escaped_colons_match_and_the_default_socket_is_localhost() {
        let file = "h\\:x:5433:d:u:one\nlocalhost:5432:d:u:two\n";
        assert_eq!(
            match_lines(file, &lookup("h:x", 5433, "d", "u")).as_deref(),
            Some("one")
        );
        let socket = lookup("/var/run/postgresql", 5432, "d", "u");
        assert_eq!(match_lines(file, &socket).as_deref(), Some("two"));
        let other_socket = lookup("/tmp", 5432, "d", "u");
        assert_eq!(match_lines(file, &other_socket), None);
    }

    #[test]
    fn the_file_is_found_as_libpq_finds_it() {
        let env = |name: &str| match name {
            "PGPASSFILE" => Some("/etc/pgpass".to_string()),
            "HOME" => Some("/home/x".to_string()),
            _ => None,
        };
        let home = |name: &str| (name == "HOME").then(|| "/home/x".to_string());
        assert_eq!(
            password_file(None, &env),
            Some(PathBuf::from("/etc/pgpass"))
        );
        assert_eq!(
            password_file(None, &home),
            Some(PathBuf::from("/home/x/.pgpass"))
        );
        let given = Path::new("/given");
        assert_eq!(
            password_file(Some(given), &env),
            Some(PathBuf::from("/given"))
        );
    }
}

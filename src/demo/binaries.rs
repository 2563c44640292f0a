//! Finding the installed PostgreSQL server programs (`initdb`, `pg_ctl`).
//!
//! Debian-like systems keep them out of `PATH` in
//! `/usr/lib/postgresql/<version>/bin`; PGDG packages on Red Hat-like
//! systems use `/usr/pgsql-<version>/bin`. `PATH` wins, because a user who
//! put a server on it chose that one; otherwise the highest version wins.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A directory holding both `initdb` and `pg_ctl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBinaries {
    pub bin_dir: PathBuf,
    pub initdb: PathBuf,
    pub pg_ctl: PathBuf,
}

/// Directories named `<prefix><version>` under `parent`, each with a `bin/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedRoot {
    pub parent: PathBuf,
    pub prefix: String,
}

/// Where distributions install server binaries outside `PATH`.
pub fn default_versioned_roots() -> Vec<VersionedRoot> {
    vec![
        VersionedRoot {
            parent: PathBuf::from("/usr/lib/postgresql"),
            prefix: String::new(),
        },
        VersionedRoot {
            parent: PathBuf::from("/usr"),
            prefix: "pgsql-".to_string(),
        },
    ]
}

/// Looks on this process's `PATH`, then under the default versioned roots.
pub fn locate_server_binaries() -> Option<ServerBinaries> {
    let path_var = std::env::var_os("PATH");
    locate_server_binaries_in(path_var.as_deref(), &default_versioned_roots())
}

/// Looks in each directory of `path_var` (in order), then in the
/// highest-versioned `bin/` under `roots`.
pub fn locate_server_binaries_in(
    path_var: Option<&OsStr>,
    roots: &[VersionedRoot],
) -> Option<ServerBinaries> {
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .filter(|dir| !dir.as_os_str().is_empty());
    on_path
        .chain(versioned_bin_dirs(roots))
        .find_map(|dir| binaries_in(&dir))
}

fn binaries_in(dir: &Path) -> Option<ServerBinaries> {
    let initdb = dir.join("initdb");
    let pg_ctl = dir.join("pg_ctl");
    (is_executable(&initdb) && is_executable(&pg_ctl)).then(|| ServerBinaries {
        bin_dir: dir.to_path_buf(),
        initdb,
        pg_ctl,
    })
}

fn is_executable(path: &Path) -> bool {
    // metadata() follows symlinks, as exec does.
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `bin/` directories under every root, highest version first.
fn versioned_bin_dirs(roots: &[VersionedRoot]) -> Vec<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root.parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let version = name
                .to_str()
                .and_then(|name| name.strip_prefix(root.prefix.as_str()))
                .and_then(parse_version);
            if let Some(version) = version {
                found.push((version, entry.path().join("bin")));
            }
        }
    }
    // Highest version first; equal versions keep the roots' order.
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

/// `"15"` → `[15]`, `"9.6"` → `[9, 6]`; anything else is not a version.
fn parse_version(text: &str) -> Option<Vec<u32>> {
    text.split('.').map(|part| part.parse().ok()).collect()
}

/// The server's version from `pg_ctl --version` output
/// (`pg_ctl (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` → `15.20`).
pub fn version_from_output(output: &str) -> Option<String> {
    let after = output.split("(PostgreSQL)").nth(1)?;
    after.split_whitespace().next().map(str::to_string)
}

/// The major version as people say it: `15.20` → `15`, `9.6.24` → `9.6`.
pub fn major_version(version: &str) -> String {
    let parts: Vec<&str> = version.split('.').collect();
    let is_old_scheme = parts
        .first()
        .and_then(|major| major.parse::<u32>().ok())
        .is_some_and(|major| major < 10);
    let keep = if is_old_scheme { 2 } else { 1 };
    parts
        .iter()
        .take(keep)
        .copied()
        .collect::<Vec<_>>()
        .join(".")
}

/// How to install the server programs on this system.
pub fn install_hint() -> String {
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    install_hint_for(&os_release)
}

/// The install command for the distribution described by `os_release`
/// (the text of `/etc/os-release`), or a list when it is unknown.
pub fn install_hint_for(os_release: &str) -> String {
    let ids = os_release_ids(os_release);
    let has = |id: &str| ids.iter().any(|known| known == id);
    let command = if cfg!(target_os = "macos") {
        "brew install postgresql"
    } else if has("debian") || has("ubuntu") {
        "apt-get install -y postgresql"
    } else if has("fedora") || has("rhel") || has("centos") {
        "dnf install -y postgresql-server"
    } else if has("alpine") {
        "apk add postgresql"
    } else if has("arch") {
        "pacman -S postgresql"
    } else if has("suse") || has("opensuse") {
        "zypper install -y postgresql-server"
    } else {
        return "install the PostgreSQL server package of your OS \
                (Debian/Ubuntu: `apt-get install -y postgresql`, \
                Fedora/RHEL: `dnf install -y postgresql-server`, \
                Alpine: `apk add postgresql`, macOS: `brew install postgresql`)"
            .to_string();
    };
    format!("install them with `{command}` (as root)")
}

/// The `ID` and `ID_LIKE` values of an os-release file.
fn os_release_ids(os_release: &str) -> Vec<String> {
    os_release
        .lines()
        .filter_map(|line| {
            line.strip_prefix("ID=")
                .or_else(|| line.strip_prefix("ID_LIKE="))
        })
        .flat_map(|value| value.trim_matches(['"', '\'']).split_whitespace())
        .map(str::to_ascii_lowercase)
        .collect()
}

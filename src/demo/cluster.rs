//! A private, throwaway PostgreSQL cluster in a temporary directory.
//!
//! The server listens on a Unix socket inside that directory and on no TCP
//! address at all (`listen_addresses = ''`). The cluster uses `trust`
//! authentication, so a TCP listener would let every local user in as
//! superuser; the socket lives in a 0700 directory that only its owner (and
//! root) can enter. It also removes the race of picking a "free" TCP port
//! that someone else grabs before the server binds it: the socket's name
//! cannot collide with anything outside the directory. A free port number
//! is still chosen, so messages never show 5432 and look like the system
//! server.
//!
//! initdb and postgres refuse to run as root; then every server program runs
//! as the unprivileged `nobody` (dropping privileges in the child with
//! setuid/setgid, so neither `runuser`, `su` nor a login shell is needed).
//! `nobody` rather than `postgres`: the cluster's superuser can write files
//! as the server's OS user (`COPY ... TO`), and as `postgres` that would
//! reach the system cluster's data directory.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, Uid, User};
use std::sync::atomic::{AtomicI32, Ordering};

use super::binaries::{ServerBinaries, locate_server_binaries, major_version, version_from_output};
use super::{DemoError, Progress, no_binaries_error, seconds};

/// The unprivileged account used when retort runs as root.
const UNPRIVILEGED_USER: &str = "nobody";
/// Created (as a system account) only when `nobody` does not exist.
const FALLBACK_USER: &str = "retort-demo";
/// The cluster's superuser and database.
pub(super) const SUPERUSER: &str = "postgres";
pub(super) const DATABASE: &str = "postgres";
/// `sun_path` holds 108 bytes on Linux, including the trailing NUL.
const MAX_SOCKET_PATH: usize = 107;
/// How long `pg_ctl` may wait for the server to start or stop.
const PG_CTL_WAIT_SECONDS: &str = "60";

/// Who runs the cluster's programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RunAs {
    /// This process's own user (not root).
    Myself { name: String },
    /// An unprivileged account, because this process runs as root.
    Unprivileged { name: String, uid: u32, gid: u32 },
}

impl RunAs {
    fn detect(progress: &Progress) -> Result<RunAs, DemoError> {
        let uid = Uid::effective();
        if !uid.is_root() {
            let name = User::from_uid(uid)
                .ok()
                .flatten()
                .map(|user| user.name)
                .unwrap_or_else(|| uid.to_string());
            return Ok(RunAs::Myself { name });
        }
        let user = match lookup_user(UNPRIVILEGED_USER)? {
            Some(user) => user,
            None => create_fallback_user(progress)?,
        };
        Ok(RunAs::Unprivileged {
            name: user.name,
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    pub(super) fn name(&self) -> &str {
        match self {
            RunAs::Myself { name } | RunAs::Unprivileged { name, .. } => name,
        }
    }

    fn ownership(&self) -> Option<(u32, u32)> {
        match self {
            RunAs::Myself { .. } => None,
            RunAs::Unprivileged { uid, gid, .. } => Some((*uid, *gid)),
        }
    }

    /// A command for `program` run as this user from `cwd`, with a
    /// predictable environment: no `PG*` variables of ours leak into the
    /// private cluster, and messages are in the C locale.
    fn command(&self, program: &Path, cwd: &Path) -> Command {
        let mut command = Command::new(program);
        command.current_dir(cwd).stdin(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                command.env_remove(name);
            }
        }
        command.env("LC_ALL", "C");
        if let Some((uid, gid)) = self.ownership() {
            // std drops supplementary groups (setgroups) before setuid.
            command.uid(uid).gid(gid);
        }
        command
    }
}

fn lookup_user(name: &str) -> Result<Option<User>, DemoError> {
    User::from_name(name)
        .map_err(|e| DemoError::User(format!("cannot look up the user '{name}': {e}")))
}

fn create_fallback_user(progress: &Progress) -> Result<User, DemoError> {
    progress(&format!(
        "no user '{UNPRIVILEGED_USER}' exists: creating the system user '{FALLBACK_USER}'"
    ));
    let output = Command::new("useradd")
        .args(["--system", "--no-create-home", "--home-dir", "/nonexistent"])
        .args(["--shell", "/bin/false", FALLBACK_USER])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DemoError::User(format!("cannot run useradd: {e}")))?;
    if !output.status.success() {
        return Err(DemoError::User(format!(
            "useradd {FALLBACK_USER} failed ({}): {}",
            output.status,
            output_tail(&output)
        )));
    }
    lookup_user(FALLBACK_USER)?.ok_or_else(|| {
        DemoError::User(format!(
            "useradd succeeded but '{FALLBACK_USER}' cannot be found"
        ))
    })
}

/// How `pg_ctl stop` shuts the server down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// Waits for every client to disconnect.
    Smart,
    /// Rolls back open transactions and disconnects the clients.
    Fast,
    /// Kills every server process without a clean shutdown; the next start
    /// runs crash recovery. The cluster commits asynchronously
    /// (`synchronous_commit = off`), so the last commits may be lost unless
    /// the sessions turned it on.
    Immediate,
}

impl ShutdownMode {
    fn as_str(self) -> &'static str {
        match self {
            ShutdownMode::Smart => "smart",
            ShutdownMode::Fast => "fast",
            ShutdownMode::Immediate => "immediate",
        }
    }
}

/// A running (or half-started) private cluster. Until [`stop_and_remove`]
/// has run, dropping it stops the server and removes the directory.
///
/// [`stop_and_remove`]: PrivateCluster::stop_and_remove
pub struct PrivateCluster {
    root: PathBuf,
    port: u16,
    run_as: RunAs,
    binaries: ServerBinaries,
    version: String,
    finished: bool,
    /// Process group of a running initdb (0: none). initdb starts postgres
    /// children of its own, which killing initdb alone leaves writing into
    /// the directory a cancelled start is removing.
    initdb_group: AtomicI32,
}

impl PrivateCluster {
    /// Creates the directory, runs initdb and starts the server.
    pub async fn start(progress: &Progress) -> Result<PrivateCluster, DemoError> {
        let binaries = locate_server_binaries().ok_or_else(|| no_binaries_error(None))?;
        let run_as = RunAs::detect(progress)?;
        let version = server_version(&binaries, &run_as).await?;
        progress(&format!(
            "found PostgreSQL {version} server programs in {}",
            binaries.bin_dir.display()
        ));
        if let RunAs::Unprivileged { name, .. } = &run_as {
            progress(&format!(
                "running as root, which initdb refuses: the cluster runs as the unprivileged user '{name}'"
            ));
        }
        let port = free_port();
        let root = create_private_dir(&run_as, port)?;
        // From here on, dropping `cluster` (error or cancellation) cleans up.
        let cluster = PrivateCluster {
            root,
            port,
            run_as,
            binaries,
            version,
            finished: false,
            initdb_group: AtomicI32::new(0),
        };
        let started = Instant::now();
        progress(&format!(
            "starting a private PostgreSQL {} cluster in {} ...",
            cluster.major_version(),
            cluster.root.display()
        ));
        cluster.init_data_dir().await?;
        let initialized = started.elapsed();
        cluster.write_settings()?;
        cluster.start_server().await?;
        progress(&format!(
            "private cluster ready in {} (initdb {}, server start {})",
            seconds(started.elapsed()),
            seconds(initialized),
            seconds(started.elapsed().saturating_sub(initialized))
        ));
        Ok(cluster)
    }

    /// The directory holding the data directory, the socket and the log.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn run_as(&self) -> &RunAs {
        &self.run_as
    }

    pub fn major_version(&self) -> String {
        major_version(&self.version)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("server.log")
    }

    /// The superuser on the `postgres` database, through the socket.
    pub fn connection_config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.root)
            .port(self.port)
            .user(SUPERUSER)
            .dbname(DATABASE)
            .connect_timeout(Duration::from_secs(10));
        config
    }

    /// The postmaster's process id, from `postmaster.pid`, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    async fn init_data_dir(&self) -> Result<(), DemoError> {
        let mut command = self.run_as.command(&self.binaries.initdb, &self.root);
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-A", "trust", "-U", SUPERUSER, "--no-sync"])
            .args(["-E", "UTF8", "--locale=C"])
            .process_group(0);
        let output = run_tracked(command, "initdb", &self.initdb_group).await;
        self.initdb_group.store(0, Ordering::SeqCst);
        self.check(&output?, "initdb")
    }

    /// Appended to `postgresql.conf` rather than passed through `pg_ctl -o`,
    /// which goes through a shell and would need the paths quoted for it.
    /// Durability settings are off: the cluster is deleted at exit anyway.
    fn write_settings(&self) -> Result<(), DemoError> {
        let settings = format!(
            "\n# Added by retort: a private, throwaway demo cluster.\n\
             listen_addresses = ''\n\
             port = {}\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n",
            self.port,
            conf_string(&self.root.to_string_lossy())
        );
        let path = self.data_dir().join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(settings.as_bytes()))
            .map_err(|e| self.failure("writing the server settings", &path, e))
    }

    /// Starts the server and waits until it accepts connections (also
    /// again after [`stop_server`](PrivateCluster::stop_server)).
    pub async fn start_server(&self) -> Result<(), DemoError> {
        let mut command = self.run_as.command(&self.binaries.pg_ctl, &self.root);
        command
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_file())
            .args(["-w", "-t", PG_CTL_WAIT_SECONDS, "-s", "start"])
            // Keeps the server out of the terminal's process group, so a
            // Ctrl-C at the terminal reaches retort (which cleans up) and not
            // the server (pg_ctl also calls setsid, this covers older ones).
            .process_group(0);
        let output = run(command, "pg_ctl start").await?;
        self.check(&output, "pg_ctl start")
    }

    fn check(&self, output: &Output, step: &str) -> Result<(), DemoError> {
        if output.status.success() {
            return Ok(());
        }
        let mut cause = format!("{} ({})", output_tail(output), output.status);
        if let Some(log) = self.log_tail() {
            cause = format!("{cause}; server log: {log}");
        }
        Err(DemoError::Cluster {
            dir: self.root.display().to_string(),
            step: step.to_string(),
            cause,
        })
    }

    fn failure(&self, step: &str, path: &Path, error: std::io::Error) -> DemoError {
        DemoError::Cluster {
            dir: self.root.display().to_string(),
            step: step.to_string(),
            cause: format!("{}: {error}", path.display()),
        }
    }

    fn log_tail(&self) -> Option<String> {
        let log = std::fs::read_to_string(self.log_file()).ok()?;
        let tail = last_lines(&log, 5);
        (!tail.is_empty()).then_some(tail)
    }

    /// Stops the server (immediate mode: nothing needs to survive) and
    /// removes the directory. Synchronous, so `Drop` can use it; runs at
    /// most once.
    pub fn stop_and_remove(&mut self) -> Result<(), DemoError> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let mut problems = Vec::new();
        let initdb_group = self.initdb_group.swap(0, Ordering::SeqCst);
        if initdb_group > 0 {
            let _ = killpg(Pid::from_raw(initdb_group), Signal::SIGKILL);
        }
        if let Some(pid) = self.postmaster_pid()
            && let Err(problem) = self.stop_immediately()
        {
            problems.push(problem);
            self.kill_postmaster(pid);
        }
        if let Err(e) = remove_dir_when_quiet(&self.root) {
            problems.push(format!("cannot remove {}: {e}", self.root.display()));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(DemoError::Cleanup(format!(
                "private cluster in {}: {}",
                self.root.display(),
                problems.join("; ")
            )))
        }
    }

    /// Stops the server in `mode` and waits until it is down, keeping the
    /// data directory, so [`start_server`](PrivateCluster::start_server)
    /// can bring it back (as an operator's restart would).
    pub fn stop_server(&self, mode: ShutdownMode) -> Result<(), DemoError> {
        let output = self.pg_ctl_stop(mode).map_err(|e| DemoError::Cluster {
            dir: self.root.display().to_string(),
            step: "pg_ctl stop".to_string(),
            cause: format!("cannot run {}: {e}", self.binaries.pg_ctl.display()),
        })?;
        self.check(&output, "pg_ctl stop")
    }

    fn stop_immediately(&self) -> Result<(), String> {
        let output = self
            .pg_ctl_stop(ShutdownMode::Immediate)
            .map_err(|e| format!("cannot run {}: {e}", self.binaries.pg_ctl.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop failed ({}): {}",
                output.status,
                output_tail(&output)
            ))
        }
    }

    fn pg_ctl_stop(&self, mode: ShutdownMode) -> std::io::Result<Output> {
        let mut command = self.run_as.command(&self.binaries.pg_ctl, &self.root);
        command
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", mode.as_str(), "-w", "-t", PG_CTL_WAIT_SECONDS])
            .args(["-s", "stop"]);
        command.output()
    }

    /// Last resort when `pg_ctl stop` failed. The pid comes from a file that
    /// may be stale, so only a process whose working directory is our data
    /// directory (the postmaster changes into it) is killed.
    fn kill_postmaster(&self, pid: i32) {
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
        if cwd.is_ok_and(|cwd| cwd == self.data_dir()) {
            let pid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Err(e) = self.stop_and_remove() {
            eprintln!("retort: {e}");
        }
    }
}

async fn run(command: Command, step: &str) -> Result<Output, DemoError> {
    let program = command.get_program().to_string_lossy().into_owned();
    tokio::process::Command::from(command)
        // A cancelled start must not leave initdb writing into a directory
        // that is being removed.
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| DemoError::Cluster {
            dir: String::new(),
            step: step.to_string(),
            cause: format!("cannot run {program}: {e}"),
        })
}

/// Like `run`, but records the child's process group while it runs, so a
/// cancelled start can kill everything the program started.
async fn run_tracked(command: Command, step: &str, group: &AtomicI32) -> Result<Output, DemoError> {
    let program = command.get_program().to_string_lossy().into_owned();
    let failed = |e: std::io::Error| DemoError::Cluster {
        dir: String::new(),
        step: step.to_string(),
        cause: format!("cannot run {program}: {e}"),
    };
    let child = tokio::process::Command::from(command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(failed)?;
    if let Some(pid) = child.id() {
        group.store(pid as i32, Ordering::SeqCst);
    }
    child.wait_with_output().await.map_err(failed)
}

/// Removes `dir`; processes that were just killed may still be writing into
/// it for a moment, so a removal that leaves something behind is retried.
fn remove_dir_when_quiet(dir: &Path) -> std::io::Result<()> {
    let mut last = Ok(());
    for _ in 0..40 {
        last = match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            other => other,
        };
        if !dir.exists() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    last
}

async fn server_version(binaries: &ServerBinaries, run_as: &RunAs) -> Result<String, DemoError> {
    let mut command = run_as.command(&binaries.pg_ctl, Path::new("/"));
    command.arg("--version");
    let output = run(command, "pg_ctl --version").await?;
    let text = String::from_utf8_lossy(&output.stdout);
    version_from_output(&text).ok_or_else(|| DemoError::Cluster {
        dir: String::new(),
        step: "pg_ctl --version".to_string(),
        cause: format!(
            "{} printed no PostgreSQL version: {}",
            binaries.pg_ctl.display(),
            text.trim()
        ),
    })
}

/// A port number nothing listens on right now (the server only uses it to
/// name its socket, so a later collision does no harm).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(54321)
}

/// Creates `retort-demo-<pid>-<random>` (mode 0700, owned by the user who
/// runs the cluster) in a base directory that user can reach and where the
/// socket path stays within the kernel's limit.
fn create_private_dir(run_as: &RunAs, port: u16) -> Result<PathBuf, DemoError> {
    let name = format!(
        "retort-demo-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let socket_name_len = format!("/.s.PGSQL.{port}").len();
    let preferred = std::env::temp_dir();
    let fits =
        |base: &Path| base.join(&name).as_os_str().len() + socket_name_len <= MAX_SOCKET_PATH;
    let reachable = |base: &Path| run_as.ownership().is_none() || traversable_by_others(base);
    let base = if fits(&preferred) && reachable(&preferred) {
        preferred
    } else {
        PathBuf::from("/tmp")
    };
    let root = base.join(&name);
    let io_error = |action: &str, e: std::io::Error| DemoError::Cluster {
        dir: root.display().to_string(),
        step: action.to_string(),
        cause: e.to_string(),
    };
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&root)
        .map_err(|e| io_error("creating the directory", e))?;
    if let Some((uid, gid)) = run_as.ownership()
        && let Err(e) = std::os::unix::fs::chown(&root, Some(uid), Some(gid))
    {
        let _ = std::fs::remove_dir(&root);
        return Err(io_error(
            "handing the directory to the unprivileged user",
            e,
        ));
    }
    Ok(root)
}

/// Whether every directory from `/` down to `dir` lets other users through.
fn traversable_by_others(dir: &Path) -> bool {
    dir.ancestors()
        .all(|ancestor| std::fs::metadata(ancestor).is_ok_and(|meta| meta.mode() & 0o001 != 0))
}

/// A value for a single-quoted postgresql.conf string.
fn conf_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\'', "''")
}

/// The last lines of a failed program's stderr (else stdout), on one line.
fn output_tail(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = if stderr.trim().is_empty() {
        String::from_utf8_lossy(&output.stdout)
    } else {
        stderr
    };
    let tail = last_lines(&text, 5);
    if tail.is_empty() {
        "no output".to_string()
    } else {
        tail
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(count);
    lines[start..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conf_strings_escape_quotes_and_backslashes() {
        assert_eq!(conf_string("/tmp/it's"), "/tmp/it''s");
        assert_eq!(conf_string(r"/tmp/a\b"), r"/tmp/a\\b");
    }

    #[test]
    fn root_and_tmp_are_traversable() {
        assert!(traversable_by_others(Path::new("/tmp")));
        assert!(!traversable_by_others(Path::new("/nonexistent/dir")));
    }

    #[test]
    fn last_lines_keeps_the_end() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(last_lines("", 2), "");
    }
}

//! Connections whose server NOTICE/WARNING messages reach whoever is running
//! on them, instead of being only logged by tokio-postgres.
//!
//! Every connection is driven by a spawned task that polls
//! `Connection::poll_message` and hands notices to the connection's
//! [`NoticeSlot`]; a plan run installs its own receiver there for its duration.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;
use tokio_postgres::config::{Host, SslMode as Negotiation};
use tokio_postgres::error::DbError;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};

use crate::db::cancel::CancelHandle;
pub use crate::db::error_text::{describe_error, ends_session};
pub use crate::db::tls::Transport;
use crate::db::tls::{SslMode, WatchedTls};

/// What it takes to open another session to the same server: the lock
/// watcher uses it to look at the migration's session from outside.
#[derive(Debug, Clone)]
pub struct SessionOpener {
    cfg: Config,
    transport: Transport,
}

impl SessionOpener {
    pub fn new(cfg: &Config, transport: Transport) -> SessionOpener {
        SessionOpener {
            cfg: cfg.clone(),
            transport,
        }
    }

    /// Opens a session without any session settings, named
    /// `application_name` in `pg_stat_activity`.
    pub async fn open(&self, application_name: &str) -> Result<Client, ConnectError> {
        let mut cfg = self.cfg.clone();
        cfg.application_name(application_name);
        let (client, _driver) = open_in_time(&cfg, &self.transport, NoticeSlot::default())
            .await
            .map_err(|e| ConnectError::Connect {
                target: describe_target(&cfg),
                cause: e.describe(&self.transport),
            })?;
        Ok(client)
    }
}

/// Per-session settings of an environment, applied right after connecting
/// with `set_config(name, value, false)` (this session only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSettings {
    pub search_path: Option<String>,
    pub lock_timeout: Option<String>,
    pub statement_timeout: Option<String>,
}

impl SessionSettings {
    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("search_path", &self.search_path),
            ("lock_timeout", &self.lock_timeout),
            ("statement_timeout", &self.statement_timeout),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
    }
}

/// A server notice (NOTICE, WARNING, INFO, ...), owned and cloneable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl From<&DbError> for Notice {
    fn from(db: &DbError) -> Notice {
        Notice {
            severity: db.severity().to_string(),
            code: db.code().code().to_string(),
            message: db.message().to_string(),
            detail: db.detail().map(str::to_string),
            hint: db.hint().map(str::to_string),
        }
    }
}

/// Where a connection's driver task delivers notices. Notices that arrive
/// while nobody is subscribed are dropped.
#[derive(Debug, Clone, Default)]
pub struct NoticeSlot(Arc<SlotCell>);

type SlotCell = Mutex<Option<UnboundedSender<Notice>>>;

impl NoticeSlot {
    fn lock(&self) -> MutexGuard<'_, Option<UnboundedSender<Notice>>> {
        // A poisoned slot still holds a usable sender.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn deliver(&self, notice: Notice) {
        if let Some(sender) = self.lock().as_ref() {
            let _ = sender.send(notice);
        }
    }

    /// Routes every later notice to the returned receiver (replacing any
    /// earlier subscriber).
    pub fn subscribe(&self) -> UnboundedReceiver<Notice> {
        let (sender, receiver) = unbounded_channel();
        *self.lock() = Some(sender);
        receiver
    }

    /// Installs `sender` (or none) and returns the previous one.
    pub fn replace(
        &self,
        sender: Option<UnboundedSender<Notice>>,
    ) -> Option<UnboundedSender<Notice>> {
        std::mem::replace(&mut *self.lock(), sender)
    }
}

/// Why connecting (or preparing the session) failed. Never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to {target}: {cause}")]
    Connect { target: String, cause: String },
    #[error("cannot apply session setting {name} = '{value}' on {target}: {cause}")]
    Setting {
        target: String,
        name: String,
        value: String,
        cause: String,
    },
    #[error("cannot get a connection from the pool for {target}: {cause}")]
    Pool { target: String, cause: String },
}

/// `user@host:port/dbname` for messages: everything but the password.
pub fn describe_target(cfg: &Config) -> String {
    let hosts: Vec<String> = cfg
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = cfg.get_ports().iter().map(u16::to_string).collect();
    let user = cfg.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let host = if hosts.is_empty() {
        "localhost".to_string()
    } else {
        hosts.join(",")
    };
    let port = if ports.is_empty() {
        String::new()
    } else {
        format!(":{}", ports.join(","))
    };
    let db = cfg
        .get_dbname()
        .map(|d| format!("/{d}"))
        .unwrap_or_default();
    format!("{user}{host}{port}{db}")
}

enum ClientHandle {
    Direct(Client),
    Pooled(deadpool_postgres::Object),
}

/// One session with the server, ready to run plans: the client, its backend
/// pid, its cancel handle and its notice slot.
pub struct MigrationConnection {
    client: ClientHandle,
    backend_pid: i32,
    notices: NoticeSlot,
    cancel: CancelHandle,
    target: String,
    opener: SessionOpener,
}

impl MigrationConnection {
    pub fn client(&self) -> &Client {
        match &self.client {
            ClientHandle::Direct(client) => client,
            ClientHandle::Pooled(object) => object,
        }
    }

    pub fn client_mut(&mut self) -> &mut Client {
        match &mut self.client {
            ClientHandle::Direct(client) => client,
            ClientHandle::Pooled(object) => object,
        }
    }

    pub fn backend_pid(&self) -> i32 {
        self.backend_pid
    }

    /// `user@host:port/dbname` of this connection (no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A cloneable handle another task can use to cancel a running plan.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    pub fn notice_slot(&self) -> &NoticeSlot {
        &self.notices
    }

    /// Opens other sessions to the same server (same address, user and TLS).
    pub fn session_opener(&self) -> &SessionOpener {
        &self.opener
    }

    /// Routes this connection's notices to the returned receiver.
    pub fn subscribe_notices(&self) -> UnboundedReceiver<Notice> {
        self.notices.subscribe()
    }
}

/// Connects without TLS and applies `settings` to the session.
pub async fn connect(
    cfg: &Config,
    settings: &SessionSettings,
) -> Result<MigrationConnection, ConnectError> {
    connect_with(cfg, settings, Transport::Plain).await
}

/// Connects over `transport` and applies `settings` to the session.
pub async fn connect_with(
    cfg: &Config,
    settings: &SessionSettings,
    transport: Transport,
) -> Result<MigrationConnection, ConnectError> {
    let target = describe_target(cfg);
    let slot = NoticeSlot::default();
    let connect_error = |e: tokio_postgres::Error| ConnectError::Connect {
        target: target.clone(),
        cause: transport.describe_connect_error(&e),
    };
    let (client, _driver) = open_in_time(cfg, &transport, slot.clone())
        .await
        .map_err(|e| ConnectError::Connect {
            target: target.clone(),
            cause: e.describe(&transport),
        })?;
    apply_session_settings(&client, settings, &target).await?;
    let backend_pid = query_backend_pid(&client).await.map_err(connect_error)?;
    let cancel = CancelHandle::new(client.cancel_token(), transport.clone());
    Ok(MigrationConnection {
        client: ClientHandle::Direct(client),
        backend_pid,
        notices: slot,
        cancel,
        target,
        opener: SessionOpener::new(cfg, transport),
    })
}

/// Why [`open_in_time`] failed.
enum OpenError {
    Failed(tokio_postgres::Error),
    /// No session within the connect timeout (tried on this many hosts).
    TimedOut(Duration),
}

impl OpenError {
    fn describe(&self, transport: &Transport) -> String {
        match self {
            OpenError::Failed(e) => transport.describe_connect_error(e),
            OpenError::TimedOut(limit) => format!(
                "the server did not complete the connection within {} s (connect_timeout)",
                limit.as_secs_f64()
            ),
        }
    }
}

/// [`open`] within the connect timeout, which tokio-postgres applies to
/// opening the socket only; libpq applies it to the whole attempt, so a
/// server that accepts the socket but never answers does not hang us.
async fn open_in_time(
    cfg: &Config,
    transport: &Transport,
    slot: NoticeSlot,
) -> Result<(Client, JoinHandle<()>), OpenError> {
    let Some(per_host) = cfg.get_connect_timeout() else {
        return open(cfg, transport, slot).await.map_err(OpenError::Failed);
    };
    // Each host (or address) is tried in turn, each with the timeout.
    let hosts = cfg.get_hosts().len().max(cfg.get_hostaddrs().len()).max(1);
    let limit = *per_host * u32::try_from(hosts).unwrap_or(u32::MAX);
    match tokio::time::timeout(limit, open(cfg, transport, slot)).await {
        Ok(opened) => opened.map_err(OpenError::Failed),
        Err(_) => Err(OpenError::TimedOut(limit)),
    }
}

/// Opens the session as libpq's `sslmode` says and spawns the task that
/// drives it, delivering notices to `slot`:
/// - `allow`: plaintext first; when the server refuses that session (an
///   error from the server, such as a `hostssl`-only pg_hba), again with TLS;
/// - `prefer`: TLS when the server offers it; when an attempt that started
///   TLS fails (handshake, or the server refuses the TLS session), again in
///   plaintext;
/// - the other modes: one attempt.
///
/// The cancel token of the session keeps the TLS choice of the attempt that
/// succeeded, so cancel requests travel the same way.
async fn open(
    cfg: &Config,
    transport: &Transport,
    slot: NoticeSlot,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let tls = match transport {
        Transport::Plain => return open_plain(cfg, slot).await,
        Transport::Tls(tls) => tls,
    };
    match tls.mode() {
        SslMode::Allow => match open_plain(cfg, slot.clone()).await {
            Err(refused) if refused.as_db_error().is_some() => {
                let mut with_tls = cfg.clone();
                with_tls.ssl_mode(Negotiation::Require);
                open_tls(&with_tls, &WatchedTls::new(tls), slot).await
            }
            plain => plain,
        },
        SslMode::Prefer => {
            let watched = WatchedTls::new(tls);
            match open_tls(cfg, &watched, slot.clone()).await {
                Err(_) if watched.handshake_started() => open_plain(cfg, slot).await,
                first => first,
            }
        }
        _ => open_tls(cfg, &WatchedTls::new(tls), slot).await,
    }
}

async fn open_plain(
    cfg: &Config,
    slot: NoticeSlot,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let mut plain = cfg.clone();
    plain.ssl_mode(Negotiation::Disable);
    let (client, connection) = plain.connect(NoTls).await?;
    Ok((client, spawn_driver(connection, slot)))
}

async fn open_tls(
    cfg: &Config,
    tls: &WatchedTls,
    slot: NoticeSlot,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let (client, connection) = cfg.connect(tls.clone()).await?;
    Ok((client, spawn_driver(connection, slot)))
}

fn spawn_driver<S, T>(mut connection: Connection<S, T>, slot: NoticeSlot) -> JoinHandle<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notice(notice)) => slot.deliver(Notice::from(&notice)),
                Ok(_) => {}
                // The client reports the closed connection on its next request.
                Err(_) => break,
            }
        }
    })
}

async fn apply_session_settings(
    client: &Client,
    settings: &SessionSettings,
    target: &str,
) -> Result<(), ConnectError> {
    for (name, value) in settings.pairs() {
        client
            .query_one("SELECT set_config($1, $2, false)", &[&name, &value])
            .await
            .map_err(|e| ConnectError::Setting {
                target: target.to_string(),
                name: name.to_string(),
                value: value.to_string(),
                cause: describe_error(&e),
            })?;
    }
    Ok(())
}

async fn query_backend_pid(client: &Client) -> Result<i32, tokio_postgres::Error> {
    client
        .query_one("SELECT pg_backend_pid()", &[])
        .await?
        .try_get(0)
}

/// Finds the notice slot of a pooled connection by its backend pid. Holds
/// weak references: a slot lives as long as its connection's driver task.
#[derive(Debug, Clone, Default)]
struct NoticeRouter(Arc<Mutex<HashMap<i32, Weak<SlotCell>>>>);

impl NoticeRouter {
    fn lock(&self) -> MutexGuard<'_, HashMap<i32, Weak<SlotCell>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self, pid: i32, slot: &NoticeSlot) {
        let mut routes = self.lock();
        routes.retain(|_, weak| weak.strong_count() > 0);
        routes.insert(pid, Arc::downgrade(&slot.0));
    }

    fn find(&self, pid: i32) -> Option<NoticeSlot> {
        self.lock()
            .get(&pid)
            .and_then(Weak::upgrade)
            .map(NoticeSlot)
    }
}

/// deadpool-postgres connection setup that forwards notices and applies the
/// environment's session settings to every new pooled connection.
struct NoticeConnect {
    transport: Transport,
    settings: SessionSettings,
    router: NoticeRouter,
}

impl deadpool_postgres::Connect for NoticeConnect {
    fn connect(
        &self,
        pg_config: &Config,
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = Result<(Client, JoinHandle<()>), tokio_postgres::Error>>
                + Send
                + '_,
        >,
    > {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let slot = NoticeSlot::default();
            let (client, driver) = open(&pg_config, &self.transport, slot.clone()).await?;
            for (name, value) in self.settings.pairs() {
                client
                    .query_one("SELECT set_config($1, $2, false)", &[&name, &value])
                    .await?;
            }
            let pid = query_backend_pid(&client).await?;
            self.router.register(pid, &slot);
            Ok((client, driver))
        })
    }
}

/// A pool of sessions for the console; each checkout yields a
/// [`MigrationConnection`] with its notices and cancel handle.
#[derive(Clone)]
pub struct MigrationPool {
    pool: deadpool_postgres::Pool,
    router: NoticeRouter,
    opener: SessionOpener,
    target: String,
}

/// Builds a pool of at most `size` connections over plaintext.
///
/// Pooled sessions keep their settings: the pool recycles with
/// `RecyclingMethod::Fast`, which does not `RESET ALL`.
pub fn build_pool(
    cfg: &Config,
    settings: &SessionSettings,
    size: usize,
) -> Result<MigrationPool, ConnectError> {
    build_pool_with(cfg, settings, size, Transport::Plain)
}

/// Builds a pool of at most `size` connections over `transport`.
pub fn build_pool_with(
    cfg: &Config,
    settings: &SessionSettings,
    size: usize,
    transport: Transport,
) -> Result<MigrationPool, ConnectError> {
    let router = NoticeRouter::default();
    let connect = NoticeConnect {
        transport: transport.clone(),
        settings: settings.clone(),
        router: router.clone(),
    };
    let manager_config = deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    };
    let manager = deadpool_postgres::Manager::from_connect(cfg.clone(), connect, manager_config);
    let target = describe_target(cfg);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .map_err(|e| ConnectError::Pool {
            target: target.clone(),
            cause: e.to_string(),
        })?;
    Ok(MigrationPool {
        pool,
        router,
        opener: SessionOpener::new(cfg, transport),
        target,
    })
}

impl MigrationPool {
    /// Checks out a connection (opening one when none is idle).
    pub async fn get(&self) -> Result<MigrationConnection, ConnectError> {
        let object = self.pool.get().await.map_err(|e| self.pool_error(&e))?;
        let backend_pid = query_backend_pid(&object)
            .await
            .map_err(|e| ConnectError::Connect {
                target: self.target.clone(),
                cause: describe_error(&e),
            })?;
        // Every connection the pool opens registers itself; a missing route
        // would mean its driver already ended, so nothing could arrive anyway.
        let notices = self.router.find(backend_pid).unwrap_or_default();
        let cancel = CancelHandle::new(object.cancel_token(), self.opener.transport.clone());
        Ok(MigrationConnection {
            client: ClientHandle::Pooled(object),
            backend_pid,
            notices,
            cancel,
            target: self.target.clone(),
            opener: self.opener.clone(),
        })
    }

    fn pool_error(&self, error: &deadpool_postgres::PoolError) -> ConnectError {
        let cause = match error {
            deadpool_postgres::PoolError::Backend(e) => {
                self.opener.transport.describe_connect_error(e)
            }
            other => other.to_string(),
        };
        ConnectError::Pool {
            target: self.target.clone(),
            cause,
        }
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

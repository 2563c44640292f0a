//! TLS for connections and cancel requests, with libpq's `sslmode` and
//! `sslrootcert` semantics, over rustls (with the ring crypto provider).
//!
//! - `disable`: plaintext.
//! - `allow` / `prefer`: TLS when the server offers it, plaintext otherwise.
//! - `require`: TLS or nothing.
//! - `verify-ca`: TLS, and the server's certificate must chain to a root.
//! - `verify-full`: as `verify-ca`, and the certificate must name the host.
//!
//! The `allow` and `prefer` fallbacks (a second attempt with or without
//! TLS) are made in `db::connect`; [`WatchedTls`] tells it whether the
//! server agreed to TLS on an attempt.
//!
//! As in libpq, when a root certificate is available (given, or
//! `~/.postgresql/root.crt` exists) the chain is checked in every mode that
//! uses TLS; without one only the verify modes refuse to connect.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::db::error_text::describe_error;

/// How connections and cancel requests reach the server.
#[derive(Debug, Clone, Default)]
pub enum Transport {
    #[default]
    Plain,
    /// TLS as the connection's `sslmode` says (the config's `ssl_mode`
    /// decides whether it is tried, preferred or required).
    Tls(TlsConnector),
}

impl Transport {
    /// The transport for `settings`: plaintext for `sslmode=disable`.
    pub fn for_settings(settings: &TlsSettings) -> Result<Transport, TlsError> {
        Ok(match TlsConnector::for_settings(settings)? {
            Some(connector) => Transport::Tls(connector),
            None => Transport::Plain,
        })
    }

    /// A readable cause for a failed connection attempt, explaining
    /// certificate problems in terms of sslmode / sslrootcert.
    pub fn describe_connect_error(&self, error: &tokio_postgres::Error) -> String {
        let explained = match self {
            Transport::Tls(tls) => tls.explain(error),
            Transport::Plain => None,
        };
        explained.unwrap_or_else(|| describe_error(error))
    }
}

/// A TLS connector that records whether the handshake was started, that
/// is whether the server answered the SSL request with yes: libpq's
/// `prefer` retries without TLS exactly when a TLS attempt failed.
#[derive(Clone)]
pub(crate) struct WatchedTls {
    make: MakeRustlsConnect,
    started: Arc<AtomicBool>,
}

impl WatchedTls {
    pub(crate) fn new(connector: &TlsConnector) -> WatchedTls {
        WatchedTls {
            make: connector.make.clone(),
            started: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether an attempt with this connector got as far as a handshake.
    pub(crate) fn handshake_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }
}

impl<S> MakeTlsConnect<S> for WatchedTls
where
    MakeRustlsConnect: MakeTlsConnect<S>,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = WatchedConnect<<MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect>;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        Ok(WatchedConnect {
            inner: self.make.make_tls_connect(domain)?,
            started: self.started.clone(),
        })
    }
}

/// The handshake of one [`WatchedTls`] attempt.
pub(crate) struct WatchedConnect<T> {
    inner: T,
    started: Arc<AtomicBool>,
}

impl<S, T: TlsConnect<S>> TlsConnect<S> for WatchedConnect<T> {
    type Stream = T::Stream;
    type Error = T::Error;
    type Future = T::Future;

    fn connect(self, stream: S) -> Self::Future {
        self.started.store(true, Ordering::SeqCst);
        self.inner.connect(stream)
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// Plaintext first; TLS when the server refuses the plaintext session.
    Allow,
    /// TLS first; plaintext when the server has no TLS, or the TLS attempt
    /// fails (handshake, or the server refuses the TLS session).
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub const NAMES: &'static str = "disable, allow, prefer, require, verify-ca, verify-full";

    pub fn parse(text: &str) -> Result<SslMode, String> {
        match text {
            "disable" => Ok(SslMode::Disable),
            "allow" => Ok(SslMode::Allow),
            "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            _ => Err(format!(
                "invalid sslmode '{text}' (expected one of: {})",
                SslMode::NAMES
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether the server's certificate must be checked against a root.
    pub fn verifies_certificate(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }

    /// The negotiation tokio-postgres performs; certificate checks are ours.
    pub fn negotiation(self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Negotiation;
        match self {
            SslMode::Disable => Negotiation::Disable,
            // `allow` starts in plaintext: `db::connect` makes that attempt first.
            SslMode::Allow | SslMode::Prefer => Negotiation::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Negotiation::Require,
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the trusted root certificates come from (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    /// A PEM file of one or more certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's trusted roots.
    System,
}

impl RootCert {
    /// `system`, or a path; a relative path is taken relative to `base`.
    pub fn parse(text: &str, base: &Path) -> RootCert {
        match text {
            "system" => RootCert::System,
            path => RootCert::File(base.join(path)),
        }
    }
}

impl fmt::Display for RootCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootCert::File(path) => write!(f, "{}", path.display()),
            RootCert::System => f.write_str("the system's trusted roots"),
        }
    }
}

/// The TLS settings of a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// `None`: libpq's default file `~/.postgresql/root.crt`, if it exists.
    pub root_cert: Option<RootCert>,
}

/// The TLS configuration could not be built (before any connection attempt).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error(
        "sslmode={mode} needs a root certificate to check the server's certificate against{default}: \
         set sslrootcert (a PEM file, or 'system' for the system's trusted roots), \
         or use sslmode=require to encrypt without checking"
    )]
    NoRootCert { mode: SslMode, default: String },
    #[error("sslrootcert {path}: {cause}")]
    RootCertFile { path: String, cause: String },
    #[error("sslrootcert=system: {cause}")]
    SystemRoots { cause: String },
    #[error("cannot set up TLS: {cause}")]
    Setup { cause: String },
}

/// A TLS connector for connections and cancel requests, and what it
/// checks, for messages.
#[derive(Clone)]
pub struct TlsConnector {
    pub(crate) make: MakeRustlsConnect,
    mode: SslMode,
    /// Where the roots came from; `None` when the certificate is not checked.
    roots: Option<RootCert>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("mode", &self.mode)
            .field("roots", &self.roots)
            .finish()
    }
}

impl TlsConnector {
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// Builds the connector for `settings`; `None` for `sslmode=disable`.
    pub fn for_settings(settings: &TlsSettings) -> Result<Option<TlsConnector>, TlsError> {
        if settings.mode == SslMode::Disable {
            return Ok(None);
        }
        let roots = match &settings.root_cert {
            Some(root) => Some(root.clone()),
            None => default_root_file().map(RootCert::File),
        };
        if settings.mode.verifies_certificate() && roots.is_none() {
            let default = default_root_path()
                .map(|p| format!(", and {} does not exist", p.display()))
                .unwrap_or_default();
            return Err(TlsError::NoRootCert {
                mode: settings.mode,
                default,
            });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let check = match &roots {
            None => CertificateCheck::None,
            Some(root) => {
                let store = Arc::new(load_roots(root)?);
                match settings.mode {
                    SslMode::VerifyFull => CertificateCheck::ChainAndName(store),
                    _ => CertificateCheck::Chain(store),
                }
            }
        };
        let verifier = Arc::new(ServerVerifier { check, algorithms });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup {
                cause: e.to_string(),
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Some(TlsConnector {
            make: MakeRustlsConnect::new(config),
            mode: settings.mode,
            roots,
        }))
    }

    /// A clearer account of a failed TLS handshake than rustls' own, saying
    /// what to change; `None` when `error` is not a certificate problem.
    pub fn explain(&self, error: &tokio_postgres::Error) -> Option<String> {
        let tls_error = find_rustls_error(error)?;
        let rustls::Error::InvalidCertificate(problem) = tls_error else {
            return Some(format!("TLS handshake failed: {tls_error}"));
        };
        let roots = self
            .roots
            .as_ref()
            .map_or_else(|| "no roots".to_string(), RootCert::to_string);
        let advice = match problem {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the server's certificate is not signed by a trusted root (sslmode={}, sslrootcert: {roots}); \
                 for a self-signed server certificate, give that certificate (or the CA that signed it) as sslrootcert",
                self.mode
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the server's certificate does not name the host connected to ({problem}); \
                     sslmode=verify-full checks the host name: connect by a name the certificate lists, \
                     or use sslmode=verify-ca to check only the signature"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired ({problem})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet ({problem})")
            }
            other => format!("the server's certificate was refused: {other}"),
        };
        Some(advice)
    }
}

/// Finds the rustls error behind a tokio-postgres error: tokio-rustls wraps
/// it in an `io::Error`, whose `source()` skips it, hence `get_ref`.
fn find_rustls_error(error: &tokio_postgres::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(found) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(found);
        }
        current = cause.source();
    }
    None
}

/// libpq's default root file, `~/.postgresql/root.crt`.
fn default_root_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|dirs| dirs.home_dir().join(".postgresql/root.crt"))
}

fn default_root_file() -> Option<PathBuf> {
    default_root_path().filter(|path| path.is_file())
}

fn load_roots(root: &RootCert) -> Result<RootCertStore, TlsError> {
    match root {
        RootCert::File(path) => load_root_file(path),
        RootCert::System => load_system_roots(),
    }
}

fn load_root_file(path: &Path) -> Result<RootCertStore, TlsError> {
    let failure = |cause: String| TlsError::RootCertFile {
        path: path.display().to_string(),
        cause,
    };
    let bytes = std::fs::read(path).map_err(|e| failure(format!("cannot read the file: {e}")))?;
    let mut store = RootCertStore::empty();
    for (index, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let cert = cert.map_err(|e| failure(format!("certificate {}: {e}", index + 1)))?;
        store
            .add(cert)
            .map_err(|e| failure(format!("certificate {}: {e}", index + 1)))?;
    }
    if store.is_empty() {
        return Err(failure(
            "no PEM certificate in the file (expected -----BEGIN CERTIFICATE-----)".to_string(),
        ));
    }
    Ok(store)
}

fn load_system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let causes: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
        let cause = match causes.is_empty() {
            true => "no trusted root certificates were found on this system".to_string(),
            false => causes.join("; "),
        };
        return Err(TlsError::SystemRoots { cause });
    }
    Ok(store)
}

#[derive(Debug)]
enum CertificateCheck {
    /// Encrypt only (`prefer`/`require` without any root certificate).
    None,
    /// The chain must end at one of the roots (`verify-ca`, or a root given).
    Chain(Arc<RootCertStore>),
    /// The chain, and the host name (`verify-full`).
    ChainAndName(Arc<RootCertStore>),
}

/// Checks the server's certificate as the mode asks; the handshake's
/// signatures are always verified (they prove the server holds the key).
#[derive(Debug)]
struct ServerVerifier {
    check: CertificateCheck,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (roots, check_name) = match &self.check {
            CertificateCheck::None => return Ok(ServerCertVerified::assertion()),
            CertificateCheck::Chain(roots) => (roots, false),
            CertificateCheck::ChainAndName(roots) => (roots, true),
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if check_name {
            rustls::client::verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_names_round_trip() {
        for name in SslMode::NAMES.split(", ") {
            let mode = SslMode::parse(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(mode.as_str(), name);
        }
        let err = SslMode::parse("verify_full").unwrap_err();
        assert!(
            err.contains("'verify_full'") && err.contains("verify-full"),
            "{err}"
        );
    }

    #[test]
    fn verify_modes_negotiate_as_require() {
        use tokio_postgres::config::SslMode as Negotiation;
        assert_eq!(SslMode::VerifyFull.negotiation(), Negotiation::Require);
        assert_eq!(SslMode::VerifyCa.negotiation(), Negotiation::Require);
        assert_eq!(SslMode::Allow.negotiation(), Negotiation::Prefer);
        assert_eq!(SslMode::Disable.negotiation(), Negotiation::Disable);
    }

    #[test]
    fn root_cert_paths_resolve_against_the_base() {
        let base = Path::new("/etc/retort");
        assert_eq!(RootCert::parse("system", base), RootCert::System);
        assert_eq!(
            RootCert::parse("ca.pem", base),
            RootCert::File(PathBuf::from("/etc/retort/ca.pem"))
        );
        assert_eq!(
            RootCert::parse("/abs/ca.pem", base),
            RootCert::File(PathBuf::from("/abs/ca.pem"))
        );
    }

    #[test]
    fn a_root_file_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("retort-tls-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let settings = TlsSettings {
            mode: SslMode::VerifyCa,
            root_cert: Some(RootCert::File(path.clone())),
        };
        let err = TlsConnector::for_settings(&settings)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        assert!(err.contains("empty.pem"), "{err}");
        let missing = TlsSettings {
            mode: SslMode::VerifyFull,
            root_cert: Some(RootCert::File(dir.join("missing.pem"))),
        };
        let err = TlsConnector::for_settings(&missing)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing.pem: cannot read the file"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn disable_needs_no_connector_and_require_needs_no_root() {
        let disabled = TlsSettings {
            mode: SslMode::Disable,
            root_cert: None,
        };
        assert!(TlsConnector::for_settings(&disabled).unwrap().is_none());
        let require = TlsSettings {
            mode: SslMode::Require,
            root_cert: None,
        };
        let connector = TlsConnector::for_settings(&require).unwrap();
        assert_eq!(connector.map(|c| c.mode()), Some(SslMode::Require));
    }
}

//! TLS with rustls: [`TlsSettings`] (redis-cli's options, carried by the core in its opaque
//! [`TlsOptions::settings`] slot) turned into a client configuration, the handshake (driven
//! by the socket's readiness, inside the connect future, so the core's connect timeout
//! bounds it), and rustls's errors in the core's words ([`TlsError`]).
//!
//! The crypto provider is rustls's `ring` one, named explicitly (no process-wide default to
//! install or to race over): it builds with a C compiler alone, where `aws-lc-rs` may need
//! cmake. Without a CA in the options the system's trust store is used
//! (`rustls-native-certs`: what redis-cli and OpenSSL trust on the same machine, including
//! a company's own CAs), not a CA list compiled into the binary.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::Poll;

use redis_ring_core::config::TlsOptions;
use redis_ring_core::error::{NetError, TlsError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::net::net_error;
use crate::runtime::AsyncSocket;

/// TLS settings of a ring (or of one shard), named after redis-cli's flags. With no CA
/// given, the system's trust store is used; with no client certificate, none is offered.
/// Give them to `RingBuilder::tls` (every shard), or per shard in
/// [`TlsOptions::settings`] of a `ShardSpec` ([`TlsSettings::into_options`]).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TlsSettings {
    /// A PEM bundle of CA certificates to trust (`--cacert`), instead of the system's.
    pub ca_file: Option<String>,
    /// A directory of PEM CA certificates to trust (`--cacertdir`), instead of the
    /// system's (added to `ca_file`'s when both are given).
    pub ca_dir: Option<String>,
    /// PEM CA certificates given in memory (added to the files').
    pub ca_pem: Option<Vec<u8>>,
    /// The client certificate chain, PEM (`--cert`), for servers that require one
    /// (`tls-auth-clients yes`); needs a key.
    pub cert_file: Option<String>,
    /// The client certificate's private key, PEM (`--key`).
    pub key_file: Option<String>,
    /// The client certificate chain as PEM in memory (instead of `cert_file`).
    pub cert_pem: Option<Vec<u8>>,
    /// The client private key as PEM in memory (instead of `key_file`).
    pub key_pem: Option<Vec<u8>>,
    /// The server name to send (SNI) and to verify the certificate against (`--sni`);
    /// by default the shard's host.
    pub sni: Option<String>,
    /// Skips verifying the server's certificate (`--insecure`): anyone in the path can read
    /// and change the traffic. For development only.
    pub insecure_skip_verify: bool,
}

impl TlsSettings {
    /// Settings that trust the system's CAs, offer no client certificate, and verify the
    /// server against its host name.
    pub fn new() -> TlsSettings {
        TlsSettings::default()
    }

    /// These settings in the core's slot, for a shard spec (`ShardSpec::tls`) or the ring
    /// (`Config::tls`).
    pub fn into_options(self) -> TlsOptions {
        let mut o = TlsOptions::default();
        o.server_name.clone_from(&self.sni);
        o.settings = Some(Arc::new(self));
        o
    }
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material; say only whether PEM was given in memory.
        f.debug_struct("TlsSettings")
            .field("ca_file", &self.ca_file)
            .field("ca_dir", &self.ca_dir)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "<pem>"))
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("cert_pem", &self.cert_pem.as_ref().map(|_| "<pem>"))
            .field("key_pem", &self.key_pem.as_ref().map(|_| "<redacted>"))
            .field("sni", &self.sni)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

/// Bytes of encrypted output rustls may hold before a `write` takes no more (the pump
/// writes a connection's whole send buffer at once; this bounds the copy).
const TLS_BUFFER: usize = 256 * 1024;

/// How to start TLS on one connection: the shared client configuration and the name to
/// send and verify.
#[derive(Clone, Debug)]
pub(crate) struct TlsSetup {
    config: Arc<ClientConfig>,
    sni: Option<String>,
}

impl TlsSetup {
    /// A client connection to `host` (the endpoint's host; `localhost` for a Unix socket),
    /// verified against the SNI name when one is set.
    pub(crate) fn start(&self, host: &str) -> Result<ClientConnection, NetError> {
        let name = self.sni.as_deref().unwrap_or(host);
        let name =
            ServerName::try_from(name.to_owned()).map_err(|_| NetError::Tls(TlsError::Config))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|_| NetError::Tls(TlsError::Config))?;
        conn.set_buffer_limit(Some(TLS_BUFFER));
        Ok(conn)
    }
}

/// Client configurations built so far, by options: reading CA bundles (the system's has
/// hundreds of certificates) happens once per set of options, not on every reconnect.
#[derive(Debug, Default)]
pub(crate) struct TlsConfigs {
    built: HashMap<TlsSettings, Arc<ClientConfig>>,
}

impl TlsConfigs {
    /// The setup for a connection's TLS options (default settings when the slot is empty),
    /// built on first use. A failure is not cached: a CA file fixed later is picked up at
    /// the next connect.
    pub(crate) fn setup(&mut self, opts: &TlsOptions) -> Result<TlsSetup, NetError> {
        let default = TlsSettings::default();
        let settings = match &opts.settings {
            None => &default,
            Some(any) => (&**any as &dyn Any)
                .downcast_ref::<TlsSettings>()
                .ok_or(NetError::Tls(TlsError::Config))?,
        };
        let config = match self.built.get(settings) {
            Some(c) => c.clone(),
            None => {
                let c = client_config(settings).map_err(NetError::Tls)?;
                self.built.insert(settings.clone(), c.clone());
                c
            }
        };
        Ok(TlsSetup {
            config,
            sni: opts.server_name.clone().or_else(|| settings.sni.clone()),
        })
    }
}

/// rustls's `ring` provider. rustls 0.23.48 deprecates it for lacking post-quantum key
/// exchange (X25519MLKEM768); the servers we talk to cannot offer that yet (Redis and Valkey
/// link the system's OpenSSL, 3.0 on Debian 12, which has no ML-KEM), and `ring` is what
/// builds everywhere with only a C compiler. Switching to `aws-lc-rs` is this one line.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// A rustls client configuration for `opts`.
fn client_config(opts: &TlsSettings) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| TlsError::Config)?;
    let builder = if opts.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        builder.with_root_certificates(roots(opts)?)
    };
    let config = match client_identity(opts)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|_| TlsError::Config)?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The CAs to trust: those given (file, directory, memory), else the system's.
fn roots(opts: &TlsSettings) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    let mut given = Vec::new();
    if let Some(file) = &opts.ca_file {
        given.extend(pem_certs_file(file)?);
    }
    if let Some(dir) = &opts.ca_dir {
        let entries = std::fs::read_dir(dir).map_err(|_| TlsError::Config)?;
        for entry in entries.flatten() {
            // Anything that is not a PEM certificate (hash links' targets aside) is skipped,
            // as OpenSSL's CApath does.
            if entry.path().is_file() {
                if let Ok(certs) = pem_certs_file(&entry.path().to_string_lossy()) {
                    given.extend(certs);
                }
            }
        }
    }
    if let Some(pem) = &opts.ca_pem {
        given.extend(pem_certs(pem)?);
    }
    let any_given = opts.ca_file.is_some() || opts.ca_dir.is_some() || opts.ca_pem.is_some();
    if any_given {
        if given.is_empty() {
            return Err(TlsError::Config);
        }
        let (added, _) = store.add_parsable_certificates(given);
        if added == 0 {
            return Err(TlsError::Config);
        }
    } else {
        // Certificates the system has but rustls cannot parse are skipped.
        let found = rustls_native_certs::load_native_certs();
        store.add_parsable_certificates(found.certs);
    }
    Ok(store)
}

fn pem_certs_file(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|_| TlsError::Config)?;
    pem_certs(&bytes)
}

fn pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::Config)?;
    if certs.is_empty() {
        return Err(TlsError::Config);
    }
    Ok(certs)
}

/// The client certificate chain and key, when given (both, or it is a settings error).
#[allow(clippy::type_complexity)]
fn client_identity(
    opts: &TlsSettings,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, TlsError> {
    let read =
        |file: &Option<String>, pem: &Option<Vec<u8>>| -> Result<Option<Vec<u8>>, TlsError> {
            match (file, pem) {
                (Some(f), _) => std::fs::read(f).map(Some).map_err(|_| TlsError::Config),
                (None, Some(p)) => Ok(Some(p.clone())),
                (None, None) => Ok(None),
            }
        };
    let cert = read(&opts.cert_file, &opts.cert_pem)?;
    let key = read(&opts.key_file, &opts.key_pem)?;
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let chain = pem_certs(&cert)?;
            let key = PrivateKeyDer::from_pem_slice(&key).map_err(|_| TlsError::Config)?;
            Ok(Some((chain, key)))
        }
        _ => Err(TlsError::Config),
    }
}

/// `--insecure`: accepts any certificate (signatures of the handshake are still checked,
/// so the peer holds the key of the certificate it sent — whatever that certificate is).
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// rustls's error in the core's words. `handshaking`: a message that is not TLS at all
/// means the peer does not speak TLS, rather than a broken TLS peer.
pub(crate) fn classify(e: &rustls::Error, handshaking: bool) -> TlsError {
    use rustls::CertificateError as C;
    use rustls::Error as E;
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => TlsError::UnknownIssuer,
            C::NotValidForName | C::NotValidForNameContext { .. } => TlsError::NameMismatch,
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => TlsError::Expired,
            _ => TlsError::BadCertificate,
        },
        E::AlertReceived(_) => TlsError::HandshakeRefused,
        E::InvalidMessage(_) | E::InappropriateMessage { .. } if handshaking => TlsError::NotTls,
        _ => TlsError::Protocol,
    }
}

/// A TLS failure as an `io::Error` (for the transport's `read`/`write`); [`net_error`]
/// turns it back into [`NetError::Tls`].
pub(crate) fn io_error(e: TlsError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The socket as `Read + Write` for rustls (one non-blocking call each).
pub(crate) struct SockIo<'a>(pub(crate) &'a mut dyn AsyncSocket);

impl Read for SockIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for SockIo<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the TLS handshake on `sock` to completion (the client's last flight written).
/// Whatever the peer sends ends in `Ok` or a typed error; a silent peer is cut by the
/// core's connect timeout (which drops this future).
pub(crate) async fn handshake(
    sock: &mut dyn AsyncSocket,
    tls: &mut ClientConnection,
) -> Result<(), NetError> {
    std::future::poll_fn(|cx| loop {
        if tls.wants_write() {
            match tls.write_tls(&mut SockIo(&mut *sock)) {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match sock.poll_writable(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(net_error(&e))),
                    Poll::Ready(Ok(())) => continue,
                },
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(net_error(&e))),
            }
        }
        if !tls.is_handshaking() {
            return Poll::Ready(Ok(()));
        }
        match tls.read_tls(&mut SockIo(&mut *sock)) {
            Ok(0) => return Poll::Ready(Err(NetError::Tls(TlsError::ClosedInHandshake))),
            Ok(_) => {
                if let Err(e) = tls.process_new_packets() {
                    // Tell the peer why (best effort: an alert rustls queued).
                    let _ = tls.write_tls(&mut SockIo(&mut *sock));
                    return Poll::Ready(Err(NetError::Tls(classify(&e, true))));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => match sock.poll_readable(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(net_error(&e))),
                Poll::Ready(Ok(())) => continue,
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Poll::Ready(Err(net_error(&e))),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_are_config_errors() {
        let mut configs = TlsConfigs::default();
        let bad = |configs: &mut TlsConfigs, f: &dyn Fn(&mut TlsSettings)| {
            let mut o = TlsSettings::new();
            f(&mut o);
            configs.setup(&o.into_options()).unwrap_err()
        };
        let config_error = NetError::Tls(TlsError::Config);
        let missing = bad(&mut configs, &|o| {
            o.ca_file = Some("/nonexistent/ca.pem".into());
        });
        assert_eq!(missing, config_error);
        let not_pem = bad(&mut configs, &|o| o.ca_pem = Some(b"hello".to_vec()));
        assert_eq!(not_pem, config_error);
        let key_alone = bad(&mut configs, &|o| {
            o.key_pem = Some(b"x".to_vec());
            o.insecure_skip_verify = true;
        });
        assert_eq!(key_alone, config_error);
        // The system's roots, and skipping verification, both build.
        assert!(configs.setup(&TlsOptions::default()).is_ok());
        let mut insecure = TlsSettings::new();
        insecure.insecure_skip_verify = true;
        assert!(configs.setup(&insecure.into_options()).is_ok());
        // A foreign type in the slot is a settings error, not a panic.
        let mut foreign = TlsOptions::default();
        foreign.settings = Some(Arc::new(42_u32));
        assert_eq!(
            configs.setup(&foreign).unwrap_err(),
            NetError::Tls(TlsError::Config)
        );
    }

    #[test]
    fn debug_hides_the_key() {
        let mut s = TlsSettings::new();
        s.key_pem = Some(b"-----BEGIN PRIVATE KEY-----secret".to_vec());
        assert!(!format!("{s:?}").contains("secret"));
    }
}

//! TLS with rustls: turning a shard's [`TlsOptions`] into a client configuration, the
//! handshake (driven by the socket's readiness, inside the connect future, so the core's
//! connect timeout bounds it), and rustls's errors in the core's words ([`TlsError`]).
//!
//! The crypto provider is rustls's `ring` one, named explicitly (no process-wide default to
//! install or to race over): it builds with a C compiler alone, where `aws-lc-rs` may need
//! cmake. Without a CA in the options the system's trust store is used
//! (`rustls-native-certs`: what redis-cli and OpenSSL trust on the same machine, including
//! a company's own CAs), not a CA list compiled into the binary.

use std::collections::HashMap;
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
    /// A client connection to `addr` (`host:port`, `[v6]:port`, or a Unix path, which needs
    /// `sni` or is checked as `localhost`).
    pub(crate) fn start(&self, addr: &str) -> Result<ClientConnection, NetError> {
        let host = match &self.sni {
            Some(name) => name.as_str(),
            None => host_of(addr),
        };
        let name =
            ServerName::try_from(host.to_owned()).map_err(|_| NetError::Tls(TlsError::Config))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|_| NetError::Tls(TlsError::Config))?;
        conn.set_buffer_limit(Some(TLS_BUFFER));
        Ok(conn)
    }
}

/// The host part of `host:port` or `[v6]:port` (the name to verify by default).
fn host_of(addr: &str) -> &str {
    if crate::net::unix_path(addr).is_some() {
        return "localhost";
    }
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    addr.rsplit_once(':').map_or(addr, |(h, _)| h)
}

/// Client configurations built so far, by options: reading CA bundles (the system's has
/// hundreds of certificates) happens once per set of options, not on every reconnect.
#[derive(Debug, Default)]
pub(crate) struct TlsConfigs {
    built: HashMap<TlsOptions, Arc<ClientConfig>>,
}

impl TlsConfigs {
    /// The setup for `opts`, built on first use. A failure is not cached: a CA file fixed
    /// later is picked up at the next connect.
    pub(crate) fn setup(&mut self, opts: &TlsOptions) -> Result<TlsSetup, NetError> {
        let config = match self.built.get(opts) {
            Some(c) => c.clone(),
            None => {
                let c = client_config(opts).map_err(NetError::Tls)?;
                self.built.insert(opts.clone(), c.clone());
                c
            }
        };
        Ok(TlsSetup {
            config,
            sni: opts.sni.clone(),
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
fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
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
fn roots(opts: &TlsOptions) -> Result<RootCertStore, TlsError> {
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
    opts: &TlsOptions,
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
    fn host_names_to_verify() {
        assert_eq!(host_of("cache-1:6380"), "cache-1");
        assert_eq!(host_of("127.0.0.1:6380"), "127.0.0.1");
        assert_eq!(host_of("[::1]:6380"), "::1");
        assert_eq!(host_of("/tmp/r.sock"), "localhost");
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let mut configs = TlsConfigs::default();
        let bad = |configs: &mut TlsConfigs, f: &dyn Fn(&mut TlsOptions)| {
            let mut o = TlsOptions::new();
            f(&mut o);
            configs.setup(&o).unwrap_err()
        };
        let config_error = NetError::Tls(TlsError::Config);
        let missing = bad(&mut configs, &|o| {
            o.ca_file = Some("/nonexistent/ca.pem".into())
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
        assert!(configs.setup(&TlsOptions::new()).is_ok());
        let mut insecure = TlsOptions::new();
        insecure.insecure_skip_verify = true;
        assert!(configs.setup(&insecure).is_ok());
    }
}

//! [`TlsOptions`]: how to set up TLS on a shard's connections, as plain data.
//!
//! The core never speaks TLS (it is sans-io: bytes in, bytes out of the *plaintext* side); it
//! only carries whether a shard uses TLS ([`ConnOptions::tls`](super::ConnOptions::tls), set by
//! a `rediss://` address, the ring-wide options or the per-shard hook) and with which
//! settings, for the driver layer to build its TLS client from. The names follow redis-cli's
//! flags (`--cacert`, `--cacertdir`, `--cert`, `--key`, `--sni`, `--insecure`).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// TLS settings of a shard's connections (redis-cli's flags). With no CA given, the
/// system's trust store is used; with no client certificate, none is offered.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TlsOptions {
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
    /// by default the host part of the shard's address.
    pub sni: Option<String>,
    /// Skips verifying the server's certificate (`--insecure`): anyone in the path can read
    /// and change the traffic. For development only.
    pub insecure_skip_verify: bool,
}

impl TlsOptions {
    /// Options that trust the system's CAs, offer no client certificate, and verify the
    /// server against the host name in its address.
    pub fn new() -> TlsOptions {
        TlsOptions::default()
    }
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material; say only whether PEM was given in memory.
        f.debug_struct("TlsOptions")
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_hides_the_key() {
        let o = TlsOptions {
            key_pem: Some(b"-----BEGIN PRIVATE KEY-----secret".to_vec()),
            ..TlsOptions::new()
        };
        assert!(!format!("{o:?}").contains("secret"));
    }
}

//! Certificates made at test time (rcgen) for TLS servers and clients: a CA, a server
//! certificate for `localhost`, `127.0.0.1` and `::1` signed by it, a client certificate
//! for mutual TLS, and the bad ones the failure tests need (another CA, a wrong name, an
//! expired certificate).
//!
//! The suite's TLS mode: with `REDIS_RING_TLS=1` in the environment every harness server
//! listens with TLS (its shard address is the TLS port), and
//! [`fast_config`](crate::scenarios::fast_config) makes the client speak TLS, so the shared
//! scenario suite runs unchanged over TLS (`cargo xtask test` does that for every driver).

use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, SanType,
};
use redis_ring_driver::TlsSettings;

/// Whether the suite runs over TLS (`REDIS_RING_TLS=1`).
pub fn tls_mode() -> bool {
    static MODE: OnceLock<bool> = OnceLock::new();
    *MODE.get_or_init(|| std::env::var("REDIS_RING_TLS").is_ok_and(|v| v == "1"))
}

/// A certificate and its private key, PEM.
#[derive(Clone, Debug)]
pub struct CertKey {
    /// The certificate, PEM.
    pub cert: String,
    /// The private key, PEM (PKCS#8).
    pub key: String,
}

/// A test CA and what it signed.
pub struct Pki {
    /// The CA certificate, PEM.
    pub ca: String,
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
    /// A server certificate for `localhost`, `127.0.0.1`, `::1`.
    pub server: CertKey,
    /// A client certificate (for `tls-auth-clients yes`).
    pub client: CertKey,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pki")
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// A new CA named `name`, with a server and a client certificate.
    pub fn new(name: &str) -> Pki {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, format!("{name} test CA"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let mut pki = Pki {
            ca: ca_cert.pem(),
            ca_cert,
            ca_key,
            server: CertKey {
                cert: String::new(),
                key: String::new(),
            },
            client: CertKey {
                cert: String::new(),
                key: String::new(),
            },
        };
        pki.server = pki.server_cert(&["localhost"], true);
        pki.client = pki.sign(
            CertificateParams::new(vec!["redis-ring-client".to_owned()]).expect("params"),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        pki
    }

    /// The suite's CA (made once per process).
    pub fn shared() -> &'static Pki {
        static PKI: OnceLock<Pki> = OnceLock::new();
        PKI.get_or_init(|| Pki::new("redis-ring"))
    }

    /// A server certificate for `names` (plus the loopback addresses when `loopback`).
    pub fn server_cert(&self, names: &[&str], loopback: bool) -> CertKey {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("server params");
        if loopback {
            params
                .subject_alt_names
                .push(SanType::IpAddress([127, 0, 0, 1].into()));
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
        }
        self.sign(params, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A server certificate for the loopback names that expired in 2020.
    pub fn expired_server_cert(&self) -> CertKey {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params.not_before = rcgen::date_time_ymd(2019, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        self.sign(params, ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn sign(&self, mut params: CertificateParams, usage: ExtendedKeyUsagePurpose) -> CertKey {
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &self.ca_cert, &self.ca_key)
            .expect("sign certificate");
        CertKey {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    /// Client settings trusting this CA (no client certificate).
    pub fn client_options(&self) -> TlsSettings {
        let mut o = TlsSettings::new();
        o.ca_pem = Some(self.ca.clone().into_bytes());
        o
    }

    /// Client settings trusting this CA and presenting its client certificate.
    pub fn client_options_with_cert(&self) -> TlsSettings {
        let mut o = self.client_options();
        o.cert_pem = Some(self.client.cert.clone().into_bytes());
        o.key_pem = Some(self.client.key.clone().into_bytes());
        o
    }
}

/// How a harness server speaks TLS ([`ServerOptions::tls`](crate::ServerOptions::tls)).
#[derive(Clone, Debug)]
pub struct ServerTls {
    /// The CA that verifies client certificates (`tls-ca-cert-file`), PEM.
    pub ca: String,
    /// The server's certificate and key.
    pub server: CertKey,
    /// `tls-auth-clients`: `no`, `yes` or `optional`.
    pub auth_clients: &'static str,
}

impl ServerTls {
    /// The suite CA's server certificate, client certificates not asked for.
    pub fn shared() -> ServerTls {
        let pki = Pki::shared();
        ServerTls {
            ca: pki.ca.clone(),
            server: pki.server.clone(),
            auth_clients: "no",
        }
    }
}

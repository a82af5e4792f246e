//! Certificates for a [`TestServer`](crate::TestServer) that speaks HTTPS.
//!
//! Some clients insist on HTTPS (the Entra ID token endpoint of `azure_identity`, for one),
//! and certificate failures need a real handshake to be provoked. [`TestCertificates`]
//! generates, per test, a throw-away certificate authority and a server certificate signed by
//! it; [`TestServer::start_tls`](crate::TestServer::start_tls) serves with the server
//! certificate. A client that trusts [`TestCertificates::ca_pem`] connects; one that does not
//! fails the handshake, as it would behind a corporate TLS proxy with an unknown root.
//!
//! The authority and the server certificate are separate on purpose: rustls refuses a
//! certificate marked `CA:TRUE` as a server's (`CaUsedAsEndEntity`), so a self-signed leaf
//! would test nothing but that refusal.
//!
//! ```
//! use cline_provider_testkit::{Reply, TestCertificates, TestServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let certs = TestCertificates::localhost();
//! let server = TestServer::start_tls(&certs).await?;
//! server.route("GET", "/ping", Reply::text(200, "pong"));
//! assert!(server.url().starts_with("https://127.0.0.1:"));
//!
//! let client = reqwest::Client::builder()
//!     .tls_certs_only([reqwest::Certificate::from_pem(certs.ca_pem().as_bytes())?])
//!     .build()?;
//! let body = client.get(format!("{}/ping", server.url())).send().await?.text().await?;
//! assert_eq!(body, "pong");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A generated certificate authority and a server certificate it signed.
///
/// Cloning is cheap. Every value is made fresh, so no two tests share a root.
#[derive(Clone)]
pub struct TestCertificates {
    inner: Arc<Inner>,
}

struct Inner {
    ca_pem: String,
    server_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    names: Vec<String>,
}

impl TestCertificates {
    /// A server certificate for `127.0.0.1` and `localhost`, valid from a day ago for a year.
    pub fn localhost() -> TestCertificates {
        TestCertificates::generate(&["127.0.0.1", "localhost"], Validity::Current)
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid now. Serving it on
    /// `127.0.0.1` with other names gives a client a name-mismatch failure.
    pub fn for_names(names: &[&str]) -> TestCertificates {
        TestCertificates::generate(names, Validity::Current)
    }

    /// A server certificate for `127.0.0.1` and `localhost` that expired yesterday (the
    /// authority itself is valid): a client that trusts the authority still fails the
    /// handshake, with an "expired" reason.
    pub fn expired_localhost() -> TestCertificates {
        TestCertificates::generate(&["127.0.0.1", "localhost"], Validity::Expired)
    }

    fn generate(names: &[&str], validity: Validity) -> TestCertificates {
        // rcgen only fails on parameters we control; a failure here is a bug in this file.
        let ca_key = KeyPair::generate().expect("testkit: generate the CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("testkit: CA params");
        ca.distinguished_name
            .push(DnType::CommonName, "cline-provider testkit CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = SystemTime::now();
        ca.not_before = (now - Duration::from_secs(2 * 86_400)).into();
        ca.not_after = (now + Duration::from_secs(366 * 86_400)).into();
        let ca_cert = ca.self_signed(&ca_key).expect("testkit: self-sign the CA");
        let issuer = Issuer::new(ca, ca_key);

        let key = KeyPair::generate().expect("testkit: generate the server key");
        let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("testkit: leaf params");
        leaf.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("localhost"),
        );
        leaf.subject_alt_names = names
            .iter()
            .map(|name| match name.parse() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    (*name)
                        .to_owned()
                        .try_into()
                        .expect("testkit: a DNS name for the server certificate"),
                ),
            })
            .collect();
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (not_before, not_after) = match validity {
            Validity::Current => (
                now - Duration::from_secs(86_400),
                now + Duration::from_secs(365 * 86_400),
            ),
            Validity::Expired => (
                now - Duration::from_secs(30 * 86_400),
                now - Duration::from_secs(86_400),
            ),
        };
        leaf.not_before = not_before.into();
        leaf.not_after = not_after.into();
        let leaf_cert = leaf
            .signed_by(&key, &issuer)
            .expect("testkit: sign the server certificate");

        TestCertificates {
            inner: Arc::new(Inner {
                ca_pem: ca_cert.pem(),
                server_pem: leaf_cert.pem(),
                chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
                key: PrivatePkcs8KeyDer::from(key.serialize_der()),
                names: names.iter().map(|n| (*n).to_owned()).collect(),
            }),
        }
    }

    /// The authority's certificate as PEM: what a client adds to its trust roots (or writes
    /// to a file for `SSL_CERT_FILE`).
    pub fn ca_pem(&self) -> &str {
        &self.inner.ca_pem
    }

    /// The server's certificate as PEM (a client that pins it, or a test that inspects it).
    pub fn server_pem(&self) -> &str {
        &self.inner.server_pem
    }

    /// The names the server certificate is valid for.
    pub fn names(&self) -> &[String] {
        &self.inner.names
    }

    pub(crate) fn acceptor(&self) -> std::io::Result<tokio_rustls::TlsAcceptor> {
        // An explicit provider, so the test binary needs no process-wide default.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder.with_no_client_auth().with_single_cert(
                    self.inner.chain.clone(),
                    PrivateKeyDer::Pkcs8(self.inner.key.clone_key()),
                )
            })
            .map_err(std::io::Error::other)?;
        let mut config = config;
        // HTTP/1.1 only, like the plain listener.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

impl fmt::Debug for TestCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCertificates")
            .field("names", &self.inner.names)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Validity {
    Current,
    Expired,
}

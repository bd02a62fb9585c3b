//! The test certificate authority and the TLS acceptor of [`crate::http::LoopbackServer::start_tls`].

use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Path of the PEM CA that signed the TLS loopback server's certificate (for `ca_file`).
pub const TEST_CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/ca.pem");
const TLS_CERT: &[u8] = include_bytes!("../testdata/server.pem");
const TLS_KEY: &[u8] = include_bytes!("../testdata/server.key");

/// HTTP/1.1 and h2 by ALPN, with the test certificate for `127.0.0.1` and `localhost`.
pub(crate) fn acceptor() -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let certs = CertificateDer::pem_slice_iter(TLS_CERT)
        .collect::<Result<Vec<_>, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(TLS_KEY).expect("test key");
    // Name the provider: with more than one rustls backend compiled in, there is no default.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test certificate and key");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

//! TLS on a listener (`http.listeners[].tls`, MAS's schema): the certificate
//! chain and private key in PEM, inline or from files. Most deployments
//! terminate TLS in the reverse proxy; this is for those that expose mxauth
//! directly, or that want TLS between the proxy and mxauth.
//!
//! Handshakes run in each connection's own task, under the listener's
//! connection cap, so one slow or hostile client cannot hold up the accept
//! loop.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::{rustls, server::TlsStream, TlsAcceptor};

use super::ServeError;
use mxauth_config::TlsConfig;

fn read_pem(
    index: usize,
    what: &str,
    inline: &Option<String>,
    file: &Option<String>,
) -> Result<Vec<u8>, ServeError> {
    let key = format!("http.listeners[{index}].tls.{what}");
    match (inline, file) {
        (Some(pem), None) => Ok(pem.as_bytes().to_vec()),
        (None, Some(path)) => std::fs::read(path).map_err(|source| ServeError::Bind {
            what: format!("{key}_file {path}"),
            source,
        }),
        (Some(_), Some(_)) => Err(ServeError::Unsupported(format!(
            "{key} and {key}_file are both set; keep one"
        ))),
        (None, None) => Err(ServeError::Unsupported(format!(
            "{key} (or {key}_file) is required when tls is set"
        ))),
    }
}

/// Builds the rustls configuration of listener `index`, with a message that
/// names the config key on every failure.
pub fn server_config(
    index: usize,
    tls: &TlsConfig,
) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let prefix = format!("http.listeners[{index}].tls");
    if tls.password.is_some() || tls.password_file.is_some() {
        return Err(ServeError::Unsupported(format!(
            "{prefix}.password: encrypted private keys are not supported; decrypt the key \
             (openssl pkey -in key.pem -out plain.pem) and drop the password"
        )));
    }
    let chain_pem = read_pem(
        index,
        "certificate",
        &tls.certificate,
        &tls.certificate_file,
    )?;
    let key_pem = read_pem(index, "key", &tls.key, &tls.key_file)?;
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            ServeError::Unsupported(format!("{prefix}.certificate: not a PEM certificate: {e}"))
        })?;
    if chain.is_empty() {
        return Err(ServeError::Unsupported(format!(
            "{prefix}.certificate: no PEM certificate found"
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        ServeError::Unsupported(format!(
            "{prefix}.key: not a PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| ServeError::Unsupported(format!("{prefix}: {e}")))?;
    // The HTTP server speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Runs the TLS handshake of one accepted connection, within `timeout`
/// (`http.limits.header_read_timeout`: a client that stalls in the
/// handshake is as slow as one that stalls in its headers).
pub async fn handshake(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    timeout: Duration,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

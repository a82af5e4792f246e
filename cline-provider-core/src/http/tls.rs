//! Trust: extra root certificates (a PEM bundle from the configuration or `SSL_CERT_FILE`),
//! and recognising a certificate failure among a connection error's causes.

use std::path::Path;

use crate::error::{Error, Result};

pub(crate) fn read_pem_bundle(field: &str, path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::invalid_config(
            field,
            format!("cannot read the certificate file {}: {e}", path.display()),
        )
        .with_source(e)
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| {
        Error::invalid_config(
            field,
            format!("{} is not a valid PEM certificate bundle", path.display()),
        )
        .with_source(e)
    })?;
    if certs.is_empty() {
        return Err(Error::invalid_config(
            field,
            format!(
                "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

/// Whether a TLS certificate was refused somewhere in `err`'s causes (unknown issuer, expired,
/// wrong host name). A wait cannot fix that, so it is not retried and gets its own hint.
pub(crate) fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return is_certificate_rustls_error(tls);
        }
        // `io::Error::source` skips the error it wraps, and rustls errors arrive wrapped that
        // way, sometimes twice (an `Other` around tokio-rustls' `InvalidData`): look inside.
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                let inner: &(dyn std::error::Error + 'static) = inner;
                if is_certificate_error(inner) {
                    return true;
                }
            }
        }
        cur = e.source();
    }
    false
}

fn is_certificate_rustls_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::InvalidCertRevocationList(_)
    )
}

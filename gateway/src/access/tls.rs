//! A listener's rustls server config, built from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use super::watch::Watched;
use super::{AccessError, TlsConfig};

/// The server config of `tls`, rebuilt when its files change; `key` names the section.
pub(super) fn watched(
    key: &str,
    tls: &TlsConfig,
    base_dir: &Path,
) -> Result<Watched<ServerConfig>, AccessError> {
    let files = TlsFiles {
        key: key.to_owned(),
        cert: base_dir.join(&tls.cert_file),
        private_key: base_dir.join(&tls.key_file),
        client_ca: tls.client_ca_file.as_deref().map(|ca| base_dir.join(ca)),
    };
    let mut paths = vec![files.cert.clone(), files.private_key.clone()];
    paths.extend(files.client_ca.clone());
    Watched::new(
        key.to_owned(),
        paths,
        tls.reload_interval,
        Box::new(move || files.server_config()),
    )
}

struct TlsFiles {
    key: String,
    cert: PathBuf,
    private_key: PathBuf,
    client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn server_config(&self) -> Result<ServerConfig, AccessError> {
        let chain = certificates(&format!("{}.cert_file", self.key), &self.cert)?;
        let key_name = format!("{}.key_file", self.key);
        let private_key = PrivateKeyDer::from_pem_file(&self.private_key).map_err(|error| {
            AccessError::new(
                &key_name,
                format!(
                    "no usable private key in {}: {error}",
                    self.private_key.display()
                ),
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| AccessError::new(&self.key, error.to_string()))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let ca_key = format!("{}.client_ca_file", self.key);
                let mut roots = rustls::RootCertStore::empty();
                for certificate in certificates(&ca_key, path)? {
                    roots
                        .add(certificate)
                        .map_err(|error| AccessError::new(&ca_key, error.to_string()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|error| AccessError::new(&ca_key, error.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(chain, private_key)
            .map_err(|error| {
                AccessError::new(
                    &key_name,
                    format!(
                        "does not fit the certificate {}: {error}",
                        self.cert.display()
                    ),
                )
            })?;
        // gRPC clients insist on negotiating HTTP/2; browsers and curl may use either.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn certificates(key: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, AccessError> {
    let unreadable = |error: &dyn std::fmt::Display| {
        AccessError::new(key, format!("{}: {error}", path.display()))
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|error| unreadable(&error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| unreadable(&error))?;
    if chain.is_empty() {
        return Err(AccessError::new(
            key,
            format!("{}: no PEM certificate in the file", path.display()),
        ));
    }
    Ok(chain)
}

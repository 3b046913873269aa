//! Client TLS settings: trust roots, an extra CA bundle, the per-run or per-server opt-out, and
//! a session cache sized to the fleet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::TlsVerification;
use crate::sessions::SessionStore;

/// Why the TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA bundle could not be read or parsed.
    #[error("cannot read CA bundle {path}: {reason}")]
    CaBundle {
        /// The bundle's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Verification was asked for but there is no certificate to trust.
    #[error("no trusted CA certificate: the platform store is empty and no CA bundle was given")]
    NoRoots,
    /// rustls refused the settings.
    #[error("TLS settings rejected: {0}")]
    Rustls(String),
}

pub(crate) fn client_config(
    verification: &TlsVerification,
    session_servers: usize,
) -> Result<ClientConfig, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    prefer_aes_128(&mut provider.cipher_suites);
    let provider = Arc::new(provider);
    let verifier: Arc<dyn ServerCertVerifier> = match verification {
        TlsVerification::Platform => webpki(None, &provider)?,
        TlsVerification::CaBundle(path) => webpki(Some(path), &provider)?,
        TlsVerification::InsecureHosts { ca_bundle, hosts } => Arc::new(SelectiveVerifier {
            inner: Some(webpki(ca_bundle.as_deref(), &provider)?),
            algorithms: provider.signature_verification_algorithms,
            insecure: Insecure::Hosts(hosts.clone()),
        }),
        TlsVerification::Insecure => Arc::new(SelectiveVerifier {
            inner: None,
            algorithms: provider.signature_verification_algorithms,
            insecure: Insecure::All,
        }),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // rustls's default cache (256 tickets, so 32 servers) forgets a fleet's BMCs before their
    // second connection: each would be a full handshake again.
    config.resumption = Resumption::store(Arc::new(SessionStore::new(session_servers)));
    Ok(config)
}

/// Puts TLS 1.3's `AES_128_GCM_SHA256` first (ring's order starts with `AES_256_GCM_SHA384`):
/// a server that follows the client's order (rustls's default; the lab's BMCs) then runs its
/// key schedule on SHA-256 rather than SHA-384 and its records on ten AES rounds rather than
/// fourteen, a handshake and every request a little cheaper, at a strength every BMC's own
/// defaults accept. The other suites keep their order.
fn prefer_aes_128(suites: &mut [rustls::SupportedCipherSuite]) {
    suites.sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_128_GCM_SHA256);
}

fn webpki(
    ca_bundle: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_bundle {
        let bundle_error = |reason: String| TlsError::CaBundle {
            path: path.to_path_buf(),
            reason,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| bundle_error(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| bundle_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(bundle_error("no certificate in the file".to_owned()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bundle_error(e.to_string()))?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::NoRoots);
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| TlsError::Rustls(e.to_string()))
}

#[derive(Debug)]
enum Insecure {
    All,
    Hosts(BTreeSet<String>),
}

/// Checks certificates with `inner`, except for servers the operator opted out for (with no
/// `inner`, every server must be opted out); handshake signatures are checked for every server.
#[derive(Debug)]
struct SelectiveVerifier {
    inner: Option<Arc<dyn ServerCertVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
    insecure: Insecure,
}

impl SelectiveVerifier {
    fn skips(&self, name: &ServerName<'_>) -> bool {
        match &self.insecure {
            Insecure::All => true,
            Insecure::Hosts(hosts) => hosts.contains(name.to_str().as_ref()),
        }
    }
}

impl ServerCertVerifier for SelectiveVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.skips(server_name) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.inner {
            Some(inner) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::General(
                "no trusted CA certificate".to_owned(),
            )),
        }
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
    #![allow(clippy::unwrap_used)]

    use rustls::CipherSuite;

    use super::*;

    #[test]
    fn the_client_offers_aes_128_gcm_sha256_first_and_keeps_the_other_suites() {
        let config = client_config(&TlsVerification::Insecure, 8).unwrap();
        let offered: Vec<CipherSuite> = config
            .crypto_provider()
            .cipher_suites
            .iter()
            .map(rustls::SupportedCipherSuite::suite)
            .collect();
        assert_eq!(
            offered[..3],
            [
                CipherSuite::TLS13_AES_128_GCM_SHA256,
                CipherSuite::TLS13_AES_256_GCM_SHA384,
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            ]
        );
        assert_eq!(
            offered.len(),
            rustls::crypto::ring::default_provider().cipher_suites.len()
        );
    }
}

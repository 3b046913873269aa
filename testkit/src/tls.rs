//! The lab's certificates: a CA generated at start and a leaf per server, signed by it.
//!
//! Clients that do not trust the CA see what a real BMC's self-signed certificate gives them (an
//! unknown issuer); clients given the CA's PEM verify every lab server by its IP address.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("lab certificate: {0}")]
pub struct TlsError(String);

/// The lab's certificate authority.
pub struct LabCa {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    pem: String,
}

impl std::fmt::Debug for LabCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabCa").finish_non_exhaustive()
    }
}

impl LabCa {
    /// Generates a fresh CA key and self-signed CA certificate.
    ///
    /// # Errors
    /// When key generation or signing fails.
    pub fn generate() -> Result<Self, TlsError> {
        let err = |e: rcgen::Error| TlsError(e.to_string());
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "quads-lab CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "quads-rs simulated lab");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(Self {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate in PEM, for clients to trust.
    #[must_use]
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server configuration presenting a new leaf certificate for `names` (IPs or DNS names).
    ///
    /// # Errors
    /// When key generation, signing or rustls fails.
    pub fn server_config(&self, names: &[String]) -> Result<Arc<ServerConfig>, TlsError> {
        let err = |e: rcgen::Error| TlsError(e.to_string());
        let mut params = CertificateParams::new(names.to_vec()).map_err(err)?;
        let common_name = names
            .first()
            .cloned()
            .unwrap_or_else(|| "quads-lab".to_owned());
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(err)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError(e.to_string()))?
                .with_no_client_auth()
                .with_single_cert(vec![cert.der().clone(), self.cert.clone()], key_der)
                .map_err(|e| TlsError(e.to_string()))?;
        Ok(Arc::new(config))
    }
}

//! quads-http against real TLS servers on loopback (two simulated labs, so two CAs): what is
//! verified, what each opt-out allows, how failures are classified, and how many connections
//! the pool opens and resumes (`connections`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod connections;

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use quads_http::{HttpsTransport, TlsVerification, Transport, TransportConfig, TransportError};
use testkit::{Lab, LabConfig};

async fn lab(time_scale: f64) -> Lab {
    Lab::start(LabConfig {
        hosts: 2,
        time_scale,
        ..LabConfig::default()
    })
    .await
    .expect("lab")
}

fn ca_file(lab: &Lab) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), lab.ca_pem()).expect("write CA");
    file
}

fn transport(tls: TlsVerification) -> HttpsTransport {
    HttpsTransport::new(&TransportConfig {
        tls,
        ..TransportConfig::default()
    })
    .expect("transport")
}

async fn get(
    transport: &HttpsTransport,
    url: &str,
) -> Result<http::Response<Bytes>, TransportError> {
    let request = http::Request::get(format!("{url}/redfish"))
        .body(Bytes::new())
        .expect("request");
    transport.send(request).await
}

#[tokio::test]
async fn verifies_against_the_given_ca_only() {
    let (ours, theirs) = (lab(0.0).await, lab(0.0).await);
    let (our_ca, their_ca) = (ca_file(&ours), ca_file(&theirs));
    let trusting = transport(TlsVerification::CaBundle(our_ca.path().to_path_buf()));
    assert_eq!(
        get(&trusting, &ours.bmc_url(0))
            .await
            .expect("trusted")
            .status(),
        200
    );
    let stranger = transport(TlsVerification::CaBundle(their_ca.path().to_path_buf()));
    let error = get(&stranger, &ours.bmc_url(0))
        .await
        .expect_err("an unknown issuer is refused");
    assert!(matches!(error, TransportError::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains(&ours.bmc_addr(0).to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn per_server_opt_out_covers_only_the_named_server() {
    let (ours, theirs) = (lab(0.0).await, lab(0.0).await);
    let their_ca = ca_file(&theirs);
    let hosts = BTreeSet::from([ours.bmc_addr(0).ip().to_string()]);
    let tls = TlsVerification::InsecureHosts {
        ca_bundle: Some(their_ca.path().to_path_buf()),
        hosts,
    };
    let transport = transport(tls);
    assert_eq!(
        get(&transport, &ours.bmc_url(0))
            .await
            .expect("opted out")
            .status(),
        200
    );
    assert!(
        get(&transport, &ours.bmc_url(1)).await.is_err(),
        "the other BMC is still verified"
    );
    assert_eq!(
        get(&transport, &theirs.bmc_url(1))
            .await
            .expect("verified by the bundle")
            .status(),
        200
    );
}

#[tokio::test]
async fn per_run_opt_out_accepts_every_server() {
    let ours = lab(0.0).await;
    let transport = transport(TlsVerification::Insecure);
    for index in 0..2 {
        assert_eq!(
            get(&transport, &ours.bmc_url(index))
                .await
                .expect("insecure")
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn a_bad_ca_bundle_is_a_clear_error() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), "not a certificate").expect("write");
    let error = HttpsTransport::new(&TransportConfig {
        tls: TlsVerification::CaBundle(file.path().to_path_buf()),
        ..TransportConfig::default()
    })
    .expect_err("no certificate in the bundle");
    assert!(
        error
            .to_string()
            .contains(&file.path().display().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn slow_answers_time_out_and_refused_connections_fail_fast() {
    // A BMC GET takes about 0.3 lab seconds; at time scale 1 that is longer than the timeout.
    let slow = lab(1.0).await;
    let transport = HttpsTransport::new(&TransportConfig {
        tls: TlsVerification::Insecure,
        request_timeout: Duration::from_millis(20),
        ..TransportConfig::default()
    })
    .expect("transport");
    let request = http::Request::get(format!("{}/redfish/v1/Systems", slow.bmc_url(0)))
        .header("authorization", "Basic cm9vdDpjYWx2aW4=")
        .body(Bytes::new())
        .expect("request");
    let error = transport.send(request).await.expect_err("too slow");
    assert!(matches!(error, TransportError::Timeout { .. }), "{error}");
    assert!(error.is_retryable() && error.request_may_have_been_applied());

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let error = get(&transport, &format!("https://127.0.0.1:{port}"))
        .await
        .expect_err("refused");
    assert!(matches!(error, TransportError::Connect { .. }), "{error}");
    assert!(error.is_retryable() && !error.request_may_have_been_applied());
}

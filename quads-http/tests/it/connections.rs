//! How many TLS connections the pool opens to a lab BMC and how they begin, counted by the lab:
//! a connection is reused while one is idle, and a new connection to a server seen before
//! resumes its TLS session, for a fleet larger than rustls's default session cache.

use bytes::Bytes;
use quads_http::{HttpsTransport, TlsVerification, Transport, TransportConfig};
use testkit::metrics::ConnectionCounters;
use testkit::{Lab, LabConfig};

async fn fleet(hosts: usize) -> (Lab, tempfile::NamedTempFile) {
    let lab = Lab::start(LabConfig {
        hosts,
        ..LabConfig::default()
    })
    .await
    .expect("lab");
    let ca = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(ca.path(), lab.ca_pem()).expect("write CA");
    (lab, ca)
}

fn verifying(ca: &tempfile::NamedTempFile, max_idle_per_host: usize) -> HttpsTransport {
    HttpsTransport::new(&TransportConfig {
        tls: TlsVerification::CaBundle(ca.path().to_path_buf()),
        max_idle_per_host,
        ..TransportConfig::default()
    })
    .expect("transport")
}

async fn root(transport: &HttpsTransport, lab: &Lab, index: usize) {
    let request = http::Request::get(format!("{}/redfish/v1", lab.bmc_url(index)))
        .body(Bytes::new())
        .expect("request");
    let response = transport.send(request).await.expect("root");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn one_connection_serves_requests_one_after_the_other() {
    let (lab, ca) = fleet(1).await;
    let transport = verifying(&ca, 8);
    for _ in 0..5 {
        root(&transport, &lab, 0).await;
    }
    assert_eq!(
        lab.metrics().bmc_connections,
        ConnectionCounters {
            accepted: 1,
            tls_full: 1,
            ..ConnectionCounters::default()
        }
    );
}

/// 48 servers: more than the 32 that rustls's default session cache (256 tickets, 8 per
/// server) keeps, fewer than the transport's. Keeping no idle connection makes every request
/// dial, so the second round shows whether each server's session was still remembered.
#[tokio::test]
async fn a_second_connection_to_each_server_of_a_fleet_resumes_its_session() {
    const HOSTS: usize = 48;
    let (lab, ca) = fleet(HOSTS).await;
    let transport = verifying(&ca, 0);
    for round in 0..2 {
        for index in 0..HOSTS {
            root(&transport, &lab, index).await;
        }
        let counted = lab.metrics().bmc_connections;
        assert_eq!(counted.accepted, (round + 1) * HOSTS as u64, "{counted:?}");
        assert_eq!(counted.tls_full, HOSTS as u64, "{counted:?}");
    }
    let metrics = lab.metrics();
    for (host, counters) in &metrics.hosts {
        assert_eq!(
            (counters.bmc_connections, counters.bmc_tls_resumed),
            (2, 1),
            "{host}"
        );
    }
}

/// Four requests at once to the lab's first BMC.
async fn four_at_once(transport: &HttpsTransport, lab: &Lab) {
    tokio::join!(
        root(transport, lab, 0),
        root(transport, lab, 0),
        root(transport, lab, 0),
        root(transport, lab, 0)
    );
}

/// Requests sent at once to one server share its one connection when the pool is capped at
/// one per server (a BMC fleet's pool): the lab accepts a single connection; the uncapped pool
/// it was made from opens one per request in flight.
#[tokio::test]
async fn a_capped_pool_queues_requests_on_the_server_s_one_connection() {
    let (lab, ca) = fleet(1).await;
    let uncapped = verifying(&ca, 8);
    let capped = uncapped.with_connections_per_server(
        std::num::NonZeroUsize::MIN,
        std::time::Duration::from_secs(60),
    );
    four_at_once(&capped, &lab).await;
    four_at_once(&capped, &lab).await;
    assert_eq!(lab.metrics().bmc_connections.accepted, 1);
    four_at_once(&uncapped, &lab).await;
    assert_eq!(lab.metrics().bmc_connections.accepted, 5);
}

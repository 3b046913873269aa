//! How many TLS connections the pool opens to a lab BMC and how they begin, counted by the lab:
//! a connection is reused while one is idle, and a new connection to a server seen before
//! resumes its TLS session, for a fleet larger than rustls's default session cache.

use bytes::Bytes;
use std::num::NonZeroUsize;
use std::time::Duration;

use quads_http::{ConnectionCaps, HttpsTransport, TlsVerification, Transport, TransportConfig};
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
    get_root(transport, &lab.bmc_url(index)).await;
}

async fn get_root(transport: &HttpsTransport, bmc: &str) {
    let request = http::Request::get(format!("{bmc}/redfish/v1"))
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
            open: 1,
            peak_open: 1,
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
    let capped = uncapped.with_connection_caps(&ConnectionCaps {
        per_server: NonZeroUsize::MIN,
        max_connections: None,
        idle_timeout: Duration::from_secs(60),
        linger: Duration::from_secs(2),
    });
    four_at_once(&capped, &lab).await;
    four_at_once(&capped, &lab).await;
    assert_eq!(lab.metrics().bmc_connections.accepted, 1);
    four_at_once(&uncapped, &lab).await;
    assert_eq!(lab.metrics().bmc_connections.accepted, 5);
}

/// Twelve servers through a pool that keeps at most four connections open: every request is
/// answered, a connection closed for waiting requests is one that had lingered idle, and a
/// server's next connection resumes its TLS session. The lab counts a connection closed when
/// it reads the client's end, which may come just after the handshake of the connection that
/// replaces it: it may see up to one replacement per closed connection at once (8 here, where
/// the same requests through an uncapped pool hold 12).
#[tokio::test]
async fn a_pool_capped_in_open_connections_closes_lingering_ones_for_waiting_requests() {
    const HOSTS: usize = 12;
    let (lab, ca) = fleet(HOSTS).await;
    let capped = verifying(&ca, 8).with_connection_caps(&ConnectionCaps {
        per_server: NonZeroUsize::MIN,
        max_connections: NonZeroUsize::new(4),
        idle_timeout: Duration::from_secs(60),
        linger: Duration::from_millis(20),
    });
    // each server twice, all at once: twelve servers want a connection where four may be open
    let mut set = tokio::task::JoinSet::new();
    for index in 0..HOSTS {
        let (capped, url) = (capped.clone(), lab.bmc_url(index));
        set.spawn(async move {
            get_root(&capped, &url).await;
            get_root(&capped, &url).await;
        });
    }
    set.join_all().await;
    let counted = lab.metrics().bmc_connections;
    assert!(counted.peak_open <= 8, "{counted:?}");
    assert!(counted.accepted >= HOSTS as u64, "{counted:?}");
    assert_eq!(counted.tls_full, HOSTS as u64, "{counted:?}");
    // the same again: every server's session resumes
    let mut set = tokio::task::JoinSet::new();
    for index in 0..HOSTS {
        let (capped, url) = (capped.clone(), lab.bmc_url(index));
        set.spawn(async move { get_root(&capped, &url).await });
    }
    set.join_all().await;
    let counted = lab.metrics().bmc_connections;
    assert!(counted.peak_open <= 8, "{counted:?}");
    assert!(counted.accepted > HOSTS as u64, "{counted:?}");
    assert_eq!(counted.tls_full, HOSTS as u64, "{counted:?}");
}

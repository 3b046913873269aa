//! The lab as a whole: servers come up on their addresses, TLS chains to the lab CA, the admin
//! endpoint reports what was served.

use testkit::{Lab, LabConfig, Probe, Scheme};

#[tokio::test]
async fn serves_foreman_bmcs_and_admin_over_loopback() {
    let lab = Lab::start(LabConfig {
        hosts: 6,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let probe = Probe::new(lab.ca_pem());
    // Foreman's /api/status needs a login (only /api/ping is anonymous).
    let admin = &lab.config().foreman_admin;
    let foreman = probe.with_basic(&admin.username, &admin.password);

    let status = foreman
        .get(&format!("{}/api/status", lab.foreman_url()))
        .await
        .unwrap();
    assert_eq!(status.status, 200);
    assert_eq!(status.json()["api_version"], 2);
    let plain = foreman
        .get(&format!("{}/api/status", lab.foreman_http_url()))
        .await
        .unwrap();
    assert_eq!(plain.status, 200);

    for index in 0..6 {
        let url = lab.bmc_url(index);
        assert!(url.starts_with("https://127.0."), "{url}");
        let answer = probe.get(&format!("{url}/redfish")).await.unwrap();
        assert_eq!(answer.status, 200, "{url}");
    }
    // Each BMC has its own address on one port.
    assert_ne!(lab.bmc_addr(0).ip(), lab.bmc_addr(1).ip());
    assert_eq!(lab.bmc_addr(0).port(), lab.bmc_addr(5).port());

    let metrics = probe
        .get(&format!("{}/metrics", lab.admin_url()))
        .await
        .unwrap()
        .json();
    assert_eq!(metrics["requests"], 8);
    let inventory = lab.inventory();
    assert_eq!(inventory.hosts.len(), 6);
    assert_eq!(
        metrics["hosts"][&inventory.hosts[0].name]["bmc_requests"],
        1
    );
}

#[tokio::test]
async fn two_labs_run_side_by_side_and_plain_http_is_an_option() {
    let a = Lab::start(LabConfig {
        hosts: 3,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let b = Lab::start(LabConfig {
        hosts: 3,
        bmc_scheme: Scheme::Http,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    assert_ne!(a.bmc_addr(0), b.bmc_addr(0));
    let probe = Probe::new(a.ca_pem());
    assert!(b.bmc_url(0).starts_with("http://"));
    assert_eq!(
        probe
            .get(&format!("{}/redfish", b.bmc_url(0)))
            .await
            .unwrap()
            .status,
        200
    );
    // A client that does not trust a lab's CA cannot talk TLS to its BMCs.
    let stranger = Probe::new(b.ca_pem());
    assert!(
        stranger
            .get(&format!("{}/redfish", a.bmc_url(0)))
            .await
            .is_err()
    );
}

#[tokio::test(start_paused = true)]
async fn idle_sessions_expire_and_are_counted_apart_from_logouts() {
    let lab = Lab::start(LabConfig {
        hosts: 2,
        time_scale: 1.0,
        ..LabConfig::default()
    })
    .await
    .unwrap();
    let probe = Probe::new(lab.ca_pem()).anonymous();
    let login = serde_json::json!({"UserName": "root", "Password": "calvin"});
    let mut tokens = Vec::new();
    for index in 0..2 {
        let url = format!("{}/redfish/v1/SessionService/Sessions", lab.bmc_url(index));
        let answer = probe.post(&url, &login).await.unwrap();
        assert_eq!(answer.status, 201);
        tokens.push(answer.header("x-auth-token").unwrap().to_owned());
    }
    // BMC 1 is used now and then; BMC 0's session idles past SessionTimeout (1800 s).
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_secs(500)).await;
        let url = format!("{}/redfish/v1/Systems", lab.bmc_url(1));
        assert_eq!(
            probe.with_token(&tokens[1]).get(&url).await.unwrap().status,
            200
        );
    }
    let url = format!("{}/redfish/v1/Systems", lab.bmc_url(0));
    assert_eq!(
        probe.with_token(&tokens[0]).get(&url).await.unwrap().status,
        401
    );

    let inventory = lab.inventory();
    let metrics = lab.metrics();
    let (idle, busy) = (
        metrics.host(&inventory.hosts[0].name),
        metrics.host(&inventory.hosts[1].name),
    );
    assert_eq!(
        (
            idle.sessions_opened,
            idle.sessions_closed,
            idle.sessions_expired,
            idle.sessions_open
        ),
        (1, 0, 1, 0)
    );
    assert_eq!(
        (
            busy.sessions_opened,
            busy.sessions_expired,
            busy.sessions_open
        ),
        (1, 0, 1)
    );
}

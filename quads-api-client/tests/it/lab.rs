//! Scenarios against testkit's lab QUADS server over loopback HTTP: the writes QUADS's own
//! mover makes, in its order, each verified by a read, leave `moves` empty; a rolled-back host
//! PATCH answered 200 is caught by the read-back; reads and errors as the contract tests say.

use std::collections::BTreeMap;

use quads_api_client::writes::CreateSchedule;
use quads_api_client::{
    AssignmentPatch, AuthMode, ClientConfig, Credentials, CurrentSchedules, Error, HostPatch,
    QuadsClient, QuadsUrl, SchedulePatch, Timestamp,
};
use testkit::{FaultProfile, Lab, LabConfig};

async fn lab(hosts: usize, faults: FaultProfile) -> Lab {
    Lab::start(LabConfig {
        hosts,
        faults,
        ..LabConfig::default()
    })
    .await
    .expect("lab")
}

fn client(lab: &Lab, auth: AuthMode) -> QuadsClient {
    let inv = lab.inventory();
    let mut config = ClientConfig::new(QuadsUrl::parse(&inv.quads_url).unwrap())
        .with_credentials(Credentials::new(inv.quads_username, inv.quads_password));
    config.auth = auth;
    QuadsClient::new(config).unwrap()
}

#[tokio::test]
async fn the_movers_writes_in_order_leave_no_moves() {
    let lab = lab(6, FaultProfile::none()).await;
    let c = client(&lab, AuthMode::Token);
    let moves = c.moves(None).await.unwrap();
    assert_eq!(moves.len(), 3);
    let now = Timestamp::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .try_into()
            .unwrap(),
    );
    let mut by_cloud: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &moves {
        // before: the host is being rebuilt
        let begin = HostPatch {
            switch_config_applied: Some(false),
            build: Some(false),
            ..HostPatch::default()
        };
        c.patch_host_verified(&m.host, &begin).await.unwrap();
        let assignment = c
            .active_assignment(&m.new)
            .await
            .unwrap()
            .expect("an active assignment");
        if assignment.wipe {
            c.patch_assignment_verified(
                assignment.id,
                &AssignmentPatch {
                    validated: Some(false),
                    ..AssignmentPatch::default()
                },
            )
            .await
            .unwrap();
        }
        // after the move: the schedule's build times, the host's new cloud
        let current = c
            .current_schedules(CurrentSchedules {
                host: Some(m.host.clone()),
                ..CurrentSchedules::default()
            })
            .await
            .unwrap();
        let schedule = current.first().expect("the schedule that moves it");
        assert_eq!(schedule.cloud_name(), Some(m.new.as_str()));
        let times = SchedulePatch {
            build_start: Some(now),
            build_end: Some(now),
            ..SchedulePatch::default()
        };
        let read = c
            .patch_schedule_verified(schedule.id, &times)
            .await
            .unwrap();
        assert_eq!(
            read.build_end.map(Timestamp::unix),
            Some(now.floor_minute().unix())
        );
        let done = HostPatch {
            cloud: Some(m.new.clone()),
            build: Some(true),
            last_build: Some(now),
            validated: Some(false),
            ..HostPatch::default()
        };
        let host = c.patch_host_verified(&m.host, &done).await.unwrap();
        assert_eq!(
            host.last_build.map(Timestamp::unix),
            Some(now.floor_minute().unix())
        );
        c.patch_host_verified(
            &m.host,
            &HostPatch {
                switch_config_applied: Some(true),
                ..HostPatch::default()
            },
        )
        .await
        .unwrap();
        by_cloud
            .entry(m.new.clone())
            .or_default()
            .push(m.host.clone());
    }
    for cloud in by_cloud.keys() {
        let a = c.active_assignment(cloud).await.unwrap().unwrap();
        let a = c
            .patch_assignment_verified(
                a.id,
                &AssignmentPatch {
                    provisioned: Some(true),
                    validated: Some(!a.wipe),
                    ..AssignmentPatch::default()
                },
            )
            .await
            .unwrap();
        assert!(a.provisioned);
    }
    assert!(c.moves(None).await.unwrap().is_empty());
    for (cloud, hosts) in &by_cloud {
        let listed: Vec<String> = c
            .hosts(Some(cloud))
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect();
        assert_eq!(&listed, hosts);
    }
}

#[tokio::test]
async fn a_rolled_back_patch_is_caught_by_the_read_back() {
    let lab = lab(
        2,
        FaultProfile::parse("none,quads_patch_rollback_rate=1").unwrap(),
    )
    .await;
    let c = client(&lab, AuthMode::Basic);
    let m = c.moves(None).await.unwrap().remove(0);
    let patch = HostPatch {
        cloud: Some(m.new.clone()),
        build: Some(true),
        ..HostPatch::default()
    };
    // the answer is a 200 with the old row
    let answered = c.patch_host(&m.host, &patch).await.unwrap();
    assert_eq!(answered.cloud_name(), Some(m.current.as_str()));
    let err = c.patch_host_verified(&m.host, &patch).await.unwrap_err();
    assert!(
        matches!(err, Error::NotApplied { field: "cloud", .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&m.host));
    assert_eq!(
        c.moves(None).await.unwrap().len(),
        1,
        "the host is listed again"
    );
}

#[tokio::test]
async fn reads_posts_and_quirks_against_the_lab() {
    let lab = lab(4, FaultProfile::none()).await;
    let c = client(&lab, AuthMode::Token);
    let inv = lab.inventory();
    let host = c.host(&inv.hosts[3].name).await.unwrap();
    assert_eq!(
        (host.cloud_name(), host.default_cloud_name()),
        (Some("cloud01"), Some("cloud01"))
    );
    assert_eq!(host.interfaces.len(), inv.hosts[3].interfaces.len());
    let nics = c.interfaces(&host.name).await.unwrap();
    assert_eq!(
        nics[0].switch_port.as_deref(),
        Some(inv.hosts[3].interfaces[0].switch_port.as_str())
    );
    assert_eq!(c.clouds().await.unwrap().len(), 4);
    assert_eq!(c.cloud("cloud03").await.unwrap().name, "cloud03");
    assert_eq!(
        c.active_assignment("cloud03")
            .await
            .unwrap()
            .unwrap()
            .vlan
            .unwrap()
            .vlan_id,
        601
    );
    assert_eq!(c.active_assignment("cloud04").await.unwrap(), None);
    assert!(c.host("nope.example").await.unwrap_err().is_not_found());
    assert!(c.cloud("cloud99").await.unwrap_err().is_not_found());
    assert!(
        c.active_assignment("cloud99")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(matches!(
        c.schedule(999).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    // a new cloud, its assignment and a schedule far ahead (POST dates with a space)
    c.create_cloud("cloud05").await.unwrap();
    c.create_assignment(&quads_api_client::writes::CreateAssignment {
        cloud: "cloud05".into(),
        description: "it".into(),
        owner: "carol".into(),
        ticket: "4242".into(),
        qinq: Some(0),
        wipe: false,
        ccuser: Vec::new(),
        vlan: None,
    })
    .await
    .unwrap();
    let start = Timestamp::from_unix(4_102_444_800); // 2100-01-01
    let s = c
        .create_schedule(&CreateSchedule {
            host: host.name.clone(),
            cloud: "cloud05".into(),
            start,
            end: Timestamp::from_unix(4_103_049_600),
        })
        .await
        .unwrap();
    assert_eq!((s.start, s.cloud_name()), (Some(start), Some("cloud05")));
    assert_eq!(
        c.moves(Some(Timestamp::from_unix(4_102_448_400)))
            .await
            .unwrap()
            .len(),
        1,
        "the seeded schedules ended long before: only the new one moves a host"
    );
    assert_eq!(c.schedules(Some(&host.name)).await.unwrap().len(), 1);
    // a schedule PATCH with its dates in the wrong order is refused, not half-applied
    let bad = SchedulePatch {
        build_start: Some(Timestamp::from_unix(4_102_448_400)),
        build_end: Some(start),
        ..SchedulePatch::default()
    };
    assert!(matches!(
        c.patch_schedule(s.id, &bad).await.unwrap_err(),
        Error::BadRequest { .. }
    ));
    // a wrong route is named as such
    let wrong = QuadsClient::new(ClientConfig::new(
        QuadsUrl::parse(&format!("{}/elsewhere", inv.quads_url)).unwrap(),
    ))
    .unwrap();
    assert!(matches!(
        wrong.moves(None).await.unwrap_err(),
        Error::UnknownRoute { .. }
    ));
}

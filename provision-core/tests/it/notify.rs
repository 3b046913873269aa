//! Notifications end to end on loopback: the events of the schedule, queued once per channel in
//! a real store, sent by email (STARTTLS and AUTH against testkit's fake SMTP server) and by
//! webhook (signed, retried against testkit's sink), a failed send retried by the next round.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use provision_core::model::{
    AssignmentSpec, BootType, Cloud, CloudName, CloudStatus, Host, HostName, HostState,
    NewSchedule, QinQ, TimeRange, Wipe,
};
use provision_core::notify::{
    self, Channel, EmailChannel, Event, Notifier, SmtpConfig, SmtpTls, WebhookChannel,
    WebhookConfig,
};
use provision_core::retry::{Jitter, RetryPolicy};
use provision_core::{OpenMode, Store, StoreOptions, SystemClock, Timestamp};
use testkit::smtp::{SmtpSink, SmtpSinkConfig};
use testkit::tls::LabCa;
use testkit::webhook::{WebhookSink, WebhookSinkConfig};
use tokio_util::sync::CancellationToken;

const DAY: i64 = 86_400_000;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms).unwrap()
}

/// A store with cloud02 (ticket 1234, alice) holding host01 and host02 from `start` to `end`.
async fn store_with(dir: &std::path::Path, start: Timestamp, end: Timestamp) -> Store {
    let store = Store::open(StoreOptions {
        path: dir.join("quads.db"),
        mode: OpenMode::CreateIfMissing,
        clock: Arc::new(SystemClock),
    })
    .await
    .unwrap();
    for name in ["cloud01", "cloud02"] {
        store
            .add_cloud(Cloud {
                name: CloudName::new(name).unwrap(),
                description: String::new(),
                status: CloudStatus::Pending,
            })
            .await
            .unwrap();
    }
    let a = store
        .add_assignment(AssignmentSpec {
            cloud: CloudName::new("cloud02").unwrap(),
            ticket: "1234".into(),
            owner: "alice".into(),
            description: String::new(),
            wipe: Wipe::No,
            os: None,
            partition_table: None,
            medium: None,
            boot_type: BootType::Uefi,
            qinq: QinQ::Separated,
            public_vlan: None,
        })
        .await
        .unwrap();
    for name in ["host01", "host02"] {
        store
            .add_host(Host {
                name: HostName::new(name).unwrap(),
                bmc_address: format!("mgmt-{name}"),
                model: None,
                host_type: None,
                default_cloud: CloudName::new("cloud01").unwrap(),
                current_cloud: CloudName::new("cloud01").unwrap(),
                state: HostState::Active,
            })
            .await
            .unwrap();
        store
            .add_schedule(NewSchedule {
                host: HostName::new(name).unwrap(),
                assignment: a.id,
                range: TimeRange::new(start, end).unwrap(),
            })
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn a_schedule_ending_gets_the_tightest_notice_and_an_extension_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let now = ts(1_800_000_000_000);
    let store = store_with(
        dir.path(),
        ts(now.unix_millis() - DAY),
        ts(now.unix_millis() + 5 * DAY),
    )
    .await;
    let snapshot = store.snapshot().await.unwrap();
    let events = notify::schedules_ending(&snapshot, now, &[7, 1]);
    assert_eq!(events.len(), 1, "{events:?}");
    let Event::ScheduleEnding { days, hosts, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (*days, hosts.as_slice()),
        (7, ["host01".to_owned(), "host02".to_owned()].as_slice())
    );
    // 20 hours before the end: the 1-day notice, a new event
    let later = ts(now.unix_millis() + 5 * DAY - 20 * 3_600_000);
    let late = notify::schedules_ending(&snapshot, later, &[7, 1]);
    assert!(
        matches!(late[0], Event::ScheduleEnding { days: 1, .. }),
        "{late:?}"
    );
    assert_ne!(late[0].id(), events[0].id());
    // 10 days before: nothing yet; after the end: nothing
    assert!(
        notify::schedules_ending(&snapshot, ts(now.unix_millis() - 5 * DAY + 1), &[7, 1])
            .is_empty()
    );
    assert!(
        notify::schedules_ending(&snapshot, ts(now.unix_millis() + 6 * DAY), &[7, 1]).is_empty()
    );
    store.close().await;
}

#[tokio::test]
async fn each_event_goes_once_per_channel_and_a_failed_send_goes_next_round() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let smtp = smtp_sink(dir.path(), false, &shutdown).await;
    // two refusals: the first round's two attempts fail, the next round's first succeeds
    let sink = WebhookSink::start(
        WebhookSinkConfig {
            secret: Some("hook-secret".into()),
            fail_first: 2,
        },
        Arc::default(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    std::fs::write(dir.path().join("hook.secret"), "hook-secret\n").unwrap();
    let email = email_to(dir.path(), smtp.addr().port(), SmtpTls::Starttls);
    let webhook = WebhookChannel::new(&WebhookConfig {
        url: sink.url(),
        secret_file: Some(dir.path().join("hook.secret")),
        ca_bundle: None,
        retry: RetryPolicy {
            max_attempts: 2,
            base: Duration::from_millis(10),
            jitter: Jitter::None,
            ..RetryPolicy::default()
        },
    })
    .unwrap();
    let channels: Vec<Arc<dyn Channel>> = vec![Arc::new(email), Arc::new(webhook)];
    let notifier = Notifier::new(channels);
    let now = ts(1_800_000_000_000);
    let store = store_with(
        dir.path(),
        ts(now.unix_millis() - DAY),
        ts(now.unix_millis() + DAY / 2),
    )
    .await;
    let events = notify::schedules_ending(&store.snapshot().await.unwrap(), now, &[7, 1]);
    let cancel = CancellationToken::new();

    let first = notify::notify(&store, &notifier, &events, &cancel)
        .await
        .unwrap();
    assert_eq!(first.queued, 2);
    assert_eq!(first.sent.len(), 1, "{first:?}");
    assert_eq!(first.sent[0].channel, "email");
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert!(
        first.failed[0].error.as_deref().unwrap().contains("503"),
        "{first:?}"
    );
    let mail = smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (mail[0].user.as_deref(), mail[0].tls),
        (Some("quads"), true)
    );
    assert_eq!(mail[0].to, ["ops@lab.example"]);
    assert_eq!(
        mail[0].header("Subject").as_deref(),
        Some("[quads] cloud02 (1234) ends in 1 day(s)")
    );

    // the rerun queues nothing new and sends what failed
    let second = notify::notify(&store, &notifier, &events, &cancel)
        .await
        .unwrap();
    assert_eq!(
        (second.queued, second.sent.len(), second.failed.len()),
        (0, 1, 0),
        "{second:?}"
    );
    assert_eq!(second.sent[0].channel, "webhook");
    let third = notify::notify(&store, &notifier, &events, &cancel)
        .await
        .unwrap();
    assert_eq!(
        (third.queued, third.sent.len(), third.failed.len()),
        (0, 0, 0),
        "{third:?}"
    );

    assert_eq!(smtp.received().len(), 1);
    let posts = sink.received();
    assert_eq!(
        posts.iter().map(|p| p.status).collect::<Vec<_>>(),
        [503, 503, 200]
    );
    for p in &posts {
        assert_eq!(p.signature_valid, Some(true), "{p:?}");
        assert_eq!(p.body["version"], 1);
        assert_eq!(p.body["event"], "schedule-ending");
        assert_eq!(p.body["id"], events[0].id());
    }
    let recorded = store.notifications().await.unwrap();
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|n| n.sent));
    let hook = recorded.iter().find(|n| n.channel == "webhook").unwrap();
    assert_eq!(hook.attempts, 2);
    // no secret in what the store kept
    for n in &recorded {
        let text = format!("{n:?}");
        assert!(
            !text.contains("hook-secret") && !text.contains("mail-secret"),
            "{text}"
        );
    }
    store.close().await;
    shutdown.cancel();
}

/// The fake SMTP server (STARTTLS or implicit TLS, login quads), its CA and the password file
/// written into `dir`.
async fn smtp_sink(
    dir: &std::path::Path,
    implicit_tls: bool,
    shutdown: &CancellationToken,
) -> SmtpSink {
    let ca = LabCa::generate().unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("smtp.pass"), "mail-secret\n").unwrap();
    SmtpSink::start(
        SmtpSinkConfig {
            tls: Some(ca.server_config(&["127.0.0.1".to_owned()]).unwrap()),
            implicit_tls,
            login: Some(testkit::Credentials::new("quads", "mail-secret")),
        },
        Arc::default(),
        shutdown.clone(),
    )
    .await
    .unwrap()
}

/// An email channel for the sink at `port`, trusting the lab CA in `dir`, signing in as quads;
/// a mail may take 5 s.
fn email_to(dir: &std::path::Path, port: u16, tls: SmtpTls) -> EmailChannel {
    EmailChannel::new(&SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        tls,
        from: "quads@lab.example".into(),
        to: vec!["ops@lab.example".into()],
        username: Some("quads".into()),
        password_file: Some(dir.join("smtp.pass")),
        ca_bundle: Some(dir.join("ca.pem")),
        timeout_secs: Some(5),
    })
    .unwrap()
}

#[tokio::test]
async fn implicit_tls_mail_goes_encrypted_from_the_first_byte() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let smtp = smtp_sink(dir.path(), true, &shutdown).await;
    let event = Event::CloudValidated {
        cloud: "cloud02".into(),
        ticket: "1234".into(),
        owner: "alice".into(),
    };

    // a STARTTLS client waits for a greeting the server (waiting for TLS) never sends: the
    // send fails at its deadline, naming the server, with no secret
    let starttls = email_to(dir.path(), smtp.addr().port(), SmtpTls::Starttls);
    let refused = starttls
        .send(&event.id(), &event)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("no answer within 5 s"), "{refused}");
    assert!(refused.contains(&smtp.addr().to_string()), "{refused}");
    assert!(!refused.contains("mail-secret"), "{refused}");
    assert!(smtp.received().is_empty());

    let tls = email_to(dir.path(), smtp.addr().port(), SmtpTls::Tls);
    tls.send(&event.id(), &event).await.unwrap();
    let mail = smtp.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (mail[0].user.as_deref(), mail[0].tls),
        (Some("quads"), true)
    );
    assert_eq!(
        mail[0].header("Subject").as_deref(),
        Some("[quads] cloud02 (1234) validated: ready for use")
    );
    shutdown.cancel();
}

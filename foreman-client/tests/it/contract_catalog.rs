//! Contract tests of the catalog: exact-name lookups of each kind, caching, coalescing of
//! concurrent lookups, failures not cached, unknown and ambiguous names; list and show.

use std::sync::Arc;

use foreman_client::{Error, LookupProblem};
use mockito::Matcher;

use crate::support::{client, index};

const RHEL_94: &str = r#"{"description":null,"major":"9","minor":"4","family":"Redhat","release_name":"","password_hash":"SHA256","created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC","id":3,"name":"RedHat","title":"RedHat 9.4"}"#;

fn os_search(title: &str) -> Matcher {
    Matcher::Exact(format!(
        "search=title%20%3D%20%22{}%22&per_page=all",
        title.replace(' ', "%20")
    ))
}

#[tokio::test]
async fn each_kind_is_looked_up_by_its_exact_name() {
    let mut server = mockito::Server::new_async().await;
    let mut mocks = vec![
        server
            .mock("GET", "/api/operatingsystems")
            .match_query(os_search("RedHat 9.4"))
            .with_body(index(&format!("[{RHEL_94}]"), 12, 1, 1, None))
            .expect(1)
            .create_async()
            .await,
    ];
    for (path, search, body) in [
        (
            "/api/ptables",
            r#"name = "Kickstart default""#,
            r#"[{"os_family":"Redhat","created_at":null,"updated_at":null,"name":"Kickstart default","id":4,"locked":true},{"name":"Kickstart default thin","id":5}]"#,
        ),
        (
            "/api/media",
            r#"name = "RHEL 9.4 mirror""#,
            r#"[{"path":"http://mirror/rhel/9.4/$arch","os_family":"Redhat","name":"RHEL 9.4 mirror","id":9}]"#,
        ),
        (
            "/api/architectures",
            r#"name = "x86_64""#,
            r#"[{"name":"x86_64","id":1}]"#,
        ),
        (
            "/api/hostgroups",
            r#"name = "compute""#,
            r#"[{"id":20,"name":"compute","title":"base/compute","description":null},{"id":21,"name":"compute","title":"gpu/compute"}]"#,
        ),
    ] {
        mocks.push(
            server
                .mock("GET", path)
                .match_query(Matcher::AllOf(vec![
                    Matcher::UrlEncoded("search".into(), search.into()),
                    Matcher::UrlEncoded("per_page".into(), "all".into()),
                ]))
                .with_body(index(body, 2, 1, 2, Some(search)))
                .expect(1)
                .create_async()
                .await,
        );
    }
    let c = client(&server);
    assert_eq!(
        c.operating_systems().lookup("RedHat 9.4").await.unwrap().id,
        3
    );
    assert_eq!(
        c.partition_tables()
            .lookup("Kickstart default")
            .await
            .unwrap()
            .id,
        4
    );
    assert_eq!(c.media().lookup("RHEL 9.4 mirror").await.unwrap().id, 9);
    assert_eq!(c.architectures().lookup("x86_64").await.unwrap().id, 1);
    assert_eq!(c.hostgroups().lookup("gpu/compute").await.unwrap().id, 21);
    // Cached: the same lookups again send nothing.
    assert_eq!(
        c.operating_systems().lookup("RedHat 9.4").await.unwrap().id,
        3
    );
    assert_eq!(c.hostgroups().lookup("gpu/compute").await.unwrap().id, 21);
    for m in &mocks {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn concurrent_identical_lookups_share_one_request() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/operatingsystems")
        .match_query(os_search("RedHat 9.4"))
        .with_body(index(&format!("[{RHEL_94}]"), 1, 1, 1, None))
        .expect(1)
        .create_async()
        .await;
    let c = Arc::new(client(&server));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            c.operating_systems().lookup("RedHat 9.4").await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().id, 3);
    }
    m.assert_async().await;
}

#[tokio::test]
async fn uncached_lookups_ask_every_time_and_leave_the_cache_alone() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/operatingsystems")
        .match_query(os_search("RedHat 9.4"))
        .with_body(index(&format!("[{RHEL_94}]"), 1, 1, 1, None))
        .expect(3)
        .create_async()
        .await;
    let c = client(&server);
    for _ in 0..2 {
        let os = c.operating_systems().lookup_uncached("RedHat 9.4").await;
        assert_eq!(os.unwrap().id, 3);
    }
    // nothing was cached by them: the cached lookup asks once more
    assert_eq!(
        c.operating_systems().lookup("RedHat 9.4").await.unwrap().id,
        3
    );
    m.assert_async().await;
}

#[tokio::test]
async fn failed_lookups_are_not_cached() {
    let mut server = mockito::Server::new_async().await;
    let down = server
        .mock("GET", "/api/media")
        .match_query(Matcher::Any)
        .with_status(503)
        .with_body("<html><body><h1>Service Unavailable</h1></body></html>")
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let e = c.media().lookup("mirror").await.unwrap_err();
    assert!(e.is_retryable());
    down.assert_async().await;
    let up = server
        .mock("GET", "/api/media")
        .match_query(Matcher::Any)
        .with_body(index(r#"[{"id":9,"name":"mirror"}]"#, 1, 1, 1, None))
        .expect(1)
        .create_async()
        .await;
    assert_eq!(c.media().lookup("mirror").await.unwrap().id, 9);
    up.assert_async().await;

    // An unknown name is not cached either: once created, it is found.
    let none = server
        .mock("GET", "/api/architectures")
        .match_query(Matcher::Any)
        .with_body(index("[]", 0, 1, 0, None))
        .expect(1)
        .create_async()
        .await;
    let e = c.architectures().lookup("ppc64le").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Lookup {
                problem: LookupProblem::Unknown,
                ..
            }
        ),
        "{e}"
    );
    none.assert_async().await;
    let some = server
        .mock("GET", "/api/architectures")
        .match_query(Matcher::Any)
        .with_body(index(r#"[{"id":4,"name":"ppc64le"}]"#, 1, 1, 1, None))
        .expect(1)
        .create_async()
        .await;
    assert_eq!(c.architectures().lookup("ppc64le").await.unwrap().id, 4);
    some.assert_async().await;
}

#[tokio::test]
async fn unknown_and_ambiguous_names_are_clear_errors() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("GET", "/api/operatingsystems")
        .match_query(os_search("RHEL 10"))
        // A search can return near matches; none is exactly the title.
        .with_body(index(
            r#"[{"id":5,"name":"RHEL","major":"10","minor":"0","title":"RHEL 10.0"}]"#,
            1,
            1,
            1,
            None,
        ))
        .create_async()
        .await;
    server
        .mock("GET", "/api/hostgroups")
        .match_query(Matcher::Any)
        .with_body(index(
            r#"[{"id":20,"name":"compute","title":"base/compute"},{"id":21,"name":"compute","title":"gpu/compute"}]"#,
            2,
            1,
            2,
            None,
        ))
        .create_async()
        .await;
    let c = client(&server);
    let e = c.operating_systems().lookup("RHEL 10").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "operating system \"RHEL 10\" not found in Foreman (the name must match exactly)"
    );
    let e = c.hostgroups().lookup("compute").await.unwrap_err();
    match &e {
        Error::Lookup {
            problem: LookupProblem::Ambiguous { candidates },
            ..
        } => assert_eq!(candidates.len(), 2),
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("id 21: \"gpu/compute\""));
}

#[tokio::test]
async fn forget_lookups_sends_again() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/operatingsystems")
        .match_query(os_search("RedHat 9.4"))
        .with_body(index(&format!("[{RHEL_94}]"), 1, 1, 1, None))
        .expect(2)
        .create_async()
        .await;
    let c = client(&server);
    c.operating_systems().lookup("RedHat 9.4").await.unwrap();
    c.forget_lookups();
    c.operating_systems().lookup("RedHat 9.4").await.unwrap();
    m.assert_async().await;
}

#[tokio::test]
async fn list_and_show() {
    let mut server = mockito::Server::new_async().await;
    let list = server
        .mock("GET", "/api/operatingsystems")
        .match_query(Matcher::Exact("page=1".into()))
        .with_body(index(&format!("[{RHEL_94}]"), 1, 1, 20, None))
        .expect(1)
        .create_async()
        .await;
    let show = server
        .mock("GET", "/api/media/9")
        .with_body(r#"{"path":"http://mirror/$version","os_family":"Redhat","created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC","name":"mirror","id":9,"operatingsystems":[{"id":3,"name":"RedHat","title":"RedHat 9.4"}]}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let all = c.operating_systems().list().all().await.unwrap();
    assert_eq!(all[0].fullname(), "RedHat 9.4");
    assert_eq!(c.media().show(9).send().await.unwrap().name, "mirror");
    list.assert_async().await;
    show.assert_async().await;
}

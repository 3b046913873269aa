//! Contract tests of users, roles, filters and user groups: what each sends, what it parses,
//! `role_ids` replacing the list while Foreman re-adds "Default role", and adding a group member.

use foreman_client::Error;
use foreman_client::hosts::Owner;
use foreman_client::roles::{NewFilter, NewRole, hosts_owned_by};
use foreman_client::usergroups::NewUsergroup;
use foreman_client::users::{NewUser, UserUpdate};
use mockito::Matcher;
use serde_json::json;

use crate::support::{BASIC, client, index};

const USER_12: &str = r#"{"id":12,"login":"cloud02","firstname":null,"lastname":null,"mail":"cloud02@lab.example","admin":false,"disabled":false,"auth_source_id":1,"auth_source_name":"Internal","timezone":null,"locale":null,"last_login_on":null,"created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC","effective_admin":false,"ssh_keys":[],"default_location":null,"locations":[{"id":2,"name":"lab"}],"default_organization":null,"organizations":[{"id":1,"name":"org"}],"cached_usergroups":[],"auth_source":{"id":1,"name":"Internal"},"mail_notifications":[],"roles":[{"name":"cloud02","id":7,"description":null,"origin":null}],"usergroups":[]}"#;

#[tokio::test]
async fn find_user_by_login_is_an_exact_search() {
    let mut server = mockito::Server::new_async().await;
    let m = server
        .mock("GET", "/api/users")
        .match_query(Matcher::AnyOf(vec![
            Matcher::Exact("search=login%20%3D%20%22cloud02%22&per_page=all".into()),
            Matcher::Exact("search=login%20%3D%20%22CLOUD02%22&per_page=all".into()),
        ]))
        .with_body(index(
            r#"[{"id":12,"login":"cloud02"},{"id":13,"login":"cloud020"}]"#,
            2,
            1,
            2,
            Some(r#"login = "cloud02""#),
        ))
        .expect(2)
        .create_async()
        .await;
    let c = client(&server);
    let found = c.users().find_by_login("cloud02").await.unwrap().unwrap();
    assert_eq!(found.id, 12);
    let again = c.users().find_by_login("CLOUD02").await.unwrap().unwrap();
    assert_eq!(again.id, 12);
    m.assert_async().await;

    server
        .mock("GET", "/api/users")
        .match_query(Matcher::UrlEncoded(
            "search".into(),
            r#"login = "nobody""#.into(),
        ))
        .with_body(index("[]", 0, 1, 0, None))
        .create_async()
        .await;
    assert!(c.users().find_by_login("nobody").await.unwrap().is_none());
}

#[tokio::test]
async fn create_user_and_change_password_keep_the_password_out_of_errors() {
    let mut server = mockito::Server::new_async().await;
    let create = server
        .mock("POST", "/api/users")
        .match_header("content-type", "application/json")
        .match_body(Matcher::Json(json!({"user": {
            "login": "cloud02", "mail": "cloud02@lab.example", "password": "rdu2@1234",
            "auth_source_id": 1, "role_ids": [7]
        }})))
        .with_status(201)
        .with_body(USER_12)
        .expect(1)
        .create_async()
        .await;
    let password = server
        .mock("PUT", "/api/users/12")
        .match_body(Matcher::Json(json!({"user": {"password": "rdu2@5678"}})))
        .with_status(422)
        // A server that echoes the password in its message.
        .with_body(r#"{"error":{"id":12,"errors":{"password":["rdu2@5678 is too short"]},"full_messages":["Password rdu2@5678 is too short"]}}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let user = c
        .users()
        .create(NewUser::new("cloud02", "cloud02@lab.example", "rdu2@1234").roles([7]))
        .send()
        .await
        .unwrap();
    assert_eq!(user.auth_source_name.as_deref(), Some("Internal"));
    let e = c
        .users()
        .set_password(12, "rdu2@5678")
        .send()
        .await
        .unwrap_err();
    assert!(e.is_validation());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("rdu2@5678"), "{shown}");
    assert!(!shown.contains(crate::support::PASSWORD), "{shown}");
    assert!(shown.contains("Password *** is too short"), "{shown}");
    create.assert_async().await;
    password.assert_async().await;
}

#[tokio::test]
async fn set_roles_replaces_the_list_and_tolerates_the_default_role() {
    let mut server = mockito::Server::new_async().await;
    let with_default = USER_12.replace(
        r#""roles":[{"name":"cloud02","id":7,"description":null,"origin":null}]"#,
        r#""roles":[{"name":"Default role","id":2,"description":null,"origin":null},{"name":"cloud02","id":7},{"name":"viewer","id":9}]"#,
    );
    let m = server
        .mock("PUT", "/api/users/12")
        .match_header("authorization", BASIC)
        .match_body(Matcher::Json(json!({"user": {"role_ids": [7, 9]}})))
        .with_body(with_default)
        .expect(1)
        .create_async()
        .await;
    let user = client(&server)
        .users()
        .set_roles(12, [9, 7, 9])
        .await
        .unwrap();
    m.assert_async().await;
    assert_eq!(
        user.assigned_role_ids(),
        Some(std::collections::BTreeSet::from([7, 9]))
    );
}

#[tokio::test]
async fn set_roles_reports_an_answer_that_does_not_show_them() {
    let mut server = mockito::Server::new_async().await;
    server
        .mock("PUT", "/api/users/12")
        .with_body(USER_12)
        .create_async()
        .await;
    let e = client(&server)
        .users()
        .set_roles(12, [7, 9])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Inconsistent { .. }), "{e}");
    assert!(e.to_string().contains("Default role"));
}

#[tokio::test]
async fn ensure_roles_reads_first_and_skips_a_useless_write() {
    let mut server = mockito::Server::new_async().await;
    let show = server
        .mock("GET", "/api/users/cloud02")
        .with_body(USER_12)
        .expect(2)
        .create_async()
        .await;
    let write = server
        .mock("PUT", "/api/users/12")
        .match_body(Matcher::Json(json!({"user": {"role_ids": [7, 8]}})))
        .with_body(USER_12.replace(
            r#""id":7,"description""#,
            r#""id":7},{"name":"x","id":8,"description""#,
        ))
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    let (_, written) = c.users().ensure_roles("cloud02", [7]).await.unwrap();
    assert!(!written);
    let (user, written) = c.users().ensure_roles("cloud02", [7, 8]).await.unwrap();
    assert!(written);
    assert_eq!(
        user.assigned_role_ids(),
        Some(std::collections::BTreeSet::from([7, 8]))
    );
    show.assert_async().await;
    write.assert_async().await;
}

#[tokio::test]
async fn current_user_update_and_delete() {
    let mut server = mockito::Server::new_async().await;
    let me = server
        .mock("GET", "/api/current_user")
        .with_body(r#"{"id":4,"login":"admin","admin":true}"#)
        .expect(1)
        .create_async()
        .await;
    let update = server
        .mock("PUT", "/api/users/12")
        .match_body(Matcher::Json(
            json!({"user": {"mail": "new@lab.example", "location_ids": [2]}}),
        ))
        .with_body(USER_12)
        .expect(1)
        .create_async()
        .await;
    let delete = server
        .mock("DELETE", "/api/users/cloud02")
        .with_body(USER_12)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    assert_eq!(c.users().current().send().await.unwrap().admin, Some(true));
    c.users()
        .update(
            12,
            UserUpdate::new().mail("new@lab.example").location_ids([2]),
        )
        .send()
        .await
        .unwrap();
    c.users().delete("cloud02").send().await.unwrap();
    for m in [me, update, delete] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn roles_and_owner_scoped_filters() {
    let mut server = mockito::Server::new_async().await;
    let find = server
        .mock("GET", "/api/roles")
        .match_query(Matcher::Exact(
            "search=name%20%3D%20%22cloud02%22&per_page=all".into(),
        ))
        .with_body(index(r#"[{"name":"cloud02","id":7,"description":null,"origin":null,"builtin":0,"cloned_from_id":null}]"#, 1, 1, 1, None))
        .expect(1)
        .create_async()
        .await;
    let create_role = server
        .mock("POST", "/api/roles")
        .match_body(Matcher::Json(
            json!({"role": {"name": "cloud03", "description": "cloud03 hosts"}}),
        ))
        .with_status(201)
        .with_body(
            r#"{"name":"cloud03","id":8,"description":"cloud03 hosts","origin":null,"builtin":0}"#,
        )
        .expect(1)
        .create_async()
        .await;
    let permissions = server
        .mock("GET", "/api/permissions")
        .match_query(Matcher::UrlEncoded(
            "search".into(),
            r#"name = "view_hosts""#.into(),
        ))
        .with_body(index(
            r#"[{"id":74,"name":"view_hosts","resource_type":"Host"}]"#,
            1,
            1,
            1,
            None,
        ))
        .expect(1)
        .create_async()
        .await;
    let create_filter = server
        .mock("POST", "/api/filters")
        .match_body(Matcher::Json(json!({"filter": {
            "role_id": 8, "permission_ids": [74], "search": "owner_type = User and owner_id = 12"
        }})))
        .with_status(201)
        .with_body(r#"{"search":"owner_type = User and owner_id = 12","resource_type_label":"Host","unlimited?":false,"created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC","override?":false,"id":51,"resource_type":"Host","role":{"name":"cloud03","id":8,"description":null,"origin":null},"permissions":[{"name":"view_hosts","id":74,"resource_type":"Host"}],"locations":[],"organizations":[]}"#)
        .expect(1)
        .create_async()
        .await;
    let of_role = server
        .mock("GET", "/api/filters")
        .match_query(Matcher::Exact(
            "search=role_id%20%3D%208&page=1&per_page=all".into(),
        ))
        .with_body(index(
            r#"[{"id":51,"search":"owner_type = User and owner_id = 12","resource_type":"Host"}]"#,
            1,
            1,
            1,
            None,
        ))
        .expect(1)
        .create_async()
        .await;

    let c = client(&server);
    assert_eq!(
        c.roles().find_by_name("cloud02").await.unwrap().unwrap().id,
        7
    );
    let role = c
        .roles()
        .create(NewRole::new("cloud03").description("cloud03 hosts"))
        .send()
        .await
        .unwrap();
    let view = c.permissions().lookup("view_hosts").await.unwrap();
    let filter = c
        .filters()
        .create(NewFilter::new(role.id, [view.id]).search(hosts_owned_by(Owner::User(12))))
        .send()
        .await
        .unwrap();
    assert_eq!(filter.unlimited, Some(false));
    assert_eq!(filter.role.unwrap().id, 8);
    let filters = c.filters().of_role(8).all().await.unwrap();
    assert_eq!(
        filters[0].search.as_deref(),
        Some("owner_type = User and owner_id = 12")
    );
    for m in [find, create_role, permissions, create_filter, of_role] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn usergroups_create_and_add_a_member() {
    let mut server = mockito::Server::new_async().await;
    let create = server
        .mock("POST", "/api/usergroups")
        .match_body(Matcher::Json(json!({"usergroup": {"name": "cloud02-admins", "role_ids": [7]}})))
        .with_status(201)
        .with_body(r#"{"admin":false,"name":"cloud02-admins","id":4,"users":[],"roles":[{"id":7,"name":"cloud02"}]}"#)
        .expect(1)
        .create_async()
        .await;
    let show = server
        .mock("GET", "/api/usergroups/4")
        .with_body(r#"{"admin":false,"created_at":"2024-05-01 10:00:00 UTC","updated_at":"2024-05-01 10:00:00 UTC","name":"cloud02-admins","id":4,"external_usergroups":[],"usergroups":[],"users":[{"id":5,"login":"alice","description":null}],"roles":[]}"#)
        .expect(2)
        .create_async()
        .await;
    let write = server
        .mock("PUT", "/api/usergroups/4")
        .match_body(Matcher::Json(json!({"usergroup": {"user_ids": [5, 12]}})))
        .with_body(r#"{"name":"cloud02-admins","id":4,"users":[{"id":5,"login":"alice"},{"id":12,"login":"cloud02"}]}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    c.usergroups()
        .create(NewUsergroup::new("cloud02-admins").roles([7]))
        .send()
        .await
        .unwrap();
    let group = c.usergroups().add_user(4, 12).await.unwrap();
    assert!(group.user_ids().unwrap().contains(&12));
    // Already a member: read, no write.
    let group = c.usergroups().add_user(4, 5).await.unwrap();
    assert_eq!(group.user_ids().unwrap().len(), 1);
    for m in [create, show, write] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn usergroup_find_set_and_delete() {
    let mut server = mockito::Server::new_async().await;
    let find = server
        .mock("GET", "/api/usergroups")
        .match_query(Matcher::UrlEncoded("search".into(), r#"name = "g""#.into()))
        .with_body(index(
            r#"[{"id":4,"name":"g"},{"id":5,"name":"g2"}]"#,
            2,
            1,
            2,
            None,
        ))
        .expect(1)
        .create_async()
        .await;
    let set = server
        .mock("PUT", "/api/usergroups/4")
        .match_body(Matcher::Json(json!({"usergroup": {"user_ids": [1, 2]}})))
        .with_body(r#"{"id":4,"name":"g","users":[{"id":1},{"id":2}]}"#)
        .expect(1)
        .create_async()
        .await;
    let delete = server
        .mock("DELETE", "/api/usergroups/4")
        .with_body(r#"{"id":4,"name":"g"}"#)
        .expect(1)
        .create_async()
        .await;
    let c = client(&server);
    assert_eq!(
        c.usergroups().find_by_name("g").await.unwrap().unwrap().id,
        4
    );
    c.usergroups().set_users(4, [2, 1]).send().await.unwrap();
    c.usergroups().delete(4).send().await.unwrap();
    for m in [find, set, delete] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn the_remaining_rbac_endpoints() {
    let mut server = mockito::Server::new_async().await;
    let role = r#"{"name":"cloud02","id":7,"description":null,"origin":null,"builtin":0,"cloned_from_id":null,"filters":[{"id":51}]}"#;
    let filter = r#"{"search":"owner_type = User and owner_id = 12","unlimited?":false,"override?":false,"id":51,"resource_type":"Host","role":{"name":"cloud02","id":7},"permissions":[{"name":"view_hosts","id":74}]}"#;
    let mocks = vec![
        server
            .mock("GET", "/api/users")
            .match_query(Matcher::Exact("search=login%20~%20cloud&page=1".into()))
            .with_body(index(r#"[{"id":12,"login":"cloud02"}]"#, 1, 1, 20, None))
            .expect(1)
            .create_async()
            .await,
        server
            .mock("GET", "/api/roles")
            .match_query(Matcher::Exact("per_page=5".into()))
            .with_body(index(&format!("[{role}]"), 1, 1, 5, None))
            .expect(1)
            .create_async()
            .await,
        server
            .mock("GET", "/api/roles/7")
            .with_body(role)
            .expect(1)
            .create_async()
            .await,
        server
            .mock("DELETE", "/api/roles/7")
            .with_body(role)
            .expect(1)
            .create_async()
            .await,
        server
            .mock("GET", "/api/filters")
            .match_query(Matcher::Exact("search=resource%20%3D%20Host".into()))
            .with_body(index(&format!("[{filter}]"), 1, 1, 20, None))
            .expect(1)
            .create_async()
            .await,
        server
            .mock("GET", "/api/filters/51")
            .with_body(filter)
            .expect(1)
            .create_async()
            .await,
        server
            .mock("PUT", "/api/filters/51")
            .match_header("content-type", "application/json")
            .match_body(Matcher::Json(json!({"filter": {
                "role_id": 7, "permission_ids": [74, 76], "search": "owner_type = User and owner_id = 12"
            }})))
            .with_body(filter)
            .expect(1)
            .create_async()
            .await,
        server
            .mock("DELETE", "/api/filters/51")
            .with_body(filter)
            .expect(1)
            .create_async()
            .await,
        server
            .mock("GET", "/api/usergroups")
            .with_body(index(r#"[{"id":4,"name":"g"}]"#, 1, 1, 20, None))
            .expect(1)
            .create_async()
            .await,
    ];
    let c = client(&server);
    let users = c
        .users()
        .list()
        .search("login ~ cloud")
        .all()
        .await
        .unwrap();
    assert_eq!(users[0].id, 12);
    let roles = c
        .roles()
        .list()
        .per_page(foreman_client::PerPage::Count(5))
        .send()
        .await
        .unwrap();
    assert_eq!(roles.results[0].name, "cloud02");
    assert_eq!(
        c.roles().show(7).send().await.unwrap().filters.unwrap()[0].id,
        51
    );
    c.roles().delete(7).send().await.unwrap();
    let filters = c
        .filters()
        .list()
        .search("resource = Host")
        .send()
        .await
        .unwrap();
    assert_eq!(filters.results[0].id, 51);
    assert_eq!(
        c.filters().show(51).send().await.unwrap().permission_ids(),
        Some(vec![74])
    );
    c.filters()
        .update(
            51,
            NewFilter::new(7, [74, 76]).search(hosts_owned_by(Owner::User(12))),
        )
        .send()
        .await
        .unwrap();
    c.filters().delete(51).send().await.unwrap();
    assert_eq!(c.usergroups().list().send().await.unwrap().results[0].id, 4);
    for m in &mocks {
        m.assert_async().await;
    }
}

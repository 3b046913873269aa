//! Parsing of Foreman 1.22, 2.5 and 3.12 answers (hand-written fixtures in the documented
//! shapes, see `tests/fixtures/README.md`) with the crate's public, IO-free parsers.

use std::collections::BTreeSet;
use std::path::PathBuf;

use foreman_client::catalog::{
    Architecture, Hostgroup, Medium, OperatingSystem, PartitionTable, Permission, pick_one,
};
use foreman_client::hosts::{
    Build, HostSummary, Owner, PowerAction, PowerHost, ShowHost, ShowPowerState,
};
use foreman_client::pagination::ListRequest;
use foreman_client::parameters::{ParameterType, ShowParameter};
use foreman_client::roles::{Role, ShowFilter};
use foreman_client::status::{ShowPing, ShowStatus};
use foreman_client::usergroups::ShowUsergroup;
use foreman_client::users::{ShowUser, User};
use foreman_client::{ApiErrorKind, Endpoint, Page, error::ErrorBody};

const VERSIONS: [&str; 3] = ["1.22", "2.5", "3.12"];

fn fixture(version: &str, name: &str) -> Option<Vec<u8>> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        &format!("foreman-{version}"),
        &format!("{name}.json"),
    ]
    .iter()
    .collect();
    std::fs::read(path).ok()
}

fn load(version: &str, name: &str) -> Vec<u8> {
    fixture(version, name).unwrap_or_else(|| panic!("fixture foreman-{version}/{name}.json"))
}

fn list<T: serde::de::DeserializeOwned>(version: &str, name: &str) -> Page<T> {
    ListRequest::<T>::new("/api/x")
        .parse(&load(version, name))
        .unwrap_or_else(|e| panic!("foreman-{version}/{name}: {e}"))
}

#[test]
fn hosts_of_every_version() {
    for v in VERSIONS {
        let page = list::<foreman_client::hosts::Host>(v, "hosts_index");
        assert_eq!(
            (page.total, page.subtotal, page.per_page),
            (Some(120), Some(2), Some(2)),
            "{v}"
        );
        let building: Vec<_> = page
            .results
            .iter()
            .filter(|h| h.build_mode() == Some(Build::Enabled))
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(building, vec!["node07.lab.example"], "{v}");
        assert!(page.results.iter().all(|h| h.parameters.is_none()), "{v}");

        let thin = list::<HostSummary>(v, "hosts_index_thin");
        assert_eq!(thin.results.len(), 2, "{v}");
        assert_eq!(thin.matching(), 2, "{v}");

        let host = ShowHost::new(7)
            .parse(&load(v, "host_show"))
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(host.owner(), Some(Owner::User(12)), "{v}");
        assert_eq!((host.ptable_id, host.medium_id), (Some(4), Some(9)), "{v}");
        assert_eq!(host.hostgroup_title.as_deref(), Some("base/compute"), "{v}");
        assert_eq!(host.build_status, Some(1), "{v}");
        let disk = host.parameter("install_disk").unwrap();
        assert_eq!(
            (disk.kind(), disk.value_text().as_str()),
            (ParameterType::Integer, "0"),
            "{v}"
        );
        assert_eq!(host.all_parameters.as_ref().unwrap().len(), 3, "{v}");
        assert_eq!(host.display_name.is_some(), v != "1.22", "{v}");

        let power = PowerHost::new(7, PowerAction::On)
            .parse(&load(v, "power"))
            .unwrap();
        assert_eq!(power.accepted(), Some(true), "{v}");
        if let Some(body) = fixture(v, "power_state") {
            let state = ShowPowerState::new(7).parse(&body).unwrap();
            assert_eq!(state.state.as_deref(), Some("on"), "{v}");
        }
    }
}

#[test]
fn parameters_of_every_version() {
    for v in VERSIONS {
        let page = list::<foreman_client::parameters::Parameter>(v, "parameters_index");
        assert_eq!(page.results[0].value_text(), "cloud02", "{v}");
        let p = ShowParameter::new(7, "root_pw_hash")
            .parse(&load(v, "parameter_show"))
            .unwrap();
        assert_eq!(p.id, 33, "{v}");
        // 1.22 does not say whether a value is hidden.
        assert_eq!(p.hidden_value, (v != "1.22").then_some(true), "{v}");
    }
}

#[test]
fn rbac_objects_of_every_version() {
    for v in VERSIONS {
        let users = list::<User>(v, "users_index");
        assert_eq!(users.results[1].login, "cloud02", "{v}");
        assert_eq!(users.results[1].assigned_role_ids(), None, "{v}");
        let user = ShowUser::new(12).parse(&load(v, "user_show")).unwrap();
        // 1.22 lists "Default role"; later versions leave it out. Either way: only role 7.
        assert_eq!(user.assigned_role_ids(), Some(BTreeSet::from([7])), "{v}");
        assert_eq!(user.disabled.is_some(), v != "1.22", "{v}");
        assert_eq!(
            user.locations.as_ref().unwrap()[0].name.as_deref(),
            Some("lab"),
            "{v}"
        );

        let roles = list::<Role>(v, "roles_index");
        assert_eq!(
            (roles.results[0].id, roles.results[0].builtin),
            (7, Some(0)),
            "{v}"
        );
        let filter = ShowFilter::new(51).parse(&load(v, "filter_show")).unwrap();
        assert_eq!(
            filter.search.as_deref(),
            Some("owner_type = User and owner_id = 12"),
            "{v}"
        );
        assert_eq!(filter.permission_ids(), Some(vec![74, 76]), "{v}");
        assert_eq!(filter.unlimited, Some(false), "{v}");
        let group = ShowUsergroup::new(4)
            .parse(&load(v, "usergroup_show"))
            .unwrap();
        assert_eq!(group.user_ids(), Some(BTreeSet::from([12])), "{v}");
    }
}

#[test]
fn catalog_of_every_version() {
    for v in VERSIONS {
        let os = list::<OperatingSystem>(v, "operatingsystems_index");
        let title = os.results[0].title.clone().unwrap();
        assert_eq!(pick_one(&title, os.results).unwrap().id, 3, "{v}");
        let pt = list::<PartitionTable>(v, "ptables_index");
        assert_eq!(
            pick_one("Kickstart default", pt.results).unwrap().id,
            4,
            "{v}"
        );
        let media = list::<Medium>(v, "media_index");
        assert_eq!(pick_one("RHEL mirror", media.results).unwrap().id, 9, "{v}");
        let arch = list::<Architecture>(v, "architectures_index");
        assert_eq!(pick_one("x86_64", arch.results).unwrap().id, 1, "{v}");
        let groups = list::<Hostgroup>(v, "hostgroups_index");
        assert_eq!(
            pick_one("base/compute", groups.results).unwrap().ptable_id,
            Some(4),
            "{v}"
        );
        let perms = list::<Permission>(v, "permissions_index");
        assert_eq!(pick_one("view_hosts", perms.results).unwrap().id, 74, "{v}");
    }
}

#[test]
fn status_ping_and_errors_of_every_version() {
    for v in VERSIONS {
        let status = ShowStatus.parse(&load(v, "status")).unwrap();
        assert!(status.version.unwrap().starts_with(v), "{v}");
        if let Some(body) = fixture(v, "ping") {
            let ping = ShowPing.parse(&body).unwrap();
            assert_eq!(ping.database_active(), Some(true), "{v}");
            assert!(ping.failing().is_empty(), "{v}");
        }
        let e404 = ErrorBody::parse(&load(v, "error_404"));
        assert!(e404.message.unwrap().contains("not found"), "{v}");
        let e422 = ErrorBody::parse(&load(v, "error_422"));
        assert_eq!(
            e422.full_messages,
            vec!["Operating system can't be blank"],
            "{v}"
        );
        let e403 = ErrorBody::parse(&load(v, "error_403"));
        assert_eq!(e403.missing_permissions, vec!["edit_hosts"], "{v}");
        let e401 = ErrorBody::parse(&load(v, "error_401"));
        assert!(
            e401.message.unwrap().starts_with("Unable to authenticate"),
            "{v}"
        );
    }
    assert_eq!(
        ApiErrorKind::of(http_status(503)),
        ApiErrorKind::Unavailable
    );
}

fn http_status(code: u16) -> http::StatusCode {
    http::StatusCode::from_u16(code).unwrap()
}

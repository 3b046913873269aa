//! Scenarios against testkit's fake Foreman over loopback HTTPS (verified with the lab's CA):
//! a full host re-provision, RBAC for a cloud, lookups coalescing (counted by the lab), the
//! session cookie, pagination across pages, TLS settings and Foreman's errors.

use std::sync::Arc;
use std::time::Duration;

use foreman_client::hosts::{Build, HostUpdate, Owner};
use foreman_client::parameters::{NewParameter, UpsertOutcome, Visibility};
use foreman_client::roles::{NewFilter, NewRole, hosts_owned_by};
use foreman_client::usergroups::NewUsergroup;
use foreman_client::users::NewUser;
use foreman_client::{
    ClientConfig, Credentials, Error, ForemanClient, ForemanUrl, PerPage, SessionPolicy,
    TlsVerification, TransportError,
};
use testkit::lab::{HostType, interfaces_order};
use testkit::machine::{OverrideEnabled, OverrideTarget, ResetType};
use testkit::{Lab, LabConfig};

/// A lab and the file holding its CA certificate.
struct Fixture {
    lab: Lab,
    _dir: tempfile::TempDir,
    ca: std::path::PathBuf,
}

async fn start(config: LabConfig) -> Fixture {
    let lab = Lab::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("lab-ca.pem");
    std::fs::write(&ca, lab.ca_pem()).unwrap();
    Fixture { lab, _dir: dir, ca }
}

async fn lab(hosts: usize) -> Fixture {
    start(LabConfig {
        hosts,
        ..LabConfig::default()
    })
    .await
}

impl Fixture {
    fn config(&self, credentials: Credentials) -> ClientConfig {
        let mut config = ClientConfig::new(
            ForemanUrl::parse(&self.lab.foreman_url()).unwrap(),
            credentials,
        );
        config.transport.tls = TlsVerification::CaBundle(self.ca.clone());
        config
    }

    fn as_user(&self, login: &str, password: &str) -> ForemanClient {
        ForemanClient::new(self.config(Credentials::password(login, password))).unwrap()
    }

    fn admin(&self) -> ForemanClient {
        let admin = &self.lab.config().foreman_admin;
        self.as_user(&admin.username, &admin.password)
    }

    fn host_name(&self, index: usize) -> String {
        self.lab.inventory().hosts[index].name.clone()
    }

    fn count(&self, endpoint: &str) -> u64 {
        self.lab.metrics().endpoint(&format!("foreman {endpoint}"))
    }

    /// Every machine boots once from the network (what the BMC step of a move does).
    fn network_boot_all(&self) {
        let shared = self.lab.shared().clone();
        self.lab.with_state(|state| {
            for machine in &mut state.machines {
                machine.boot_order = interfaces_order(&machine.model, HostType::Foreman);
                machine.override_target = OverrideTarget::Pxe;
                machine.override_enabled = OverrideEnabled::Once;
                machine
                    .reset(ResetType::ForceRestart, shared.physics())
                    .unwrap();
            }
        });
    }
}

#[tokio::test]
async fn a_full_host_reprovision() {
    let mut config = LabConfig {
        hosts: 3,
        time_scale: 0.001,
        ..LabConfig::default()
    };
    config.model.foreman.install = 1000.0;
    let f = start(config).await;
    let client = f.admin();
    let host = f.host_name(0);

    // The tenant that will own the host.
    let user = client
        .users()
        .create(NewUser::new("cloud02", "cloud02@lab.example", "rdu2@1234"))
        .send()
        .await
        .unwrap();
    // Catalog lookups by exact name ("RHEL 9 mirror", not a substring match).
    let os = client
        .operating_systems()
        .lookup("RedHat 9.4")
        .await
        .unwrap();
    let ptable = client
        .partition_tables()
        .lookup("Kickstart default")
        .await
        .unwrap();
    let medium = client.media().lookup("RHEL 9 mirror").await.unwrap();
    // Host parameters: created, then left alone when asked again.
    let params = client.hosts().parameters(host.as_str());
    for p in [
        NewParameter::new("cloud", "cloud02"),
        NewParameter::new("ticket", "1234").visibility(Visibility::Hidden),
    ] {
        assert_eq!(
            params.upsert(p.clone()).await.unwrap().outcome,
            UpsertOutcome::Created
        );
        assert_eq!(
            params.upsert(p).await.unwrap().outcome,
            UpsertOutcome::Unchanged
        );
    }
    // One PUT sets OS, partition table, medium, owner and build mode.
    let changes = HostUpdate::new()
        .operatingsystem(os.id)
        .ptable(ptable.id)
        .medium(medium.id)
        .owner(Owner::User(user.id))
        .build(Build::Enabled);
    let updated = client
        .hosts()
        .update(host.as_str(), changes)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.build, Some(true));
    assert_eq!(updated.operatingsystem_id, Some(os.id));
    assert_eq!(updated.ptable_id, Some(ptable.id));
    assert_eq!(updated.medium_id, Some(medium.id));
    assert_eq!(updated.owner(), Some(Owner::User(user.id)));
    assert_eq!(f.count("PUT /api/hosts/:id"), 1);

    // The BMC step, then wait for the install: one thin query for every waiting host.
    f.network_boot_all();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut polls = 0;
    loop {
        let waiting = client
            .hosts()
            .list_thin()
            .search("build = true")
            .per_page(PerPage::All)
            .all()
            .await
            .unwrap();
        polls += 1;
        if waiting.is_empty() {
            break;
        }
        assert_eq!(waiting[0].name, host);
        assert!(
            tokio::time::Instant::now() < deadline,
            "the install never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(polls >= 1);
    let built = client.hosts().show(host.as_str()).send().await.unwrap();
    assert_eq!(built.build, Some(false));
    assert!(built.installed_at.is_some());
    let shown = built.parameters.unwrap();
    assert!(
        shown
            .iter()
            .any(|p| p.name == "cloud" && p.value_text() == "cloud02")
    );
    let metrics = f.lab.metrics();
    assert_eq!(metrics.host(&host).installs, 1);
    assert_eq!(metrics.host(&f.host_name(1)).installs, 0);
    assert_eq!(f.count("GET /api/hosts"), polls);
}

#[tokio::test]
async fn rbac_for_a_cloud_shows_the_tenant_only_its_hosts() {
    let f = lab(5).await;
    let admin = f.admin();
    let user = admin
        .users()
        .create(NewUser::new("cloud03", "cloud03@lab.example", "rdu2@5678"))
        .send()
        .await
        .unwrap();
    assert!(
        admin
            .users()
            .find_by_login("cloud03")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        admin
            .roles()
            .find_by_name("cloud03")
            .await
            .unwrap()
            .is_none()
    );
    let role = admin
        .roles()
        .create(NewRole::new("cloud03").description("hosts of cloud03"))
        .send()
        .await
        .unwrap();
    let view = admin.permissions().lookup("view_hosts").await.unwrap();
    let edit = admin.permissions().lookup("edit_hosts").await.unwrap();
    let filter = admin
        .filters()
        .create(
            NewFilter::new(role.id, [view.id, edit.id])
                .search(hosts_owned_by(Owner::User(user.id))),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(filter.unlimited, Some(false));
    assert_eq!(
        admin.filters().of_role(role.id).all().await.unwrap().len(),
        1
    );
    // role_ids replaces the list; Foreman keeps its Default role on top.
    let assigned = admin.users().set_roles(user.id, [role.id]).await.unwrap();
    assert_eq!(
        assigned.assigned_role_ids(),
        Some(std::collections::BTreeSet::from([role.id]))
    );
    let (_, written) = admin
        .users()
        .ensure_roles(user.id, [role.id])
        .await
        .unwrap();
    assert!(!written);
    // Give the tenant two hosts.
    let mine = [f.host_name(1), f.host_name(3)];
    for host in &mine {
        admin
            .hosts()
            .update(host.as_str(), HostUpdate::new().owner(Owner::User(user.id)))
            .send()
            .await
            .unwrap();
    }
    // A user group holding the tenant user, added without replacing other members.
    let group = admin
        .usergroups()
        .create(NewUsergroup::new("cloud03-team").users([4]))
        .send()
        .await
        .unwrap();
    let group = admin
        .usergroups()
        .add_user(group.id, user.id)
        .await
        .unwrap();
    assert_eq!(
        group.user_ids(),
        Some(std::collections::BTreeSet::from([4, user.id]))
    );

    let tenant = f.as_user("cloud03", "rdu2@5678");
    let mut seen: Vec<String> = tenant
        .hosts()
        .list_thin()
        .per_page(PerPage::All)
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.name)
        .collect();
    seen.sort();
    assert_eq!(seen, mine.to_vec());
    let hidden = tenant
        .hosts()
        .show(f.host_name(0).as_str())
        .send()
        .await
        .unwrap_err();
    assert!(hidden.is_not_found(), "{hidden}");
    let forbidden = tenant.users().list().send().await.unwrap_err();
    assert!(forbidden.is_forbidden());
    assert_eq!(
        forbidden.api().unwrap().missing_permissions,
        vec!["view_users"]
    );
    // The tenant may put its own host in build mode.
    let own = tenant
        .hosts()
        .update(mine[0].as_str(), HostUpdate::new().build(Build::Enabled))
        .send()
        .await
        .unwrap();
    assert_eq!(own.build, Some(true));
    // A new password works at once.
    admin
        .users()
        .set_password(user.id, "rdu2@9999")
        .send()
        .await
        .unwrap();
    let renewed = f.as_user("cloud03", "rdu2@9999");
    assert_eq!(
        renewed.users().current().send().await.unwrap().login,
        "cloud03"
    );
    let old = f.as_user("cloud03", "rdu2@5678");
    assert!(old.status().send().await.unwrap_err().is_unauthorized());
}

#[tokio::test]
async fn a_hundred_concurrent_lookups_are_one_request() {
    let f = lab(1).await;
    let client = Arc::new(f.admin());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            client.operating_systems().lookup("RHEL 9.6").await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().id, 5);
    }
    assert_eq!(f.count("GET /api/operatingsystems"), 1);
    // Partition tables: a different cache, likewise one request for many callers.
    let results = futures_join(50, || {
        let client = client.clone();
        async move {
            client
                .partition_tables()
                .lookup("Kickstart default thin")
                .await
        }
    })
    .await;
    assert!(results.iter().all(|r| r.as_ref().unwrap().id == 2));
    assert_eq!(f.count("GET /api/ptables"), 1);
    // Unknown and substring-only names are errors, never "the first one".
    let e = client.media().lookup("CentOS Stream 9").await.unwrap_err();
    assert!(matches!(e, Error::Lookup { .. }), "{e}");
    assert_eq!(client.media().lookup("CentOS Stream").await.unwrap().id, 1);
}

async fn futures_join<F, Fut, T>(n: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = (0..n).map(|_| tokio::spawn(make())).collect();
    let mut out = Vec::with_capacity(n);
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_session_cookie_spares_password_checks() {
    let f = lab(2).await;
    let client = Arc::new(f.admin());
    let results = futures_join(20, || {
        let client = client.clone();
        async move { client.status().send().await }
    })
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert!(client.has_session_cookie());
    let auth = f.lab.metrics().foreman_auth;
    assert_eq!(auth.get("password").copied(), Some(1), "{auth:?}");
    assert_eq!(auth.get("session").copied(), Some(19), "{auth:?}");

    let mut config = f.config(Credentials::password("admin", "changeme"));
    config.session = SessionPolicy::Stateless;
    let stateless = ForemanClient::new(config).unwrap();
    stateless.status().send().await.unwrap();
    stateless.status().send().await.unwrap();
    assert_eq!(
        f.lab.metrics().foreman_auth.get("password").copied(),
        Some(3)
    );
}

#[tokio::test]
async fn pages_are_walked_across_the_whole_fleet() {
    let f = lab(25).await;
    let client = f.admin();
    let all = client
        .hosts()
        .list()
        .per_page(PerPage::Count(10))
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 25);
    let mut ids: Vec<u64> = all.iter().map(|h| h.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 25);
    assert_eq!(f.count("GET /api/hosts"), 3);
    let first = client.hosts().list().send().await.unwrap();
    assert_eq!((first.results.len(), first.matching()), (20, 25));
    let one = client
        .hosts()
        .list()
        .search(format!("name = {}", f.host_name(7)))
        .send()
        .await
        .unwrap();
    assert_eq!(one.results.len(), 1);
    assert_eq!(one.results[0].name, f.host_name(7));
}

#[tokio::test]
async fn tls_is_verified_unless_told_otherwise() {
    let f = lab(1).await;
    let url = ForemanUrl::parse(&f.lab.foreman_url()).unwrap();
    let creds = Credentials::password("admin", "changeme");
    // Platform roots only: the lab's CA is unknown.
    let mut config = ClientConfig::new(url.clone(), creds.clone());
    config.transport.tls = TlsVerification::Platform;
    match ForemanClient::new(config) {
        Ok(client) => {
            let e = client.status().send().await.unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::Transport {
                        source: TransportError::Connect { .. },
                        ..
                    }
                ),
                "{e}"
            );
        }
        // A machine without any platform root cannot even build the verifier.
        Err(e) => assert!(matches!(e, Error::Config { .. }), "{e}"),
    }
    // The explicit opt-out.
    let mut config = ClientConfig::new(url, creds);
    config.transport.tls = TlsVerification::Insecure;
    let status = ForemanClient::new(config)
        .unwrap()
        .status()
        .send()
        .await
        .unwrap();
    assert_eq!(status.api_version, Some(2));
    // A CA bundle that is not a certificate.
    let mut config = f.config(Credentials::password("admin", "changeme"));
    let junk = f.ca.with_file_name("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    config.transport.tls = TlsVerification::CaBundle(junk);
    assert!(matches!(
        ForemanClient::new(config),
        Err(Error::Config { .. })
    ));
}

#[tokio::test]
async fn foremans_errors_come_through_typed() {
    let f = lab(2).await;
    let client = f.admin();
    let missing = client
        .hosts()
        .show("nosuch.lab.example")
        .send()
        .await
        .unwrap_err();
    assert!(missing.is_not_found());
    let bad_name = client
        .hosts()
        .update(
            f.host_name(0).as_str(),
            HostUpdate::new().operatingsystem("No Such OS 1.0"),
        )
        .send()
        .await
        .unwrap_err();
    assert!(bad_name.is_validation(), "{bad_name}");
    let wrong = f.as_user("admin", "wrong-password");
    let e = wrong.status().send().await.unwrap_err();
    assert!(e.is_unauthorized());
    assert!(!format!("{e} {e:?}").contains("wrong-password"));
    let ping = client.ping().send().await.unwrap();
    assert_eq!(ping.database_active(), Some(true));
}

#[tokio::test]
async fn parameters_are_set_inside_the_host_update() {
    let f = lab(1).await;
    let client = f.admin();
    let name = f.host_name(0);
    let hosts = client.hosts();
    let host = hosts.show(name.as_str()).send().await.unwrap();
    assert!(host.parameter("quads_cloud").is_none());
    // Two created and build mode set in one PUT; the answer shows them.
    let created = hosts
        .update(
            host.id,
            HostUpdate::new()
                .build(Build::Enabled)
                .set_parameter(&host, NewParameter::new("quads_cloud", "cloud02"))
                .set_parameter(&host, NewParameter::new("quads_ticket", "1000")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.build, Some(true));
    assert_eq!(created.parameter("quads_cloud").unwrap().value, "cloud02");
    assert_eq!(created.parameter("quads_ticket").unwrap().value, "1000");
    // Changed by id, one kept, one removed: the parameters read back as the answer said.
    let ticket_id = created.parameter("quads_ticket").unwrap().id;
    let changed = hosts
        .update(
            host.id,
            HostUpdate::new()
                .set_parameter(&created, NewParameter::new("quads_cloud", "cloud03"))
                .set_parameter(&created, NewParameter::new("quads_owner", "alice"))
                .remove_parameter(ticket_id),
        )
        .send()
        .await
        .unwrap();
    let read = hosts.show(host.id).send().await.unwrap();
    assert_eq!(read.parameters, changed.parameters);
    let mut now: Vec<(String, String)> = read
        .parameters
        .iter()
        .flatten()
        .map(|p| (p.name.clone(), p.value_text()))
        .collect();
    now.sort();
    assert_eq!(
        now,
        [("quads_cloud", "cloud03"), ("quads_owner", "alice")]
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    assert_eq!(
        read.parameter("quads_cloud").unwrap().id,
        created.parameter("quads_cloud").unwrap().id,
        "an update by id keeps the parameter"
    );
    // Creating a name the host already has is Foreman's 422, not a second parameter.
    let taken = hosts
        .update(
            host.id,
            HostUpdate::new().add_parameter(NewParameter::new("quads_cloud", "cloud04")),
        )
        .send()
        .await
        .unwrap_err();
    assert!(taken.is_validation(), "{taken}");
    // A parameter id the host does not have (removed meanwhile) is not found.
    let gone = hosts
        .update(
            host.id,
            HostUpdate::new().update_parameter(ticket_id, NewParameter::new("quads_ticket", "1")),
        )
        .send()
        .await
        .unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
    assert_eq!(f.count("PUT /api/hosts/:id"), 4);
    assert_eq!(f.count("POST /api/hosts/:host_id/parameters"), 0);
}

#[tokio::test]
async fn many_hosts_are_read_with_their_parameters_in_one_request() {
    let f = lab(3).await;
    let client = f.admin();
    let (a, c) = (f.host_name(0), f.host_name(2));
    client
        .hosts()
        .parameters(a.as_str())
        .upsert(NewParameter::new("quads_cloud", "cloud02"))
        .await
        .unwrap();
    let mut hosts = client
        .hosts()
        .list_with_parameters()
        .search_for(foreman_client::Search::one_of("name", &[a.as_str(), c.as_str()]).unwrap())
        .per_page(PerPage::All)
        .all()
        .await
        .unwrap();
    hosts.sort_by(|x, y| x.name.cmp(&y.name));
    assert_eq!(
        hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        [a.as_str(), c.as_str()]
    );
    // each row is what a show would say, parameters included
    for host in &hosts {
        let shown = client.hosts().show(host.id).send().await.unwrap();
        assert_eq!(host.parameters, shown.parameters, "{}", host.name);
        assert_eq!(host.build, shown.build);
        assert_eq!(host.owner(), shown.owner());
        assert_eq!(
            (host.operatingsystem_id, host.ptable_id, host.medium_id),
            (shown.operatingsystem_id, shown.ptable_id, shown.medium_id)
        );
    }
    assert_eq!(hosts[0].parameter("quads_cloud").unwrap().value, "cloud02");
    assert_eq!(f.count("GET /api/hosts"), 1);
}

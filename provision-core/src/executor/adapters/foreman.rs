//! [`ForemanPort`] over `foreman-client`: the cloud user (user, role, owner filter, checked by
//! logging in as it), host reads, cached catalog lookups, parameter upserts, the one host update
//! and the thin `build = true` listing. Each request is retried briefly when its error proves
//! a retry safe (reads, idempotent writes, refusals that applied nothing).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use foreman_client::hosts::{Build, Host, HostUpdate, Owner};
use foreman_client::parameters::NewParameter;
use foreman_client::roles::{NewFilter, NewRole, hosts_owned_by};
use foreman_client::users::{AccountState, NewUser, UserUpdate};
use foreman_client::{
    ClientConfig, Credentials, ForemanClient, ForemanUrl, PerPage, Search, Transport,
};
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::executor::adapters::host_reads::BatchedReads;
use crate::executor::config::{HostReads, HostUpdateStyle, Lookups, Policy};
use crate::executor::ports::{
    BuildIds, CloudUser, CloudUserSpec, ForemanHost, ForemanPort, HostSettings, PortError,
    RetiredUser, RetiredUserSpec, TenantView,
};
use crate::model::HostName;
use crate::retry::{Idempotency, Jitter, RetryError, RetryPolicy, Retryable, retry};

/// Foreman through `foreman-client`.
#[derive(Debug, Clone)]
pub struct ForemanAdapter {
    client: ForemanClient,
    transport: Arc<dyn Transport>,
    url: ForemanUrl,
    requests: RetryPolicy,
    lookups: Lookups,
    host_update: HostUpdateStyle,
    /// Batched host reads (none: one request per host).
    host_reads: Option<Arc<BatchedReads>>,
}

/// How long a batch of host reads gathers names, in real time at time scale 1.
const HOST_READ_WINDOW: Duration = Duration::from_millis(50);

fn port_error(e: &foreman_client::Error) -> PortError {
    if e.is_retryable() {
        PortError::retryable(e.to_string())
    } else {
        PortError::fatal(e.to_string())
    }
}

impl ForemanAdapter {
    /// An adapter over `client`; `transport` and `url` are used to log in as a cloud's user
    /// (give the same limited transport the client uses).
    #[must_use]
    pub fn new(client: ForemanClient, transport: Arc<dyn Transport>) -> Self {
        let url = client.url().clone();
        Self {
            client,
            transport,
            url,
            requests: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_millis(200),
                max_backoff: Duration::from_secs(5),
                jitter: Jitter::Full,
                ..RetryPolicy::default()
            },
            lookups: Lookups::default(),
            host_update: HostUpdateStyle::default(),
            host_reads: Some(Arc::new(BatchedReads::new(HOST_READ_WINDOW))),
        }
    }

    /// Follows `policy`'s lookups (cached or per host) and host-update style (one `PUT` or four).
    #[must_use]
    pub fn with_policy(mut self, policy: &Policy) -> Self {
        self.lookups = policy.lookups;
        self.host_update = policy.host_update;
        self.host_reads = match policy.host_reads {
            HostReads::Batched => self
                .host_reads
                .or_else(|| Some(Arc::new(BatchedReads::new(HOST_READ_WINDOW)))),
            HostReads::PerHost => None,
        };
        self
    }

    /// Backoffs between retried requests multiplied by `time_scale` (a simulated lab's).
    #[must_use]
    pub fn with_time_scale(mut self, time_scale: f64) -> Self {
        self.requests = self.requests.scaled(time_scale);
        if let Some(reads) = &self.host_reads {
            let window = crate::time::scale_duration(reads.window(), time_scale);
            self.host_reads = Some(Arc::new(BatchedReads::new(window)));
        }
        self
    }

    /// One host by name, with its parameters; `None` when Foreman has no such host (or does
    /// not show it to the API user).
    async fn show_host(&self, name: &HostName) -> Result<Option<Host>, PortError> {
        let c = &self.client;
        self.call(Idempotency::Read, |_| async move {
            unless_not_found(c.hosts().show(name.as_str()).send().await)
        })
        .await
    }

    /// The hosts of `names` Foreman shows, with their parameters, in one search.
    async fn search_hosts(&self, names: &[String]) -> Result<HashMap<String, Host>, PortError> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let search = Search::one_of("name", &names).map_err(|e| port_error(&e))?;
        let c = &self.client;
        let hosts = self
            .call(Idempotency::Read, |_| {
                c.hosts()
                    .list_with_parameters()
                    .search_for(search.clone())
                    .per_page(PerPage::All)
                    .all()
            })
            .await?;
        Ok(hosts.into_iter().map(|h| (h.name.clone(), h)).collect())
    }

    /// One host read as part of the open batch (sent by whoever opened it, after the window).
    async fn batched_host(
        &self,
        reads: &Arc<BatchedReads>,
        name: &HostName,
    ) -> Result<Option<Host>, PortError> {
        let joined = reads.join(name.as_str());
        if let Some(batch) = joined.opened.clone() {
            let (adapter, reads) = (self.clone(), reads.clone());
            tokio::spawn(async move {
                tokio::time::sleep(reads.window()).await;
                // the batch gathers names until a search's place is free
                let _turn = reads.send_turn().await;
                let names = reads.take(&batch);
                batch.answer(adapter.search_hosts(&names).await);
            });
        }
        match joined.host(name.as_str()).await? {
            Some(host) => Ok(Some(host)),
            // not in the search's answer (a name spelled differently): ask for it alone
            None => self.show_host(name).await,
        }
    }

    /// The Foreman step's one `PUT` (the build, the owner and the parameters as nested
    /// attributes). Never repeated blind: it is retried only while an error proves nothing was
    /// applied; when its answer is lost (reset, timeout, a 5xx other than 503) the host is read,
    /// and that read decides: the settings shown are done, and whatever it lacks is sent again
    /// as a new `PUT` made from the read (a parameter created by the lost one is then updated
    /// by id, not created twice).
    async fn put_host_settled(
        &self,
        current: &ForemanHost,
        settings: &HostSettings,
        parameters: &[(&str, &str)],
    ) -> Result<ForemanHost, PortError> {
        let c = &self.client;
        let id = current.id;
        let mut current = current.clone();
        let most = self.requests.max_attempts.max(1);
        for _ in 0..most {
            let update = single_update(&current, settings, parameters);
            if update.is_empty() {
                return Ok(current);
            }
            let update = &update;
            match self
                .write_once(|_| async move {
                    unless_not_found(c.hosts().update(id, update.clone()).send().await)
                })
                .await
            {
                // a parameter (or the host) removed since the read: read again and retry
                Ok(None) => {
                    return Err(PortError::retryable(format!(
                        "foreman host {id} or one of its parameters was removed during the update"
                    )));
                }
                Ok(Some(after)) => return Ok(foreman_host(&after)),
                Err(Written::Failed(e)) => return Err(e),
                Err(Written::Unknown(why)) => {
                    tracing::info!(host = id, %why, "the host update's answer was lost: reading the host to decide");
                    let read = self
                        .call(Idempotency::Read, |_| c.hosts().show(id).send())
                        .await?;
                    current = foreman_host(&read);
                }
            }
        }
        Err(PortError::retryable(format!(
            "foreman host {id}: the update's answer was lost {most} times"
        )))
    }

    /// Runs one write that must not be repeated blind: retried only while an error proves it
    /// was not applied. An error that leaves it unknown (reset mid-request, timeout, a 5xx
    /// but 503) is [`Written::Unknown`], for the caller to settle by a read.
    async fn write_once<T, F, Fut>(&self, op: F) -> Result<T, Written>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, foreman_client::Error>>,
    {
        self.retried(Idempotency::NonIdempotentWrite, op)
            .await
            .map_err(|e| match e.into_last_error() {
                Some(last) if last.request_may_have_been_applied() => {
                    Written::Unknown(last.to_string())
                }
                Some(last) => Written::Failed(port_error(&last)),
                None => Written::Unknown("no answer in time".to_owned()),
            })
    }

    /// Runs one request, retrying it while `idempotency` allows.
    async fn call<T, F, Fut>(&self, idempotency: Idempotency, op: F) -> Result<T, PortError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, foreman_client::Error>>,
    {
        self.retried(idempotency, op)
            .await
            .map_err(|e| match e.into_last_error() {
                Some(last) => port_error(&last),
                None => PortError::retryable("foreman request timed out"),
            })
    }

    /// [`ForemanAdapter::call`] with the retry's own error.
    async fn retried<T, F, Fut>(
        &self,
        idempotency: Idempotency,
        op: F,
    ) -> Result<T, RetryError<foreman_client::Error>>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, foreman_client::Error>>,
    {
        let never = CancellationToken::new();
        retry(
            &self.requests,
            &never,
            idempotency.classify(|e: &foreman_client::Error| {
                let safe = idempotency.is_idempotent() || !e.request_may_have_been_applied();
                match (e.is_retryable() && safe, e.retry_after()) {
                    (true, Some(after)) => Retryable::YesAfter(after),
                    (true, None) => Retryable::Yes,
                    (false, _) => Retryable::No,
                }
            }),
            op,
        )
        .await
    }

    async fn password_works(&self, spec: &CloudUserSpec) -> Result<bool, PortError> {
        self.login_works(&spec.login, &spec.password).await
    }

    /// Whether a retired cloud user still signs in with its last tenant's password.
    async fn last_password_works(&self, spec: &RetiredUserSpec) -> Result<bool, PortError> {
        match &spec.last_password {
            Some(password) => self.login_works(&spec.login, password).await,
            None => Ok(false),
        }
    }

    /// A client of the same Foreman and transport that signs in as `login`.
    fn signed_in_as(&self, login: &str, password: &Secret) -> Result<ForemanClient, PortError> {
        let config = ClientConfig::new(
            self.url.clone(),
            Credentials::password(login.to_owned(), password.expose()),
        );
        ForemanClient::with_transport(self.transport.clone(), config)
            .map_err(|e| PortError::fatal(e.to_string()))
    }

    /// Whether `login` signs in with `password` (a refusal is `false`, not an error).
    async fn login_works(&self, login: &str, password: &Secret) -> Result<bool, PortError> {
        let tenant = &self.signed_in_as(login, password)?;
        self.call(Idempotency::Read, |_| async move {
            match tenant.users().current().send().await {
                Ok(_) => Ok(true),
                Err(e) if e.is_unauthorized() => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn ensure_role(&self, name: &str) -> Result<(u64, bool), PortError> {
        let c = &self.client;
        if let Some(role) = self
            .call(Idempotency::Read, |_| async move {
                c.roles().find_by_name(name).await
            })
            .await?
        {
            return Ok((role.id, false));
        }
        let created = self
            .call(Idempotency::NonIdempotentWrite, |_| {
                c.roles().create(NewRole::new(name)).send()
            })
            .await;
        match created {
            Ok(role) => Ok((role.id, true)),
            // created by an earlier attempt whose answer was lost
            Err(e) => match self
                .call(Idempotency::Read, |_| async move {
                    c.roles().find_by_name(name).await
                })
                .await?
            {
                Some(role) => Ok((role.id, true)),
                None => Err(e),
            },
        }
    }

    async fn ensure_filter(
        &self,
        role_id: u64,
        user_id: u64,
        permissions: &[String],
    ) -> Result<bool, PortError> {
        let c = &self.client;
        let mut wanted = Vec::new();
        for name in permissions {
            let p = self
                .call(Idempotency::Read, |_| async move {
                    c.permissions().lookup(name).await
                })
                .await?;
            wanted.push(p.id);
        }
        wanted.sort_unstable();
        wanted.dedup();
        let search = hosts_owned_by(Owner::User(user_id));
        let filters = self
            .call(Idempotency::Read, |_| c.filters().of_role(role_id).all())
            .await?;
        let state = NewFilter::new(role_id, wanted.iter().copied()).search(search.clone());
        let host_filter = filters.iter().find(|f| {
            f.resource_type.as_deref() == Some("Host")
                || f.search.as_deref().is_some_and(|s| s.contains("owner_id"))
        });
        match host_filter {
            Some(f)
                if f.search.as_deref() == Some(search.as_str())
                    && f.permission_ids().as_ref() == Some(&wanted) =>
            {
                Ok(false)
            }
            Some(f) => {
                let id = f.id;
                self.call(Idempotency::IdempotentWrite, |_| {
                    c.filters().update(id, state.clone()).send()
                })
                .await?;
                Ok(true)
            }
            None => {
                self.call(Idempotency::NonIdempotentWrite, |_| {
                    c.filters().create(state.clone()).send()
                })
                .await?;
                Ok(true)
            }
        }
    }
}

#[async_trait]
impl ForemanPort for ForemanAdapter {
    async fn ensure_cloud_user(&self, spec: &CloudUserSpec) -> Result<CloudUser, PortError> {
        let c = &self.client;
        let (role_id, mut changed) = self.ensure_role(&spec.role).await?;
        let found = self
            .call(Idempotency::Read, |_| async move {
                c.users().find_by_login(&spec.login).await
            })
            .await?;
        let user_id = if let Some(user) = found {
            // a user retired with its cloud's last assignment logs in again only when enabled
            if user.disabled == Some(true) || !self.password_works(spec).await? {
                let update = UserUpdate::new()
                    .password(spec.password.expose())
                    .account(AccountState::Enabled);
                let update = &update;
                self.call(Idempotency::IdempotentWrite, |_| {
                    c.users().update(user.id, update.clone()).send()
                })
                .await?;
                changed = true;
            }
            user.id
        } else {
            let new = NewUser::new(
                spec.login.clone(),
                spec.mail.clone(),
                spec.password.expose(),
            )
            .roles([role_id]);
            match self
                .call(Idempotency::NonIdempotentWrite, |_| {
                    c.users().create(new.clone()).send()
                })
                .await
            {
                Ok(user) => {
                    changed = true;
                    user.id
                }
                Err(e) => match self
                    .call(Idempotency::Read, |_| async move {
                        c.users().find_by_login(&spec.login).await
                    })
                    .await?
                {
                    Some(user) => {
                        changed = true;
                        user.id
                    }
                    None => return Err(e),
                },
            }
        };
        let (_, written) = self
            .call(Idempotency::IdempotentWrite, |_| async move {
                c.users().ensure_roles(user_id, [role_id]).await
            })
            .await?;
        changed |= written;
        changed |= self
            .ensure_filter(role_id, user_id, &spec.host_permissions)
            .await?;
        // verify: the user logs in with the cloud's password
        if !self.password_works(spec).await? {
            return Err(PortError::retryable(format!(
                "foreman user {} does not log in with the cloud's password after setting it",
                spec.login
            )));
        }
        Ok(CloudUser { user_id, changed })
    }

    async fn retire_cloud_user(&self, spec: &RetiredUserSpec) -> Result<RetiredUser, PortError> {
        let c = &self.client;
        let login = spec.login.as_str();
        let Some(user) = self
            .call(Idempotency::Read, |_| async move {
                c.users().find_by_login(login).await
            })
            .await?
        else {
            return Ok(RetiredUser::Absent);
        };
        // A disabled user cannot sign in: Foreman's answer is enough, and no login is tried
        // (each refused login counts toward Foreman's brute-force guard, which then refuses
        // every login from this address for minutes).
        if user.disabled == Some(true) {
            return Ok(RetiredUser::AlreadyRetired);
        }
        // Disabled, and a password nobody keeps for a Foreman that ignores `disabled`.
        let update = UserUpdate::new()
            .password(crate::executor::cloud::throwaway_password().expose())
            .account(AccountState::Disabled);
        let update = &update;
        let id = user.id;
        let after = self
            .call(Idempotency::IdempotentWrite, |_| {
                c.users().update(id, update.clone()).send()
            })
            .await?;
        let refused = match after.disabled {
            Some(disabled) => disabled,
            // a Foreman that does not show `disabled`: the last tenant's password must fail
            None => !self.last_password_works(spec).await?,
        };
        if !refused {
            return Err(PortError::retryable(format!(
                "foreman user {login} still signs in after retiring it"
            )));
        }
        Ok(RetiredUser::Retired)
    }

    async fn user_id(&self, login: Option<&str>) -> Result<u64, PortError> {
        let c = &self.client;
        let Some(login) = login else {
            let me = self
                .call(Idempotency::Read, |_| c.users().current().send())
                .await?;
            return Ok(me.id);
        };
        self.call(Idempotency::Read, |_| async move {
            c.users().find_by_login(login).await
        })
        .await?
        .map(|u| u.id)
        .ok_or_else(|| PortError::fatal(format!("foreman has no user {login}")))
    }

    async fn host(&self, name: &HostName) -> Result<ForemanHost, PortError> {
        let found = match &self.host_reads {
            Some(reads) if Search::listable(name.as_str()) => {
                self.batched_host(reads, name).await?
            }
            _ => self.show_host(name).await?,
        };
        let Some(host) = found else {
            return Err(PortError::fatal(format!(
                "host {name} is not in Foreman (or not visible to the API user)"
            )));
        };
        Ok(foreman_host(&host))
    }

    async fn resolve(&self, os: &str, ptable: &str, medium: &str) -> Result<BuildIds, PortError> {
        let c = &self.client;
        let cached = self.lookups == Lookups::Cached;
        let os = self
            .call(Idempotency::Read, |_| async move {
                let catalog = c.operating_systems();
                if cached {
                    catalog.lookup(os).await
                } else {
                    catalog.lookup_uncached(os).await
                }
            })
            .await?;
        let ptable = self
            .call(Idempotency::Read, |_| async move {
                let catalog = c.partition_tables();
                if cached {
                    catalog.lookup(ptable).await
                } else {
                    catalog.lookup_uncached(ptable).await
                }
            })
            .await?;
        let medium = self
            .call(Idempotency::Read, |_| async move {
                let catalog = c.media();
                if cached {
                    catalog.lookup(medium).await
                } else {
                    catalog.lookup_uncached(medium).await
                }
            })
            .await?;
        Ok(BuildIds {
            os_id: os.id,
            ptable_id: ptable.id,
            medium_id: medium.id,
        })
    }

    async fn update_host(
        &self,
        current: &ForemanHost,
        settings: &HostSettings,
        parameters: &[(&str, &str)],
    ) -> Result<ForemanHost, PortError> {
        if self.host_update == HostUpdateStyle::Single {
            return self.put_host_settled(current, settings, parameters).await;
        }
        let c = &self.client;
        let id = current.id;
        let b = &settings.build;
        let missing = parameters
            .iter()
            .filter(|(k, v)| current.parameters.get(*k).map(String::as_str) != Some(*v));
        let settings_differ = !settings.matches(current);
        let last = HostUpdate::new()
            .owner(Owner::User(settings.owner_user))
            .build(Build::Enabled);
        // QUADS 2019: a request per parameter, four host writes, then a read
        for (k, v) in missing {
            let present = current.parameters.contains_key(*k);
            self.call(Idempotency::IdempotentWrite, |_| async move {
                let parameters = c.hosts().parameters(id);
                let wanted = NewParameter::new(*k, *v);
                if present {
                    parameters.upsert(wanted).await
                } else {
                    parameters.create_or_update(wanted).await
                }
            })
            .await?;
        }
        if settings_differ {
            for update in [
                HostUpdate::new().operatingsystem(b.os_id),
                HostUpdate::new().ptable(b.ptable_id),
                HostUpdate::new().medium(b.medium_id),
                last,
            ] {
                self.call(Idempotency::IdempotentWrite, |_| {
                    c.hosts().update(id, update.clone()).send()
                })
                .await?;
            }
        }
        let after = self
            .call(Idempotency::Read, |_| c.hosts().show(id).send())
            .await?;
        Ok(foreman_host(&after))
    }

    async fn set_owner(
        &self,
        current: &ForemanHost,
        owner_user: u64,
    ) -> Result<ForemanHost, PortError> {
        if current.owner_user == Some(owner_user) {
            return Ok(current.clone());
        }
        let c = &self.client;
        let id = current.id;
        let update = HostUpdate::new().owner(Owner::User(owner_user));
        let update = &update;
        let answer = self
            .call(Idempotency::IdempotentWrite, |_| async move {
                unless_not_found(c.hosts().update(id, update.clone()).send().await)
            })
            .await?;
        answer
            .map(|after| foreman_host(&after))
            .ok_or_else(|| PortError::retryable(format!("foreman host {id} was removed")))
    }

    async fn tenant_view(
        &self,
        login: &str,
        password: &Secret,
    ) -> Result<Option<TenantView>, PortError> {
        let tenant = &self.signed_in_as(login, password)?;
        let list = |search: Option<&'static str>| {
            self.call(Idempotency::Read, move |_| async move {
                let mut list = tenant.hosts().list_thin().per_page(PerPage::All);
                if let Some(search) = search {
                    list = list.search(search);
                }
                match list.all().await {
                    Ok(hosts) => Ok(Some(
                        hosts.into_iter().map(|h| h.name).collect::<BTreeSet<_>>(),
                    )),
                    Err(e) if e.is_unauthorized() => Ok(None),
                    Err(e) => Err(e),
                }
            })
        };
        let Some(visible) = list(None).await? else {
            return Ok(None);
        };
        let Some(building) = list(Some("build = true")).await? else {
            return Ok(None);
        };
        Ok(Some(TenantView { visible, building }))
    }

    async fn building_hosts(&self) -> Result<BTreeSet<String>, PortError> {
        let c = &self.client;
        let hosts = self
            .call(Idempotency::Read, |_| {
                c.hosts()
                    .list_thin()
                    .search("build = true")
                    .per_page(PerPage::All)
                    .all()
            })
            .await?;
        Ok(hosts.into_iter().map(|h| h.name).collect())
    }
}

/// `None` for Foreman's 404: the object is not there (or hidden from the API user).
/// The one `PUT` that brings `current` to `settings` and `parameters` (empty when it has them).
fn single_update(
    current: &ForemanHost,
    settings: &HostSettings,
    parameters: &[(&str, &str)],
) -> HostUpdate {
    let b = &settings.build;
    let mut update = if settings.matches(current) {
        HostUpdate::new()
    } else {
        HostUpdate::new()
            .owner(Owner::User(settings.owner_user))
            .build(Build::Enabled)
            .operatingsystem(b.os_id)
            .ptable(b.ptable_id)
            .medium(b.medium_id)
    };
    for (k, v) in parameters {
        if current.parameters.get(*k).map(String::as_str) == Some(*v) {
            continue;
        }
        let wanted = NewParameter::new(*k, *v);
        update = match current.parameter_ids.get(*k) {
            Some(pid) => update.update_parameter(*pid, wanted),
            None => update.add_parameter(wanted),
        };
    }
    update
}

/// A write of [`ForemanAdapter::write_once`] that did not succeed.
#[derive(Debug)]
enum Written {
    /// It failed and the error proves nothing was applied, or it may not be retried.
    Failed(PortError),
    /// Its answer was lost: it may have been applied.
    Unknown(String),
}

fn unless_not_found<T>(
    answer: Result<T, foreman_client::Error>,
) -> Result<Option<T>, foreman_client::Error> {
    match answer {
        Ok(found) => Ok(Some(found)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The executor's view of a host Foreman showed.
fn foreman_host(host: &foreman_client::hosts::Host) -> ForemanHost {
    let owner_user = match host.owner() {
        Some(Owner::User(id)) => Some(id),
        _ => None,
    };
    let own = || host.parameters.iter().flatten();
    ForemanHost {
        id: host.id,
        build: host.build.unwrap_or(false),
        os_id: host.operatingsystem_id,
        ptable_id: host.ptable_id,
        medium_id: host.medium_id,
        owner_user,
        parameters: own().map(|p| (p.name.clone(), p.value_text())).collect(),
        parameter_ids: own().map(|p| (p.name.clone(), p.id)).collect(),
    }
}

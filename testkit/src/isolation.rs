//! The isolation report: the judge of a handover, read from the lab's own state. For every host,
//! which tenant credentials open its BMC and who owns it in Foreman; for every cloud user,
//! whether it still signs in. The caller says what it expects (every tenant credential it
//! handed out, which one each host must take, who must own it, which cloud users must be
//! out) and the report lists each violation: a credential other than the host's tenant's that
//! still logs in, a tenant locked out of its own host, a tenant with the right to manage BMC
//! users (it could leave itself another way in), an account nobody expects, a wrong Foreman
//! owner, a retired cloud user that still signs in.
//!
//! Served as `POST /isolation` on the admin endpoint; [`report`] is the same, in process.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bmc::Role;
use crate::foreman::db::Owner;
use crate::lab::LabState;

/// A login: user and password (lab fixtures: the report never prints passwords back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    /// Who is told about it, e.g. `cloud02 #1234` (what the report names it by).
    pub label: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// What one host must show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostExpectation {
    /// The label of the one tenant credential that must open its BMC; `None`: no tenant's.
    pub tenant: Option<String>,
    /// The Foreman login that must own it.
    pub owner: String,
}

/// What the caller expects of the lab.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expectation {
    /// Every BMC credential handed to a tenant, past or present.
    pub bmc_credentials: Vec<Login>,
    /// Per host name.
    pub hosts: BTreeMap<String, HostExpectation>,
    /// Foreman cloud users whose tenant is out, with the passwords they had: none may sign in.
    pub retired_foreman_users: Vec<Login>,
}

/// One breach of isolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The host (or the Foreman user) concerned.
    pub subject: String,
    /// `bmc-old-credential`, `bmc-tenant-locked-out`, `bmc-tenant-manages-users`,
    /// `bmc-unexpected-account`, `foreman-owner`, `foreman-retired-user`, `unknown-host`.
    pub kind: String,
    /// What was found (labels, never passwords).
    pub detail: String,
}

/// What the lab shows of one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Host name.
    pub name: String,
    /// Labels of the expected credentials that log in to its BMC now.
    pub bmc_logins: Vec<String>,
    /// Accounts besides the administrator that can log in, with a password nobody was told.
    pub unknown_logins: Vec<String>,
    /// The Foreman login that owns it.
    pub foreman_owner: Option<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsolationReport {
    /// Per host in the expectation.
    pub hosts: Vec<HostFacts>,
    /// Every breach found.
    pub violations: Vec<Violation>,
}

/// Judges the lab's state against `expect`.
#[must_use]
pub fn report(state: &LabState, admin_user: &str, expect: &Expectation) -> IsolationReport {
    let mut hosts = Vec::new();
    let mut violations = Vec::new();
    let mut violation = |subject: &str, kind: &str, detail: String| {
        violations.push(Violation {
            subject: subject.to_owned(),
            kind: kind.to_owned(),
            detail,
        });
    };
    let tenant_users: Vec<&str> = expect
        .bmc_credentials
        .iter()
        .map(|c| c.user.as_str())
        .collect();
    for (name, wanted) in &expect.hosts {
        let Some(index) = state.machines.iter().position(|m| &m.name == name) else {
            violation(name, "unknown-host", "the lab has no such host".to_owned());
            continue;
        };
        let bmc = &state.bmcs[index];
        let bmc_logins: Vec<String> = expect
            .bmc_credentials
            .iter()
            .filter(|c| bmc.check_login(&c.user, &c.password).is_some())
            .map(|c| c.label.clone())
            .collect();
        for label in &bmc_logins {
            if wanted.tenant.as_ref() != Some(label) {
                violation(
                    name,
                    "bmc-old-credential",
                    format!("{label} logs in to the BMC"),
                );
            }
        }
        if let Some(tenant) = &wanted.tenant {
            if !bmc_logins.contains(tenant) {
                violation(
                    name,
                    "bmc-tenant-locked-out",
                    format!("{tenant} does not log in to the BMC"),
                );
            }
            let user = expect
                .bmc_credentials
                .iter()
                .find(|c| &c.label == tenant)
                .map(|c| c.user.as_str());
            if let Some(account) = user.and_then(|u| bmc.account(u))
                && account.role == Role::Administrator
            {
                violation(
                    name,
                    "bmc-tenant-manages-users",
                    format!("{tenant} has the Administrator role"),
                );
            }
        }
        let unknown_logins: Vec<String> = bmc
            .accounts
            .iter()
            .filter(|a| a.username != admin_user && a.enabled && a.role != Role::NoAccess)
            .filter(|a| {
                !expect
                    .bmc_credentials
                    .iter()
                    .any(|c| c.user == a.username && c.password == a.password)
            })
            .map(|a| a.username.clone())
            .collect();
        for user in &unknown_logins {
            if !tenant_users.contains(&user.as_str()) {
                violation(
                    name,
                    "bmc-unexpected-account",
                    format!("account {user} can log in"),
                );
            }
        }
        let foreman_owner = state.foreman.hosts.get(index).and_then(|h| match h.owner {
            Some(Owner::User(id)) => state.foreman.user(id).map(|u| u.login.clone()),
            _ => None,
        });
        if foreman_owner.as_deref() != Some(wanted.owner.as_str()) {
            violation(
                name,
                "foreman-owner",
                format!(
                    "owned by {}, not {}",
                    foreman_owner.as_deref().unwrap_or("nobody"),
                    wanted.owner
                ),
            );
        }
        hosts.push(HostFacts {
            name: name.clone(),
            bmc_logins,
            unknown_logins,
            foreman_owner,
        });
    }
    for retired in &expect.retired_foreman_users {
        let signs_in = state.foreman.users.iter().any(|u| {
            u.login.eq_ignore_ascii_case(&retired.user)
                && !u.disabled
                && u.password.as_deref() == Some(retired.password.as_str())
        });
        if signs_in {
            violation(
                &retired.user,
                "foreman-retired-user",
                format!("{} still signs in to Foreman", retired.label),
            );
        }
    }
    IsolationReport { hosts, violations }
}

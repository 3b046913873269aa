//! Tenant accounts through `AccountService`: set a user's password, role and enabled flag
//! (creating the user in a free slot when needed), then verify by logging in as that user.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::Secret;
use crate::client::Bmc;
use crate::config::Credentials;
use crate::error::Error;
use crate::wire;

/// A Redfish `RoleId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Full control.
    Administrator,
    /// Operate (power, boot), no user management.
    Operator,
    /// Look only.
    ReadOnly,
    /// No access (iDRAC's `None`).
    NoAccess,
    /// A BMC-specific role, as spelled by it.
    Custom(String),
}

impl Role {
    /// The Redfish `RoleId`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Administrator => "Administrator",
            Self::Operator => "Operator",
            Self::ReadOnly => "ReadOnly",
            Self::NoAccess => "None",
            Self::Custom(s) => s,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an account may log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// May log in.
    Enabled,
    /// May not.
    Disabled,
}

/// The account to ensure.
#[derive(Debug, Clone)]
pub struct AccountSpec {
    /// User name.
    pub username: String,
    /// Its new password.
    pub password: Secret,
    /// Its role.
    pub role: Role,
    /// Enabled or not.
    pub state: AccountState,
}

/// What [`Bmc::set_account`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountOutcome {
    /// The account's resource.
    pub path: String,
    /// Whether the user had to be created.
    pub created: bool,
    /// Whether a login with the new password was verified (only for enabled accounts).
    pub verified_login: bool,
}

/// The PATCH body for an existing account.
#[must_use]
pub fn account_patch(spec: &AccountSpec, set_name: bool) -> Value {
    let mut body = Map::new();
    if set_name {
        body.insert("UserName".into(), json!(spec.username));
    }
    body.insert("Password".into(), json!(spec.password.expose()));
    body.insert("RoleId".into(), json!(spec.role.as_str()));
    body.insert("Enabled".into(), json!(spec.state == AccountState::Enabled));
    Value::Object(body)
}

/// Dell pre-allocates account slots: the first empty one (not slot 1, which is reserved).
fn free_slot(accounts: &[(String, wire::Account)]) -> Option<String> {
    accounts
        .iter()
        .find(|(path, a)| {
            a.user_name.as_deref().unwrap_or_default().is_empty()
                && a.id.as_deref() != Some("1")
                && !path.ends_with("/1")
        })
        .map(|(p, _)| p.clone())
}

impl Bmc {
    /// Sets the user's password, role and enabled flag (creating it in a free slot, or by POST
    /// to the collection, when it does not exist), then verifies: the account reads back with
    /// that role and state, and (when enabled) a login with the new password succeeds and is
    /// logged out.
    ///
    /// # Errors
    /// When the BMC refuses the change or the verification fails.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), user = %spec.username))]
    pub async fn set_account(&self, spec: &AccountSpec) -> Result<AccountOutcome, Error> {
        let root = self.root().await?;
        let service_path = root
            .account_service
            .clone()
            .unwrap_or_else(|| "/redfish/v1/AccountService".to_owned());
        let service: wire::AccountService = self.get(&service_path).await?;
        let collection = service
            .accounts
            .map(|l| l.id)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| format!("{service_path}/Accounts"));
        let paths = self.members(&collection).await?;
        let accounts: Vec<wire::Account> = self.get_all(&paths).await?;
        let accounts: Vec<(String, wire::Account)> = paths.into_iter().zip(accounts).collect();
        let existing = accounts
            .iter()
            .find(|(_, a)| a.user_name.as_deref() == Some(spec.username.as_str()))
            .map(|(p, _)| p.clone());
        let (path, created) = if let Some(path) = existing {
            self.patch(&path, &account_patch(spec, false)).await?;
            (path, false)
        } else if let Some(slot) = free_slot(&accounts) {
            self.patch(&slot, &account_patch(spec, true)).await?;
            (slot, true)
        } else {
            let reply = self.post(&collection, &account_patch(spec, true)).await?;
            let path = reply
                .location()
                .map(|l| self.address().path_of(&l))
                .or_else(|| {
                    reply
                        .json::<wire::Link>()
                        .ok()
                        .map(|l| l.id)
                        .filter(|p| !p.is_empty())
                })
                .ok_or_else(|| self.err_invalid("the account was created but not located"))?;
            (path, true)
        };
        let back: wire::Account = self.get(&path).await?;
        let enabled = spec.state == AccountState::Enabled;
        if back
            .role_id
            .as_deref()
            .is_some_and(|r| r != spec.role.as_str())
            || back.enabled.is_some_and(|e| e != enabled)
        {
            return Err(self.err_invalid(format!(
                "account {} reads back as role {:?}, enabled {:?}",
                spec.username, back.role_id, back.enabled
            )));
        }
        let verified_login = if enabled {
            self.verify_login(&spec.username, &spec.password).await?;
            true
        } else {
            false
        };
        Ok(AccountOutcome {
            path,
            created,
            verified_login,
        })
    }

    /// Logs in as `username` with `password` on this BMC and logs out again.
    ///
    /// # Errors
    /// [`Error::Auth`] when the BMC refuses the credentials.
    pub async fn verify_login(&self, username: &str, password: &Secret) -> Result<(), Error> {
        let client = self.client();
        let probe = client.bmc(
            self.address().clone(),
            Credentials::new(username, password.clone()),
        );
        let result = probe.login().await;
        let logout = probe.logout().await;
        result?;
        logout.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn patch_body_and_debug_keep_the_password_apart() {
        let spec = AccountSpec {
            username: "cloud02".into(),
            password: Secret::new("lab@1234"),
            role: Role::Operator,
            state: AccountState::Enabled,
        };
        assert_eq!(
            account_patch(&spec, true),
            json!({"UserName": "cloud02", "Password": "lab@1234", "RoleId": "Operator", "Enabled": true})
        );
        assert!(!format!("{spec:?}").contains("lab@1234"));
    }

    #[test]
    fn dell_free_slot_skips_slot_one() {
        let a = |id: &str, name: &str| {
            (
                format!("/redfish/v1/AccountService/Accounts/{id}"),
                wire::Account {
                    id: Some(id.into()),
                    user_name: Some(name.into()),
                    ..wire::Account::default()
                },
            )
        };
        let accounts = vec![a("1", ""), a("2", "root"), a("3", "")];
        assert_eq!(
            free_slot(&accounts).unwrap(),
            "/redfish/v1/AccountService/Accounts/3"
        );
        assert_eq!(free_slot(&accounts[..2]), None);
    }
}

//! Tenant accounts through `AccountService`: set a user's password, role and enabled flag
//! (creating the user in a free slot when needed), then verify that user's login (one read with
//! HTTP Basic credentials, a session login where the BMC offers no Basic); or
//! revoke a user (a new password nobody keeps, and disabled where the BMC allows it).
//!
//! Lean on purpose (it runs once per host of a move): the accounts are read in one expanded
//! GET where the BMC offers `$expand`, the PATCH goes with the ETag that read gave, and the
//! change is checked in the PATCH's answer when the BMC sends the account back; only a BMC that
//! answers 204 or a bare message costs a read-back GET.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::Secret;
use crate::client::{Bmc, Member};
use crate::config::Credentials;
use crate::error::Error;
use crate::request::{AuthHeader, Call, Reply};
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

/// What [`Bmc::revoke_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The BMC has no such account: nothing to revoke.
    Absent,
    /// A new password and disabled.
    Disabled,
    /// A new password only (the BMC refused to disable the account).
    Rotated,
}

/// The PATCH body for an existing account.
#[must_use]
pub(crate) fn account_patch(spec: &AccountSpec, set_name: bool) -> Value {
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
fn free_slot(accounts: &[Member<wire::Account>]) -> Option<&Member<wire::Account>> {
    accounts.iter().find(|m| {
        m.value.user_name.as_deref().unwrap_or_default().is_empty()
            && m.value.id.as_deref() != Some("1")
            && !m.path.ends_with("/1")
    })
}

/// The account in a write's answer, when the BMC sent the resource back (200 or 201 with the
/// account at `path`); `None` for 204, a bare success message or another resource.
fn account_in_answer(reply: &Reply, path: &str) -> Option<wire::Account> {
    if reply.body.is_empty() {
        return None;
    }
    let body: Value = serde_json::from_slice(&reply.body).ok()?;
    let id = body.get("@odata.id")?.as_str()?;
    if id.trim_end_matches('/') != path.trim_end_matches('/') {
        return None;
    }
    serde_json::from_value(body).ok()
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
        let (collection, accounts) = self.accounts().await?;
        let existing = accounts
            .iter()
            .find(|m| m.value.user_name.as_deref() == Some(spec.username.as_str()));
        let (path, created, reply) = if let Some(account) = existing {
            let body = account_patch(spec, false);
            let reply = self
                .patch_if_match(&account.path, &body, account.etag.clone())
                .await?;
            (account.path.clone(), false, reply)
        } else if let Some(slot) = free_slot(&accounts) {
            let body = account_patch(spec, true);
            let reply = self
                .patch_if_match(&slot.path, &body, slot.etag.clone())
                .await?;
            (slot.path.clone(), true, reply)
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
            (path, true, reply)
        };
        let back = match account_in_answer(&reply, &path) {
            Some(account) => account,
            None => self.get(&path).await?,
        };
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

    /// The account collection's URI and its members. The accounts live at the URI the schema
    /// gives `ManagerAccountCollection` (`{AccountService}/Accounts`); only a service that has
    /// them elsewhere (404) costs the read of the account service for its link.
    async fn accounts(&self) -> Result<(String, Vec<Member<wire::Account>>), Error> {
        let root = self.root().await?;
        let service_path = root
            .account_service
            .clone()
            .unwrap_or_else(|| "/redfish/v1/AccountService".to_owned());
        let conventional = format!("{service_path}/Accounts");
        match self.members_all(&conventional).await {
            Ok(accounts) => Ok((conventional, accounts)),
            Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => {
                let service: wire::AccountService = self.get(&service_path).await?;
                let linked = service
                    .accounts
                    .map(|l| l.id)
                    .filter(|p| !p.is_empty() && *p != conventional)
                    .ok_or(e)?;
                let accounts = self.members_all(&linked).await?;
                Ok((linked, accounts))
            }
            Err(e) => Err(e),
        }
    }

    /// Revokes `username`: its password becomes `password` (give one nobody keeps) and the
    /// account is disabled; a BMC that refuses `Enabled` in the PATCH gets the password alone.
    /// Verified from the account as the BMC shows it afterwards. The account's role and slot
    /// stay, so the next tenant's [`Bmc::set_account`] finds it.
    ///
    /// # Errors
    /// When the BMC refuses the change or the account does not read back disabled (for a BMC
    /// that shows `Enabled`).
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), user = %username))]
    pub async fn revoke_account(
        &self,
        username: &str,
        password: &Secret,
    ) -> Result<Revocation, Error> {
        let (_, accounts) = self.accounts().await?;
        let Some(account) = accounts
            .iter()
            .find(|m| m.value.user_name.as_deref() == Some(username))
        else {
            return Ok(Revocation::Absent);
        };
        let disable = json!({"Password": password.expose(), "Enabled": false});
        let (reply, disabled) = match self
            .patch_if_match(&account.path, &disable, account.etag.clone())
            .await
        {
            Ok(reply) => (reply, true),
            // a BMC that will not disable accounts: rotating the password closes the door (the
            // refused PATCH changed nothing, so the ETag read with the accounts still holds)
            Err(e) if e.status() == Some(http::StatusCode::BAD_REQUEST) => {
                let rotate = json!({"Password": password.expose()});
                let reply = self
                    .patch_if_match(&account.path, &rotate, account.etag.clone())
                    .await?;
                (reply, false)
            }
            Err(e) => return Err(e),
        };
        let back = match account_in_answer(&reply, &account.path) {
            Some(back) => back,
            None => self.get(&account.path).await?,
        };
        if disabled && back.enabled == Some(true) {
            return Err(self.err_invalid(format!(
                "account {username} still reads back enabled after disabling it"
            )));
        }
        Ok(if disabled {
            Revocation::Disabled
        } else {
            Revocation::Rotated
        })
    }

    /// Checks that this BMC takes `username` with `password`, without opening a session where
    /// it can: one GET of the account service with HTTP Basic credentials (DSP0266 has a
    /// service take both Basic and session logins). Where the BMC does not offer Basic (a 401
    /// whose `WWW-Authenticate` does not name it, as with `AccountService.HTTPBasicAuth`
    /// `Disabled` or `Unadvertised`, or a 403), a session login and its logout decide; a wrong
    /// password then costs two failed logins on the BMC instead of one.
    ///
    /// # Errors
    /// [`Error::Auth`] when the BMC refuses the credentials.
    pub async fn verify_login(&self, username: &str, password: &Secret) -> Result<(), Error> {
        match self.basic_check(username, password).await? {
            BasicCheck::Accepted => return Ok(()),
            BasicCheck::Refused => {
                return Err(Error::Auth {
                    bmc: self.name().to_owned(),
                    user: username.to_owned(),
                    reason: "the BMC refused the credentials (HTTP Basic, 401)".to_owned(),
                });
            }
            BasicCheck::NotOffered => {
                tracing::debug!(bmc = %self.name(), "HTTP Basic not offered: checking the login with a session");
            }
        }
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

    /// One GET of the account service (which every role may read) with `username` and
    /// `password` as HTTP Basic credentials, retried like any request sent without a session
    /// while no answer decides.
    async fn basic_check(&self, username: &str, password: &Secret) -> Result<BasicCheck, Error> {
        let root = self.root().await?;
        let path = root
            .account_service
            .clone()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/redfish/v1/AccountService".to_owned());
        let auth = AuthHeader::basic(username, password);
        self.execute_unsessioned(&Call::get(path), &auth, |label, response| {
            match response.status() {
                s if s.is_success() => Ok(BasicCheck::Accepted),
                http::StatusCode::UNAUTHORIZED if offers_basic(response.headers()) => {
                    Ok(BasicCheck::Refused)
                }
                http::StatusCode::UNAUTHORIZED | http::StatusCode::FORBIDDEN => {
                    Ok(BasicCheck::NotOffered)
                }
                status => Err(label.status(status, response.headers(), response.body())),
            }
        })
        .await
    }
}

/// What one GET with HTTP Basic credentials told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BasicCheck {
    /// Answered: the credentials work.
    Accepted,
    /// A 401 from a BMC that offers Basic: the credentials do not work.
    Refused,
    /// A 401 that does not offer Basic, or a 403: Basic tells nothing here.
    NotOffered,
}

/// Whether a 401's `WWW-Authenticate` offers HTTP Basic (one of its challenges' scheme).
fn offers_basic(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|challenge| challenge.split_whitespace().next())
        .any(|scheme| scheme.eq_ignore_ascii_case("basic"))
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
        let a = |id: &str, name: &str| Member {
            path: format!("/redfish/v1/AccountService/Accounts/{id}"),
            value: wire::Account {
                id: Some(id.into()),
                user_name: Some(name.into()),
                ..wire::Account::default()
            },
            etag: None,
        };
        let accounts = vec![a("1", ""), a("2", "root"), a("3", "")];
        assert_eq!(
            free_slot(&accounts).unwrap().path,
            "/redfish/v1/AccountService/Accounts/3"
        );
        assert!(free_slot(&accounts[..2]).is_none());
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status: http::StatusCode::from_u16(status).unwrap(),
            headers: http::HeaderMap::new(),
            body: bytes::Bytes::from(body.to_owned()),
            label: crate::request::Call::get("/x").label("b"),
        }
    }

    #[test]
    fn the_account_is_read_from_an_answer_that_carries_it() {
        let path = "/redfish/v1/AccountService/Accounts/3";
        let account = reply(
            200,
            r#"{"@odata.id":"/redfish/v1/AccountService/Accounts/3","UserName":"cloud02","RoleId":"Operator","Enabled":true}"#,
        );
        let read = account_in_answer(&account, path).unwrap();
        assert_eq!(read.role_id.as_deref(), Some("Operator"));
        assert_eq!(read.enabled, Some(true));
        assert!(account_in_answer(&account, "/redfish/v1/AccountService/Accounts/4").is_none());
        let message = reply(
            200,
            r#"{"@Message.ExtendedInfo":[{"MessageId":"Base.1.16.Success"}]}"#,
        );
        assert!(account_in_answer(&message, path).is_none());
        assert!(account_in_answer(&reply(204, ""), path).is_none());
        assert!(account_in_answer(&reply(200, "not json"), path).is_none());
    }
}

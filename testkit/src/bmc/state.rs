//! One BMC's own state: accounts, sessions, settings staged for the next config job, and the
//! Lifecycle Controller's readiness. Kept small: 5,000 of these live in one process.
//!
//! Session expiry is in lab seconds ([`LabClock::lab_now`]), so a lab with time scale 0 (no
//! simulated latency) still keeps sessions for their timeout in real seconds.

use std::collections::BTreeMap;

use serde_json::Value;
use tokio::time::Instant;

use crate::clock::{LabClock, mix};
use crate::faults::FaultAssignment;
use crate::lab::LabConfig;
use crate::machine::{Flavor, Machine};

/// A BMC account's role (Redfish `RoleId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Administrator,
    /// Power, boot and configuration, not accounts.
    Operator,
    /// Reads only.
    ReadOnly,
    /// An iDRAC slot without privileges: cannot log in.
    NoAccess,
}

impl Role {
    /// The Redfish `RoleId`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Administrator => "Administrator",
            Self::Operator => "Operator",
            Self::ReadOnly => "ReadOnly",
            Self::NoAccess => "None",
        }
    }

    /// Parses a `RoleId`.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Administrator" => Some(Self::Administrator),
            "Operator" => Some(Self::Operator),
            "ReadOnly" => Some(Self::ReadOnly),
            "None" => Some(Self::NoAccess),
            _ => None,
        }
    }

    /// The roles a Roles collection lists.
    pub const LISTED: [Self; 3] = [Self::Administrator, Self::Operator, Self::ReadOnly];

    /// The Redfish privileges the role grants.
    #[must_use]
    pub fn privileges(self) -> &'static [&'static str] {
        match self {
            Self::Administrator => &[
                "Login",
                "ConfigureManager",
                "ConfigureUsers",
                "ConfigureSelf",
                "ConfigureComponents",
            ],
            Self::Operator => &["Login", "ConfigureSelf", "ConfigureComponents"],
            Self::ReadOnly => &["Login", "ConfigureSelf"],
            Self::NoAccess => &[],
        }
    }
}

/// A local account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's `Id` (iDRAC slots 1..16).
    pub id: u16,
    /// Login.
    pub username: String,
    /// Password (lab secret).
    pub password: String,
    /// Role.
    pub role: Role,
    /// Whether it can log in.
    pub enabled: bool,
}

/// A session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The session's `Id`.
    pub id: u32,
    /// The `X-Auth-Token`.
    pub token: u128,
    /// Who logged in.
    pub username: String,
    /// Lab seconds of the last request made with it.
    pub last_used: f64,
    /// A session someone else left behind (the stale-sessions fault); expires at a fixed time.
    pub stale: bool,
}

impl Session {
    /// The token as sent in `X-Auth-Token` (32 hex digits).
    #[must_use]
    pub fn token_text(&self) -> String {
        format!("{:032x}", self.token)
    }
}

/// Settings a Supermicro BMC keeps for its virtual CD (`VM1/CfgCD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaConfig {
    /// `Host` (`http://server`).
    pub host: String,
    /// `Path` (`/images/x.iso`).
    pub path: String,
    /// `Username` for the share.
    pub username: String,
}

/// Dell: the network ISO attached by `DellOSDeploymentService` (`ConnectNetworkISOImage` or
/// `BootToNetworkISO`), until `DetachISOImage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIso {
    /// `ShareType`: `NFS` or `CIFS`.
    pub share_type: String,
    /// `IPAddress` of the share's server.
    pub ip_address: String,
    /// `ShareName`, the directory (`/exports/isos/`).
    pub share_name: String,
    /// `ImageName`, the file (`rhel.iso`).
    pub image_name: String,
    /// Attached by `BootToNetworkISO` (the host boots it once) rather than only connected.
    pub boot_once: bool,
}

/// Dell: a Server Configuration Profile job (`EID_674_Manager.ExportSystemConfiguration` or
/// `ImportSystemConfiguration`), shown at `Jobs/{id}` and `TaskService/Tasks/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScpJob {
    /// The job's id (`JID_…`).
    pub id: String,
    /// What it does.
    pub kind: ScpJobKind,
}

/// What a Server Configuration Profile job does.
#[derive(Debug, Clone, PartialEq)]
pub enum ScpJobKind {
    /// An export: the profile taken when it was asked for, handed out once the job is done.
    Export {
        /// The profile (`{"SystemConfiguration": …}`).
        profile: Value,
        /// When the export is done.
        done_at: Instant,
    },
    /// An import: the config jobs holding the changes it applies (none: nothing changed).
    Import {
        /// The ids of the config jobs it created.
        jobs: Vec<String>,
        /// Attributes it could not apply (`CompletedWithErrors`), as `FQDD Name`.
        skipped: Vec<String>,
    },
}

/// One BMC's own state.
#[derive(Debug, Clone)]
pub struct BmcState {
    /// Local accounts (iDRAC: only the slots in use).
    pub accounts: Vec<Account>,
    /// Open sessions, including stale ones.
    pub sessions: Vec<Session>,
    /// The next session id.
    pub next_session: u32,
    /// Requests seen (the key of per-request fault draws).
    pub requests: u64,
    /// Idle seconds after which a session expires (`SessionService.SessionTimeout`).
    pub session_timeout: u32,
    /// Lab seconds at which stale sessions expire.
    pub stale_expire_at: f64,
    /// Dell: BIOS attributes set on `Bios/Settings` but not yet in a job.
    pub pending_bios: Option<Box<BTreeMap<String, Value>>>,
    /// Dell: NIC attributes set on `DellNetworkAttributes/{fqdd}/Settings` but not yet in a
    /// job, per port FQDD.
    pub pending_nic: BTreeMap<String, BTreeMap<String, Value>>,
    /// Dell: a boot order set on `BootSources/Settings` but not yet in a job (enabled ids).
    pub pending_boot_order: Option<Vec<String>>,
    /// Dell: the Lifecycle Controller restarts until then (after `JID_CLEARALL_FORCE`).
    pub lc_ready_at: Option<Instant>,
    /// Supermicro: the virtual CD's configuration.
    pub media_config: Option<Box<MediaConfig>>,
    /// Dell: the network ISO attached through the OS Deployment service.
    pub network_iso: Option<Box<NetworkIso>>,
    /// Dell: Server Configuration Profile jobs, oldest first.
    pub scp_jobs: Vec<ScpJob>,
}

impl Default for BmcState {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            sessions: Vec::new(),
            next_session: 1,
            requests: 0,
            session_timeout: 1800,
            stale_expire_at: 0.0,
            pending_bios: None,
            pending_nic: BTreeMap::new(),
            pending_boot_order: None,
            lc_ready_at: None,
            media_config: None,
            network_iso: None,
            scp_jobs: Vec::new(),
        }
    }
}

/// Who else holds the stale sessions of the stale-sessions fault.
pub const STALE_USER: &str = "quads-previous";

impl BmcState {
    /// The BMC of a fresh machine: its administrator account, and for a host with the
    /// stale-sessions fault every session slot held by someone else.
    #[must_use]
    pub fn new(machine: &Machine, config: &LabConfig, faults: &FaultAssignment) -> Self {
        let admin_id = match machine.flavor {
            // iDRAC: slot 1 is reserved, root is slot 2; Supermicro's ADMIN is account 2.
            Flavor::Dell | Flavor::Idrac10 | Flavor::Supermicro => 2,
            Flavor::Generic | Flavor::Hpe | Flavor::Lenovo => 1,
        };
        let mut state = Self {
            accounts: vec![Account {
                id: admin_id,
                username: config.bmc_admin.username.clone(),
                password: config.bmc_admin.password.clone(),
                role: Role::Administrator,
                enabled: true,
            }],
            ..Self::default()
        };
        if faults.stale_sessions.contains(&machine.index) {
            state.stale_expire_at = config.faults.stale_session_timeout;
            for _ in 0..config.model.bmc.max_sessions {
                let id = state.next_session;
                state.next_session += 1;
                state.sessions.push(Session {
                    id,
                    token: token(config.seed ^ 0x57a1e, machine.index, id),
                    username: STALE_USER.to_owned(),
                    last_used: 0.0,
                    stale: true,
                });
            }
        }
        state
    }

    /// Drops sessions past their timeout; returns how many of the client's (non-stale) went.
    pub fn expire_sessions(&mut self, now: f64) -> u64 {
        let timeout = f64::from(self.session_timeout);
        let stale_until = self.stale_expire_at;
        let before = self.sessions.iter().filter(|s| !s.stale).count();
        self.sessions.retain(|s| {
            if s.stale {
                now < stale_until
            } else {
                now - s.last_used < timeout
            }
        });
        (before - self.sessions.iter().filter(|s| !s.stale).count()) as u64
    }

    /// Opens a session for `username`; `None` when every slot is taken.
    pub fn open_session(
        &mut self,
        username: &str,
        max: usize,
        clock: &LabClock,
        index: usize,
    ) -> Option<&Session> {
        if self.sessions.len() >= max {
            return None;
        }
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.push(Session {
            id,
            token: token(clock.seed(), index, id),
            username: username.to_owned(),
            last_used: clock.lab_now(),
            stale: false,
        });
        self.sessions.last()
    }

    /// The session holding `token_text`, if open.
    pub fn session_by_token(&mut self, token_text: &str) -> Option<&mut Session> {
        let token = u128::from_str_radix(token_text.trim(), 16).ok()?;
        self.sessions.iter_mut().find(|s| s.token == token)
    }

    /// Closes session `id`; returns it.
    pub fn close_session(&mut self, id: u32) -> Option<Session> {
        let position = self.sessions.iter().position(|s| s.id == id)?;
        Some(self.sessions.remove(position))
    }

    /// Drops every session (the BMC restarted); returns how many of the client's went.
    pub fn drop_sessions(&mut self) -> u64 {
        let client = self.sessions.iter().filter(|s| !s.stale).count() as u64;
        self.sessions.clear();
        client
    }

    /// The account named `username`.
    #[must_use]
    pub fn account(&self, username: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| !username.is_empty() && a.username == username)
    }

    /// Checks a login: the account exists, is enabled, has a role and the password matches.
    #[must_use]
    pub fn check_login(&self, username: &str, password: &str) -> Option<Role> {
        self.account(username)
            .filter(|a| a.enabled && a.role != Role::NoAccess && a.password == password)
            .map(|a| a.role)
    }
}

/// A session token: a pure function of the seed, the BMC and the session number.
fn token(seed: u64, index: usize, id: u32) -> u128 {
    let a = mix(seed ^ mix(index as u64) ^ u64::from(id));
    let b = mix(a ^ 0x70c3_e11a);
    (u128::from(a) << 64) | u128::from(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmc() -> BmcState {
        BmcState {
            accounts: vec![Account {
                id: 2,
                username: "root".into(),
                password: "calvin".into(),
                role: Role::Administrator,
                enabled: true,
            }],
            ..BmcState::default()
        }
    }

    #[test]
    fn sessions_open_up_to_the_limit_and_expire_when_idle() {
        let clock = LabClock::new(1.0, 3);
        let mut state = bmc();
        let token = state
            .open_session("root", 2, &clock, 0)
            .expect("first")
            .token_text();
        assert_eq!(token.len(), 32);
        assert!(state.open_session("root", 2, &clock, 0).is_some());
        assert!(state.open_session("root", 2, &clock, 0).is_none());
        assert!(state.session_by_token(&token).is_some());
        assert!(state.session_by_token("nonsense").is_none());
        assert_eq!(state.expire_sessions(100.0), 0);
        assert_eq!(state.expire_sessions(5000.0), 2);
        assert!(state.sessions.is_empty());
    }

    #[test]
    fn logins_need_an_enabled_account_with_a_role() {
        let mut state = bmc();
        assert_eq!(
            state.check_login("root", "calvin"),
            Some(Role::Administrator)
        );
        assert_eq!(state.check_login("root", "wrong"), None);
        assert_eq!(state.check_login("", ""), None);
        state.accounts[0].enabled = false;
        assert_eq!(state.check_login("root", "calvin"), None);
        state.accounts[0].enabled = true;
        state.accounts[0].role = Role::NoAccess;
        assert_eq!(state.check_login("root", "calvin"), None);
        assert_eq!(Role::parse("None"), Some(Role::NoAccess));
    }

    #[test]
    fn tokens_differ_by_bmc_and_session() {
        assert_ne!(token(1, 0, 1), token(1, 1, 1));
        assert_ne!(token(1, 0, 1), token(1, 0, 2));
        assert_eq!(token(1, 0, 1), token(1, 0, 1));
    }
}

//! The facts the executor journals, as types: [`StepDetails`] (a host's move steps) and
//! [`RunDetails`] (the cloud-level steps and the validation) render them into the journal's
//! text pairs ([`Details`], stored as `{"v":1,"fields":{...}}`) exactly as the executor has
//! always written them, so the stored format does not change; the readers below take back what
//! a later step or run needs from a done step's or an open intent's pairs.

use std::time::Duration;

use super::ports::Power;
use super::resume::TO;
use crate::journal::Details;
use crate::time::Timestamp;

const AT: &str = "at";
const CHANGE: &str = "change";
const PHASE: &str = "phase";
const PENDING: &str = "pending";

/// The power phase the network-boot step journals before each half of its power cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BootPhase {
    /// The one-time PXE override and the power-off.
    Off,
    /// The power-on.
    On,
}

impl BootPhase {
    fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::On => "on",
        }
    }

    /// The phase an open network-boot intent journaled, if any.
    pub(super) fn journaled(intent: &Details) -> Option<Self> {
        let word = intent.get(PHASE)?;
        [Self::Off, Self::On]
            .into_iter()
            .find(|phase| phase.as_str() == word)
    }
}

/// What revoking the tenant account found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Revoked {
    /// The account was there and is revoked.
    Revoked,
    /// No such account: nothing to revoke.
    Absent,
}

/// How the boot-order step left the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BootOrderSet {
    /// It already started with the provisioning devices.
    Unchanged,
    /// Staged in a config job (its id when the BMC named one), applied at the next POST.
    Pending { job: Option<String> },
    /// Applied and read back.
    Applied,
}

/// What the switch-ports step's batches did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SwitchesApplied {
    /// Ports whose configuration changed.
    pub changed: usize,
    /// Commits made (one per switch that had a change).
    pub commits: usize,
}

/// The facts one journal row of a host's move step carries besides the move's target cloud
/// (every row carries `to`). Intent and outcome of a step share a variant; what only the
/// outcome knows is an `Option` the intent leaves `None`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum StepDetails {
    /// Nothing more: the power-off, re-kick and record steps, the install wait's intent, and
    /// every failed or cancelled outcome.
    Move,
    /// The tenant account set for the new tenant.
    Account {
        /// The tenant's BMC user.
        user: String,
    },
    /// The tenant account revoked (nobody's tenant any more).
    Revoke {
        /// The tenant's BMC user.
        user: String,
        /// What the revocation found (outcome only).
        account: Option<Revoked>,
    },
    /// The host's switch ports moved.
    SwitchPorts {
        /// The switches, in name order.
        switches: Vec<String>,
        /// The ports sent (all but those in maintenance).
        ports: usize,
        /// What the batches did (outcome only).
        applied: Option<SwitchesApplied>,
    },
    /// The provisioning boot order set.
    BootOrder {
        /// The devices wanted first.
        wanted: Vec<String>,
        /// How the order was left (outcome only).
        change: Option<BootOrderSet>,
    },
    /// The Foreman host set up for its build.
    ForemanHost {
        /// Foreman's host id.
        host_id: u64,
        /// The operating system's id.
        os_id: u64,
        /// The owning user's id.
        owner_id: u64,
    },
    /// The Foreman host's owner set.
    ForemanOwner {
        /// Foreman's host id.
        host_id: u64,
        /// The owning user's id.
        owner_id: u64,
    },
    /// The network boot's intent before one half of its power cycle.
    BootPhase(BootPhase),
    /// The network boot found done: an earlier attempt's journaled power-on happened.
    BootResumed {
        /// When the build is taken to have started.
        at: Timestamp,
    },
    /// The network boot done: the host power cycled into its one-time PXE boot.
    Booted {
        /// The power state found before the cycle.
        power_before: Power,
        /// When the build started.
        at: Timestamp,
    },
    /// The install wait done: Foreman shows the host built.
    Built {
        /// When the build ended.
        at: Timestamp,
    },
    /// A site hook run.
    Hook {
        /// The hook's command line.
        command: String,
        /// How long it ran (outcome only).
        ran: Option<Duration>,
    },
}

impl StepDetails {
    /// The journal's text pairs for a move to `to`, as the executor has always written them.
    pub(super) fn render(&self, to: &str) -> Details {
        let d = Details::new().with(TO, to);
        match self {
            Self::Move => d,
            Self::Account { user } => d.with("user", user.as_str()),
            Self::Revoke { user, account } => {
                let d = d.with("user", user.as_str()).with("action", "revoke");
                match account {
                    None => d,
                    Some(Revoked::Revoked) => d.with("account", "revoked"),
                    Some(Revoked::Absent) => d.with("account", "absent"),
                }
            }
            Self::SwitchPorts {
                switches,
                ports,
                applied,
            } => {
                let d = d
                    .with("switches", switches.join(","))
                    .with("ports", ports.to_string());
                match applied {
                    None => d,
                    Some(a) => d
                        .with("changed", a.changed.to_string())
                        .with("commits", a.commits.to_string()),
                }
            }
            Self::BootOrder { wanted, change } => {
                let d = d.with("wanted", wanted.join(","));
                match change {
                    None => d,
                    Some(BootOrderSet::Unchanged) => d.with(CHANGE, "unchanged"),
                    Some(BootOrderSet::Pending { job }) => d
                        .with(CHANGE, PENDING)
                        .with("job", job.clone().unwrap_or_default()),
                    Some(BootOrderSet::Applied) => d.with(CHANGE, "applied"),
                }
            }
            Self::ForemanHost {
                host_id,
                os_id,
                owner_id,
            } => d
                .with("host_id", host_id.to_string())
                .with("os_id", os_id.to_string())
                .with("owner_id", owner_id.to_string()),
            Self::ForemanOwner { host_id, owner_id } => d
                .with("host_id", host_id.to_string())
                .with("owner_id", owner_id.to_string()),
            Self::BootPhase(phase) => d.with(PHASE, phase.as_str()),
            Self::BootResumed { at } => d.with("resumed", "true").with(AT, at.to_string()),
            Self::Booted { power_before, at } => {
                let before = match power_before {
                    Power::On => "on",
                    Power::Off => "off",
                    Power::Other(s) => s.as_str(),
                };
                d.with("power_before", before).with(AT, at.to_string())
            }
            Self::Built { at } => d.with(AT, at.to_string()),
            Self::Hook { command, ran } => {
                let d = d.with("command", command.as_str());
                match ran {
                    None => d,
                    Some(ran) => d.with("seconds", format!("{:.1}", ran.as_secs_f64())),
                }
            }
        }
    }
}

/// The facts of the journal rows that are not a host's move steps (they carry no `to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RunDetails {
    /// A cloud's Foreman user made or retired.
    CloudUser {
        /// Its login (the cloud's name).
        login: String,
        /// Its Foreman id, once made (outcome of the cloud-user step only).
        user_id: Option<u64>,
    },
    /// A host's validation ended.
    HostValidated {
        /// The cloud validated.
        cloud: String,
        /// Whether the host was re-kicked on the way.
        rekicked: bool,
    },
    /// A cloud's validation ended.
    CloudValidated {
        /// The ticket of its assignment.
        ticket: String,
    },
    /// A host that failed its validation checks is re-kicked.
    ValidationRekick {
        /// The cloud validated.
        cloud: String,
        /// What the checks found.
        problems: Vec<String>,
    },
}

impl RunDetails {
    /// The journal's text pairs, as the executor has always written them.
    pub(super) fn render(&self) -> Details {
        match self {
            Self::CloudUser { login, user_id } => {
                let d = Details::new().with("login", login.as_str());
                match user_id {
                    None => d,
                    Some(id) => d.with("user_id", id.to_string()),
                }
            }
            Self::HostValidated { cloud, rekicked } => Details::new()
                .with("cloud", cloud.as_str())
                .with("rekicked", rekicked.to_string()),
            Self::CloudValidated { ticket } => Details::new().with("ticket", ticket.as_str()),
            Self::ValidationRekick { cloud, problems } => Details::new()
                .with("cloud", cloud.as_str())
                .with("action", "re-kick")
                .with("problems", problems.join("; ")),
        }
    }
}

/// When a done network boot or install wait says the build started or ended.
pub(super) fn done_at(done: &Details) -> Option<Timestamp> {
    done.get(AT).and_then(|t| t.parse().ok())
}

/// Whether a done boot-order step left its change pending (staged for the next POST).
pub(super) fn boot_order_pending(done: &Details) -> bool {
    done.get(CHANGE) == Some(PENDING)
}

#[cfg(test)]
mod tests {
    //! Each variant renders to the pairs the executor wrote before the details were typed
    //! (the stored text, compared as the store writes it).

    use super::*;

    fn stored(details: &StepDetails) -> String {
        details
            .render("cloud02")
            .to_json()
            .expect("details serialize")
    }

    const AT_TEXT: &str = "2026-12-06T15:30:00Z";

    fn at() -> Timestamp {
        AT_TEXT.parse().expect("a valid timestamp")
    }

    #[test]
    fn move_is_the_target_cloud_alone() {
        assert_eq!(
            stored(&StepDetails::Move),
            r#"{"v":1,"fields":{"to":"cloud02"}}"#
        );
    }

    #[test]
    fn account_names_the_user() {
        let d = StepDetails::Account {
            user: "quads".to_owned(),
        };
        assert_eq!(
            stored(&d),
            r#"{"v":1,"fields":{"to":"cloud02","user":"quads"}}"#
        );
    }

    #[test]
    fn revoke_adds_what_it_found_once_known() {
        let d = |account| StepDetails::Revoke {
            user: "quads".to_owned(),
            account,
        };
        assert_eq!(
            stored(&d(None)),
            r#"{"v":1,"fields":{"action":"revoke","to":"cloud02","user":"quads"}}"#
        );
        assert_eq!(
            stored(&d(Some(Revoked::Revoked))),
            r#"{"v":1,"fields":{"account":"revoked","action":"revoke","to":"cloud02","user":"quads"}}"#
        );
        assert_eq!(
            stored(&d(Some(Revoked::Absent))),
            r#"{"v":1,"fields":{"account":"absent","action":"revoke","to":"cloud02","user":"quads"}}"#
        );
    }

    #[test]
    fn switch_ports_add_changes_and_commits_once_applied() {
        let d = |applied| StepDetails::SwitchPorts {
            switches: vec!["sw01".to_owned(), "sw02".to_owned()],
            ports: 4,
            applied,
        };
        assert_eq!(
            stored(&d(None)),
            r#"{"v":1,"fields":{"ports":"4","switches":"sw01,sw02","to":"cloud02"}}"#
        );
        let applied = SwitchesApplied {
            changed: 3,
            commits: 2,
        };
        assert_eq!(
            stored(&d(Some(applied))),
            r#"{"v":1,"fields":{"changed":"3","commits":"2","ports":"4","switches":"sw01,sw02","to":"cloud02"}}"#
        );
    }

    #[test]
    fn boot_order_adds_the_change_once_made() {
        let d = |change| StepDetails::BootOrder {
            wanted: vec![
                "NIC.Integrated.1-1-1".to_owned(),
                "HardDisk.List.1-1".to_owned(),
            ],
            change,
        };
        let wanted = r#""wanted":"NIC.Integrated.1-1-1,HardDisk.List.1-1""#;
        assert_eq!(
            stored(&d(None)),
            format!(r#"{{"v":1,"fields":{{"to":"cloud02",{wanted}}}}}"#)
        );
        assert_eq!(
            stored(&d(Some(BootOrderSet::Unchanged))),
            format!(r#"{{"v":1,"fields":{{"change":"unchanged","to":"cloud02",{wanted}}}}}"#)
        );
        assert_eq!(
            stored(&d(Some(BootOrderSet::Applied))),
            format!(r#"{{"v":1,"fields":{{"change":"applied","to":"cloud02",{wanted}}}}}"#)
        );
        let pending = |job: Option<&str>| {
            d(Some(BootOrderSet::Pending {
                job: job.map(str::to_owned),
            }))
        };
        assert_eq!(
            stored(&pending(Some("JID_1"))),
            format!(
                r#"{{"v":1,"fields":{{"change":"pending","job":"JID_1","to":"cloud02",{wanted}}}}}"#
            )
        );
        // a BMC that named no job: an empty one, as before
        assert_eq!(
            stored(&pending(None)),
            format!(
                r#"{{"v":1,"fields":{{"change":"pending","job":"","to":"cloud02",{wanted}}}}}"#
            )
        );
        assert!(boot_order_pending(&pending(None).render("cloud02")));
        assert!(!boot_order_pending(
            &d(Some(BootOrderSet::Applied)).render("cloud02")
        ));
    }

    #[test]
    fn foreman_host_names_the_ids() {
        let d = StepDetails::ForemanHost {
            host_id: 12,
            os_id: 3,
            owner_id: 7,
        };
        assert_eq!(
            stored(&d),
            r#"{"v":1,"fields":{"host_id":"12","os_id":"3","owner_id":"7","to":"cloud02"}}"#
        );
    }

    #[test]
    fn foreman_owner_names_the_ids() {
        let d = StepDetails::ForemanOwner {
            host_id: 12,
            owner_id: 7,
        };
        assert_eq!(
            stored(&d),
            r#"{"v":1,"fields":{"host_id":"12","owner_id":"7","to":"cloud02"}}"#
        );
    }

    #[test]
    fn boot_phase_is_read_back_from_an_open_intent() {
        for (phase, word) in [(BootPhase::Off, "off"), (BootPhase::On, "on")] {
            let d = StepDetails::BootPhase(phase);
            assert_eq!(
                stored(&d),
                format!(r#"{{"v":1,"fields":{{"phase":"{word}","to":"cloud02"}}}}"#)
            );
            assert_eq!(BootPhase::journaled(&d.render("cloud02")), Some(phase));
        }
        assert_eq!(BootPhase::journaled(&StepDetails::Move.render("c")), None);
    }

    #[test]
    fn boot_resumed_says_so_with_the_time() {
        let d = StepDetails::BootResumed { at: at() };
        assert_eq!(
            stored(&d),
            format!(r#"{{"v":1,"fields":{{"at":"{AT_TEXT}","resumed":"true","to":"cloud02"}}}}"#)
        );
        assert_eq!(done_at(&d.render("cloud02")), Some(at()));
    }

    #[test]
    fn booted_names_the_power_before_in_the_bmcs_words() {
        for (power, word) in [
            (Power::On, "on"),
            (Power::Off, "off"),
            (Power::Other("PoweringOn".to_owned()), "PoweringOn"),
        ] {
            let d = StepDetails::Booted {
                power_before: power,
                at: at(),
            };
            assert_eq!(
                stored(&d),
                format!(
                    r#"{{"v":1,"fields":{{"at":"{AT_TEXT}","power_before":"{word}","to":"cloud02"}}}}"#
                )
            );
            assert_eq!(done_at(&d.render("cloud02")), Some(at()));
        }
    }

    #[test]
    fn built_carries_the_time() {
        let d = StepDetails::Built { at: at() };
        assert_eq!(
            stored(&d),
            format!(r#"{{"v":1,"fields":{{"at":"{AT_TEXT}","to":"cloud02"}}}}"#)
        );
        assert_eq!(done_at(&d.render("cloud02")), Some(at()));
    }

    fn stored_run(details: &RunDetails) -> String {
        details.render().to_json().expect("details serialize")
    }

    #[test]
    fn cloud_user_names_the_login_and_once_made_its_id() {
        let d = |user_id| RunDetails::CloudUser {
            login: "cloud02".to_owned(),
            user_id,
        };
        assert_eq!(
            stored_run(&d(None)),
            r#"{"v":1,"fields":{"login":"cloud02"}}"#
        );
        assert_eq!(
            stored_run(&d(Some(41))),
            r#"{"v":1,"fields":{"login":"cloud02","user_id":"41"}}"#
        );
    }

    #[test]
    fn host_validated_names_the_cloud_and_the_rekick() {
        for (rekicked, word) in [(true, "true"), (false, "false")] {
            let d = RunDetails::HostValidated {
                cloud: "cloud02".to_owned(),
                rekicked,
            };
            assert_eq!(
                stored_run(&d),
                format!(r#"{{"v":1,"fields":{{"cloud":"cloud02","rekicked":"{word}"}}}}"#)
            );
        }
    }

    #[test]
    fn cloud_validated_names_the_ticket() {
        let d = RunDetails::CloudValidated {
            ticket: "42".to_owned(),
        };
        assert_eq!(stored_run(&d), r#"{"v":1,"fields":{"ticket":"42"}}"#);
    }

    #[test]
    fn validation_rekick_lists_the_problems() {
        let d = RunDetails::ValidationRekick {
            cloud: "cloud02".to_owned(),
            problems: vec!["no ping".to_owned(), "ssh refused".to_owned()],
        };
        assert_eq!(
            stored_run(&d),
            r#"{"v":1,"fields":{"action":"re-kick","cloud":"cloud02","problems":"no ping; ssh refused"}}"#
        );
    }

    #[test]
    fn hook_adds_its_seconds_to_a_tenth_once_run() {
        let d = |ran| StepDetails::Hook {
            command: "/usr/local/bin/site-hook {host}".to_owned(),
            ran,
        };
        assert_eq!(
            stored(&d(None)),
            r#"{"v":1,"fields":{"command":"/usr/local/bin/site-hook {host}","to":"cloud02"}}"#
        );
        assert_eq!(
            stored(&d(Some(Duration::from_millis(2_345)))),
            r#"{"v":1,"fields":{"command":"/usr/local/bin/site-hook {host}","seconds":"2.3","to":"cloud02"}}"#
        );
    }
}

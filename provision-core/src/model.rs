//! The inventory's vocabulary: names, ids, the state enums and the typed records the store keeps
//! (hosts, their network interfaces, clouds, assignments, schedules, runs, journal entries).

use std::fmt;
use std::str::FromStr;

use crate::time::Timestamp;

/// Why a value from outside (argv, a file, a database row) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A name is empty, too long or holds characters that have no place in one.
    #[error("invalid {kind} name {value:?}: {reason}")]
    InvalidName {
        /// What the name names (`host`, `cloud`).
        kind: &'static str,
        /// The refused text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A word that is not one of the accepted values of an enum.
    #[error("invalid {kind} {value:?}: expected one of {expected}")]
    UnknownValue {
        /// What the word chooses (`wipe`, `boot type`, ...).
        kind: &'static str,
        /// The refused text.
        value: String,
        /// The accepted words.
        expected: &'static str,
    },
    /// A time that is neither RFC 3339 nor one of the accepted short forms.
    #[error(
        "invalid time {value:?}: expected RFC 3339 (2025-01-31T22:00:00Z) or `YYYY-MM-DD[ HH:MM[:SS]]` (UTC)"
    )]
    InvalidTimestamp {
        /// The refused text.
        value: String,
    },
    /// A MAC address that is not six hexadecimal octets.
    #[error("invalid MAC address {value:?}: expected six hexadecimal octets (52:54:00:ab:cd:ef)")]
    InvalidMac {
        /// The refused text.
        value: String,
    },
    /// A number outside the range its field accepts.
    #[error("invalid {kind} {value}: expected {expected}")]
    OutOfRange {
        /// What the number is (`qinq`, `VLAN id`).
        kind: &'static str,
        /// The refused number.
        value: i64,
        /// The accepted range.
        expected: &'static str,
    },
    /// A time range whose end is not after its start.
    #[error("invalid range {start} .. {end}: the end must be after the start")]
    EmptyRange {
        /// Start of the refused range.
        start: Timestamp,
        /// End of the refused range.
        end: Timestamp,
    },
}

fn check_name(kind: &'static str, value: &str) -> Result<(), ModelError> {
    let refuse = |reason| {
        Err(ModelError::InvalidName {
            kind,
            value: value.to_owned(),
            reason,
        })
    };
    if value.is_empty() {
        return refuse("it is empty");
    }
    if value.len() > 255 {
        return refuse("it is longer than 255 bytes");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return refuse("it contains whitespace or control characters");
    }
    if value.starts_with('-') {
        return refuse("it starts with '-'");
    }
    Ok(())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps a name.
            ///
            /// # Errors
            /// [`ModelError::InvalidName`] when the name is empty, longer than 255 bytes, starts
            /// with `-` or holds whitespace or control characters.
            pub fn new(value: impl Into<String>) -> Result<Self, ModelError> {
                let value = value.into();
                check_name($kind, &value)?;
                Ok(Self(value))
            }

            /// The name as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A host's name as Foreman and the schedule know it (usually its FQDN).
    HostName,
    "host"
);
name_type!(
    /// A cloud (tenant) name such as `cloud02`; `cloud01` is by convention the spare pool.
    CloudName,
    "cloud"
);
name_type!(
    /// A host's network interface name as QUADS keeps it (`em1`, `ens1f0`).
    InterfaceName,
    "interface"
);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

id_type!(
    /// The store's id of an assignment.
    AssignmentId
);
id_type!(
    /// The store's id of a schedule.
    ScheduleId
);
id_type!(
    /// The store's id of a run of `move-hosts`.
    RunId
);
id_type!(
    /// The store's id of one journal entry.
    EntryId
);

macro_rules! word_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal, { $($(#[$vdoc:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The word the store, the CLI and the inventory use for this value.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok(Self::$variant),)+
                    _ => Err(ModelError::UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: concat!($($word, " "),+),
                    }),
                }
            }
        }
    };
}

word_enum!(
    /// Whether a host is in service.
    HostState, "host state", {
        /// In service: moved as the schedule says.
        Active => "active",
        /// Out of service for repair: never moved until it is active again.
        Broken => "broken",
        /// Gone for good: never moved.
        Retired => "retired",
    }
);

word_enum!(
    /// Whether a move re-provisions the host (Foreman rebuild) or only hands it over.
    Wipe, "wipe", {
        /// Rebuild the host through Foreman.
        Yes => "yes",
        /// Hand the host over as it is.
        No => "no",
    }
);

word_enum!(
    /// The firmware boot mode the tenant's OS is installed for.
    BootType, "boot type", {
        /// UEFI boot.
        Uefi => "uefi",
        /// Legacy BIOS boot.
        Bios => "bios",
    }
);

word_enum!(
    /// Whether every host scheduled into a cloud has arrived there.
    CloudStatus, "cloud status", {
        /// At least one host is still to be moved in.
        Pending => "pending",
        /// All its hosts are in place.
        Provisioned => "provisioned",
    }
);

word_enum!(
    /// What a run does.
    RunKind, "run kind", {
        /// `quads move-hosts`.
        MoveHosts => "move-hosts",
        /// `quads foreman heal` (holds the run lock so it never races a move).
        ForemanHeal => "foreman-heal",
        /// `quads validate` (the tenant's checks of provisioned clouds, on demand).
        Validate => "validate",
        /// Sending notifications (`quads notify`, and after a move or a validation), so two
        /// processes never send the same pending one.
        Notify => "notify",
    }
);

word_enum!(
    /// Where a run stands.
    RunState, "run state", {
        /// Running now (holds the run lock).
        Active => "active",
        /// Finished, every move succeeded.
        Succeeded => "succeeded",
        /// Finished, at least one move failed.
        Failed => "failed",
        /// Stopped by a signal or a deadline, resumable.
        Interrupted => "interrupted",
        /// Found active with no live process holding the lock: the process died (kill -9, crash).
        Abandoned => "abandoned",
    }
);

word_enum!(
    /// Whether a journal entry was written before acting or after.
    Phase, "journal phase", {
        /// Written before acting: what is about to be done.
        Intent => "intent",
        /// Written after acting: what came of it.
        Outcome => "outcome",
    }
);

word_enum!(
    /// What came of a step.
    StepOutcome, "step outcome", {
        /// Acted, then verified that reality is as wanted.
        Verified => "verified",
        /// The check found reality already as wanted: nothing was done.
        AlreadyDone => "already-done",
        /// The step failed (see the entry's error).
        Failed => "failed",
        /// The step was stopped before it could finish.
        Cancelled => "cancelled",
    }
);

impl StepOutcome {
    /// Whether reality is known to be as the step wants (so a resumed run may skip it).
    #[must_use]
    pub fn is_done(self) -> bool {
        matches!(self, Self::Verified | Self::AlreadyDone)
    }
}

/// One step of the move-and-rebuild workflow (DESIGN §3), as the journal names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Foreman user, role and filter of the target cloud.
    CloudUser,
    /// Tenant account (password and role) on the host's BMC.
    BmcAccount,
    /// The host's switch ports moved into its new tenancy's VLANs.
    SwitchPorts,
    /// Persistent boot order with the provisioning NIC first.
    BootOrder,
    /// Foreman host parameters and the build flag.
    ForemanHost,
    /// The Foreman owner alone (moves without a rebuild, and back to the spare pool).
    ForemanOwner,
    /// One-time network boot and power cycle.
    NetworkBoot,
    /// Wait for Foreman to report the install finished.
    InstallWait,
    /// A second one-time network boot and power cycle of a host whose install did not start
    /// by the install-start deadline (once per move).
    Rekick,
    /// The checks a cloud's tenant would make once its hosts are installed (per host and per
    /// cloud).
    Validate,
    /// Power off (moves to the spare pool).
    PowerOff,
    /// Record the host's new cloud in the store.
    Record,
    /// A site hook step, by name.
    Hook(String),
    /// The Foreman user of a cloud whose assignments all ended: disabled, password rotated.
    CloudRetire,
}

impl Step {
    /// The text stored in the journal.
    #[must_use]
    pub fn to_word(&self) -> String {
        match self {
            Self::CloudUser => "cloud-user".to_owned(),
            Self::BmcAccount => "bmc-account".to_owned(),
            Self::SwitchPorts => "switch-ports".to_owned(),
            Self::BootOrder => "boot-order".to_owned(),
            Self::ForemanHost => "foreman-host".to_owned(),
            Self::ForemanOwner => "foreman-owner".to_owned(),
            Self::NetworkBoot => "network-boot".to_owned(),
            Self::InstallWait => "install-wait".to_owned(),
            Self::Rekick => "re-kick".to_owned(),
            Self::Validate => "validate".to_owned(),
            Self::PowerOff => "power-off".to_owned(),
            Self::Record => "record".to_owned(),
            Self::Hook(name) => format!("hook:{name}"),
            Self::CloudRetire => "cloud-retire".to_owned(),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_word())
    }
}

impl FromStr for Step {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "cloud-user" => Self::CloudUser,
            "bmc-account" => Self::BmcAccount,
            "switch-ports" => Self::SwitchPorts,
            "boot-order" => Self::BootOrder,
            "foreman-host" => Self::ForemanHost,
            "foreman-owner" => Self::ForemanOwner,
            "cloud-retire" => Self::CloudRetire,
            "network-boot" => Self::NetworkBoot,
            "install-wait" => Self::InstallWait,
            "re-kick" => Self::Rekick,
            "validate" => Self::Validate,
            "power-off" => Self::PowerOff,
            "record" => Self::Record,
            other => match other.strip_prefix("hook:") {
                Some(name) if !name.is_empty() => Self::Hook(name.to_owned()),
                _ => {
                    return Err(ModelError::UnknownValue {
                        kind: "step",
                        value: s.to_owned(),
                        expected: "cloud-user bmc-account switch-ports boot-order foreman-host \
                                   foreman-owner network-boot install-wait re-kick power-off record \
                                   cloud-retire validate hook:NAME",
                    });
                }
            },
        })
    }
}

/// What a journal entry is about: one host, or a cloud as a whole (its Foreman user).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    /// A per-host step.
    Host(HostName),
    /// A per-cloud step.
    Cloud(CloudName),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host(h) => write!(f, "host {h}"),
            Self::Cloud(c) => write!(f, "cloud {c}"),
        }
    }
}

impl From<HostName> for Subject {
    fn from(value: HostName) -> Self {
        Self::Host(value)
    }
}

impl From<CloudName> for Subject {
    fn from(value: CloudName) -> Self {
        Self::Cloud(value)
    }
}

/// A server of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Its name (FQDN).
    pub name: HostName,
    /// Its BMC's address (host name or IP, optionally with a port).
    pub bmc_address: String,
    /// Hardware model (`r640`, ...), if known.
    pub model: Option<String>,
    /// Host type (the interfaces YAML key), if known.
    pub host_type: Option<String>,
    /// The cloud it belongs in when no schedule holds it.
    pub default_cloud: CloudName,
    /// The cloud it is in now: changes only when a move into another cloud succeeded.
    pub current_cloud: CloudName,
    /// Whether it is in service.
    pub state: HostState,
}

/// A MAC address, kept as lower-case colon-separated octets (`52:54:00:ab:cd:ef`); `-` or `.`
/// separators and upper case are accepted on the way in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddress(String);

impl MacAddress {
    /// Validates and normalises a MAC address.
    ///
    /// # Errors
    /// [`ModelError::InvalidMac`] unless it is six hexadecimal octets (`aa:bb:..`, `aa-bb-..`) or
    /// three groups of four digits (`aabb.ccdd.eeff`).
    pub fn new(value: &str) -> Result<Self, ModelError> {
        let refuse = || ModelError::InvalidMac {
            value: value.to_owned(),
        };
        let digits: String = if value.contains('.') {
            let groups: Vec<&str> = value.split('.').collect();
            if groups.len() != 3 || groups.iter().any(|g| g.len() != 4) {
                return Err(refuse());
            }
            groups.concat()
        } else {
            let sep = if value.contains('-') { '-' } else { ':' };
            let octets: Vec<&str> = value.split(sep).collect();
            if octets.len() != 6 || octets.iter().any(|o| o.len() != 2) {
                return Err(refuse());
            }
            octets.concat()
        };
        if digits.len() != 12 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(refuse());
        }
        let lower = digits.to_ascii_lowercase();
        let mut out = String::with_capacity(17);
        for (i, pair) in lower.as_bytes().chunks(2).enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.extend(pair.iter().map(|&b| char::from(b)));
        }
        Ok(Self(out))
    }

    /// The address as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for MacAddress {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// A host's network interface and the switch port it is cabled to, as QUADS's `Interface`
/// record keeps it. Its switch port follows the host's cloud (see [`crate::network`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The host it belongs to.
    pub host: HostName,
    /// Its name (`em1`...); QUADS orders a host's interfaces by it to pick their VLANs.
    pub name: InterfaceName,
    /// The firmware's name for it (`NIC.Integrated.1-1-1`), if known.
    pub bios_id: Option<String>,
    /// Its MAC address, if known.
    pub mac_address: Option<MacAddress>,
    /// The switch it is cabled to (its management address or name).
    pub switch_ip: String,
    /// The switch port (`xe-0/0/1`).
    pub switch_port: String,
    /// Link speed in Gb/s, if known.
    pub speed: Option<u32>,
    /// NIC vendor, if known.
    pub vendor: Option<String>,
    /// Whether the host network-boots from it.
    pub pxe_boot: bool,
    /// Whether it is out of service: its switch port is never reconfigured.
    pub maintenance: bool,
}

/// How a cloud's hosts' NICs are put on the network (QUADS's assignment `qinq`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum QinQ {
    /// `0`: each NIC (by position) in its own VLAN of the cloud.
    #[default]
    Separated,
    /// `1`: every NIC in the cloud's first VLAN (one QinQ group).
    Combined,
}

impl QinQ {
    /// QUADS's number for it.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Separated => 0,
            Self::Combined => 1,
        }
    }

    /// From QUADS's number.
    ///
    /// # Errors
    /// [`ModelError::OutOfRange`] unless 0 or 1.
    pub fn from_number(n: i64) -> Result<Self, ModelError> {
        match n {
            0 => Ok(Self::Separated),
            1 => Ok(Self::Combined),
            _ => Err(ModelError::OutOfRange {
                kind: "qinq",
                value: n,
                expected: "0 (NICs separated) or 1 (all NICs in one QinQ group)",
            }),
        }
    }
}

impl fmt::Display for QinQ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_u8(), f)
    }
}

impl FromStr for QinQ {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| ModelError::UnknownValue {
                kind: "qinq",
                value: s.to_owned(),
                expected: "0 1",
            })?;
        Self::from_number(n)
    }
}

/// An 802.1Q VLAN id (1..=4094).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VlanId(u16);

impl VlanId {
    /// Validates a VLAN id.
    ///
    /// # Errors
    /// [`ModelError::OutOfRange`] outside 1..=4094.
    pub fn new(n: i64) -> Result<Self, ModelError> {
        match u16::try_from(n) {
            Ok(v) if (1..=4094).contains(&v) => Ok(Self(v)),
            _ => Err(ModelError::OutOfRange {
                kind: "VLAN id",
                value: n,
                expected: "1..=4094",
            }),
        }
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for VlanId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s
            .trim()
            .parse::<i64>()
            .map_err(|_| ModelError::UnknownValue {
                kind: "VLAN id",
                value: s.to_owned(),
                expected: "a number in 1..=4094",
            })?;
        Self::new(n)
    }
}

/// A tenant (or the spare pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Its name.
    pub name: CloudName,
    /// Free text.
    pub description: String,
    /// Whether all its hosts are in place.
    pub status: CloudStatus,
}

/// A cloud's allocation: who holds it, under which ticket, and how its hosts are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The store's id.
    pub id: AssignmentId,
    /// What the store keeps about it.
    pub spec: AssignmentSpec,
}

/// An assignment's contents, before (or without) its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentSpec {
    /// The cloud it allocates.
    pub cloud: CloudName,
    /// The request ticket (unique per cloud).
    pub ticket: String,
    /// Who holds the cloud.
    pub owner: String,
    /// Free text.
    pub description: String,
    /// Whether hosts moving in are rebuilt.
    pub wipe: Wipe,
    /// Foreman operating system name (for a wipe).
    pub os: Option<String>,
    /// Foreman partition table name (for a wipe).
    pub partition_table: Option<String>,
    /// Foreman installation medium name (for a wipe).
    pub medium: Option<String>,
    /// Firmware boot mode.
    pub boot_type: BootType,
    /// How its hosts' NICs are put on the network.
    pub qinq: QinQ,
    /// The public VLAN its hosts' last NIC is trunked into, if it has one.
    pub public_vlan: Option<VlanId>,
}

/// A time range, start inclusive, end exclusive: a host is held at `t` when `start <= t < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeRange {
    start: Timestamp,
    end: Timestamp,
}

impl TimeRange {
    /// A range `[start, end)`.
    ///
    /// # Errors
    /// [`ModelError::EmptyRange`] unless `start < end`.
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, ModelError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(ModelError::EmptyRange { start, end })
        }
    }

    /// First instant inside.
    #[must_use]
    pub fn start(&self) -> Timestamp {
        self.start
    }

    /// First instant after.
    #[must_use]
    pub fn end(&self) -> Timestamp {
        self.end
    }

    /// Whether `t` is inside: `start <= t < end`.
    #[must_use]
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }

    /// Whether the two ranges share an instant (ranges that only touch do not).
    #[must_use]
    pub fn overlaps(&self, other: &Self) -> bool {
        self.start < other.end && other.start < self.end
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} .. {}", self.start, self.end)
    }
}

/// A host held by an assignment (so by its cloud) for a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The store's id.
    pub id: ScheduleId,
    /// The host held.
    pub host: HostName,
    /// The assignment holding it.
    pub assignment: AssignmentId,
    /// When.
    pub range: TimeRange,
    /// When its build started, once a move ran.
    pub build_start: Option<Timestamp>,
    /// When its build finished, once a move succeeded.
    pub build_end: Option<Timestamp>,
}

/// A schedule to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    /// The host held.
    pub host: HostName,
    /// The assignment holding it.
    pub assignment: AssignmentId,
    /// When.
    pub range: TimeRange,
}

/// One run of `move-hosts`, as the `runs` table keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub id: RunId,
    /// What it does.
    pub kind: RunKind,
    /// Where it stands.
    pub state: RunState,
    /// The process that ran (or runs) it.
    pub pid: u32,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished, once it did.
    pub finished_at: Option<Timestamp>,
    /// The schedule time the run planned for.
    pub target_time: Timestamp,
}

/// One line of the run journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// The entry's id (entries of a run are ordered by it).
    pub id: EntryId,
    /// The run that wrote it.
    pub run: RunId,
    /// The host or cloud the step works on.
    pub subject: Subject,
    /// The step.
    pub step: Step,
    /// Intent (before acting) or outcome (after).
    pub phase: Phase,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// What came of it (outcome entries only).
    pub outcome: Option<StepOutcome>,
    /// What went wrong (failed outcomes).
    pub error: Option<String>,
    /// Step-specific facts.
    pub details: crate::journal::Details,
    /// When it was written.
    pub recorded_at: Timestamp,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_refuse_what_cannot_be_a_name() {
        assert!(HostName::new("host01.example.com").is_ok());
        for bad in ["", "a b", "-x", "tab\there"] {
            assert!(HostName::new(bad).is_err(), "{bad:?} accepted");
        }
        assert!(CloudName::new("x".repeat(256)).is_err());
    }

    #[test]
    fn words_round_trip() {
        for s in HostState::ALL {
            assert_eq!(s.as_str().parse::<HostState>(), Ok(*s));
        }
        for s in RunState::ALL {
            assert_eq!(s.as_str().parse::<RunState>(), Ok(*s));
        }
        for s in StepOutcome::ALL {
            assert_eq!(s.as_str().parse::<StepOutcome>(), Ok(*s));
        }
        let err = "maybe".parse::<Wipe>().unwrap_err().to_string();
        assert!(err.contains("yes no"), "{err}");
    }

    #[test]
    fn steps_round_trip() {
        for step in [
            Step::CloudUser,
            Step::BmcAccount,
            Step::SwitchPorts,
            Step::BootOrder,
            Step::ForemanHost,
            Step::ForemanOwner,
            Step::NetworkBoot,
            Step::InstallWait,
            Step::Rekick,
            Step::Validate,
            Step::PowerOff,
            Step::Record,
            Step::Hook("vlan".into()),
            Step::CloudRetire,
        ] {
            assert_eq!(step.to_word().parse::<Step>(), Ok(step));
        }
        assert!("hook:".parse::<Step>().is_err());
        assert!("reboot".parse::<Step>().is_err());
    }

    #[test]
    fn mac_addresses_are_validated_and_normalised() {
        for ok in ["52:54:00:AB:cd:ef", "52-54-00-ab-cd-ef", "5254.00ab.cdef"] {
            assert_eq!(MacAddress::new(ok).unwrap().as_str(), "52:54:00:ab:cd:ef");
        }
        for bad in [
            "",
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:eg",
            "525400abcdef",
            "5:54:00:ab:cd:eff",
        ] {
            let e = MacAddress::new(bad).unwrap_err();
            assert!(matches!(e, ModelError::InvalidMac { .. }), "{bad:?}: {e}");
        }
    }

    #[test]
    fn qinq_and_vlan_ids_keep_to_their_ranges() {
        assert_eq!(QinQ::from_number(0), Ok(QinQ::Separated));
        assert_eq!("1".parse::<QinQ>(), Ok(QinQ::Combined));
        assert!(QinQ::from_number(2).is_err());
        assert_eq!(VlanId::new(4094).unwrap().get(), 4094);
        assert!(VlanId::new(0).is_err() && VlanId::new(4095).is_err());
        let e = "x".parse::<VlanId>().unwrap_err().to_string();
        assert!(e.contains("\"x\"") && !e.contains("-1"), "{e}");
    }

    #[test]
    fn ranges_are_half_open() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let r = TimeRange::new(t("2025-01-01"), t("2025-01-02")).unwrap();
        assert!(r.contains(t("2025-01-01")));
        assert!(!r.contains(t("2025-01-02")));
        let next = TimeRange::new(t("2025-01-02"), t("2025-01-03")).unwrap();
        assert!(!r.overlaps(&next) && !next.overlaps(&r));
        let inner = TimeRange::new(t("2025-01-01 12:00"), t("2025-01-01 13:00")).unwrap();
        assert!(r.overlaps(&inner) && inner.overlaps(&r));
        assert!(TimeRange::new(t("2025-01-02"), t("2025-01-02")).is_err());
        assert!(TimeRange::new(t("2025-01-03"), t("2025-01-02")).is_err());
    }
}

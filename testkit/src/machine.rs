//! The physical side of a lab host: power, POST, boot device choice, OS install, config jobs.
//!
//! State advances lazily: every reader calls [`Machine::advance`] with the current instant, which
//! replays the transitions whose deadlines have passed, in order. No background task runs per
//! host, and under a paused tokio clock the whole lab moves in virtual time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::clock::LabClock;
use crate::metrics::Metrics;
use crate::model::BmcModel;

/// Which BMC a host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// Dell iDRAC9: `System.Embedded.1`, `iDRAC.Embedded.1`, Dell OEM resources at their old paths.
    Dell,
    /// Dell iDRAC10: the same, with Dell OEM resources under `Oem/Dell`.
    Idrac10,
    /// Supermicro: `Systems/1`, `Managers/1`, its own virtual-media API.
    Supermicro,
    /// A plain DMTF Redfish service: `Boot.BootOrder`, `BootOptions`, `BootSourceOverride`.
    Generic,
    /// HPE iLO 5/6: `Systems/1`, `Managers/1`, `Oem.Hpe`; `Boot.BootOrder` is written to the
    /// system's `@Redfish.Settings` object (`Systems/1/Settings`) and applied at the next POST;
    /// no `PowerCycle` reset, but the OEM `HpeComputerSystemExt.SystemReset` (`ColdBoot`, a
    /// power cycle; its `AuxCycle` refused: the lab models no auxiliary power).
    Hpe,
    /// Lenovo XClarity Controller: `Systems/1`, `Managers/1`, `Oem.Lenovo`; `Boot.BootOrder`
    /// is written to the system's pending settings (`Systems/1/Pending`), applied at the next POST.
    Lenovo,
}

impl Flavor {
    /// Every flavour, in the order `quads-lab --flavors` lists them.
    pub const EVERY: [Self; 6] = [
        Self::Dell,
        Self::Idrac10,
        Self::Supermicro,
        Self::Generic,
        Self::Hpe,
        Self::Lenovo,
    ];

    /// A fleet's flavours from their names (as [`Flavor::parse`] reads them), `all` standing for
    /// [`Flavor::EVERY`]; an empty list stays empty.
    ///
    /// # Errors
    /// The first unknown name, with the names known.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Self>, String> {
        if names.iter().any(|n| n.as_ref().trim() == "all") {
            return Ok(Self::EVERY.to_vec());
        }
        names
            .iter()
            .map(|n| {
                Self::parse(n.as_ref()).ok_or_else(|| {
                    format!(
                        "unknown flavour {:?} (dell, idrac10, supermicro, generic, hpe, lenovo, or all)",
                        n.as_ref()
                    )
                })
            })
            .collect()
    }

    /// Parses `dell`, `idrac9`, `idrac10`, `supermicro`, `generic` (or `dmtf`), `hpe` (or
    /// `ilo`), `lenovo` (or `xcc`).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "dell" | "idrac" | "idrac9" => Some(Self::Dell),
            "idrac10" | "dell10" => Some(Self::Idrac10),
            "supermicro" | "smc" => Some(Self::Supermicro),
            "generic" | "dmtf" => Some(Self::Generic),
            "hpe" | "ilo" | "ilo5" | "ilo6" => Some(Self::Hpe),
            "lenovo" | "xcc" => Some(Self::Lenovo),
            _ => None,
        }
    }

    /// Whether the BMC stages `Boot.BootOrder` in the system's `@Redfish.Settings` object (HPE,
    /// Lenovo) rather than applying it at once.
    #[must_use]
    pub fn stages_boot_order(self) -> bool {
        matches!(self, Self::Hpe | Self::Lenovo)
    }

    /// Whether this is a Dell iDRAC (either generation).
    #[must_use]
    pub fn is_dell(self) -> bool {
        matches!(self, Self::Dell | Self::Idrac10)
    }

    /// The hardware models of this flavour, one picked per host.
    #[must_use]
    pub fn models(self) -> &'static [&'static str] {
        match self {
            Self::Dell => &["r640", "r650", "r750"],
            Self::Idrac10 => &["r660", "r760"],
            Self::Supermicro => &["1029p", "6029p"],
            Self::Generic => &["generic"],
            Self::Hpe => &["dl360", "dl380"],
            Self::Lenovo => &["sr630", "sr650"],
        }
    }

    /// The flavour's name as the CLI spells it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Dell => "dell",
            Self::Idrac10 => "idrac10",
            Self::Supermicro => "supermicro",
            Self::Generic => "generic",
            Self::Hpe => "hpe",
            Self::Lenovo => "lenovo",
        }
    }
}

/// What kind of device a boot entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceKind {
    /// A network interface (PXE).
    Nic,
    /// A local disk or RAID volume.
    Disk,
    /// Virtual media (a mounted ISO).
    VirtualCd,
}

/// One bootable device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootDevice {
    /// The device's id as the BMC names it (`NIC.Integrated.1-1-1`, `HardDisk.List.1-1`).
    pub id: String,
    /// Its kind.
    pub kind: DeviceKind,
    /// Its MAC address, for NICs.
    pub mac: Option<String>,
}

/// Where a one-time or continuous boot override points (Redfish `BootSourceOverrideTarget`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverrideTarget {
    /// No override.
    None,
    /// Network boot.
    Pxe,
    /// Local disk.
    Hdd,
    /// Virtual or physical CD.
    Cd,
    /// Supermicro's virtual CD (`UsbCd`), kept as set: it boots the virtual CD like `Cd`.
    UsbCd,
    /// BIOS setup.
    BiosSetup,
}

/// Whether the override applies (Redfish `BootSourceOverrideEnabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OverrideEnabled {
    /// Not applied.
    Disabled,
    /// Applied to the next boot, then back to `Disabled`.
    Once,
    /// Applied to every boot.
    Continuous,
}

/// What the machine booted from last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BootedFrom {
    /// The provisioning network.
    Network,
    /// The local disk.
    Disk,
    /// Virtual media.
    VirtualMedia,
    /// BIOS setup (waits there).
    BiosSetup,
    /// A network boot that failed (no DHCP answer, no boot file): the host sits at the PXE
    /// error until it is booted again (the `pxe_fail_hosts` fault).
    PxeError,
}

/// The machine's power and boot phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Powered off.
    Off,
    /// Powering off; powers on again afterwards if `then_on`.
    ShuttingDown {
        /// When it is off.
        until: Instant,
        /// Whether it powers on again (restart or cycle).
        then_on: bool,
    },
    /// Power-on self test, choosing the boot device at `until`.
    Posting {
        /// When POST ends.
        until: Instant,
    },
    /// Installing the OS from the network until `until`.
    Installing {
        /// When the install finishes.
        until: Instant,
    },
    /// Up, booted from a device.
    Running {
        /// The device.
        from: BootedFrom,
    },
}

/// Redfish `PowerState` as the BMC reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PowerState {
    /// On (also while powering off, as an iDRAC reports it).
    On,
    /// Off.
    Off,
}

/// A Redfish `ResetType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetType {
    /// Power on.
    On,
    /// Power on (no-op if on).
    ForceOn,
    /// Cut power.
    ForceOff,
    /// Ask the OS to shut down.
    GracefulShutdown,
    /// Ask the OS to restart.
    GracefulRestart,
    /// Hard reset.
    ForceRestart,
    /// Off, then on.
    PowerCycle,
    /// Press the power button.
    PushPowerButton,
    /// Non-maskable interrupt.
    Nmi,
    /// HPE iLO's own power cycle (`ColdBoot` of its OEM `HpeComputerSystemExt.SystemReset`,
    /// not a DMTF type): main power removed, back on by itself; as `PowerCycle` here.
    ColdBoot,
}

impl ResetType {
    /// Every reset type, in Redfish spelling (`ColdBoot` in iLO's).
    pub const ALL: [Self; 10] = [
        Self::On,
        Self::ForceOn,
        Self::ForceOff,
        Self::GracefulShutdown,
        Self::GracefulRestart,
        Self::ForceRestart,
        Self::PowerCycle,
        Self::PushPowerButton,
        Self::Nmi,
        Self::ColdBoot,
    ];

    /// The Redfish name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "On",
            Self::ForceOn => "ForceOn",
            Self::ForceOff => "ForceOff",
            Self::GracefulShutdown => "GracefulShutdown",
            Self::GracefulRestart => "GracefulRestart",
            Self::ForceRestart => "ForceRestart",
            Self::PowerCycle => "PowerCycle",
            Self::PushPowerButton => "PushPowerButton",
            Self::Nmi => "Nmi",
            Self::ColdBoot => "ColdBoot",
        }
    }

    /// Parses the Redfish name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// A reset that makes no sense in the machine's state (answered 409 by a Dell BMC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResetRefused {
    /// Already on.
    #[error("the server is already powered on")]
    AlreadyOn,
    /// Already off.
    #[error("the server is already powered off")]
    AlreadyOff,
}

/// What a config job changes when it is applied during POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobChange {
    /// BIOS attributes (`Bios/Settings`), including Dell's `OneTimeBootMode`/`OneTimeBootSeqDev`.
    Bios(BTreeMap<String, serde_json::Value>),
    /// The persistent boot order (`BootSources/Settings`), device ids first to last.
    BootOrder(Vec<String>),
    /// Dell NIC attributes of one port (`DellNetworkAttributes/{fqdd}/Settings`).
    Nic {
        /// The port's FQDD (`NIC.Integrated.1-1-1`).
        fqdd: String,
        /// The attributes it sets.
        attributes: BTreeMap<String, serde_json::Value>,
    },
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Waiting for the next POST.
    Scheduled,
    /// Being applied during POST.
    Running,
    /// Applied.
    Completed,
    /// Not applied.
    Failed,
}

/// A BMC job (Dell's config jobs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// `JID_...`.
    pub id: String,
    /// The settings resource it applies (`/redfish/v1/Systems/System.Embedded.1/Bios/Settings`).
    pub target: String,
    /// Its state.
    pub state: JobState,
    /// What it changes.
    pub change: JobChange,
    /// A job that never finishes (the stuck-queue fault) until the queue is force-cleared.
    pub stuck: bool,
}

/// One lab host's hardware.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Position in the lab (0-based).
    pub index: usize,
    /// Host name (as Foreman knows it).
    pub name: String,
    /// Hardware model (`r640`).
    pub model: String,
    /// BMC flavour.
    pub flavor: Flavor,
    /// The BMC's address.
    pub bmc: SocketAddr,
    /// The NIC on the provisioning network.
    pub provisioning_nic: String,
    /// Bootable devices.
    pub devices: Vec<BootDevice>,
    /// The persistent boot order, device ids.
    pub boot_order: Vec<String>,
    /// A boot order staged in the system's settings object (HPE, Lenovo), applied at the next
    /// POST.
    pub pending_boot_order: Option<Vec<String>>,
    /// `Bios` or `Uefi`.
    pub boot_mode: String,
    /// The boot override target.
    pub override_target: OverrideTarget,
    /// Whether the override applies.
    pub override_enabled: OverrideEnabled,
    /// BIOS attributes.
    pub bios: BTreeMap<String, serde_json::Value>,
    /// Dell NIC attributes set by config jobs, per port FQDD (the others keep their defaults).
    pub nic_attributes: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Jobs, oldest first.
    pub jobs: Vec<Job>,
    /// Counter for job ids.
    pub next_job: u64,
    /// Power and boot phase.
    pub phase: Phase,
    /// The image mounted as virtual CD, if any.
    pub virtual_media: Option<String>,
    /// Whether the machine went down from running since its last boot (for power-cycle counts).
    pub went_down: bool,
    /// Foreman `build` flag of this host (owned here so installs can clear it).
    pub build: bool,
    /// Lab seconds at which the last install finished.
    pub installed_at: Option<f64>,
    /// Seconds the BMC is unreachable after a `Manager.Reset`, until this instant.
    pub bmc_restarting_until: Option<Instant>,
    /// The next network boot in build mode fails (the `pxe_fail_hosts` fault, once).
    pub pxe_fails_once: bool,
    /// Every install of this host hangs (the `install_hang_hosts` fault).
    pub install_hangs: bool,
    /// Network boots since Foreman last set `build=true` (a second one is a re-kick).
    pub network_boots_in_build: u32,
}

/// What the lab needs to move a machine forward in time.
#[derive(Debug, Clone, Copy)]
pub struct Physics<'a> {
    /// Lab time.
    pub clock: &'a LabClock,
    /// BMC timings.
    pub bmc: &'a BmcModel,
    /// Install time (Foreman model).
    pub install: f64,
    /// Where counters go.
    pub metrics: &'a Metrics,
}

impl Machine {
    /// Current `PowerState` after advancing to now.
    pub fn power_state(&mut self, physics: Physics<'_>) -> PowerState {
        self.advance(physics);
        match self.phase {
            Phase::Off => PowerState::Off,
            _ => PowerState::On,
        }
    }

    /// When the next transition is due (`None` when the machine waits for nobody).
    #[must_use]
    pub fn due(&self) -> Option<Instant> {
        match self.phase {
            Phase::ShuttingDown { until, .. }
            | Phase::Posting { until }
            | Phase::Installing { until } => Some(until),
            Phase::Off | Phase::Running { .. } => None,
        }
    }

    /// Replays every transition due by now.
    pub fn advance(&mut self, physics: Physics<'_>) {
        self.advance_to(Instant::now(), physics);
    }

    /// Replays every transition due by `now` (one reading of the clock serves a whole
    /// fleet: under a paused clock each reading takes a lock).
    pub fn advance_to(&mut self, now: Instant, physics: Physics<'_>) {
        loop {
            match self.phase {
                Phase::ShuttingDown { until, then_on } if until <= now => {
                    self.went_down = true;
                    if then_on {
                        self.start_post(until, physics);
                    } else {
                        self.phase = Phase::Off;
                    }
                }
                Phase::Posting { until } if until <= now => self.finish_post(until, physics),
                Phase::Installing { until } if until <= now => {
                    self.build = false;
                    self.installed_at = Some(physics.clock.lab_now());
                    physics.metrics.host(&self.name, |c| c.installs += 1);
                    self.phase = Phase::Running {
                        from: BootedFrom::Disk,
                    };
                }
                _ => return,
            }
        }
    }

    /// Applies a `ComputerSystem.Reset` (or iLO's OEM `ColdBoot`).
    ///
    /// # Errors
    /// [`ResetRefused`] for `On` while on and `ForceOff`/`GracefulShutdown` while off.
    pub fn reset(&mut self, reset: ResetType, physics: Physics<'_>) -> Result<(), ResetRefused> {
        self.advance(physics);
        let now = Instant::now();
        let is_off = matches!(self.phase, Phase::Off);
        let shutting_down = matches!(self.phase, Phase::ShuttingDown { .. });
        match reset {
            ResetType::On | ResetType::ForceOn if !is_off => {
                if shutting_down {
                    // Pressing On while it goes down: it comes back up afterwards.
                    if let Phase::ShuttingDown { until, .. } = self.phase {
                        self.phase = Phase::ShuttingDown {
                            until,
                            then_on: true,
                        };
                    }
                    return Ok(());
                }
                return if reset == ResetType::ForceOn {
                    Ok(())
                } else {
                    Err(ResetRefused::AlreadyOn)
                };
            }
            ResetType::ForceOff | ResetType::GracefulShutdown if is_off => {
                return Err(ResetRefused::AlreadyOff);
            }
            _ => {}
        }
        physics.metrics.host(&self.name, |c| {
            *c.resets.entry(reset.as_str().to_owned()).or_default() += 1;
        });
        let off_in = |secs: f64| {
            physics
                .clock
                .after(physics.clock.service_time(secs, physics.bmc.sigma))
        };
        match reset {
            ResetType::On | ResetType::ForceOn => self.start_post(now, physics),
            ResetType::ForceOff => {
                let drawn = physics
                    .clock
                    .service_time(physics.bmc.power_off, physics.bmc.sigma);
                physics.metrics.host(&self.name, |c| {
                    c.longest_force_off_ms = c.longest_force_off_ms.max(lab_millis(drawn));
                });
                self.phase = Phase::ShuttingDown {
                    until: physics.clock.after(drawn),
                    then_on: false,
                }
            }
            ResetType::GracefulShutdown => {
                self.phase = Phase::ShuttingDown {
                    until: off_in(physics.bmc.graceful_off),
                    then_on: false,
                };
            }
            ResetType::GracefulRestart if !is_off => {
                self.phase = Phase::ShuttingDown {
                    until: off_in(physics.bmc.graceful_off),
                    then_on: true,
                };
            }
            // iLO's ColdBoot cuts main power and brings the server back as a power cycle does
            ResetType::PowerCycle | ResetType::ColdBoot if !is_off => {
                self.phase = Phase::ShuttingDown {
                    until: off_in(physics.bmc.power_off),
                    then_on: true,
                };
            }
            // off: powered on (what iLO's ColdBoot does to a server that is off is not
            // documented; the lab answers it as its PowerCycle)
            ResetType::ForceRestart
            | ResetType::GracefulRestart
            | ResetType::PowerCycle
            | ResetType::ColdBoot => {
                if !is_off {
                    self.went_down = true;
                }
                self.start_post(now, physics);
            }
            ResetType::PushPowerButton => {
                if is_off {
                    self.start_post(now, physics);
                } else {
                    self.phase = Phase::ShuttingDown {
                        until: off_in(physics.bmc.graceful_off),
                        then_on: false,
                    };
                }
            }
            ResetType::Nmi => {}
        }
        Ok(())
    }

    fn start_post(&mut self, at: Instant, physics: Physics<'_>) {
        let mut post = physics
            .clock
            .service_time(physics.bmc.power_on_post, physics.bmc.sigma);
        let mut jobs_due = self.pending_boot_order.is_some();
        for job in &mut self.jobs {
            if job.state == JobState::Scheduled {
                job.state = JobState::Running;
                jobs_due = true;
            }
        }
        if jobs_due {
            post += physics
                .clock
                .service_time(physics.bmc.config_job, physics.bmc.sigma);
        }
        let cycled = std::mem::take(&mut self.went_down);
        physics.metrics.host(&self.name, |c| {
            c.boots += 1;
            if cycled {
                c.power_cycles += 1;
            }
        });
        self.phase = Phase::Posting {
            until: at + physics.clock.duration(post),
        };
    }

    fn finish_post(&mut self, at: Instant, physics: Physics<'_>) {
        let mut applied = 0;
        if let Some(order) = self.pending_boot_order.take() {
            self.boot_order = order;
            applied += 1;
        }
        for job in &mut self.jobs {
            if job.state == JobState::Running && !job.stuck {
                job.state = JobState::Completed;
                applied += 1;
                match &job.change {
                    JobChange::Bios(attributes) => {
                        for (k, v) in attributes {
                            self.bios.insert(k.clone(), v.clone());
                        }
                    }
                    JobChange::BootOrder(order) => self.boot_order.clone_from(order),
                    JobChange::Nic { fqdd, attributes } => self
                        .nic_attributes
                        .entry(fqdd.clone())
                        .or_default()
                        .extend(attributes.clone()),
                }
            }
        }
        if applied > 0 {
            physics
                .metrics
                .host(&self.name, |c| c.jobs_applied += applied);
        }
        let mut from = self.choose_boot();
        if from == BootedFrom::Network && self.build {
            self.network_boots_in_build += 1;
            let rekick = self.network_boots_in_build > 1;
            physics.metrics.host(&self.name, |c| {
                if rekick {
                    c.rekicks += 1;
                }
            });
            if std::mem::take(&mut self.pxe_fails_once) {
                from = BootedFrom::PxeError;
            }
        }
        self.phase = match from {
            BootedFrom::Network if self.build => {
                physics
                    .metrics
                    .host(&self.name, |c| c.installs_started += 1);
                let install = if self.install_hangs {
                    // never finishes (a century is the lab's "never")
                    Duration::from_secs(100 * 365 * 86_400)
                } else {
                    physics
                        .clock
                        .duration(physics.clock.service_time(physics.install, 0.1))
                };
                Phase::Installing {
                    until: at + install,
                }
            }
            // Foreman's default PXE menu chains to the local disk of a host not in build mode.
            BootedFrom::Network => Phase::Running {
                from: BootedFrom::Disk,
            },
            other => Phase::Running { from: other },
        };
    }

    /// Picks the boot device at the end of POST and consumes one-time settings.
    fn choose_boot(&mut self) -> BootedFrom {
        // Dell one-time boot: a BIOS attribute pair, consumed by the boot.
        let one_time = self
            .bios
            .get("OneTimeBootMode")
            .and_then(|v| v.as_str())
            .unwrap_or("Disabled")
            .to_owned();
        if one_time != "Disabled" {
            self.bios.insert(
                "OneTimeBootMode".to_owned(),
                serde_json::Value::from("Disabled"),
            );
            let device = self
                .bios
                .get("OneTimeBootSeqDev")
                .or_else(|| self.bios.get("OneTimeUefiBootSeqDev"))
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned();
            if let Some(from) = self.boot_from_device(&device) {
                return from;
            }
        }
        if self.override_enabled != OverrideEnabled::Disabled {
            let target = self.override_target;
            if self.override_enabled == OverrideEnabled::Once {
                self.override_enabled = OverrideEnabled::Disabled;
                self.override_target = OverrideTarget::None;
            }
            match target {
                // A PXE override boots the first NIC in the persistent order (in UEFI mode the
                // first enabled `PxeDev{i}Interface`): it reaches the provisioning network only
                // if that NIC is the provisioning NIC.
                OverrideTarget::Pxe => {
                    let first_nic = self.uefi_pxe_device().or_else(|| {
                        self.boot_order
                            .iter()
                            .find(|id| self.device_kind(id) == Some(DeviceKind::Nic))
                            .map(String::as_str)
                    });
                    if first_nic == Some(self.provisioning_nic.as_str()) {
                        return BootedFrom::Network;
                    }
                }
                OverrideTarget::Hdd => return BootedFrom::Disk,
                OverrideTarget::Cd | OverrideTarget::UsbCd if self.virtual_media.is_some() => {
                    return BootedFrom::VirtualMedia;
                }
                OverrideTarget::BiosSetup => return BootedFrom::BiosSetup,
                OverrideTarget::Cd | OverrideTarget::UsbCd | OverrideTarget::None => {}
            }
        }
        // The persistent order: PXE is tried on the first NIC listed only (its DHCP either answers
        // from the provisioning network or the BIOS moves on to non-network devices), which is
        // what makes the boot order decide whether a host can be provisioned.
        let mut nic_tried = false;
        for id in &self.boot_order {
            match self.device_kind(id) {
                Some(DeviceKind::Nic) if nic_tried => {}
                Some(DeviceKind::Nic) => {
                    nic_tried = true;
                    // UEFI network boots go through the PXE devices, whatever NIC is listed.
                    if self.uefi_pxe_device().unwrap_or(id) == self.provisioning_nic {
                        return BootedFrom::Network;
                    }
                }
                Some(_) => {
                    if let Some(from) = self.boot_from_device(id) {
                        return from;
                    }
                }
                None => {}
            }
        }
        BootedFrom::Disk
    }

    /// The NIC a UEFI network boot tries: the first `PxeDev{i}Interface` (i = 1..4) whose
    /// `PxeDev{i}EnDis` is not `Disabled`, when the BIOS is in UEFI mode and sets them.
    #[must_use]
    pub fn uefi_pxe_device(&self) -> Option<&str> {
        if self.bios.get("BootMode").and_then(|v| v.as_str()) != Some("Uefi") {
            return None;
        }
        (1..=4).find_map(|i| {
            let enabled = self
                .bios
                .get(&format!("PxeDev{i}EnDis"))
                .and_then(|v| v.as_str())
                != Some("Disabled");
            let device = self
                .bios
                .get(&format!("PxeDev{i}Interface"))
                .and_then(|v| v.as_str());
            device.filter(|_| enabled)
        })
    }

    /// Booting from one device: a NIC boots only if it is on the provisioning network.
    fn boot_from_device(&self, id: &str) -> Option<BootedFrom> {
        match self.device_kind(id)? {
            DeviceKind::Nic => (id == self.provisioning_nic).then_some(BootedFrom::Network),
            DeviceKind::Disk => Some(BootedFrom::Disk),
            DeviceKind::VirtualCd => self
                .virtual_media
                .is_some()
                .then_some(BootedFrom::VirtualMedia),
        }
    }

    /// The kind of a device id, if the machine has it.
    #[must_use]
    pub fn device_kind(&self, id: &str) -> Option<DeviceKind> {
        self.devices.iter().find(|d| d.id == id).map(|d| d.kind)
    }

    /// Whether the host's installed OS is up: running from its disk after an install the lab
    /// saw finish (its SSH port is open then, and only then).
    #[must_use]
    pub fn os_up(&self) -> bool {
        self.installed_at.is_some()
            && matches!(
                self.phase,
                Phase::Running {
                    from: BootedFrom::Disk
                }
            )
    }

    /// Redfish `BootProgress.LastState`: how far the last boot got.
    #[must_use]
    pub fn boot_progress(&self) -> &'static str {
        match self.phase {
            Phase::Off => "None",
            Phase::Posting { .. } => "PrimaryProcessorInitializationStarted",
            Phase::Running {
                from: BootedFrom::PxeError,
            } => "SystemHardwareInitializationComplete",
            Phase::Running {
                from: BootedFrom::BiosSetup,
            } => "SetupEntered",
            // the installer is an OS too
            Phase::ShuttingDown { .. } | Phase::Installing { .. } | Phase::Running { .. } => {
                "OSRunning"
            }
        }
    }

    /// Whether the OS is being installed now.
    #[must_use]
    pub fn installing(&self) -> bool {
        matches!(self.phase, Phase::Installing { .. })
    }

    /// A new job id, `JID_` and 12 digits as iDRAC writes them.
    pub fn new_job_id(&mut self) -> String {
        self.next_job += 1;
        format!(
            "JID_{:012}",
            700_000_000_000 + self.index as u64 * 1000 + self.next_job
        )
    }
}

/// Lab seconds as whole lab milliseconds (a counter's unit).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn lab_millis(secs: f64) -> u64 {
    (secs.max(0.0) * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lab::{HostType, interfaces_order, provisioning_nic};
    use crate::model::LabModel;

    struct Bench {
        clock: LabClock,
        model: LabModel,
        metrics: Metrics,
    }

    impl Bench {
        fn new() -> Self {
            let mut model = LabModel::default();
            model.bmc.sigma = 0.0;
            Self {
                clock: LabClock::new(1.0, 5),
                model,
                metrics: Metrics::new(0),
            }
        }

        fn physics(&self) -> Physics<'_> {
            Physics {
                clock: &self.clock,
                bmc: &self.model.bmc,
                install: self.model.foreman.install,
                metrics: &self.metrics,
            }
        }
    }

    fn machine(host_type: HostType, phase: Phase) -> Machine {
        let nic = |id: &str| BootDevice {
            id: id.into(),
            kind: DeviceKind::Nic,
            mac: Some("52:54:00:00:00:01".into()),
        };
        Machine {
            index: 0,
            name: "h1".into(),
            model: "r640".into(),
            flavor: Flavor::Dell,
            bmc: "127.0.1.1:443".parse().expect("addr"),
            provisioning_nic: provisioning_nic("r640").into(),
            devices: vec![
                nic("NIC.Integrated.1-1-1"),
                nic("NIC.Integrated.1-2-1"),
                nic("NIC.Slot.3-1-1"),
                BootDevice {
                    id: "HardDisk.List.1-1".into(),
                    kind: DeviceKind::Disk,
                    mac: None,
                },
            ],
            boot_order: interfaces_order("r640", host_type),
            pending_boot_order: None,
            boot_mode: "Bios".into(),
            override_target: OverrideTarget::None,
            override_enabled: OverrideEnabled::Disabled,
            bios: BTreeMap::new(),
            nic_attributes: BTreeMap::new(),
            jobs: Vec::new(),
            next_job: 0,
            phase,
            virtual_media: None,
            went_down: false,
            build: false,
            installed_at: None,
            bmc_restarting_until: None,
            pxe_fails_once: false,
            install_hangs: false,
            network_boots_in_build: 0,
        }
    }

    #[test]
    fn flavour_lists_read_aliases_and_all_and_name_the_unknown() {
        assert_eq!(
            Flavor::parse_list(&["ilo", " xcc", "idrac9"]).expect("aliases"),
            [Flavor::Hpe, Flavor::Lenovo, Flavor::Dell]
        );
        assert_eq!(
            Flavor::parse_list(&["dell", "all"]).expect("all"),
            Flavor::EVERY
        );
        assert_eq!(Flavor::parse_list::<&str>(&[]), Ok(vec![]));
        let wrong = Flavor::parse_list(&["dell", "ibm"]).expect_err("ibm");
        assert!(wrong.contains("\"ibm\""), "{wrong}");
    }

    #[test]
    fn a_uefi_pxe_override_boots_pxedev1_not_the_persistent_order() {
        let mut m = machine(HostType::Foreman, Phase::Off);
        m.bios.insert("BootMode".into(), "Uefi".into());
        m.bios
            .insert("PxeDev1Interface".into(), "NIC.Integrated.1-2-1".into());
        m.bios
            .insert("PxeDev2Interface".into(), "NIC.Integrated.1-1-1".into());
        let pxe_once = |m: &mut Machine| {
            m.override_target = OverrideTarget::Pxe;
            m.override_enabled = OverrideEnabled::Once;
            m.choose_boot()
        };
        // The persistent order starts with the provisioning NIC, PxeDev1 is another NIC: no
        // network boot, neither once nor from the order.
        assert_eq!(pxe_once(&mut m), BootedFrom::Disk);
        assert_eq!(m.choose_boot(), BootedFrom::Disk);
        m.bios.insert("PxeDev1EnDis".into(), "Disabled".into());
        assert_eq!(m.uefi_pxe_device(), Some("NIC.Integrated.1-1-1"));
        assert_eq!(pxe_once(&mut m), BootedFrom::Network);
        m.bios.insert("BootMode".into(), "Bios".into());
        assert_eq!(m.uefi_pxe_device(), None);
    }

    const RUNNING_FROM_DISK: Phase = Phase::Running {
        from: BootedFrom::Disk,
    };

    async fn advance_secs(secs: f64) {
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn force_off_takes_the_model_time_and_on_is_refused_twice() {
        let bench = Bench::new();
        let mut m = machine(
            HostType::Foreman,
            Phase::Running {
                from: BootedFrom::Disk,
            },
        );
        m.reset(ResetType::ForceOff, bench.physics()).expect("off");
        advance_secs(4.9).await;
        assert_eq!(m.power_state(bench.physics()), PowerState::On);
        advance_secs(0.2).await;
        assert_eq!(m.power_state(bench.physics()), PowerState::Off);
        assert_eq!(
            m.reset(ResetType::ForceOff, bench.physics()),
            Err(ResetRefused::AlreadyOff)
        );
        m.reset(ResetType::On, bench.physics()).expect("on");
        assert_eq!(
            m.reset(ResetType::On, bench.physics()),
            Err(ResetRefused::AlreadyOn)
        );
        let counters = bench.metrics.snapshot().host("h1");
        assert_eq!((counters.boots, counters.power_cycles), (1, 1));
        assert_eq!(counters.resets.get("ForceOff"), Some(&1));
        // what a tool that waits for `Off` had to wait, for the bench's floor
        assert_eq!(counters.longest_force_off_ms, 5000);
    }

    #[tokio::test(start_paused = true)]
    async fn pxe_with_build_installs_then_foreman_shows_built() {
        let bench = Bench::new();
        let mut m = machine(HostType::Foreman, Phase::Off);
        m.build = true;
        m.override_target = OverrideTarget::Pxe;
        m.override_enabled = OverrideEnabled::Once;
        m.reset(ResetType::On, bench.physics()).expect("on");
        advance_secs(10.1).await;
        m.advance(bench.physics());
        assert!(m.installing(), "{:?}", m.phase);
        // The one-time override is consumed by the boot.
        assert_eq!(m.override_enabled, OverrideEnabled::Disabled);
        assert!(m.build);
        advance_secs(400.0).await;
        m.advance(bench.physics());
        assert!(!m.build);
        assert_eq!(
            m.phase,
            Phase::Running {
                from: BootedFrom::Disk
            }
        );
        assert_eq!(bench.metrics.snapshot().host("h1").installs, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn pxe_behind_the_wrong_nic_does_not_install() {
        let bench = Bench::new();
        let mut m = machine(HostType::Director, Phase::Off);
        m.build = true;
        m.override_target = OverrideTarget::Pxe;
        m.override_enabled = OverrideEnabled::Once;
        m.reset(ResetType::On, bench.physics()).expect("on");
        advance_secs(500.0).await;
        m.advance(bench.physics());
        assert!(m.build, "no install happened, so Foreman still waits");
        assert_eq!(
            m.phase,
            Phase::Running {
                from: BootedFrom::Disk
            }
        );
        assert_eq!(bench.metrics.snapshot().host("h1").installs, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn config_jobs_apply_during_the_next_post_and_lengthen_it() {
        let bench = Bench::new();
        let mut m = machine(
            HostType::Director,
            Phase::Running {
                from: BootedFrom::Disk,
            },
        );
        let id = m.new_job_id();
        let foreman_order = interfaces_order("r640", HostType::Foreman);
        m.jobs.push(Job {
            id,
            target: "BootSources/Settings".into(),
            state: JobState::Scheduled,
            change: JobChange::BootOrder(foreman_order.clone()),
            stuck: false,
        });
        m.reset(ResetType::ForceRestart, bench.physics())
            .expect("restart");
        assert_eq!(m.jobs[0].state, JobState::Running);
        // POST (10 s) plus the job (60 s).
        advance_secs(69.0).await;
        m.advance(bench.physics());
        assert!(matches!(m.phase, Phase::Posting { .. }));
        advance_secs(1.1).await;
        m.advance(bench.physics());
        assert_eq!(m.jobs[0].state, JobState::Completed);
        assert_eq!(m.boot_order, foreman_order);
        assert_eq!(bench.metrics.snapshot().host("h1").jobs_applied, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_job_never_completes() {
        let bench = Bench::new();
        let mut m = machine(HostType::Foreman, Phase::Off);
        let id = m.new_job_id();
        m.jobs.push(Job {
            id,
            target: "x".into(),
            state: JobState::Scheduled,
            change: JobChange::Bios(BTreeMap::new()),
            stuck: true,
        });
        m.reset(ResetType::On, bench.physics()).expect("on");
        advance_secs(1000.0).await;
        m.advance(bench.physics());
        assert_eq!(m.jobs[0].state, JobState::Running);
    }

    #[tokio::test(start_paused = true)]
    async fn dell_one_time_boot_is_consumed() {
        let bench = Bench::new();
        let mut m = machine(HostType::Director, Phase::Off);
        m.build = true;
        m.bios
            .insert("OneTimeBootMode".into(), "OneTimeBootSeq".into());
        m.bios
            .insert("OneTimeBootSeqDev".into(), "NIC.Integrated.1-1-1".into());
        m.reset(ResetType::On, bench.physics()).expect("on");
        advance_secs(10.1).await;
        m.advance(bench.physics());
        assert!(
            m.installing(),
            "one-time boot from the provisioning NIC installs"
        );
        assert_eq!(m.bios["OneTimeBootMode"], "Disabled");
    }

    #[tokio::test(start_paused = true)]
    async fn power_cycle_and_graceful_restart_come_back_up() {
        let bench = Bench::new();
        let mut m = machine(HostType::Foreman, RUNNING_FROM_DISK);
        m.reset(ResetType::GracefulRestart, bench.physics())
            .expect("restart");
        advance_secs(29.0).await;
        assert_eq!(m.power_state(bench.physics()), PowerState::On);
        advance_secs(1.5).await;
        m.advance(bench.physics());
        assert!(matches!(m.phase, Phase::Posting { .. }), "{:?}", m.phase);
        m.reset(ResetType::PowerCycle, bench.physics())
            .expect("cycle");
        advance_secs(20.0).await;
        m.advance(bench.physics());
        assert_eq!(m.phase, RUNNING_FROM_DISK);
        let counters = bench.metrics.snapshot().host("h1");
        assert_eq!((counters.boots, counters.power_cycles), (2, 2));
        assert_eq!(ResetType::parse("PowerCycle"), Some(ResetType::PowerCycle));
        assert_eq!(ResetType::parse("Reboot"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cold_boot_cycles_like_power_cycle_and_powers_on_an_off_machine() {
        let bench = Bench::new();
        let mut m = machine(HostType::Foreman, RUNNING_FROM_DISK);
        m.reset(ResetType::ColdBoot, bench.physics())
            .expect("cold boot");
        assert!(
            matches!(m.phase, Phase::ShuttingDown { then_on: true, .. }),
            "{:?}",
            m.phase
        );
        advance_secs(20.0).await;
        m.advance(bench.physics());
        assert_eq!(m.phase, RUNNING_FROM_DISK);
        m.reset(ResetType::ForceOff, bench.physics()).expect("off");
        advance_secs(20.0).await;
        assert_eq!(m.power_state(bench.physics()), PowerState::Off);
        m.reset(ResetType::ColdBoot, bench.physics())
            .expect("cold boot when off");
        assert_eq!(m.power_state(bench.physics()), PowerState::On);
        let counters = bench.metrics.snapshot().host("h1");
        // two boots, each after a power-off of the running machine (the ColdBoot's own, the
        // ForceOff's)
        assert_eq!((counters.boots, counters.power_cycles), (2, 2));
        assert_eq!(counters.resets.get("ColdBoot"), Some(&2));
        assert_eq!(ResetType::parse("ColdBoot"), Some(ResetType::ColdBoot));
    }
}

//! Power: read the state, act (`ComputerSystem.Reset`), and wait until the state really is
//! what was asked, within a deadline. Never a fixed sleep.

use std::fmt;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::client::Bmc;
use crate::config::Wait;
use crate::error::Error;
use crate::ops::boot::{BootOverride, BootSource};
use crate::wait::{Poll, poll_until};
use crate::wire;

/// Redfish `PowerState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerState {
    /// On.
    On,
    /// Off.
    Off,
    /// Powering on.
    PoweringOn,
    /// Powering off.
    PoweringOff,
    /// Paused.
    Paused,
    /// Anything else (kept as the BMC spelled it).
    Unknown(String),
}

impl PowerState {
    /// Parses the Redfish value.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "On" => Self::On,
            "Off" => Self::Off,
            "PoweringOn" => Self::PoweringOn,
            "PoweringOff" => Self::PoweringOff,
            "Paused" => Self::Paused,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for PowerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::On => f.write_str("On"),
            Self::Off => f.write_str("Off"),
            Self::PoweringOn => f.write_str("PoweringOn"),
            Self::PoweringOff => f.write_str("PoweringOff"),
            Self::Paused => f.write_str("Paused"),
            Self::Unknown(s) => f.write_str(s),
        }
    }
}

/// Redfish `ResetType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetType {
    /// Power on.
    On,
    /// Power on (no-op when on).
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
    /// HPE iLO's own power cycle: `ColdBoot` of the OEM action
    /// `HpeComputerSystemExt.SystemReset` (main power removed, the server back on some 6 to 8
    /// seconds later). Not a DMTF type: it is only ever sent to that action's target.
    ColdBoot,
}

impl ResetType {
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
}

impl fmt::Display for ResetType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a power operation found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowerOutcome {
    /// The state before.
    pub before: PowerState,
    /// The state at the end (verified).
    pub after: PowerState,
    /// The resets sent, in order (empty when nothing was needed).
    pub actions: Vec<ResetType>,
}

/// The reset action's path and allowed types, read from the system.
pub(crate) fn reset_target(
    system_path: &str,
    system: &wire::ComputerSystem,
) -> (String, Vec<String>) {
    let action = system.actions.as_ref().and_then(|a| a.reset.as_ref());
    let target = action
        .and_then(|a| a.target.clone())
        .unwrap_or_else(|| format!("{system_path}/Actions/ComputerSystem.Reset"));
    let allowed = action.map(|a| a.allowable.clone()).unwrap_or_default();
    (target, allowed)
}

/// Where HPE iLO takes a `ColdBoot`: the target of the system's
/// `Actions.Oem.Hpe."#HpeComputerSystemExt.SystemReset"` (where iLO 5 lists it) or
/// `Actions.Oem."#HpeComputerSystemExt.SystemReset"` (where DSP0266 puts OEM actions), its
/// conventional path when the action names none; `None` unless the action lists `ColdBoot`.
/// Its other type, `AuxCycle`, is an auxiliary (AC) power cycle and never used as a power cycle
/// here.
pub(crate) fn cold_boot_target(system_path: &str, system: &wire::ComputerSystem) -> Option<String> {
    let oem = system.actions.as_ref()?.oem.as_ref()?;
    let (action, place) = match (
        oem.hpe.as_ref().and_then(|h| h.system_reset.as_ref()),
        oem.hpe_system_reset.as_ref(),
    ) {
        (Some(action), _) => (action, "Oem/Hpe"),
        (None, Some(action)) => (action, "Oem"),
        (None, None) => return None,
    };
    if !action
        .allowable
        .iter()
        .any(|t| t == ResetType::ColdBoot.as_str())
    {
        return None;
    }
    Some(action.target.clone().unwrap_or_else(|| {
        format!(
            "{}/Actions/{place}/HpeComputerSystemExt.SystemReset",
            system_path.trim_end_matches('/')
        )
    }))
}

/// Whether `wanted` may be sent: allowed when the BMC lists nothing.
fn allowed(list: &[String], wanted: ResetType) -> bool {
    list.is_empty() || list.iter().any(|t| t == wanted.as_str())
}

impl Bmc {
    async fn system_now(&self) -> Result<(String, wire::ComputerSystem), Error> {
        let path = self.system_path().await?;
        let system: wire::ComputerSystem = self.get(&path).await?;
        let _ = self
            .inner
            .reset_target
            .get_or_init(|| reset_target(&path, &system).0);
        Ok((path, system))
    }

    /// The current power state (read now, never cached).
    ///
    /// # Errors
    /// When the system cannot be read or has no `PowerState`.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_state(&self) -> Result<PowerState, Error> {
        let (_, system) = self.system_now().await?;
        system
            .power_state
            .as_deref()
            .map(PowerState::parse)
            .ok_or_else(|| self.err_unsupported("the system reports no PowerState"))
    }

    /// How far the system's last boot got: `BootProgress.LastState` as the BMC spells it
    /// (`OSRunning`, `SystemHardwareInitializationComplete`, ...), `None` when the BMC does
    /// not report it. A state read: never cached.
    ///
    /// # Errors
    /// When the system cannot be read.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn boot_progress(&self) -> Result<Option<String>, Error> {
        let (_, system) = self.system_now().await?;
        Ok(system
            .boot_progress
            .and_then(|p| p.last_state)
            .filter(|s| !s.is_empty()))
    }

    /// Sends one `ComputerSystem.Reset` (for [`ResetType::ColdBoot`], iLO's OEM
    /// `HpeComputerSystemExt.SystemReset`); a 202 task is followed to its end. A 409 (already
    /// in that state) is not an error: callers verify the state.
    ///
    /// # Errors
    /// When the BMC refuses the reset; [`Error::Unsupported`] for `ColdBoot` on a system whose
    /// OEM action does not list it.
    #[tracing::instrument(skip_all, fields(bmc = %self.name(), reset = %reset))]
    pub async fn reset(&self, reset: ResetType, cancel: &CancellationToken) -> Result<(), Error> {
        let (system_path, system) = self.system_now().await?;
        let target = if reset == ResetType::ColdBoot {
            cold_boot_target(&system_path, &system).ok_or_else(|| {
                self.err_unsupported("ColdBoot (the system lists no HPE SystemReset with it)")
            })?
        } else {
            reset_target(&system_path, &system).0
        };
        self.send_reset(&target, reset, cancel).await
    }

    /// Sends `reset` to `target`. A 409 (already in that state) is success. A reset whose
    /// answer was lost (connection broken mid-request, timeout, a 5xx that is not "busy") is
    /// decided by a read where the reset names the state it leaves: `ForceOff` and
    /// `GracefulShutdown` (`Off`), `On` and `ForceOn` (`On`). When the state shows it applied
    /// (or under way) it is done; else it is sent again after the retry policy's delay, within
    /// the policy's attempts (each settles a machine the same way however often it lands).
    /// Any other reset's lost answer is the caller's to decide.
    async fn send_reset(
        &self,
        target: &str,
        reset: ResetType,
        cancel: &CancellationToken,
    ) -> Result<(), Error> {
        let settled = settled_by(reset);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self
                .run_action(target, &json!({"ResetType": reset.as_str()}), cancel)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) if e.status() == Some(http::StatusCode::CONFLICT) => {
                    tracing::info!(bmc = %self.name(), %reset, "already in that state");
                    return Ok(());
                }
                Err(e) => e,
            };
            let Some(settled) = settled.as_ref().filter(|_| error.may_have_been_applied()) else {
                return Err(error);
            };
            // decided by a read; a read that fails leaves the write's own error to report
            let Ok(state) = self.power_state().await else {
                return Err(error);
            };
            if settled.contains(&state) {
                tracing::info!(bmc = %self.name(), %reset, %state, error = %error, "the reset's answer was lost, the state shows it applied");
                return Ok(());
            }
            self.wait_to_resend(attempt, error, reset.as_str(), Some(cancel))
                .await?;
        }
    }

    async fn wait_power(
        &self,
        want: &PowerState,
        wait: Wait,
        cancel: &CancellationToken,
    ) -> Result<PowerState, Error> {
        poll_until(
            self.name(),
            &format!("power {want}"),
            wait,
            cancel,
            || async {
                let state = self.power_state().await?;
                Ok(if &state == want {
                    Poll::Ready(state)
                } else {
                    Poll::Pending(state.to_string())
                })
            },
        )
        .await
    }

    /// Powers on and waits until `PowerState` is `On`; nothing is sent if it already is.
    ///
    /// # Errors
    /// When the reset is refused, the wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_on(&self, cancel: &CancellationToken) -> Result<PowerOutcome, Error> {
        let (path, system) = self.system_now().await?;
        let before = current(&system);
        if before == PowerState::On {
            return Ok(PowerOutcome {
                after: before.clone(),
                before,
                actions: vec![],
            });
        }
        let (target, _) = reset_target(&path, &system);
        self.send_reset(&target, ResetType::On, cancel).await?;
        let after = self
            .wait_power(&PowerState::On, self.waits().power, cancel)
            .await?;
        Ok(PowerOutcome {
            before,
            after,
            actions: vec![ResetType::On],
        })
    }

    /// Powers on a system the caller has just seen `Off` (after [`Bmc::power_off`] or a read
    /// of the state): no read before the reset (the reset target is the one an earlier read
    /// of the system showed this handle), then waits until `PowerState` is `On`. A 409
    /// (already on) is not an error.
    ///
    /// # Errors
    /// When the reset is refused, the wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_on_after_off(
        &self,
        cancel: &CancellationToken,
    ) -> Result<PowerOutcome, Error> {
        let Some(target) = self.inner.reset_target.get().cloned() else {
            return self.power_on(cancel).await;
        };
        self.send_reset(&target, ResetType::On, cancel).await?;
        let after = self
            .wait_power(&PowerState::On, self.waits().power, cancel)
            .await?;
        Ok(PowerOutcome {
            before: PowerState::Off,
            after,
            actions: vec![ResetType::On],
        })
    }

    /// Forces power off and waits until `PowerState` is `Off`; nothing is sent if it already is.
    ///
    /// # Errors
    /// When the reset is refused, the wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_off(&self, cancel: &CancellationToken) -> Result<PowerOutcome, Error> {
        let (path, system) = self.system_now().await?;
        self.power_off_from(&path, &system, cancel).await
    }

    /// A one-time network boot set (and verified) for the next power-on, then
    /// [`Bmc::power_off`]: the override's verifying read of the system is the power-off's
    /// reading of the state, one request fewer than the two operations one after the other.
    ///
    /// # Errors
    /// As [`Bmc::pxe_once`] and [`Bmc::power_off`].
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn pxe_once_then_power_off(
        &self,
        cancel: &CancellationToken,
    ) -> Result<PowerOutcome, Error> {
        let (_, path, read) = self
            .boot_override_read(&BootSource::Pxe, BootOverride::Once)
            .await?;
        // iDRAC10 keeps the override on `{system}/Settings`, which shows no power state
        let (path, system) = if read.power_state.is_some() && path == self.system_path().await? {
            (path, read)
        } else {
            self.system_now().await?
        };
        self.power_off_from(&path, &system, cancel).await
    }

    /// Power off, the system (at `path`) just read as `system`.
    async fn power_off_from(
        &self,
        path: &str,
        system: &wire::ComputerSystem,
        cancel: &CancellationToken,
    ) -> Result<PowerOutcome, Error> {
        let _ = self
            .inner
            .reset_target
            .get_or_init(|| reset_target(path, system).0);
        let before = current(system);
        if before == PowerState::Off {
            return Ok(PowerOutcome {
                after: before.clone(),
                before,
                actions: vec![],
            });
        }
        let (target, _) = reset_target(path, system);
        self.send_reset(&target, ResetType::ForceOff, cancel)
            .await?;
        let after = self
            .wait_power(&PowerState::Off, self.waits().power_off, cancel)
            .await?;
        Ok(PowerOutcome {
            before,
            after,
            actions: vec![ResetType::ForceOff],
        })
    }

    /// Power cycle: if on, force off and wait for `Off`; then power on and wait for `On`.
    /// Both states are seen, so a caller can count on the system having gone down and come up
    /// (a job staged for the next POST runs). After the `ForceOff` the state is read once at
    /// once: a BMC that applies it before answering is seen `Off` without the wait's first
    /// pause.
    ///
    /// # Errors
    /// When a reset is refused, a wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_cycle(&self, cancel: &CancellationToken) -> Result<PowerOutcome, Error> {
        let (path, system) = self.system_now().await?;
        self.off_then_on(&path, &system, cancel).await
    }

    /// Power cycle by the BMC itself where it offers one: a system that is on, on a BMC listing
    /// `PowerCycle` among its reset types, gets that one action (the BMC powers it off and on;
    /// `after` is `Cycling`, as the BMC reports no end to wait for). HPE iLO lists no
    /// `PowerCycle` but has its own, `ColdBoot` in the OEM `HpeComputerSystemExt.SystemReset`
    /// (main power removed, back on by itself; under `Actions.Oem.Hpe`, iLO 5's place, or
    /// directly under `Actions.Oem`, DSP0266's): where that lists it, it is the one action sent
    /// (`actions` says `ColdBoot`); a listed `PowerCycle` comes first. Neither `AuxCycle` (iLO)
    /// nor Lenovo's `ACPowerCycle` is used: they cycle auxiliary (AC) power, a virtual reseat,
    /// not the server's; nor `ForceRestart`, a restart that removes no power. Elsewhere, or when
    /// the system is off, [`Bmc::power_cycle`]. One request instead of a force-off, the polls
    /// for `Off` and a power-on: the operator's `--power-cycle`, as `racadm serveraction
    /// powercycle`. A cycle whose answer was lost is settled by a force-off and power-on
    /// (`actions` then lists all three): no read tells whether a cycle landed, and one sent
    /// again could cycle the server twice.
    ///
    /// # Errors
    /// When a reset is refused, a wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn power_cycle_by_bmc(
        &self,
        cancel: &CancellationToken,
    ) -> Result<PowerOutcome, Error> {
        let (path, system) = self.system_now().await?;
        let before = current(&system);
        let (target, allowed_types) = reset_target(&path, &system);
        // listed, not merely "nothing listed": an unlisted PowerCycle may be refused
        let listed = allowed_types
            .iter()
            .any(|t| t == ResetType::PowerCycle.as_str());
        let (target, reset) = match (before == PowerState::On, listed) {
            (true, true) => (target, ResetType::PowerCycle),
            (true, false) => match cold_boot_target(&path, &system) {
                Some(oem) => (oem, ResetType::ColdBoot),
                None => return self.off_then_on(&path, &system, cancel).await,
            },
            (false, _) => return self.off_then_on(&path, &system, cancel).await,
        };
        match self.send_reset(&target, reset, cancel).await {
            Ok(()) => Ok(PowerOutcome {
                before,
                after: PowerState::Unknown("Cycling".to_owned()),
                actions: vec![reset],
            }),
            // No read tells whether a cycle landed (the system is on before and after one),
            // and sending it again blind could cycle twice. A force-off settles it either way:
            // it stops a cycle under way (or finds the system off), and the power-on that
            // follows is the one boot asked for. Only a cycle done and booting again before the
            // force-off arrived (seconds, against the lost answer's milliseconds) boots twice.
            Err(e) if e.may_have_been_applied() => {
                tracing::warn!(bmc = %self.name(), %reset, error = %e, "the power cycle's answer was lost: forcing off and on instead");
                let (path, system) = self.system_now().await?;
                let mut outcome = self.off_then_on(&path, &system, cancel).await?;
                outcome.before = before;
                outcome.actions.insert(0, reset);
                Ok(outcome)
            }
            Err(e) => Err(e),
        }
    }

    async fn off_then_on(
        &self,
        path: &str,
        system: &wire::ComputerSystem,
        cancel: &CancellationToken,
    ) -> Result<PowerOutcome, Error> {
        let before = current(system);
        let (target, _) = reset_target(path, system);
        let mut actions = Vec::new();
        if before != PowerState::Off {
            self.send_reset(&target, ResetType::ForceOff, cancel)
                .await?;
            actions.push(ResetType::ForceOff);
            if !matches!(self.power_state().await, Ok(PowerState::Off)) {
                self.wait_power(&PowerState::Off, self.waits().power_off, cancel)
                    .await?;
            }
        }
        self.send_reset(&target, ResetType::On, cancel).await?;
        actions.push(ResetType::On);
        let after = self
            .wait_power(&PowerState::On, self.waits().power, cancel)
            .await?;
        Ok(PowerOutcome {
            before,
            after,
            actions,
        })
    }

    /// Graceful reboot: ask the OS to shut down and wait for `Off` (forcing it off when the
    /// graceful deadline passes), then power on and wait for `On`. A host that is off is just
    /// powered on.
    ///
    /// # Errors
    /// When a reset is refused, a wait times out or is cancelled.
    #[tracing::instrument(skip_all, fields(bmc = %self.name()))]
    pub async fn graceful_reboot(&self, cancel: &CancellationToken) -> Result<PowerOutcome, Error> {
        let (path, system) = self.system_now().await?;
        let before = current(&system);
        let (target, allowed_types) = reset_target(&path, &system);
        let mut actions = Vec::new();
        if before != PowerState::Off {
            if allowed(&allowed_types, ResetType::GracefulShutdown) {
                self.send_reset(&target, ResetType::GracefulShutdown, cancel)
                    .await?;
                actions.push(ResetType::GracefulShutdown);
                match self
                    .wait_power(&PowerState::Off, self.waits().graceful_shutdown, cancel)
                    .await
                {
                    Ok(_) => {}
                    Err(Error::Timeout { .. }) => {
                        tracing::warn!(bmc = %self.name(), "graceful shutdown timed out, forcing off");
                        self.send_reset(&target, ResetType::ForceOff, cancel)
                            .await?;
                        actions.push(ResetType::ForceOff);
                        self.wait_power(&PowerState::Off, self.waits().power_off, cancel)
                            .await?;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                self.send_reset(&target, ResetType::ForceOff, cancel)
                    .await?;
                actions.push(ResetType::ForceOff);
                self.wait_power(&PowerState::Off, self.waits().power_off, cancel)
                    .await?;
            }
        }
        self.send_reset(&target, ResetType::On, cancel).await?;
        actions.push(ResetType::On);
        let after = self
            .wait_power(&PowerState::On, self.waits().power, cancel)
            .await?;
        Ok(PowerOutcome {
            before,
            after,
            actions,
        })
    }

    pub(crate) fn waits(&self) -> &crate::config::WaitPolicy {
        &self.inner.shared.config.waits
    }
}

/// The power states that show `reset` applied (or under way), for the resets whose end state
/// is theirs alone and that settle a machine the same way however often they land; `None`
/// for the others (a cycle or restart leaves `On` either way, so no read tells whether it
/// landed).
fn settled_by(reset: ResetType) -> Option<[PowerState; 2]> {
    match reset {
        // a second graceful shutdown of a system already going down changes nothing
        ResetType::ForceOff | ResetType::GracefulShutdown => {
            Some([PowerState::Off, PowerState::PoweringOff])
        }
        ResetType::On | ResetType::ForceOn => Some([PowerState::On, PowerState::PoweringOn]),
        _ => None,
    }
}

fn current(system: &wire::ComputerSystem) -> PowerState {
    system.power_state.as_deref().map_or_else(
        || PowerState::Unknown("missing".to_owned()),
        PowerState::parse,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn reset_target_from_actions_or_convention() {
        let system: wire::ComputerSystem = serde_json::from_value(json!({
            "Actions": {"#ComputerSystem.Reset": {
                "target": "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": ["On", "ForceOff"]
            }}
        }))
        .unwrap();
        let (target, allowed_types) = reset_target("/redfish/v1/Systems/1", &system);
        assert_eq!(target, "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset");
        assert!(!allowed(&allowed_types, ResetType::GracefulShutdown));
        assert!(allowed(&allowed_types, ResetType::ForceOff));
        let (target, allowed_types) =
            reset_target("/redfish/v1/Systems/S", &wire::ComputerSystem::default());
        assert_eq!(target, "/redfish/v1/Systems/S/Actions/ComputerSystem.Reset");
        assert!(allowed(&allowed_types, ResetType::Nmi));
    }

    #[test]
    fn cold_boot_target_only_where_hpe_lists_it() {
        let hpe = |types: Value, target: Option<&str>| -> wire::ComputerSystem {
            let mut action = json!({"ResetType@Redfish.AllowableValues": types});
            if let Some(target) = target {
                action["target"] = json!(target);
            }
            serde_json::from_value(json!({"Actions": {"Oem": {"Hpe": {
                "#HpeComputerSystemExt.SystemReset": action
            }}}}))
            .unwrap()
        };
        let oem = "/redfish/v1/Systems/1/Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset/";
        assert_eq!(
            cold_boot_target(
                "/redfish/v1/Systems/1/",
                &hpe(json!(["ColdBoot", "AuxCycle"]), Some(oem))
            )
            .as_deref(),
            Some(oem)
        );
        assert_eq!(
            cold_boot_target("/redfish/v1/Systems/1/", &hpe(json!(["ColdBoot"]), None)).as_deref(),
            Some("/redfish/v1/Systems/1/Actions/Oem/Hpe/HpeComputerSystemExt.SystemReset"),
            "the conventional target when none is named"
        );
        let flat: wire::ComputerSystem = serde_json::from_value(json!({"Actions": {"Oem": {
            "#HpeComputerSystemExt.SystemReset": {
                "ResetType@Redfish.AllowableValues": ["ColdBoot", "AuxCycle"]
            }
        }}}))
        .unwrap();
        assert_eq!(
            cold_boot_target("/redfish/v1/Systems/1", &flat).as_deref(),
            Some("/redfish/v1/Systems/1/Actions/Oem/HpeComputerSystemExt.SystemReset"),
            "where DSP0266 puts OEM actions"
        );
        // AuxCycle alone is an AC cycle, and nothing listed promises nothing
        for types in [json!(["AuxCycle"]), json!([])] {
            assert_eq!(
                cold_boot_target("/redfish/v1/Systems/1", &hpe(types.clone(), Some(oem))),
                None,
                "{types}"
            );
        }
        assert_eq!(
            cold_boot_target("/redfish/v1/Systems/1", &wire::ComputerSystem::default()),
            None
        );
    }

    #[test]
    fn power_states_round_trip() {
        for s in ["On", "Off", "PoweringOn", "PoweringOff", "Paused", "Weird"] {
            assert_eq!(PowerState::parse(s).to_string(), s);
        }
    }
}

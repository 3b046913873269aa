//! The lab model: service times, capacities and physical delays, read from `lab-model-v1.toml`.
//!
//! The file in this crate is a verbatim copy of the project's reference model and is the default.
//! Fields that v1 does not name (`manager_reset`, ...) take the documented defaults below, so the
//! reference file stays unchanged.

use serde::{Deserialize, Serialize};

/// The embedded reference model (lab model v1).
pub const LAB_MODEL_V1: &str = include_str!("../lab-model-v1.toml");

/// All timings of the lab, in lab seconds (multiplied by the run's time scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabModel {
    /// The Foreman server.
    pub foreman: ForemanModel,
    /// Every BMC.
    pub bmc: BmcModel,
    /// The fake Junos switches (not in the v1 file: defaults below).
    #[serde(default)]
    pub switch: SwitchModel,
}

/// Lab seconds a Junos switch takes (log-normal around these medians).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwitchModel {
    /// A `commit` (QFX commits take seconds; QUADS waits up to 120 s).
    pub commit: f64,
    /// Spread of the draws.
    pub sigma: f64,
}

impl Default for SwitchModel {
    fn default() -> Self {
        Self {
            commit: 4.0,
            sigma: 0.3,
        }
    }
}

/// Foreman's capacity and service times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForemanModel {
    /// Requests in service at once.
    pub capacity: usize,
    /// Requests queued (FIFO) beyond `capacity`; past it a 503 with an HTML body.
    pub backlog: usize,
    /// Log-normal sigma of every service time.
    pub sigma: f64,
    /// `GET /api/status`, `/api/ping`.
    pub status: f64,
    /// `GET` of a collection, before rows.
    pub index_base: f64,
    /// Per full row of a collection.
    pub index_per_row: f64,
    /// Per thin row of a collection.
    pub index_per_row_thin: f64,
    /// `GET` of one object.
    pub show: f64,
    /// `GET` of a host parameter.
    pub param_read: f64,
    /// Writes of a host parameter.
    pub param_write: f64,
    /// User, role, filter and usergroup writes.
    pub rbac_write: f64,
    /// `PUT /hosts/:id`.
    pub host_write: f64,
    /// `PUT /hosts/:id` that sets `build=true`.
    pub host_build_write: f64,
    /// OS install after a network boot with `build=true`.
    pub install: f64,
    /// Overlapping writes to one user: the later one gets 500 and its update is lost.
    pub same_user_write_race: bool,
}

/// BMC capacity, sessions and physical delays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BmcModel {
    /// Requests in service at once per BMC.
    pub concurrency: usize,
    /// Requests waiting beyond that; past it 503 (busy).
    pub queue: usize,
    /// Open sessions per BMC; past it 503 with a RAC0218-style message.
    pub max_sessions: usize,
    /// Log-normal sigma of every service time.
    pub sigma: f64,
    /// `GET` of a resource.
    pub get: f64,
    /// `POST` to the Sessions collection.
    pub session_login: f64,
    /// `DELETE` of a session.
    pub session_logout: f64,
    /// `PATCH` of a resource.
    pub patch: f64,
    /// `POST .../Actions/...`.
    pub action: f64,
    /// `ForceOff` until `PowerState` is `Off`.
    pub power_off: f64,
    /// `GracefulShutdown` / `GracefulRestart` until `Off`.
    pub graceful_off: f64,
    /// `On` until the boot device is chosen (POST).
    pub power_on_post: f64,
    /// A scheduled BIOS/boot-order job, applied during the next POST.
    pub config_job: f64,
    /// A BMC restart (`Manager.Reset`) during which it does not answer (not in v1; default 60).
    #[serde(default = "default_manager_reset")]
    pub manager_reset: f64,
    /// An iDRAC Lifecycle Controller restart after `JID_CLEARALL_FORCE`, during which config
    /// writes answer "not ready" (not in v1; default 60).
    #[serde(default = "default_lc_restart")]
    pub lc_restart: f64,
}

fn default_manager_reset() -> f64 {
    60.0
}

fn default_lc_restart() -> f64 {
    60.0
}

impl Default for LabModel {
    fn default() -> Self {
        Self::parse(LAB_MODEL_V1)
            .unwrap_or_else(|e| unreachable!("the embedded lab model is valid: {e}"))
    }
}

impl LabModel {
    /// Parses a lab model file.
    ///
    /// # Errors
    /// When the text is not TOML of this shape.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_is_v1() {
        let model = LabModel::default();
        assert_eq!(model.foreman.capacity, 10);
        assert_eq!(model.foreman.backlog, 100);
        assert!((model.foreman.install - 300.0).abs() < f64::EPSILON);
        assert_eq!(model.bmc.max_sessions, 8);
        assert!((model.bmc.manager_reset - 60.0).abs() < f64::EPSILON);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let text = LAB_MODEL_V1.replace("capacity = 10", "capacity = 10\ncapacityy = 3");
        assert!(LabModel::parse(&text).is_err());
    }
}

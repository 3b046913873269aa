//! A request inside the lab lock: the context handlers see, the method table of every route,
//! `If-Match` checking, and how long each kind of request keeps the BMC busy.

use http::Method;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::auth::Principal;
use super::reply::{Reply, if_match_admits};
use super::router::{Layout, Route};
use super::state::BmcState;
use super::{
    accounts, bios, dell, dell_os_deploy, dell_scp, inventory, messages, metadata, network,
    service, system, vendor_boot, vmedia,
};
use crate::lab::LabShared;
use crate::machine::{Flavor, Machine};
use crate::metrics::HostCounters;
use crate::server::Request;

/// Everything a handler may look at or change, borrowed from the locked lab state.
pub(crate) struct Ctx<'a> {
    /// The lab.
    pub(crate) lab: &'a LabShared,
    /// Host index.
    pub(crate) index: usize,
    /// The flavour's paths.
    pub(crate) layout: Layout,
    /// The request.
    pub(crate) request: &'a Request,
    /// The caller.
    pub(crate) who: Principal,
    /// The host's hardware (advanced to now).
    pub(crate) m: &'a mut Machine,
    /// The BMC's own state.
    pub(crate) b: &'a mut BmcState,
}

impl Ctx<'_> {
    /// The flavour.
    pub(crate) fn flavor(&self) -> Flavor {
        self.layout.flavor
    }

    /// Whether this is an iDRAC.
    pub(crate) fn dell(&self) -> bool {
        self.layout.dell()
    }

    /// Updates this host's counters.
    pub(crate) fn counters(&self, update: impl FnOnce(&mut HostCounters)) {
        self.lab.metrics.host(&self.m.name, update);
    }

    /// Whether the Lifecycle Controller is restarting (after `JID_CLEARALL_FORCE`).
    pub(crate) fn lc_restarting(&self) -> bool {
        self.b.lc_ready_at.is_some_and(|t| t > Instant::now())
    }

    /// The request body as a JSON object (400 `MalformedJSON` otherwise).
    pub(crate) fn body(&self) -> Result<Map<String, Value>, Reply> {
        if self.request.body.is_empty() {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&self.request.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(messages::malformed_json()),
        }
    }

    /// A deterministic per-host number for serials, UUIDs and MACs.
    pub(crate) fn host_hash(&self, salt: u64) -> u64 {
        crate::clock::mix(self.lab.clock.seed() ^ crate::clock::mix(self.index as u64 ^ salt))
    }
}

/// How long a request keeps the BMC busy (which lab-model service time applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Work {
    /// A read.
    Get,
    /// A session login.
    Login,
    /// A session logout.
    Logout,
    /// A PATCH (or PUT).
    Patch,
    /// A POST action or other write.
    Action,
}

/// The kind of work of a request.
pub(crate) fn work(route: Option<&Route>, method: &Method) -> Work {
    match (route, method) {
        (_, m) if m == Method::GET || m == Method::HEAD => Work::Get,
        (Some(Route::Sessions), m) if m == Method::POST => Work::Login,
        (Some(Route::Session(_)), m) if m == Method::DELETE => Work::Logout,
        (_, m) if m == Method::PATCH || m == Method::PUT => Work::Patch,
        _ => Work::Action,
    }
}

impl Work {
    /// The lab model's median for this work.
    pub(crate) fn median(self, model: &crate::model::BmcModel) -> f64 {
        match self {
            Self::Get => model.get,
            Self::Login => model.session_login,
            Self::Logout => model.session_logout,
            Self::Patch => model.patch,
            Self::Action => model.action,
        }
    }
}

/// Runs the handler of `route` for `method`; 405 when the resource does not take the method.
pub(crate) fn dispatch(cx: &mut Ctx<'_>, route: &Route, method: &Method) -> Reply {
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let patch = method == Method::PATCH;
    let delete = method == Method::DELETE;
    let dell = cx.dell();
    match route {
        Route::Versions if get => service::versions(),
        Route::Root if get => service::root(cx),
        Route::OData if get => metadata::odata(cx),
        Route::Metadata if get => metadata::metadata(cx),
        Route::SessionService if get => accounts::session_service(cx),
        Route::SessionService if patch => with_if_match(
            cx,
            accounts::session_service,
            accounts::patch_session_service,
        ),
        Route::Sessions if get => accounts::sessions(cx),
        Route::Sessions if post => accounts::login(cx),
        Route::Session(id) if get => accounts::session(cx, id),
        Route::Session(id) if delete => accounts::logout(cx, id),
        Route::AccountService if get => accounts::account_service(cx),
        Route::AccountService if patch => with_if_match(
            cx,
            accounts::account_service,
            accounts::patch_account_service,
        ),
        Route::Accounts if get => accounts::accounts(cx),
        Route::Accounts if post && !dell => accounts::create_account(cx),
        Route::Account(id) if get => accounts::account(cx, id),
        Route::Account(id) if patch => {
            let id = id.clone();
            let current = accounts::account(cx, &id);
            if let Some(refused) = if_match_refuses(cx, &current) {
                return refused;
            }
            accounts::patch_account(cx, &id)
        }
        Route::Account(id) if delete && !dell => accounts::delete_account(cx, id),
        Route::Roles if get => accounts::roles(cx),
        Route::Role(id) if get => accounts::role(cx, id),
        Route::Systems if get => system::systems(cx),
        Route::System if get => system::system(cx),
        Route::System if patch => with_if_match(cx, system::system, system::patch_system),
        Route::SystemSettings if get => system::system_settings(cx),
        Route::SystemSettings if patch => {
            with_if_match(cx, system::system_settings, system::patch_system_settings)
        }
        Route::SystemReset if post => system::reset(cx),
        Route::HpeSystemReset if post => system::hpe_system_reset(cx),
        Route::Processors if get => inventory::processors(cx),
        Route::Processor(id) if get => inventory::processor(cx, id),
        Route::Memories if get => inventory::memories(cx),
        Route::Memory(id) if get => inventory::memory(cx, id),
        Route::Nics if get => inventory::nics(cx),
        Route::Nic(id) if get => inventory::nic(cx, id),
        Route::Bios if get => bios::bios(cx),
        Route::BiosSettings if get => bios::settings(cx),
        Route::BiosSettings if patch => with_if_match(cx, bios::settings, bios::patch_settings),
        Route::BiosReset if post => bios::reset_bios(cx),
        Route::BiosChangePassword if post => bios::change_password(cx),
        Route::BiosRegistry if get => bios::registry(cx),
        Route::BootOptions if get => system::boot_options(cx),
        Route::BootOption(id) if get => system::boot_option(cx, id),
        Route::BootOption(id) if patch => system::patch_boot_option(cx, id),
        Route::BootSources if get => dell::boot_sources(cx),
        Route::BootSourcesSettings if get => dell::boot_sources_settings(cx),
        Route::BootSourcesSettings if patch => with_if_match(
            cx,
            dell::boot_sources_settings,
            dell::patch_boot_sources_settings,
        ),
        Route::HpeBoot if get => vendor_boot::hpe_boot(cx),
        Route::HpeBootSettings if get => vendor_boot::hpe_boot_settings(cx),
        Route::HpeBootSettings if patch => with_if_match(
            cx,
            vendor_boot::hpe_boot_settings,
            vendor_boot::patch_hpe_boot_settings,
        ),
        Route::LenovoBootSettings if get => vendor_boot::lenovo_boot_settings(cx),
        Route::LenovoBootOrder if get => vendor_boot::lenovo_boot_order(cx),
        Route::LenovoBootOrder if patch => with_if_match(
            cx,
            vendor_boot::lenovo_boot_order,
            vendor_boot::patch_lenovo_boot_order,
        ),
        Route::ChassisCollection if get => inventory::chassis_collection(cx),
        Route::Chassis if get => inventory::chassis(cx),
        Route::Power if get => inventory::power(cx),
        Route::NetworkAdapters if get => network::adapters_collection(cx),
        Route::NetworkAdapter(id) if get => network::adapter(cx, id),
        Route::NetworkDeviceFunctions(a) if get => network::functions(cx, a),
        Route::NetworkDeviceFunction(a, f) if get => network::function(cx, a, f),
        Route::NicAttributes(a, f) if get => network::attributes(cx, a, f),
        Route::NicSettings(a, f) if get => network::settings(cx, a, f),
        Route::NicSettings(a, f) if patch => {
            let (a, f) = (a.clone(), f.clone());
            let current = network::settings(cx, &a, &f);
            if let Some(refused) = if_match_refuses(cx, &current) {
                return refused;
            }
            network::patch_settings(cx, &a, &f)
        }
        Route::NicRegistry(name) if get => network::registry(cx, name),
        Route::Managers if get => service::managers(cx),
        Route::Manager if get => service::manager(cx),
        Route::ManagerReset if post => service::manager_reset(cx),
        Route::VirtualMediaCollection if get => vmedia::collection(cx),
        Route::VirtualMedia(id) if get => vmedia::device(cx, id),
        Route::InsertMedia(id) if post => vmedia::insert(cx, id),
        Route::EjectMedia(id) if post => vmedia::eject(cx, id),
        Route::SmcMediaConfig if get => vmedia::smc_config(cx),
        Route::SmcMediaConfig if patch => {
            with_if_match(cx, vmedia::smc_config, vmedia::patch_smc_config)
        }
        Route::SmcMount if post => vmedia::smc_mount(cx),
        Route::SmcUnmount if post => vmedia::smc_unmount(cx),
        Route::Jobs if get => dell::jobs(cx),
        Route::Jobs if post => dell::create_job(cx),
        Route::Job(id) if get => dell::job(cx, id),
        Route::Job(id) if delete => dell::delete_job(cx, id),
        Route::JobService if get => dell::job_service(cx),
        Route::DeleteJobQueue if post => dell::delete_job_queue(cx),
        Route::LcService if get => dell::lc_service(cx),
        Route::LcStatus if post => dell::lc_status(cx),
        Route::LcScreenshot if post => dell::export_screenshot(cx),
        Route::ScpAction(action) if post => dell_scp::act(cx, *action),
        Route::OsDeployment if get => dell_os_deploy::service(cx),
        Route::OsDeploymentAction(action) if post => dell_os_deploy::act(cx, *action),
        Route::UpdateService if get => inventory::update_service(cx),
        Route::FirmwareInventory if get => inventory::firmware_inventory(cx),
        Route::Firmware(id) if get => inventory::firmware(cx, id),
        Route::Registries if get => bios::registries(cx),
        Route::Registry(id) if get => bios::registry_file(cx, id),
        Route::TaskService if get => dell::task_service(cx),
        Route::Tasks if get => dell::tasks(cx),
        Route::Task(id) if get => dell::task(cx, id),
        other => messages::method_not_allowed(allow(other, dell)),
    }
}

/// The `Allow` header of a route.
fn allow(route: &Route, dell: bool) -> &'static str {
    match route {
        Route::Account(_) if !dell => "GET, HEAD, PATCH, DELETE",
        Route::SessionService
        | Route::AccountService
        | Route::System
        | Route::SystemSettings
        | Route::BiosSettings
        | Route::BootSourcesSettings
        | Route::HpeBootSettings
        | Route::LenovoBootOrder
        | Route::SmcMediaConfig
        | Route::BootOption(_)
        | Route::NicSettings(..)
        | Route::Account(_) => "GET, HEAD, PATCH",
        Route::Sessions | Route::Jobs => "GET, HEAD, POST",
        Route::Accounts if !dell => "GET, HEAD, POST",
        Route::Session(_) | Route::Job(_) => "GET, HEAD, DELETE",
        Route::SystemReset
        | Route::HpeSystemReset
        | Route::BiosReset
        | Route::BiosChangePassword
        | Route::ManagerReset
        | Route::InsertMedia(_)
        | Route::EjectMedia(_)
        | Route::SmcMount
        | Route::SmcUnmount
        | Route::DeleteJobQueue
        | Route::LcStatus
        | Route::LcScreenshot
        | Route::ScpAction(_)
        | Route::OsDeploymentAction(_) => "POST",
        _ => "GET, HEAD",
    }
}

/// Applies a PATCH after checking `If-Match` against the resource as `render` shows it now.
fn with_if_match(
    cx: &mut Ctx<'_>,
    render: fn(&Ctx<'_>) -> Reply,
    apply: fn(&mut Ctx<'_>) -> Reply,
) -> Reply {
    if cx.request.header("if-match").is_some() {
        let current = render(cx);
        if let Some(refused) = if_match_refuses(cx, &current) {
            return refused;
        }
    }
    apply(cx)
}

/// 412 when `If-Match` does not admit the resource's current `ETag`; the current answer when
/// the resource itself is an error (404).
fn if_match_refuses(cx: &Ctx<'_>, current: &Reply) -> Option<Reply> {
    let header = cx.request.header("if-match")?;
    if !current.status.is_success() {
        return Some(current.clone());
    }
    let etag = current.etag()?;
    (!if_match_admits(header, &etag)).then(messages::precondition_failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_kinds() {
        assert_eq!(work(Some(&Route::Sessions), &Method::POST), Work::Login);
        assert_eq!(
            work(Some(&Route::Session("3".into())), &Method::DELETE),
            Work::Logout
        );
        assert_eq!(work(Some(&Route::System), &Method::PATCH), Work::Patch);
        assert_eq!(work(Some(&Route::SystemReset), &Method::POST), Work::Action);
        assert_eq!(work(None, &Method::GET), Work::Get);
    }
}

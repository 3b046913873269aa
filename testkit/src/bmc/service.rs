//! The service root and the manager (the BMC itself): identity per flavour, and
//! `Manager.Reset`, after which the BMC is unreachable for the lab model's `manager_reset`.

use http::StatusCode;
use serde_json::{Value, json};

use super::dispatch::Ctx;
use super::messages;
use super::query;
use super::reply::Reply;
use crate::lab::VirtualMediaLink;
use crate::machine::Flavor;

/// `/redfish`: the protocol versions.
pub(crate) fn versions() -> Reply {
    Reply::json(StatusCode::OK, json!({"v1": "/redfish/v1/"}))
}

/// A link object.
pub(crate) fn link(uri: &str) -> Value {
    json!({"@odata.id": uri})
}

/// A resource collection.
pub(crate) fn collection(uri: &str, schema: &str, name: &str, members: &[String]) -> Reply {
    let links: Vec<Value> = members.iter().map(|m| link(m)).collect();
    Reply::resource(json!({
        "@odata.id": uri,
        "@odata.type": format!("#{schema}.{schema}"),
        "Name": name,
        "Members": links,
        "Members@odata.count": members.len(),
    }))
}

/// A UUID that is a pure function of the host and a salt.
pub(crate) fn uuid(cx: &Ctx<'_>, salt: u64) -> String {
    let a = cx.host_hash(salt);
    let b = cx.host_hash(salt ^ 0x5555);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

/// The host's serial number (Dell: the 7-character service tag).
pub(crate) fn serial(cx: &Ctx<'_>) -> String {
    const ALPHABET: &[u8] = b"0123456789BCDFGHJKLMNPQRSTVWXYZ";
    let mut n = cx.host_hash(0x5e71a1);
    let len = if cx.dell() { 7 } else { 12 };
    (0..len)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize];
            n /= ALPHABET.len() as u64;
            char::from(c)
        })
        .collect()
}

/// Vendor name as the flavour spells it.
pub(crate) fn manufacturer(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => "Dell Inc.",
        Flavor::Supermicro => "Supermicro",
        Flavor::Generic => "Contoso",
        Flavor::Hpe => "HPE",
        Flavor::Lenovo => "Lenovo",
    }
}

/// `/redfish/v1`.
pub(crate) fn root(cx: &Ctx<'_>) -> Reply {
    let flavor = cx.flavor();
    let (product, vendor) = match flavor {
        Flavor::Dell | Flavor::Idrac10 => ("Integrated Dell Remote Access Controller", "Dell"),
        Flavor::Supermicro => ("Supermicro Redfish Service", "Supermicro"),
        Flavor::Generic => ("quads-lab generic BMC", "Contoso"),
        Flavor::Hpe => ("ProLiant DL380 Gen10", "HPE"),
        Flavor::Lenovo => ("Lenovo XClarity Controller", "Lenovo"),
    };
    let mut body = json!({
        "@odata.id": "/redfish/v1",
        "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
        "Id": "RootService",
        "Name": "Root Service",
        "RedfishVersion": "1.17.0",
        "UUID": uuid(cx, 0x6007),
        "Product": product,
        "Vendor": vendor,
        "Systems": link("/redfish/v1/Systems"),
        "Chassis": link("/redfish/v1/Chassis"),
        "Managers": link("/redfish/v1/Managers"),
        "SessionService": link("/redfish/v1/SessionService"),
        "AccountService": link("/redfish/v1/AccountService"),
        "UpdateService": link("/redfish/v1/UpdateService"),
        "Registries": link("/redfish/v1/Registries"),
        "Links": {"Sessions": link("/redfish/v1/SessionService/Sessions")},
        "ProtocolFeaturesSupported": query::protocol_features(flavor),
    });
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => {
            body["Oem"] = json!({"Dell": {"ServiceTag": serial(cx), "IsBranded": 0}});
            body["Tasks"] = link("/redfish/v1/TaskService");
        }
        Flavor::Supermicro => body["Oem"] = json!({"Supermicro": {}}),
        Flavor::Hpe => {
            body["Oem"] = json!({"Hpe": {"Manager": [{
                "ManagerType": "iLO 5",
                "ManagerFirmwareVersion": "2.78",
            }]}});
        }
        Flavor::Lenovo => body["Oem"] = json!({"Lenovo": {"FirmwareVersion": "CDI3A4A"}}),
        Flavor::Generic => {}
    }
    Reply::resource(body)
}

/// `/redfish/v1/Managers`.
pub(crate) fn managers(cx: &Ctx<'_>) -> Reply {
    collection(
        "/redfish/v1/Managers",
        "ManagerCollection",
        "Manager Collection",
        &[cx.layout.manager_uri()],
    )
}

/// The `Manager.Reset` types a flavour accepts.
fn manager_resets(flavor: Flavor) -> &'static [&'static str] {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 | Flavor::Supermicro | Flavor::Lenovo => {
            &["GracefulRestart"]
        }
        Flavor::Generic | Flavor::Hpe => &["GracefulRestart", "ForceRestart"],
    }
}

/// The manager (the BMC).
pub(crate) fn manager(cx: &Ctx<'_>) -> Reply {
    let layout = cx.layout;
    let flavor = cx.flavor();
    let uri = layout.manager_uri();
    let (name, model, firmware) = match flavor {
        Flavor::Dell => ("Manager", "14G Monolithic", "7.00.00.173"),
        Flavor::Idrac10 => ("Manager", "17G Monolithic", "1.20.25.00"),
        Flavor::Supermicro => ("Manager", "X11DPU", "01.73.14"),
        Flavor::Generic => ("Manager", "Contoso BMC 2", "2.4.0"),
        Flavor::Hpe => ("Manager", "iLO 5", "iLO 5 v2.78"),
        Flavor::Lenovo => ("Manager", "Lenovo XClarity Controller", "CDI3A4A 4.20"),
    };
    let mut body = json!({
        "@odata.id": uri,
        "@odata.type": "#Manager.v1_17_0.Manager",
        "Id": layout.manager,
        "Name": name,
        "Description": "Baseboard management controller",
        "ManagerType": "BMC",
        "Manufacturer": manufacturer(flavor),
        "Model": model,
        "FirmwareVersion": firmware,
        "UUID": uuid(cx, 0xb3c),
        "PowerState": "On",
        "Status": {"State": "Enabled", "Health": "OK"},
        "Links": {
            "ManagerForServers": [link(&layout.system_uri())],
            "ManagerForChassis": [link(&layout.chassis_uri())],
        },
        "Actions": {
            "#Manager.Reset": {
                "target": format!("{uri}/Actions/Manager.Reset"),
                "ResetType@Redfish.AllowableValues": manager_resets(flavor),
            }
        },
    });
    if let Some(oem) = super::dell_scp::manager_actions(cx) {
        body["Actions"]["Oem"] = oem;
    }
    match cx.lab.config.virtual_media_link {
        VirtualMediaLink::Property
            if matches!(flavor, Flavor::Dell | Flavor::Hpe | Flavor::Lenovo) =>
        {
            body["VirtualMedia"] = link(&layout.vmedia_uri());
        }
        VirtualMediaLink::ManagerLinks if flavor != Flavor::Supermicro => {
            body["Links"]["VirtualMedia"] = link(&layout.vmedia_uri());
        }
        _ => {}
    }
    Reply::resource(body)
}

/// `Manager.Reset`: the BMC restarts, dropping every session, and answers nothing for a while.
pub(crate) fn manager_reset(cx: &mut Ctx<'_>) -> Reply {
    let body = match cx.body() {
        Ok(body) => body,
        Err(reply) => return reply,
    };
    let action = "Manager.Reset";
    let Some(kind) = body.get("ResetType") else {
        return messages::action_parameter_missing(action, "ResetType");
    };
    let kind = kind.as_str().unwrap_or_default();
    if !manager_resets(cx.flavor()).contains(&kind) {
        return messages::action_value_not_in_list(kind, "ResetType", action);
    }
    let model = &cx.lab.config.model.bmc;
    cx.m.bmc_restarting_until = Some(cx.lab.clock.after(model.manager_reset));
    let dropped = cx.b.drop_sessions();
    cx.counters(|c| c.sessions_open = c.sessions_open.saturating_sub(dropped));
    match cx.flavor() {
        Flavor::Supermicro => messages::ok_success(),
        _ => Reply::empty(StatusCode::NO_CONTENT),
    }
}

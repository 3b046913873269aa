//! Mock BMCs for the contract tests: a mockito server dressed as a Dell iDRAC9/10, a
//! Supermicro, an HPE iLO 5, a Lenovo XCC or a generic DMTF service, and a client with
//! millisecond retries and waits.

use std::sync::Arc;
use std::time::Duration;

use mockito::{Matcher, Mock, Server, ServerGuard};
use redfish_client::{
    Bmc, BmcAddress, ClientConfig, Credentials, RedfishClient, RetryPolicy, TlsVerification,
    TransportConfig, WaitPolicy,
};
use serde_json::{Value, json};

pub const TOKEN: &str = "tok-1";
pub const PASSWORD: &str = "calvin-secret";

/// Which BMC the mock plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Idrac9,
    Idrac10,
    Supermicro,
    Generic,
    /// HPE iLO 5: session URIs with a trailing slash, given as absolute URLs.
    Ilo5,
    /// Lenovo XClarity Controller.
    Xcc,
}

/// iLO 5's session, as its `Location` names it.
pub const ILO_SESSION: &str = "/redfish/v1/SessionService/Sessions/root0000000067a1b2c3/";

impl Flavor {
    pub fn system(self) -> &'static str {
        match self {
            Self::Idrac9 | Self::Idrac10 => "/redfish/v1/Systems/System.Embedded.1",
            Self::Supermicro | Self::Ilo5 | Self::Xcc => "/redfish/v1/Systems/1",
            Self::Generic => "/redfish/v1/Systems/437XR1138R2",
        }
    }

    pub fn manager(self) -> &'static str {
        match self {
            Self::Idrac9 | Self::Idrac10 => "/redfish/v1/Managers/iDRAC.Embedded.1",
            Self::Supermicro | Self::Ilo5 | Self::Xcc => "/redfish/v1/Managers/1",
            Self::Generic => "/redfish/v1/Managers/BMC",
        }
    }

    pub fn chassis(self) -> &'static str {
        match self {
            Self::Idrac9 | Self::Idrac10 => "/redfish/v1/Chassis/System.Embedded.1",
            Self::Supermicro | Self::Ilo5 | Self::Xcc => "/redfish/v1/Chassis/1",
            Self::Generic => "/redfish/v1/Chassis/1U",
        }
    }

    /// The flavour's service root.
    pub fn root(self) -> Value {
        let mut root = json!({
            "@odata.id": "/redfish/v1",
            "RedfishVersion": "1.11.0",
            "Systems": {"@odata.id": "/redfish/v1/Systems"},
            "Managers": {"@odata.id": "/redfish/v1/Managers"},
            "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
            "AccountService": {"@odata.id": "/redfish/v1/AccountService"},
            "UpdateService": {"@odata.id": "/redfish/v1/UpdateService"},
            "Registries": {"@odata.id": "/redfish/v1/Registries"},
            "SessionService": {"@odata.id": "/redfish/v1/SessionService"},
            "Links": {"Sessions": {"@odata.id": "/redfish/v1/SessionService/Sessions"}}
        });
        match self {
            Self::Idrac9 | Self::Idrac10 => {
                root["Vendor"] = json!("Dell");
                root["Product"] = json!("Integrated Dell Remote Access Controller");
                root["Oem"] = json!({"Dell": {"ServiceTag": "7XYZ123"}});
            }
            Self::Supermicro => {
                root["Vendor"] = json!("Supermicro");
                root["Oem"] = json!({"Supermicro": {}});
            }
            Self::Generic => {
                root["Vendor"] = json!("Contoso");
            }
            Self::Ilo5 => {
                root["Vendor"] = json!("HPE");
                root["Product"] = json!("ProLiant DL360 Gen10");
                root["Oem"] = json!({"Hpe": {"Manager": [{"ManagerType": "iLO 5"}]}});
            }
            Self::Xcc => {
                root["Vendor"] = json!("Lenovo");
                root["Product"] = json!("Lenovo XClarity Controller");
            }
        }
        root
    }

    /// The flavour's manager document.
    pub fn manager_doc(self) -> Value {
        let mut m = json!({
            "@odata.id": self.manager(),
            "Id": self.manager().rsplit('/').next().unwrap(),
            "Actions": {"#Manager.Reset": {
                "target": format!("{}/Actions/Manager.Reset", self.manager()),
                "ResetType@Redfish.AllowableValues": ["GracefulRestart"]
            }},
            "VirtualMedia": {"@odata.id": format!("{}/VirtualMedia", self.manager())}
        });
        match self {
            Self::Idrac9 => {
                m["Model"] = json!("14G Monolithic");
                m["FirmwareVersion"] = json!("7.00.00.00");
            }
            Self::Idrac10 => {
                m["Model"] = json!("17G Monolithic");
                m["FirmwareVersion"] = json!("1.20.25.00");
            }
            Self::Supermicro => {
                m["Model"] = json!("X12");
                m.as_object_mut().unwrap().remove("VirtualMedia");
            }
            Self::Ilo5 => {
                m["Model"] = json!("iLO 5");
                m["FirmwareVersion"] = json!("iLO 5 v2.78");
            }
            Self::Xcc => {
                m["Model"] = json!("Lenovo XClarity Controller");
                m["FirmwareVersion"] = json!("CDI3A4A 4.20");
            }
            Self::Generic => {}
        }
        m
    }
}

/// A mock BMC.
pub struct Fake {
    pub server: ServerGuard,
    pub flavor: Flavor,
    pub keep: Vec<Mock>,
    /// The session logout mock made by [`Fake::sessions`].
    pub logout: Option<Mock>,
}

pub fn json_body(v: &Value) -> String {
    v.to_string()
}

pub fn collection(members: &[&str]) -> Value {
    json!({
        "Members": members.iter().map(|m| json!({"@odata.id": m})).collect::<Vec<_>>(),
        "Members@odata.count": members.len()
    })
}

impl Fake {
    /// A mockito server serving `root` as the service root (see `MockBmc` for the rest).
    pub async fn serving_root(flavor: Flavor, root: &Value) -> Self {
        let mut fake = Self {
            server: Server::new_async().await,
            flavor,
            keep: Vec::new(),
            logout: None,
        };
        fake.get("/redfish/v1", root).await;
        fake
    }

    pub async fn sessions(&mut self) {
        if self.flavor == Flavor::Ilo5 {
            return self.ilo_sessions().await;
        }
        let login = self
            .server
            .mock("POST", "/redfish/v1/SessionService/Sessions")
            .match_body(Matcher::PartialJson(json!({"UserName": "root"})))
            .with_status(201)
            .with_header("X-Auth-Token", TOKEN)
            .with_header("Location", "/redfish/v1/SessionService/Sessions/1")
            .with_body(r#"{"@odata.id":"/redfish/v1/SessionService/Sessions/1"}"#)
            .create_async()
            .await;
        let logout = self
            .server
            .mock("DELETE", "/redfish/v1/SessionService/Sessions/1")
            .with_status(200)
            .create_async()
            .await;
        self.keep.push(login);
        self.logout = Some(logout);
    }

    /// iLO 5's login: `Location` is an absolute URL with a trailing slash, the body carries
    /// `Oem.Hpe`; the logout is a DELETE of that path.
    async fn ilo_sessions(&mut self) {
        let location = format!("{}{ILO_SESSION}", self.server.url());
        let login = self
            .server
            .mock("POST", "/redfish/v1/SessionService/Sessions")
            .match_body(Matcher::PartialJson(json!({"UserName": "root"})))
            .with_status(201)
            .with_header("X-Auth-Token", TOKEN)
            .with_header("Location", &location)
            .with_body(
                json!({
                    "@odata.id": ILO_SESSION,
                    "@odata.type": "#Session.v1_0_0.Session",
                    "UserName": "root",
                    "Oem": {"Hpe": {
                        "@odata.type": "#HpeiLOSessionsSummary.v2_0_0.HpeiLOSessionsSummary",
                        "AccessTime": "2024-05-02T09:41:07Z",
                        "LoginPrivilege": true,
                        "UserAccount": "root",
                        "UserTag": "REST",
                        "UserType": "Local"
                    }}
                })
                .to_string(),
            )
            .create_async()
            .await;
        let logout = self
            .server
            .mock("DELETE", ILO_SESSION)
            .match_header("x-auth-token", TOKEN)
            .with_status(200)
            .create_async()
            .await;
        self.keep.push(login);
        self.logout = Some(logout);
    }

    /// Whether the session was deleted.
    pub async fn logged_out(&self) -> bool {
        match &self.logout {
            Some(m) => m.matched_async().await,
            None => false,
        }
    }

    /// The discovery collections and the flavour's manager.
    pub async fn discovery(&mut self) {
        self.discovery_with(&self.flavor.manager_doc()).await;
    }

    /// The discovery collections, and `manager` as the manager's document.
    pub async fn discovery_with(&mut self, manager: &Value) {
        let f = self.flavor;
        self.get("/redfish/v1/Systems", &collection(&[f.system()]))
            .await;
        self.get("/redfish/v1/Managers", &collection(&[f.manager()]))
            .await;
        self.get("/redfish/v1/Chassis", &collection(&[f.chassis()]))
            .await;
        self.get(f.manager(), manager).await;
    }

    /// GET `path` (authenticated with the session token, or unauthenticated for the root)
    /// answers `body`.
    pub async fn get(&mut self, path: &str, body: &Value) -> &Mock {
        let mut mock = self
            .server
            .mock("GET", path)
            .with_status(200)
            .with_header("content-type", "application/json")
            .with_body(json_body(body));
        if path != "/redfish/v1" {
            mock = mock.match_header("x-auth-token", TOKEN);
        }
        let mock = mock.create_async().await;
        self.keep.push(mock);
        self.keep.last().unwrap()
    }

    /// A mock for anything else; the caller finishes and creates it.
    pub fn mock<P: Into<Matcher>>(&mut self, method: &str, path: P) -> Mock {
        self.server.mock(method, path)
    }

    pub fn address(&self) -> BmcAddress {
        BmcAddress::parse(&self.server.url()).unwrap()
    }

    pub fn client(&self) -> RedfishClient {
        client_with(test_config())
    }

    pub fn bmc(&self, client: &RedfishClient) -> Bmc {
        client.bmc(self.address(), Credentials::new("root", PASSWORD))
    }
}

pub fn test_config() -> ClientConfig {
    ClientConfig {
        transport: TransportConfig {
            tls: TlsVerification::Insecure,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            ..TransportConfig::default()
        },
        retry: RetryPolicy {
            max_attempts: 4,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        waits: WaitPolicy::uniform(Duration::from_millis(5), Duration::from_secs(3)),
        ..ClientConfig::default()
    }
}

pub fn client_with(config: ClientConfig) -> RedfishClient {
    RedfishClient::new(config).unwrap()
}

#[allow(dead_code)]
pub fn shared<T>(v: T) -> Arc<std::sync::Mutex<T>> {
    Arc::new(std::sync::Mutex::new(v))
}

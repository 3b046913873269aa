//! `MockBmc`, the one builder of the contract tests' mock BMCs: the flavour's service root
//! (edited or not), session login and logout, the discovery collections and manager, and the
//! system document (with its ETag), each left out or changed where a test needs, built into a
//! [`Fake`]. Also the request shapes the tests repeat on a built one: a read with the session
//! token, a login as some user, a tenant's session, a login check with HTTP Basic.

use mockito::{Matcher, Mock};
use redfish_client::{Bmc, Error};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor, TOKEN};

/// The session collection logins are POSTed to.
pub const SESSIONS: &str = "/redfish/v1/SessionService/Sessions";

/// The token a tenant's session (see [`Fake::tenant_session`]) answers with.
pub const TENANT_TOKEN: &str = "tenant-token";

/// What the built BMC serves; by default what an operation needs to find its system and
/// manager: root, sessions, discovery.
pub struct MockBmc {
    flavor: Flavor,
    root: Value,
    sessions: bool,
    /// The manager's document, served with the discovery collections; `None`: no discovery.
    manager: Option<Value>,
    system: Option<(Value, Option<String>)>,
}

impl MockBmc {
    /// A `flavor` BMC with its service root, session login and logout, and the discovery
    /// resources (systems, managers, chassis and the manager).
    pub fn new(flavor: Flavor) -> Self {
        Self {
            flavor,
            root: flavor.root(),
            sessions: true,
            manager: Some(flavor.manager_doc()),
            system: None,
        }
    }

    /// The service root alone: no sessions, no discovery.
    pub fn bare(self) -> Self {
        Self {
            sessions: false,
            manager: None,
            ..self
        }
    }

    /// Root and sessions, without the discovery resources.
    pub fn no_discovery(self) -> Self {
        Self {
            manager: None,
            ..self
        }
    }

    /// The service root changed by `edit`.
    pub fn root(mut self, edit: impl FnOnce(&mut Value)) -> Self {
        edit(&mut self.root);
        self
    }

    /// The manager's document changed by `edit` (with discovery).
    pub fn manager(mut self, edit: impl FnOnce(&mut Value)) -> Self {
        edit(
            self.manager
                .get_or_insert_with(|| self.flavor.manager_doc()),
        );
        self
    }

    /// The system document (read with the session token).
    pub fn system(mut self, doc: Value) -> Self {
        self.system = Some((doc, None));
        self
    }

    /// The system document with an `ETag`.
    pub fn system_with_etag(mut self, doc: Value, etag: &str) -> Self {
        self.system = Some((doc, Some(etag.to_owned())));
        self
    }

    /// Starts the mockito server and serves it all.
    pub async fn build(self) -> Fake {
        let mut fake = Fake::serving_root(self.flavor, &self.root).await;
        if self.sessions {
            fake.sessions().await;
        }
        if let Some(manager) = &self.manager {
            fake.discovery_with(manager).await;
        }
        match self.system {
            None => {}
            Some((doc, None)) => {
                fake.get(self.flavor.system(), &doc).await;
            }
            Some((doc, Some(etag))) => {
                let mock = fake
                    .read(self.flavor.system())
                    .with_header("ETag", &etag)
                    .with_body(doc.to_string())
                    .create_async()
                    .await;
                fake.keep.push(mock);
            }
        }
        fake
    }
}

impl Fake {
    /// A GET of `path` with the session token, for the caller to answer and create.
    pub fn read<P: Into<Matcher>>(&mut self, path: P) -> Mock {
        self.mock("GET", path).match_header("x-auth-token", TOKEN)
    }

    /// A login as `user`, for the caller to answer and create.
    pub fn login_as(&mut self, user: &str) -> Mock {
        self.mock("POST", SESSIONS)
            .match_body(Matcher::PartialJson(json!({"UserName": user})))
    }

    /// A login as `user` that opens session `id` (token [`TENANT_TOKEN`]), for the caller to
    /// finish and create.
    pub fn tenant_session(&mut self, user: &str, id: u32) -> Mock {
        self.login_as(user)
            .with_status(201)
            .with_header("X-Auth-Token", TENANT_TOKEN)
            .with_header("Location", &format!("{SESSIONS}/{id}"))
    }

    /// The login check of `user` with `password`: a GET of the account service with their
    /// HTTP Basic credentials, for the caller to answer and create.
    pub fn basic_check(&mut self, user: &str, password: &str) -> Mock {
        use base64::Engine as _;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.mock("GET", "/redfish/v1/AccountService")
            .match_header("authorization", format!("Basic {credentials}").as_str())
    }

    /// The logout of a tenant's session `id` (answered 204), for the caller to finish and
    /// create.
    pub fn tenant_logout(&mut self, id: u32) -> Mock {
        self.mock("DELETE", format!("{SESSIONS}/{id}").as_str())
            .with_status(204)
    }
}

/// The vendors without Dell's OEM resources.
pub const NOT_DELL: [Flavor; 4] = [
    Flavor::Supermicro,
    Flavor::Generic,
    Flavor::Ilo5,
    Flavor::Xcc,
];

/// On every vendor but Dell: each error `run` returns is [`Error::Unsupported`] and no POST
/// whose path matches `posted` (a regex) reached the BMC.
pub async fn unsupported_without_posting(posted: &str, run: impl AsyncFn(&Bmc) -> Vec<Error>) {
    for flavor in NOT_DELL {
        let mut fake = MockBmc::new(flavor).build().await;
        let mock = fake
            .mock("POST", Matcher::Regex(posted.into()))
            .expect(0)
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        for err in run(&bmc).await {
            assert!(
                matches!(err, Error::Unsupported { .. }),
                "{flavor:?}: {err}"
            );
        }
        mock.assert_async().await;
    }
}

//! Shared test helpers: a client pointed at a mockito server, and canned answers.

use foreman_client::{ClientConfig, Credentials, ForemanClient, ForemanUrl, SessionPolicy};

/// `Basic` of `admin:changeme`.
pub const BASIC: &str = "Basic YWRtaW46Y2hhbmdlbWU=";

/// The password the helpers log in with.
pub const PASSWORD: &str = "changeme";

/// A client of the mock server without session cookies (so every request is alike).
pub fn client(server: &mockito::ServerGuard) -> ForemanClient {
    client_with(server, SessionPolicy::Stateless)
}

/// A client of the mock server with the given session policy.
pub fn client_with(server: &mockito::ServerGuard, session: SessionPolicy) -> ForemanClient {
    let mut config = ClientConfig::new(
        ForemanUrl::parse(&server.url()).unwrap(),
        Credentials::password("admin", PASSWORD),
    );
    config.session = session;
    ForemanClient::new(config).unwrap()
}

/// An index answer of `results` (JSON array text), Foreman 3.x style.
pub fn index(results: &str, total: u64, page: u64, per_page: u64, search: Option<&str>) -> String {
    let search = search.map_or("null".to_owned(), |s| serde_json::to_string(s).unwrap());
    format!(
        r#"{{"total":{total},"subtotal":{total},"page":{page},"per_page":{per_page},"search":{search},"sort":{{"by":null,"order":null}},"results":{results}}}"#
    )
}

//! Shared test helpers: clients of a mockito server and canned QUADS rows.

use quads_api_client::{AuthMode, ClientConfig, Credentials, QuadsClient, QuadsUrl};

/// `Basic` of `admin@example.com:changeme`.
pub const BASIC: &str = "Basic YWRtaW5AZXhhbXBsZS5jb206Y2hhbmdlbWU=";

/// The password the helpers log in with.
pub const PASSWORD: &str = "changeme";

/// A client of the mock server writing with `auth`.
pub fn client(server: &mockito::ServerGuard, auth: AuthMode) -> QuadsClient {
    let mut config = ClientConfig::new(QuadsUrl::parse(&server.url()).unwrap())
        .with_credentials(Credentials::new("admin@example.com", PASSWORD));
    config.auth = auth;
    QuadsClient::new(config).unwrap()
}

/// A client without credentials.
pub fn reader(server: &mockito::ServerGuard) -> QuadsClient {
    QuadsClient::new(ClientConfig::new(QuadsUrl::parse(&server.url()).unwrap())).unwrap()
}

/// A host row as QUADS 2.1 answers it.
pub fn host_row(name: &str, cloud: &str, build: bool) -> String {
    format!(
        r#"{{"id":3,"name":"{name}","model":"R650","host_type":"baremetal","build":{build},
        "validated":false,"switch_config_applied":false,"broken":false,"retired":false,
        "last_build":"Tue, 03 Dec 2024 22:00:00 GMT","cloud_id":2,"default_cloud_id":1,
        "cloud":{{"id":2,"name":"{cloud}","last_redefined":"Mon, 02 Dec 2024 10:00:00 GMT"}},
        "default_cloud":{{"id":1,"name":"cloud01","last_redefined":"Mon, 02 Dec 2024 10:00:00 GMT"}},
        "created_at":"Mon, 02 Dec 2024 09:00:00 GMT"}}"#
    )
}

/// An assignment row.
pub fn assignment_row(id: u64, cloud: &str, provisioned: bool, validated: bool) -> String {
    format!(
        r#"{{"id":{id},"active":true,"provisioned":{provisioned},"validated":{validated},
        "description":"perf","owner":"alice","ticket":"1234","qinq":0,"wipe":true,"ccuser":[],
        "cloud_id":2,"cloud":{{"id":2,"name":"{cloud}","last_redefined":null}},"vlan_id":null,
        "notification":{{"id":1,"fail":false,"success":false,"initial":false,"pre_initial":false,
        "pre":false,"one_day":false,"three_days":false,"five_days":false,"seven_days":false,
        "assignment_id":{id}}},"created_at":"Mon, 02 Dec 2024 09:00:00 GMT"}}"#
    )
}

/// A schedule row.
pub fn schedule_row(id: u64, host: &str, build_start: Option<&str>) -> String {
    let build = |t: Option<&str>| t.map_or("null".to_owned(), |t| format!("\"{t}\""));
    format!(
        r#"{{"id":{id},"start":"Tue, 03 Dec 2024 22:00:00 GMT","end":"Tue, 17 Dec 2024 22:00:00 GMT",
        "build_start":{},"build_end":{},"assignment_id":4,"host_id":3,
        "created_at":"Mon, 02 Dec 2024 09:00:00 GMT","assignment":{},"host":{}}}"#,
        build(build_start),
        build(build_start),
        assignment_row(4, "cloud02", false, false),
        host_row(host, "cloud01", false),
    )
}

/// The HTML page Flask serves for an unknown route.
pub const HTML_404: &str = "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n";

/// The HTML page Flask serves for an unhandled exception.
pub const HTML_500: &str = "<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n";

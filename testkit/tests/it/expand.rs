//! Query parameters on the fake BMCs over real loopback HTTPS: `$expand` (`.` and `*` at one
//! level) where the flavour serves it, the answers DSP0266 asks for what it does not, and the
//! `@odata.etag` annotation that repeats a resource's `ETag`.

use serde_json::{Map, Value, json};
use testkit::probe::Answer;
use testkit::{FaultProfile, Flavor, Lab};

use crate::bmc::Bmc;

const ALL: [Flavor; 4] = [
    Flavor::Dell,
    Flavor::Idrac10,
    Flavor::Supermicro,
    Flavor::Generic,
];

const EXPANDING: [Flavor; 3] = [Flavor::Dell, Flavor::Idrac10, Flavor::Generic];

/// One host per flavour, no latency.
async fn lab() -> Lab {
    crate::bmc::lab(&ALL, 0.0, FaultProfile::none()).await
}

fn index_of(flavor: Flavor) -> usize {
    ALL.iter().position(|f| *f == flavor).unwrap()
}

fn system(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Dell | Flavor::Idrac10 => "/redfish/v1/Systems/System.Embedded.1",
        Flavor::Supermicro | Flavor::Hpe | Flavor::Lenovo => "/redfish/v1/Systems/1",
        Flavor::Generic => "/redfish/v1/Systems/system",
    }
}

fn without_etag(value: &Value) -> Value {
    let mut map: Map<String, Value> = value.as_object().unwrap().clone();
    map.remove("@odata.etag");
    Value::Object(map)
}

fn message_id(answer: &Answer) -> String {
    answer.json()["error"]["@Message.ExtendedInfo"][0]["MessageId"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Every member of an expanded collection is the body a GET of it answers, `@odata.id` kept
/// and `@odata.etag` equal to that GET's `ETag`.
#[tokio::test]
async fn expanded_members_are_what_their_gets_answer() {
    let lab = lab().await;
    for flavor in EXPANDING {
        let bmc = Bmc::of(&lab, index_of(flavor));
        let system = system(flavor);
        let collections = [
            "/redfish/v1/AccountService/Accounts".to_owned(),
            "/redfish/v1/Systems".to_owned(),
            "/redfish/v1/Managers".to_owned(),
            format!("{system}/Processors"),
            format!("{system}/Memory"),
            format!("{system}/EthernetInterfaces"),
        ];
        for collection in &collections {
            let plain = bmc.get(collection).await.json();
            for query in ["$expand=.($levels=1)", "$expand=*($levels=1)", "$expand=."] {
                let answer = bmc.get(&format!("{collection}?{query}")).await;
                assert_eq!(answer.status, 200, "{flavor:?} {collection}?{query}");
                let expanded = answer.json();
                let members = expanded["Members"].as_array().unwrap();
                assert_eq!(
                    members.len() as u64,
                    plain["Members@odata.count"].as_u64().unwrap(),
                    "{flavor:?} {collection}"
                );
                assert!(!members.is_empty(), "{flavor:?} {collection}");
                for (member, link) in members.iter().zip(plain["Members"].as_array().unwrap()) {
                    let path = member["@odata.id"].as_str().unwrap();
                    assert_eq!(path, link["@odata.id"], "{flavor:?}: the order is kept");
                    let one = bmc.get(path).await;
                    assert_eq!(one.status, 200, "{flavor:?} {path}");
                    assert_eq!(
                        without_etag(member),
                        without_etag(&one.json()),
                        "{flavor:?} {path}"
                    );
                    assert_eq!(
                        member["@odata.etag"].as_str(),
                        one.header("etag"),
                        "{flavor:?} {path}"
                    );
                }
            }
        }
    }
}

/// `.` leaves references under `Links` alone, `*` expands them too; one level only.
#[tokio::test]
async fn dot_skips_links_and_star_takes_them() {
    let lab = lab().await;
    for flavor in EXPANDING {
        let bmc = Bmc::of(&lab, index_of(flavor));
        let manager = bmc.get("/redfish/v1/Managers").await.json()["Members"][0]["@odata.id"]
            .as_str()
            .unwrap()
            .to_owned();
        let dot = bmc
            .get(&format!("{manager}?$expand=.($levels=1)"))
            .await
            .json();
        let server = &dot["Links"]["ManagerForServers"][0];
        assert_eq!(server.as_object().unwrap().len(), 1, "{flavor:?}: {server}");
        let star = bmc
            .get(&format!("{manager}?$expand=*($levels=1)"))
            .await
            .json();
        let server = &star["Links"]["ManagerForServers"][0];
        assert_eq!(server["@odata.id"], system(flavor), "{flavor:?}");
        assert!(server.get("PowerState").is_some(), "{flavor:?}: {server}");
        // One level: the system's own references stay references.
        assert_eq!(
            server["Processors"].as_object().unwrap().len(),
            1,
            "{flavor:?}"
        );
        // The service root of an anonymous caller expands only what it may read.
        let root = bmc
            .anon
            .get(&format!("{}/redfish/v1?$expand=.", bmc.url))
            .await
            .unwrap();
        assert_eq!(root.status, 200, "{flavor:?}");
        assert_eq!(
            root.json()["Systems"],
            json!({"@odata.id": "/redfish/v1/Systems"}),
            "{flavor:?}"
        );
    }
}

/// What is not served answers per DSP0266: 501 for an unsupported `$` parameter or option,
/// 400 for a malformed value or `$levels` beyond `MaxLevels`; parameters without `$` are
/// ignored. Supermicro serves no `$expand` and says so in its root.
#[tokio::test]
async fn unsupported_queries_answer_per_the_specification() {
    let lab = lab().await;
    for flavor in ALL {
        let bmc = Bmc::of(&lab, index_of(flavor));
        let accounts = "/redfish/v1/AccountService/Accounts";
        let features = bmc.get("/redfish/v1").await.json()["ProtocolFeaturesSupported"].clone();
        let expands = flavor != Flavor::Supermicro;
        assert_eq!(features["ExpandQuery"]["NoLinks"], expands, "{flavor:?}");
        assert_eq!(features["ExpandQuery"]["ExpandAll"], expands, "{flavor:?}");
        assert_eq!(features["ExpandQuery"]["Links"], false, "{flavor:?}");
        assert_eq!(features["SelectQuery"], false, "{flavor:?}");
        let cases: &[(&str, u16, &str)] = if expands {
            &[
                ("$expand=~", 501, "QueryParameterUnsupported"),
                ("$expand=.($levels=2)", 400, "QueryParameterOutOfRange"),
                ("$expand=Members", 400, "QueryParameterValueFormatError"),
                (
                    "$expand=.($levels=one)",
                    400,
                    "QueryParameterValueFormatError",
                ),
                ("$select=UserName", 501, "QueryParameterUnsupported"),
                ("$top=1", 501, "QueryParameterUnsupported"),
                ("only", 200, ""),
                ("vendor=x", 200, ""),
            ]
        } else {
            &[
                ("$expand=.($levels=1)", 501, "QueryParameterUnsupported"),
                ("$expand=*", 501, "QueryParameterUnsupported"),
                ("$skip=1", 501, "QueryParameterUnsupported"),
                ("only", 200, ""),
            ]
        };
        for (query, status, id) in cases {
            let answer = bmc.get(&format!("{accounts}?{query}")).await;
            assert_eq!(answer.status, *status, "{flavor:?} {query}");
            if *status == 200 {
                // Ignored: the plain collection.
                assert_eq!(answer.json(), bmc.get(accounts).await.json(), "{flavor:?}");
            } else {
                assert!(message_id(&answer).ends_with(id), "{flavor:?} {query}");
            }
        }
    }
}

/// Every resource repeats its `ETag` header as `@odata.etag`, and the tag is the one
/// `If-Match` is checked against.
#[tokio::test]
async fn the_etag_annotation_equals_the_header() {
    let lab = lab().await;
    for flavor in ALL {
        let bmc = Bmc::of(&lab, index_of(flavor));
        for path in ["/redfish/v1", system(flavor), "/redfish/v1/AccountService"] {
            let answer = bmc.get(path).await;
            let header = answer.header("etag").unwrap().to_owned();
            assert_eq!(
                answer.json()["@odata.etag"].as_str(),
                Some(header.as_str()),
                "{flavor:?} {path}"
            );
        }
        let service = "/redfish/v1/AccountService";
        let tag = bmc.get(service).await.json()["@odata.etag"]
            .as_str()
            .unwrap()
            .to_owned();
        let bmc = &bmc;
        let patch = |tag: String| async move {
            bmc.admin
                .send(
                    http::Method::PATCH,
                    &format!("{}{service}", bmc.url),
                    &[("If-Match", tag.as_str())],
                    Some(&json!({})),
                )
                .await
                .unwrap()
        };
        let stale = patch("W/\"0000000000000000\"".to_owned()).await;
        assert_eq!(stale.status, 412, "{flavor:?}");
        let fresh = patch(tag).await;
        assert!(fresh.status.is_success(), "{flavor:?}: {}", fresh.text());
    }
}

/// An account PATCH answers the account on the iDRACs (its `ETag` that of a GET after it), a
/// success message on Supermicro and 204 on the generic flavour.
#[tokio::test]
async fn an_account_patch_answers_the_account_on_idracs() {
    let lab = lab().await;
    for flavor in ALL {
        let bmc = Bmc::of(&lab, index_of(flavor));
        let accounts = "/redfish/v1/AccountService/Accounts";
        let path = if flavor.is_dell() {
            format!("{accounts}/3")
        } else {
            let created = bmc
                .admin
                .post(
                    &format!("{}{accounts}", bmc.url),
                    &json!({"UserName": "tenant", "Password": "secret99", "RoleId": "ReadOnly"}),
                )
                .await
                .unwrap();
            assert_eq!(created.status, 201, "{flavor:?}");
            let location = created.header("location").unwrap();
            location
                .rsplit_once(accounts)
                .map_or(location.to_owned(), |(_, id)| format!("{accounts}{id}"))
        };
        let answer = bmc
            .admin
            .patch(
                &format!("{}{path}", bmc.url),
                &json!({"UserName": "tenant", "Password": "secret42", "RoleId": "Operator", "Enabled": true}),
            )
            .await
            .unwrap();
        let after = bmc.get(&path).await;
        match flavor {
            Flavor::Dell | Flavor::Idrac10 => {
                assert_eq!(answer.status, 200, "{flavor:?}");
                let body = answer.json();
                assert_eq!(body["@odata.id"], path.as_str(), "{flavor:?}");
                assert_eq!(body["RoleId"], "Operator", "{flavor:?}");
                assert_eq!(body["Enabled"], true, "{flavor:?}");
                assert_eq!(answer.header("etag"), after.header("etag"), "{flavor:?}");
                assert_eq!(body, after.json(), "{flavor:?}");
            }
            Flavor::Supermicro | Flavor::Hpe | Flavor::Lenovo => {
                assert_eq!(answer.status, 200, "{flavor:?}");
                assert!(answer.json().get("@odata.id").is_none(), "{flavor:?}");
            }
            Flavor::Generic => assert_eq!(answer.status, 204, "{flavor:?}"),
        }
        assert_eq!(after.json()["RoleId"], "Operator", "{flavor:?}");
    }
}

//! Dell's Server Configuration Profile against mockito BMCs: the targets read from the
//! manager's OEM action, an export (Badfish's body, its task polled until it answers the
//! profile), an import (the profile as `ImportBuffer` with the host's power state, its task
//! polled until the Dell job is final), a failed job and a refusal as errors; without the
//! actions nothing is posted.

use mockito::Matcher;
use redfish_client::{Error, ScpOperation, ScpReadOnly};
use serde_json::{Value, json};

use crate::common::{Fake, Flavor};
use crate::mock_bmc::{MockBmc, unsupported_without_posting};

const EXPORT: &str =
    "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Oem/EID_674_Manager.ExportSystemConfiguration";
const IMPORT: &str =
    "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Oem/EID_674_Manager.ImportSystemConfiguration";
const TASK: &str = "/redfish/v1/TaskService/Tasks/JID_700000000001";

/// An iDRAC whose manager advertises both actions (the import without a target list).
fn idrac(flavor: Flavor) -> MockBmc {
    MockBmc::new(flavor)
        .manager(|m| {
            m["Actions"]["Oem"] = json!({
                "#OemManager.v1_4_0.ExportSystemConfiguration": {
                    "target": EXPORT,
                    "ShareParameters": {"Target@Redfish.AllowableValues": ["ALL", "IDRAC", "BIOS", "NIC"]},
                },
                "#OemManager.v1_4_0.ImportSystemConfiguration": {"target": IMPORT, "ShareParameters": {}},
            });
        })
        .system(json!({"Id": "System.Embedded.1", "PowerState": "On"}))
}

/// The SCP task answering `answers` in turn (each once, the last for ever).
async fn task_answers(fake: &mut Fake, answers: &[(usize, Value)]) {
    for (i, (status, body)) in answers.iter().enumerate() {
        let mut mock = fake
            .mock("GET", TASK)
            .with_status(*status)
            .with_body(body.to_string());
        if i + 1 < answers.len() {
            mock = mock.expect(1);
        }
        let mock = mock.create_async().await;
        fake.keep.push(mock);
    }
}

/// `action` (its body `Matcher::Json` of `body` when given) answered 202 with [`TASK`],
/// which answers `answers` in turn.
async fn started(
    fake: &mut Fake,
    action: &str,
    body: Option<Value>,
    answers: &[(usize, Value)],
) -> mockito::Mock {
    let mut mock = fake.mock("POST", action);
    if let Some(body) = body {
        mock = mock.match_body(Matcher::Json(body));
    }
    let mock = mock
        .with_status(202)
        .with_header("Location", TASK)
        .create_async()
        .await;
    task_answers(fake, answers).await;
    mock
}

fn dell_task(state: &str, percent: u64, message: &str) -> Value {
    json!({"Id": "JID_700000000001", "TaskState": "Running",
           "Oem": {"Dell": {"JobState": state, "PercentComplete": percent, "Message": message}}})
}

#[tokio::test]
async fn targets_come_from_the_manager_s_oem_action() {
    for flavor in [Flavor::Idrac9, Flavor::Idrac10] {
        let fake = idrac(flavor).build().await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        assert_eq!(
            bmc.scp_targets(ScpOperation::Export).await.unwrap(),
            ["ALL", "IDRAC", "BIOS", "NIC"]
        );
        assert!(
            bmc.scp_targets(ScpOperation::Import)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn an_export_waits_for_the_profile_and_an_import_for_its_job() {
    let mut fake = idrac(Flavor::Idrac9).build().await;
    let profile = json!({"SystemConfiguration": {"Components": [{"FQDD": "BIOS.Setup.1-1"}]}});
    let export = started(
        &mut fake,
        EXPORT,
        Some(json!({
            "ExportFormat": "JSON", "ExportUse": "Default", "IncludeInExport": "IncludeReadOnly",
            "ShareParameters": {"Target": "BIOS,NIC"},
        })),
        &[
            (202, dell_task("Running", 10, "Exporting")),
            (200, profile.clone()),
        ],
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = redfish_client::CancellationToken::new();
    let got = bmc
        .export_scp("BIOS,NIC", ScpReadOnly::Include, &cancel)
        .await
        .unwrap();
    assert_eq!(got.profile, profile);
    assert_eq!(got.job, "JID_700000000001");
    export.assert_async().await;

    let mut fake = idrac(Flavor::Idrac10).build().await;
    let text = profile.to_string();
    let import = started(
        &mut fake,
        IMPORT,
        Some(json!({
            "ImportBuffer": text, "ShutdownType": "Graceful", "HostPowerState": "On",
            "ShareParameters": {"Target": "ALL"},
        })),
        &[
            (202, dell_task("Running", 50, "Applying")),
            (
                200,
                dell_task(
                    "Completed",
                    100,
                    "Successfully imported and applied Server Configuration Profile.",
                ),
            ),
        ],
    )
    .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let done = bmc.import_scp(&text, "ALL", &cancel).await.unwrap();
    assert_eq!(done.job, "JID_700000000001");
    assert_eq!(done.state, "Completed");
    assert!(done.message.starts_with("Successfully imported"));
    import.assert_async().await;
}

#[tokio::test]
async fn a_failed_job_or_a_refusal_is_an_error_naming_the_bmc() {
    let mut fake = idrac(Flavor::Idrac9).build().await;
    let _import = started(
        &mut fake,
        IMPORT,
        None,
        &[(
            200,
            dell_task("CompletedWithErrors", 100, "Some changes were not applied."),
        )],
    )
    .await;
    let _export = fake
        .mock("POST", EXPORT)
        .with_status(400)
        .with_body(
            json!({"error": {"@Message.ExtendedInfo": [{
                "MessageId": "Base.1.16.ActionParameterValueNotInList",
                "Message": "The value Disks for the parameter Target is not in the list of acceptable values."
            }]}})
            .to_string(),
        )
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let cancel = redfish_client::CancellationToken::new();
    let err = bmc.import_scp("{}", "ALL", &cancel).await.unwrap_err();
    assert!(
        matches!(&err, Error::JobFailed { state, .. } if state == "CompletedWithErrors"),
        "{err}"
    );
    let err = bmc
        .export_scp("Disks", ScpReadOnly::Exclude, &cancel)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Disks"), "{err}");
    assert!(err.to_string().contains(bmc.name()), "{err}");
}

#[tokio::test]
async fn without_the_actions_nothing_is_posted() {
    let cancel = redfish_client::CancellationToken::new();
    unsupported_without_posting("SystemConfiguration", async |bmc| {
        vec![
            bmc.scp_targets(ScpOperation::Export).await.unwrap_err(),
            bmc.export_scp("ALL", ScpReadOnly::Exclude, &cancel)
                .await
                .unwrap_err(),
            bmc.import_scp("{}", "ALL", &cancel).await.unwrap_err(),
        ]
    })
    .await;
}

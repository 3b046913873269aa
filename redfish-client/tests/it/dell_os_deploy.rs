//! Dell's OS Deployment service against mockito BMCs: the network ISO's status, its boot
//! (`BootToNetworkISO` with the NFS share split as Badfish splits it, the task read once) and
//! its detach, at iDRAC9's `/redfish/v1/Dell/Systems/…` path and at iDRAC10's `Oem/Dell` one;
//! a failed task and a refusal come back as errors; without the service nothing is posted.

use mockito::Matcher;
use redfish_client::{Error, IsoAttachStatus, NfsImage};
use serde_json::json;

use crate::common::{Fake, Flavor};
use crate::mock_bmc::{MockBmc, unsupported_without_posting};

fn service(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Idrac10 => "/redfish/v1/Systems/System.Embedded.1/Oem/Dell/DellOSDeploymentService",
        _ => "/redfish/v1/Dell/Systems/System.Embedded.1/DellOSDeploymentService",
    }
}

/// `BootToNetworkISO` of `10.1.2.3:/exports/isos/rhel-9.iso` answered 202 with the
/// `OSDeployment` task, which reads `(TaskState, TaskStatus)`.
async fn boot_answered(fake: &mut Fake, service: &str, task: (&str, &str)) -> mockito::Mock {
    let boot = fake
        .mock(
            "POST",
            format!("{service}/Actions/DellOSDeploymentService.BootToNetworkISO").as_str(),
        )
        .match_body(Matcher::Json(json!({
            "ShareType": "NFS",
            "IPAddress": "10.1.2.3",
            "ShareName": "/exports/isos/",
            "ImageName": "rhel-9.iso",
        })))
        .with_status(202)
        .with_header("Location", "/redfish/v1/TaskService/Tasks/OSDeployment")
        .create_async()
        .await;
    fake.get(
        "/redfish/v1/TaskService/Tasks/OSDeployment",
        &json!({"Id": "OSDeployment", "TaskState": task.0, "TaskStatus": task.1}),
    )
    .await;
    boot
}

#[tokio::test]
async fn status_boot_and_detach_per_dell_generation() {
    for flavor in [Flavor::Idrac9, Flavor::Idrac10] {
        let service = service(flavor);
        let mut fake = MockBmc::new(flavor).build().await;
        fake.get(service, &json!({"Id": "DellOSDeploymentService"}))
            .await;
        let action = |name: &str| format!("{service}/Actions/DellOSDeploymentService.{name}");
        let status = fake
            .mock("POST", action("GetAttachStatus").as_str())
            .match_body(Matcher::Json(json!({})))
            .with_status(200)
            .with_body(
                json!({"ISOAttachStatus": "NotAttached", "DriversAttachStatus": "NotAttached"})
                    .to_string(),
            )
            .create_async()
            .await;
        let boot = boot_answered(&mut fake, service, ("Running", "OK")).await;
        let detach = fake
            .mock("POST", action("DetachISOImage").as_str())
            .with_status(200)
            .with_body("{}")
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);

        let now = bmc.remote_image_status().await.unwrap();
        assert_eq!(now.iso, IsoAttachStatus::NotAttached, "{flavor:?}");
        assert_eq!(now.drivers.as_deref(), Some("NotAttached"));
        let image = NfsImage::parse("10.1.2.3:/exports/isos/rhel-9.iso").unwrap();
        let started = bmc.boot_remote_image(&image).await.unwrap();
        assert_eq!(
            started.task.as_deref(),
            Some("/redfish/v1/TaskService/Tasks/OSDeployment")
        );
        assert_eq!(started.task_state.as_deref(), Some("Running"));
        bmc.detach_remote_image().await.unwrap();
        for m in [&status, &boot, &detach] {
            m.assert_async().await;
        }
        bmc.logout().await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_task_or_a_refusal_is_an_error_naming_the_bmc() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let service = service(Flavor::Idrac9);
    fake.get(service, &json!({"Id": "DellOSDeploymentService"}))
        .await;
    let _boot = boot_answered(&mut fake, service, ("Exception", "Critical")).await;
    let _detach = fake
        .mock(
            "POST",
            format!("{service}/Actions/DellOSDeploymentService.DetachISOImage").as_str(),
        )
        .with_status(400)
        .with_body(
            json!({"error": {"@Message.ExtendedInfo": [{
                "MessageId": "Base.1.16.GeneralError",
                "Message": "No ISO image is attached."
            }]}})
            .to_string(),
        )
        .create_async()
        .await;
    let client = fake.client();
    let bmc = fake.bmc(&client);
    let image = NfsImage::parse("10.1.2.3:/exports/isos/rhel-9.iso").unwrap();
    let err = bmc.boot_remote_image(&image).await.unwrap_err();
    assert!(
        matches!(&err, Error::JobFailed { state, .. } if state == "Exception"),
        "{err}"
    );
    let err = bmc.detach_remote_image().await.unwrap_err();
    assert!(
        err.to_string().contains("No ISO image is attached"),
        "{err}"
    );
    assert!(err.to_string().contains(bmc.name()), "{err}");
}

#[tokio::test]
async fn without_the_service_nothing_is_posted() {
    let image = NfsImage::parse("nfs:/isos/x.iso").unwrap();
    unsupported_without_posting("DellOSDeploymentService", async |bmc| {
        vec![
            bmc.remote_image_status().await.unwrap_err(),
            bmc.boot_remote_image(&image).await.unwrap_err(),
            bmc.detach_remote_image().await.unwrap_err(),
        ]
    })
    .await;
}

//! Dell's OEM Lifecycle Controller actions against mockito BMCs, one per vendor variant: the
//! server screenshot (`DellLCService.ExportServerScreenShot`) at iDRAC9's legacy path and at
//! iDRAC10's `Oem/Dell` one; on a BMC without `DellLCService`, refused and nothing posted.

use mockito::Matcher;
use redfish_client::Error;
use serde_json::json;

use crate::common::Flavor;
use crate::mock_bmc::{MockBmc, unsupported_without_posting};

/// A PNG signature, base64 with a line break as an iDRAC may wrap it.
const IMAGE: &str = "iVBORw0K\nGgo=";

#[tokio::test]
async fn screenshot_per_vendor_variant() {
    for (flavor, service) in [
        (
            Flavor::Idrac9,
            "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellLCService",
        ),
        (
            Flavor::Idrac10,
            "/redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DellLCService",
        ),
    ] {
        let mut fake = MockBmc::new(flavor).build().await;
        fake.get(service, &json!({"Id": "DellLCService"})).await;
        let export = fake
            .mock(
                "POST",
                format!("{service}/Actions/DellLCService.ExportServerScreenShot").as_str(),
            )
            .match_body(Matcher::Json(json!({"FileType": "ServerScreenShot"})))
            .with_status(200)
            .with_body(json!({"ServerScreenShotFile": IMAGE}).to_string())
            .create_async()
            .await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let image = bmc.screenshot().await.unwrap();
        assert_eq!(image, b"\x89PNG\r\n\x1a\n", "{flavor:?}");
        export.assert_async().await;
        bmc.logout().await.unwrap();
    }
}

#[tokio::test]
async fn screenshot_without_an_image_or_without_dell_is_refused() {
    let mut fake = MockBmc::new(Flavor::Idrac9).build().await;
    let service = "/redfish/v1/Dell/Managers/iDRAC.Embedded.1/DellLCService";
    fake.get(service, &json!({"Id": "DellLCService"})).await;
    let _empty = fake
        .mock(
            "POST",
            format!("{service}/Actions/DellLCService.ExportServerScreenShot").as_str(),
        )
        .with_status(200)
        .with_body("{}")
        .create_async()
        .await;
    let client = fake.client();
    let err = fake.bmc(&client).screenshot().await.unwrap_err();
    assert!(matches!(err, Error::Invalid { .. }), "{err}");

    unsupported_without_posting("ExportServerScreenShot", async |bmc| {
        vec![bmc.screenshot().await.unwrap_err()]
    })
    .await;
}

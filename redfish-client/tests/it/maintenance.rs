//! Badfish's BIOS maintenance actions against mockito BMCs, one per vendor variant: the BIOS
//! setup password through `Bios.ChangePassword` (iDRAC: then a config job; DMTF: pending until
//! the next boot; a BMC without the action: unsupported, nothing else sent).

use mockito::Matcher;
use redfish_client::{Error, Secret, SettingsChange};
use serde_json::json;

use crate::common::{Flavor, collection};
use crate::mock_bmc::MockBmc;

#[tokio::test]
async fn bios_password_is_changed_per_vendor_variant() {
    for flavor in [Flavor::Idrac9, Flavor::Generic, Flavor::Supermicro] {
        let mut fake = MockBmc::new(flavor).build().await;
        let sys = flavor.system();
        let bios = format!("{sys}/Bios");
        fake.get(sys, &json!({"Bios": {"@odata.id": bios}})).await;
        fake.get(&bios, &json!({"Attributes": {"BootMode": "Uefi"}}))
            .await;
        let action = fake
            .mock(
                "POST",
                format!("{bios}/Actions/Bios.ChangePassword").as_str(),
            )
            .match_body(Matcher::Json(json!({
                "PasswordName": "SetupPassword", "OldPassword": "", "NewPassword": "n3w"
            })))
            .with_status(if flavor == Flavor::Supermicro {
                404
            } else {
                204
            })
            .expect(1)
            .create_async()
            .await;
        let mgr = "/redfish/v1/Managers/iDRAC.Embedded.1";
        let job = fake
            .mock("POST", format!("{mgr}/Jobs").as_str())
            .match_body(Matcher::Json(
                json!({"TargetSettingsURI": format!("{bios}/Settings")}),
            ))
            .with_status(200)
            .with_header("Location", &format!("{mgr}/Jobs/JID_7"))
            .expect(usize::from(flavor == Flavor::Idrac9))
            .create_async()
            .await;
        fake.get(&format!("{mgr}/Jobs"), &collection(&[])).await;
        let client = fake.client();
        let bmc = fake.bmc(&client);
        let result = bmc
            .change_bios_password(&Secret::new(""), &Secret::new("n3w"))
            .await;
        match flavor {
            Flavor::Idrac9 => assert_eq!(
                result.unwrap(),
                SettingsChange::Pending {
                    job: Some("JID_7".into())
                }
            ),
            Flavor::Generic => {
                assert_eq!(result.unwrap(), SettingsChange::Pending { job: None });
            }
            _ => {
                let e = result.unwrap_err();
                assert!(matches!(e, Error::Unsupported { .. }), "{e}");
                assert!(!e.to_string().contains("n3w"), "{e}");
            }
        }
        action.assert_async().await;
        job.assert_async().await;
    }
}

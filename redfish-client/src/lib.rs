//! Typed async Redfish/BMC client with vendor quirks (not yet built: see issue 3).

//! `quads init`, configuration files and environment, and the exit codes of usage errors.

use crate::support::Home;

#[test]
fn init_writes_a_config_and_an_empty_store_and_is_idempotent() {
    let home = Home::new();
    let doc = home.json(&["init"]);
    assert_eq!(doc["v"], 1);
    let init = &doc["init"];
    assert_eq!(init["config_created"], true);
    assert_eq!(init["store_created"], true);
    assert_eq!(init["schema_version"], 7);
    assert_eq!(init["config"], home.config_path().display().to_string());
    assert_eq!(init["store"], home.store_path().display().to_string());
    assert!(home.store_path().exists());
    let config = std::fs::read_to_string(home.config_path()).unwrap();
    assert!(config.contains("untouchable_hosts = []"), "{config}");

    let again = home.quads(&["init"]).ok();
    assert!(
        again.contains("(kept)") && again.contains("(ready"),
        "{again}"
    );
    assert_eq!(home.json(&["host", "ls"])["hosts"], serde_json::json!([]));
}

#[test]
fn commands_before_init_say_so_and_create_nothing() {
    let home = Home::new();
    let err = home.quads(&["host", "ls"]).fails(2);
    assert!(
        err.contains("no store at") && err.contains("quads init"),
        "{err}"
    );
    assert!(!home.store_path().exists());
}

#[test]
fn the_store_path_comes_from_the_config_file_then_the_environment() {
    let mut home = Home::new();
    let config = home.write(
        "custom.toml",
        "[store]\npath = \"db/custom.db\"\n[moves]\nuntouchable_hosts = [\"infra01\"]\n",
    );
    let config = config.display().to_string();
    let doc = home.json(&["init", "--config", &config]);
    assert_eq!(doc["init"]["config_created"], false);
    assert!(home.path().join("db/custom.db").exists());
    assert!(!home.store_path().exists());
    home.quads(&["cloud", "ls", "--config", &config]).ok();

    // QUADS_CONFIG names the file; QUADS_STORE_PATH overrides its store
    home.set_env("QUADS_CONFIG", &config);
    home.quads(&["cloud", "add", "cloud01"]).ok();
    let other = home.path().join("other.db").display().to_string();
    home.set_env("QUADS_STORE_PATH", &other);
    home.quads(&["init"]).ok();
    assert_eq!(home.json(&["cloud", "ls"])["clouds"], serde_json::json!([]));
}

#[test]
fn config_errors_exit_2_and_name_the_problem() {
    let home = Home::new();
    let err = home
        .quads(&["host", "ls", "--config", "missing.toml"])
        .fails(2);
    assert!(
        err.contains("cannot read config file missing.toml"),
        "{err}"
    );

    let bad = home.write("bad.toml", "[store]\npaht = \"x\"\n");
    let err = home
        .quads(&["host", "ls", "--config", &bad.display().to_string()])
        .fails(2);
    assert!(
        err.contains("invalid config file") && err.contains("paht"),
        "{err}"
    );

    let foreman = home.write(
        "foreman.toml",
        "[foreman]\nurl = \"https://foreman.example.com\"\nusername = \"admin\"\ninfra_location = \"lab\"\n",
    );
    let err = home
        .quads(&["init", "--config", &foreman.display().to_string()])
        .fails(2);
    assert!(err.contains("Foreman password is missing"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let home = Home::initialized();
    let err = home
        .quads(&["host", "add", "bad name", "--default-cloud", "cloud01"])
        .fails(2);
    assert!(err.contains("invalid host name"), "{err}");
    let err = home
        .quads(&["move-hosts", "--dry-run", "--date", "someday"])
        .fails(2);
    assert!(err.contains("invalid time"), "{err}");
    home.quads(&["move-hosts", "--dry-run", "--resume"])
        .fails(2);
    home.quads(&["frobnicate"]).fails(2);
    let err = home
        .quads(&[
            "assignment",
            "add",
            "--cloud",
            "c",
            "--ticket",
            "1",
            "--owner",
            "o",
            "--wipe",
            "maybe",
        ])
        .fails(2);
    assert!(err.contains("yes no"), "{err}");
}

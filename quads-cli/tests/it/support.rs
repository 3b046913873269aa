//! A throwaway operator home for running the built `quads`: its own HOME and XDG dirs, no
//! inherited `QUADS_*` variables, and helpers to run commands and read their JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Home {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

/// What one run of `quads` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: &Output) -> Self {
        Self {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "expected success: {self:#?}");
        self.stdout
    }

    /// Asserts the exit code and returns stderr.
    #[track_caller]
    pub fn fails(self, code: i32) -> String {
        assert_eq!(self.code, code, "expected exit {code}: {self:#?}");
        self.stderr
    }

    #[track_caller]
    pub fn json(self) -> serde_json::Value {
        let text = self.ok();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }
}

impl Home {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            dir,
            env: Vec::new(),
        }
    }

    /// A home where `quads init` already ran.
    pub fn initialized() -> Self {
        let home = Self::new();
        home.quads(&["init"]).ok();
        home
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("config/quads/quads.toml")
    }

    pub fn store_path(&self) -> PathBuf {
        self.path().join("data/quads/quads.db")
    }

    /// Sets an environment variable for every later command.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_owned(), value.to_owned()));
    }

    pub fn quads(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_quads"))
            .args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.path())
            .output()
            .expect("cannot run quads");
        Run::from(&out)
    }

    /// `quads ARGS --format json`, asserting success.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        self.quads(&all).json()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The example inventory shipped with the crate.
pub fn example_inventory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/inventory.yaml")
}

/// Names of the hosts in a `host ls --format json` document.
pub fn names(doc: &serde_json::Value, list: &str, key: &str) -> Vec<String> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_owned())
        .collect()
}

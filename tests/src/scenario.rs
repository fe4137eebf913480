//! Loading scenario files.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// One scenario file, with its policy-specific parts still raw.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    pub description: String,
    /// Which policy the steps drive.
    pub policy: String,
    /// The test clock's time at the start.
    #[serde(default)]
    pub start_ms: u64,
    /// The policy's options.
    #[serde(default)]
    pub config: serde_json::Value,
    /// The steps, each with an `op`.
    pub steps: Vec<serde_json::Value>,
}

impl Scenario {
    /// The policy's configuration, parsed strictly.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, String> {
        let config = if self.config.is_null() {
            serde_json::Value::Object(Default::default())
        } else {
            self.config.clone()
        };
        serde_json::from_value(config).map_err(|e| format!("config: {e}"))
    }

    /// Step `index`, parsed strictly.
    pub fn step<T: DeserializeOwned>(&self, index: usize) -> Result<T, String> {
        serde_json::from_value(self.steps[index].clone()).map_err(|e| self.at(index, e))
    }

    /// `error`, located at step `index` (which it quotes).
    pub fn at(&self, index: usize, error: impl std::fmt::Display) -> String {
        format!("step {index} ({}): {error}", self.steps[index])
    }
}

/// The directory of the shared scenario files.
pub fn directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// Every scenario file, sorted by name, with its parsed content.
pub fn all() -> Vec<(String, Result<Scenario, String>)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(directory())
        .expect("tests/scenarios exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let parsed = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()));
            (name, parsed)
        })
        .collect()
}

/// `Option<Option<T>>` for fields where "absent" (not checked) and `null`
/// (must be none) differ.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

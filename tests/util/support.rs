//! Shared helpers for the PSS integration tests: reading the upstream fixtures (YAML, via the
//! yaml-rust2 dev-dependency, so these tests do not depend on the crate's own editor) and
//! finding `../shared`, which users of the repository do not have.

#![allow(dead_code)]

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

/// `../shared` next to the crate, when present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    dir.is_dir().then_some(dir)
}

/// The first document of a YAML text as JSON.
pub fn yaml_to_json(text: &str) -> Value {
    let docs = YamlLoader::load_from_str(text).expect("fixture should be valid YAML");
    docs.first().map(convert).unwrap_or(Value::Null)
}

fn convert(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(number) => Value::from(*number),
        Yaml::String(text) => Value::String(text.clone()),
        Yaml::Boolean(flag) => Value::Bool(*flag),
        Yaml::Array(items) => Value::Array(items.iter().map(convert).collect()),
        Yaml::Hash(hash) => {
            let mut map = Map::new();
            for (key, value) in hash {
                let key = match key {
                    Yaml::String(text) => text.clone(),
                    Yaml::Integer(number) => number.to_string(),
                    Yaml::Boolean(flag) => flag.to_string(),
                    other => format!("{other:?}"),
                };
                map.insert(key, convert(value));
            }
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

/// Every document of a YAML text as JSON, or `None` when yaml-rust2 rejects the text (it is
/// stricter than the API server in places).
pub fn yaml_documents(text: &str) -> Option<Vec<Value>> {
    let docs = YamlLoader::load_from_str(text).ok()?;
    Some(docs.iter().map(convert).collect())
}

/// One fixture file.
pub struct Fixture {
    pub level: String,
    pub version: String,
    pub pass: bool,
    pub name: String,
    pub path: PathBuf,
    pub object: Value,
}

/// Every fixture under `root` (`<level>/<version>/<pass|fail>/*.yaml`, the layout of the
/// upstream module's `test/testdata`), sorted by path.
pub fn fixtures(root: &Path) -> Vec<Fixture> {
    let mut found = Vec::new();
    for level in ["baseline", "restricted"] {
        let Ok(versions) = std::fs::read_dir(root.join(level)) else {
            continue;
        };
        for version in versions.flatten() {
            let version_name = version.file_name().to_string_lossy().into_owned();
            for outcome in ["pass", "fail"] {
                let Ok(files) = std::fs::read_dir(version.path().join(outcome)) else {
                    continue;
                };
                for file in files.flatten() {
                    let path = file.path();
                    if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                        continue;
                    }
                    let text = std::fs::read_to_string(&path).expect("fixture should be readable");
                    found.push(Fixture {
                        level: level.to_string(),
                        version: version_name.clone(),
                        pass: outcome == "pass",
                        name: path
                            .file_stem()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .into_owned(),
                        object: yaml_to_json(&text),
                        path,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

//! kustomize KRM function (`pss-fix krm`): a `config.kubernetes.io/v1` ResourceList in, the
//! same list out with its workload items fixed and a `results` entry per change and per
//! violation left.
//!
//! The output is a format-preserving edit of the input, made by the same engine as `pss-fix
//! fix` ([`Manifest::process`]: a ResourceList is a List whose items are workloads), so the
//! annotations kustomize keeps on items (`config.kubernetes.io/index`,
//! `internal.config.kubernetes.io/path`) and everything else pass through untouched.
//!
//! Options come from `functionConfig`, with the keys of the config file (see [`Config`]):
//! - a `ConfigMap`: each `data` value is read as YAML, so `runAsUser: "1000"` is the number
//!   1000 and `hardening: "readOnlyRootFilesystem: false"` a mapping;
//! - any other kind: its `spec`, or else the object without `apiVersion`, `kind` and
//!   `metadata`.
//!
//! With `level: namespace`, levels come from the Namespace items of the list; unknown
//! namespaces are held to `defaultLevel`, restricted unless the config says otherwise (as for
//! files). Violations left are `warning` results, so the build goes on and PSA judges them;
//! input that is not a ResourceList, or an edit that fails verification, is an error.

use crate::config::{self, Config};
use crate::manifest::{self, Enforce, Keep, Manifest, Policies, WorkloadReport};
use crate::yaml;
use json_patch::{AddOperation, Patch, PatchOperation};
use serde_json::{json, Map, Value};

/// The ResourceList versions kustomize and kpt send.
const API_VERSIONS: [&str; 2] = ["config.kubernetes.io/v1", "config.kubernetes.io/v1alpha1"];

/// Why a ResourceList could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("stdin:{0}")]
    Yaml(#[from] yaml::Error),
    #[error("stdin: expected one ResourceList (apiVersion config.kubernetes.io/v1), found {0}")]
    NotResourceList(String),
    #[error("functionConfig: {0}")]
    Config(#[from] config::Error),
    #[error("functionConfig: data key `{key}`: {source}")]
    ConfigData { key: String, source: yaml::Error },
}

/// Processes one ResourceList and returns the output ResourceList's text.
pub fn run(input: &str) -> Result<String, Error> {
    let stream = yaml::Stream::parse(input)?;
    let list = resource_list(&stream)?;
    let (config, has_default_level) = function_config(list.get("functionConfig"))?;
    let default_level = manifest::manifest_default_level(&config, has_default_level);
    let mut policies = Policies::new(config, default_level);
    if policies.fixed.is_none() {
        policies.learn_namespaces(list);
    }

    let manifest = Manifest::process(input, &policies, Keep::FixedText)?;
    let fixed = manifest.fixed.as_deref().unwrap_or(input);
    let results: Vec<Value> = manifest.workloads.iter().flat_map(results_of).collect();
    if results.is_empty() {
        return Ok(fixed.to_string());
    }
    append_results(fixed, results)
}

/// The one ResourceList document of the input.
fn resource_list(stream: &yaml::Stream) -> Result<&Value, Error> {
    let documents: Vec<&Value> = stream
        .documents()
        .iter()
        .map(yaml::Document::value)
        .filter(|value| !value.is_null())
        .collect();
    match documents.as_slice() {
        [list]
            if list.get("kind").and_then(Value::as_str) == Some("ResourceList")
                && list
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|version| API_VERSIONS.contains(&version)) =>
        {
            Ok(list)
        }
        [other] => Err(Error::NotResourceList(format!(
            "apiVersion `{}`, kind `{}`",
            other
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
            other.get("kind").and_then(Value::as_str).unwrap_or("")
        ))),
        many => Err(Error::NotResourceList(format!("{} documents", many.len()))),
    }
}

/// The config the functionConfig carries, and whether it sets `defaultLevel`.
fn function_config(function_config: Option<&Value>) -> Result<(Config, bool), Error> {
    let Some(object) = function_config.filter(|value| !value.is_null()) else {
        return Ok((Config::default(), false));
    };
    let settings = if object.get("kind").and_then(Value::as_str) == Some("ConfigMap") {
        config_map_settings(object)?
    } else if let Some(spec) = object.get("spec") {
        spec.clone()
    } else {
        let mut settings = object.as_object().cloned().unwrap_or_default();
        for key in ["apiVersion", "kind", "metadata"] {
            settings.remove(key);
        }
        Value::Object(settings)
    };
    let has_default_level = settings.get(config::DEFAULT_LEVEL_KEY).is_some();
    Ok((Config::from_value(&settings)?, has_default_level))
}

/// A ConfigMap's `data`, each string value read as YAML.
fn config_map_settings(config_map: &Value) -> Result<Value, Error> {
    let mut settings = Map::new();
    let data = config_map.get("data").and_then(Value::as_object);
    for (key, value) in data.into_iter().flatten() {
        let parsed = match value.as_str() {
            Some(text) => yaml::Stream::parse(text)
                .map_err(|source| Error::ConfigData {
                    key: key.clone(),
                    source,
                })?
                .documents()
                .first()
                .map_or(Value::Null, |document| document.value().clone()),
            None => value.clone(),
        };
        settings.insert(key.clone(), parsed);
    }
    Ok(Value::Object(settings))
}

/// The KRM results for one workload: an `info` per change, a `warning` per violation left.
fn results_of(workload: &WorkloadReport) -> Vec<Value> {
    let resource_ref = resource_ref(workload);
    let level = match workload.held_to.enforce {
        Enforce::Level(level, version) => format!("{level} {version}"),
        Enforce::Privileged => "privileged".to_string(),
    };
    let changes = workload.changes.iter().map(|change| {
        json!({
            "message": format!("pss-fix: {} ({level}): {}", change.check, change.description),
            "severity": "info",
            "resourceRef": resource_ref,
            "field": {"path": field_path(&change.path)},
            "tags": {"check": change.check, "safety": change.safety},
        })
    });
    let unfixable = workload.unfixable.iter().map(|left| {
        json!({
            "message": format!("pss-fix: {} ({level}) not fixed: {}", left.item.check, left.item.reason),
            "severity": "warning",
            "resourceRef": resource_ref,
            "field": {"path": field_path(&left.item.path)},
            "tags": {"check": left.item.check},
        })
    });
    changes.chain(unfixable).collect()
}

fn resource_ref(workload: &WorkloadReport) -> Value {
    let mut reference = Map::new();
    reference.insert("kind".into(), json!(workload.kind));
    if let Some(name) = &workload.name {
        reference.insert("name".into(), json!(name));
    }
    if let Some(namespace) = &workload.namespace {
        reference.insert("namespace".into(), json!(namespace));
    }
    Value::Object(reference)
}

/// A JSON pointer as the dotted path KRM results use: `spec.containers[0].securityContext`.
fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for token in crate::pointer::tokens(pointer) {
        if token.bytes().all(|byte| byte.is_ascii_digit()) && !token.is_empty() {
            path.push_str(&format!("[{token}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&token);
        }
    }
    path
}

/// Adds `results` to the ResourceList in `text` (appending to results an earlier function
/// left), as a format-preserving edit.
fn append_results(text: &str, results: Vec<Value>) -> Result<String, Error> {
    let stream = yaml::Stream::parse(text)?;
    let index = stream
        .documents()
        .iter()
        .position(|document| !document.value().is_null())
        .expect("the ResourceList was found in this text before");
    let existing = stream.documents()[index].value().get("results");
    let operations = match existing.and_then(Value::as_array) {
        Some(_) => results
            .into_iter()
            .map(|result| add("/results/-", result))
            .collect(),
        None => vec![add("/results", Value::Array(results))],
    };
    Ok(stream.edit(&[(index, Patch(operations))])?)
}

fn add(path: &str, value: Value) -> PatchOperation {
    PatchOperation::Add(AddOperation {
        path: json_patch::jsonptr::PointerBuf::parse(path)
            .expect("results paths are valid JSON pointers"),
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: v1
  kind: Namespace
  metadata:
    name: legacy
    labels:
      pod-security.kubernetes.io/enforce: baseline
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web   # the storefront
    namespace: legacy
    annotations:
      config.kubernetes.io/index: '1'
  spec:
    template:
      spec:
        hostNetwork: true
        containers:
        - name: web
          image: nginx
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: pss-fix
  data:
    level: namespace
    runAsUser: \"1000\"
";

    fn output_value(text: &str) -> Value {
        yaml::Stream::parse(text)
            .expect("output parses")
            .documents()[0]
            .value()
            .clone()
    }

    #[test]
    fn fixes_items_at_their_namespace_level_and_reports_results() {
        let output = run(LIST).expect("runs");
        let value = output_value(&output);
        let deployment = &value["items"][1];
        assert_eq!(deployment["spec"]["template"]["spec"]["hostNetwork"], false);
        // Baseline only: no restricted fields.
        assert!(deployment["spec"]["template"]["spec"]
            .get("securityContext")
            .is_none());
        let results = value["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{results:#?}");
        assert_eq!(results[0]["severity"], "info");
        assert_eq!(
            results[0]["field"]["path"],
            "spec.template.spec.hostNetwork"
        );
        assert_eq!(results[0]["resourceRef"]["name"], "web");
        // Untouched text stays: the comment and the index annotation's quoting.
        assert!(output.contains("name: web   # the storefront\n"));
        assert!(output.contains("config.kubernetes.io/index: '1'\n"));
    }

    #[test]
    fn config_map_data_is_read_as_yaml() {
        let fixed = run(&LIST.replace("level: namespace", "level: restricted")).expect("runs");
        let value = output_value(&fixed);
        let pod = &value["items"][1]["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsUser"], 1000);
        assert_eq!(pod["hostNetwork"], false);
    }

    #[test]
    fn a_compliant_list_comes_back_byte_identical() {
        let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x}\n";
        assert_eq!(run(list).expect("runs"), list);
    }

    #[test]
    fn results_of_earlier_functions_are_kept() {
        let with_results = format!(
            "{}results:\n- message: from another function\n  severity: info\n",
            LIST
        );
        let value = output_value(&run(&with_results).expect("runs"));
        let results = value["results"].as_array().expect("results");
        assert_eq!(results[0]["message"], "from another function");
        assert_eq!(results.len(), 2);
    }

    #[test]
    fn other_input_is_an_error() {
        let error = run("apiVersion: v1\nkind: Pod\n").expect_err("not a list");
        assert!(error.to_string().contains("kind `Pod`"), "{error}");
        let error = run(&LIST.replace("level: namespace", "level: strict")).expect_err("bad");
        assert!(error.to_string().starts_with("functionConfig: "), "{error}");
    }

    #[test]
    fn pointers_become_krm_field_paths() {
        assert_eq!(
            field_path("/spec/containers/0/securityContext"),
            "spec.containers[0].securityContext"
        );
        assert_eq!(
            field_path("/metadata/annotations/a~1b"),
            "metadata.annotations.a/b"
        );
        assert_eq!(field_path(""), "");
    }
}

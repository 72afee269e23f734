//! One AdmissionReview in, one AdmissionReview out: a pure function of the request bytes, the
//! config and the namespace labels known at the time. No async, no sockets, no clock, no
//! logging: the server shell logs the [`Summary`] and counts the [`Outcome`].
//!
//! The patch is the engine's own ([`crate::plan::plan`] on the raw request object, invariant I6),
//! so unknown and newer fields survive; this module only decides *whether* to plan, at which
//! level, and how to say the result on the wire.
//!
//! Wire format (`admission.k8s.io/v1`, the fields we write):
//! - `response.uid`: the request's uid, always echoed (the API server rejects a mismatch).
//! - `response.allowed`: `false` only in `enforce` mode for unfixable violations, and for
//!   invalid reviews.
//! - `response.patchType` and `response.patch`: `"JSONPatch"` and the base64 of the RFC 6902
//!   array, only when the patch is non-empty. (kube-core's `AdmissionResponse` writes `patch`
//!   as an array of numbers, which the API server rejects; hence our own struct.)
//! - `response.warnings`: one per control fixed, one per unfixable violation, each under 120
//!   characters (the API server's limit for a readable warning).
//! - `response.auditAnnotations`: `patched` and `unfixable`, comma-separated control ids; not
//!   written for `dryRun` requests, which must leave no trace.
//! - `response.status`: for denials (403) and invalid reviews (400), with a message.

use super::metrics::Outcome;
use crate::config::{Config, LevelChoice};
use crate::plan::{self, Plan};
use crate::pointer;
use crate::pss::{self, Level, Version};
use crate::workload::{self, Workload};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The only AdmissionReview version served (the one every supported Kubernetes sends when the
/// webhook lists only `v1` in `admissionReviewVersions`).
pub const API_VERSION: &str = "admission.k8s.io/v1";
const KIND: &str = "AdmissionReview";

/// Annotation the kubelet puts on mirror pods (static pods seen through the API server); the
/// kubelet runs them from files, so a patch on the mirror would change nothing but the record.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Longest warning we send: the API server documents 120 characters as the limit for warnings
/// to display well, and we stay strictly below it.
pub const MAX_WARNING_CHARS: usize = 119;

/// Labels of the namespaces the server knows about (a watch cache in the cluster, a map in
/// tests). `None`: the namespace is unknown (not created yet, or the cache not synced).
pub trait NamespaceLabels: Send + Sync {
    fn labels(&self, namespace: &str) -> Option<Map<String, Value>>;
}

/// What [`review`] needs besides the request.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    /// Consulted only with `level: namespace`; without it every namespace is unknown and gets
    /// the config's `defaultLevel`.
    pub namespaces: Option<&'a dyn NamespaceLabels>,
}

/// The answer to one request: the HTTP status, the AdmissionReview to send, and what the
/// server logs and counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// 200 for every well-formed review (a denial is a policy decision, not an HTTP error);
    /// 400 for a body that is not an AdmissionReview v1.
    pub http_status: u16,
    pub response: AdmissionReview,
    pub outcome: Outcome,
    pub summary: Summary,
}

/// What the log line and the metrics say about one review. Never object contents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Summary {
    pub uid: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub operation: String,
    pub dry_run: bool,
    /// Controls the patch fixes, each once, in plan order.
    pub patched: Vec<String>,
    /// Controls left in violation, each once.
    pub unfixable: Vec<String>,
    /// Why the object was admitted unchanged or refused, in a few words.
    pub reason: String,
}

/// The AdmissionReview we answer with.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionReview {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub response: AdmissionResponse,
}

/// `AdmissionReview.response`, with `patch` already base64-encoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    /// Base64 (standard alphabet, padded) of the RFC 6902 JSON array.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_base64"
    )]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Writes base64 as it is: its alphabet needs no JSON escape, and scanning the largest field of
/// the answer for escapes cost more than encoding it.
fn serialize_base64<S: serde::Serializer>(
    base64: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let quoted = format!("\"{}\"", base64.as_deref().unwrap_or_default());
    let raw =
        serde_json::value::RawValue::from_string(quoted).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// `metav1.Status` for refusals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub status: &'static str,
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl AdmissionReview {
    /// The JSON bytes sent on the wire.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a response of strings, booleans and maps should serialise")
    }
}

/// Answers one AdmissionReview request body.
pub fn review(body: &[u8], context: Context<'_>) -> Review {
    match Request::parse(body) {
        Ok(request) => decide(request, context),
        Err(invalid) => invalid.into_review(),
    }
}

/// The fields of `AdmissionReview.request` we read.
struct Request {
    uid: String,
    operation: String,
    namespace: String,
    name: String,
    sub_resource: String,
    dry_run: bool,
    object: Value,
    old_object: Value,
}

/// A body that is not an AdmissionReview v1 we can answer; the uid when it could be read.
struct Invalid {
    uid: String,
    message: String,
}

impl Invalid {
    fn new(uid: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            uid: uid.to_owned(),
            message: message.into(),
        }
    }

    /// Like kube-core's `AdmissionResponse::invalid`, but with HTTP 400 and the uid echoed
    /// when there is one, so both the API server's log and a human with curl see why.
    fn into_review(self) -> Review {
        let message = format!("invalid AdmissionReview: {}", self.message);
        Review {
            http_status: 400,
            response: failure(&self.uid, 400, &message),
            outcome: Outcome::Invalid,
            summary: Summary {
                uid: self.uid,
                reason: message,
                ..Summary::default()
            },
        }
    }
}

/// The answer for a request the server refused before reading it (too large, too slow, a
/// caught panic): no uid is known, the status says why.
pub fn refusal(code: u16, message: &str) -> AdmissionReview {
    failure("", code, message)
}

/// A refusal with `status.code` `code` and the matching `metav1.StatusReason`.
fn failure(uid: &str, code: u16, message: &str) -> AdmissionReview {
    let reason = match code {
        400 => "BadRequest",
        403 => "Forbidden",
        408 => "Timeout",
        413 => "RequestEntityTooLarge",
        _ => "InternalError",
    };
    AdmissionReview {
        api_version: API_VERSION,
        kind: KIND,
        response: AdmissionResponse {
            uid: uid.to_owned(),
            allowed: false,
            status: Some(Status {
                status: "Failure",
                code,
                reason,
                message: message.to_owned(),
            }),
            patch_type: None,
            patch: None,
            audit_annotations: BTreeMap::new(),
            warnings: Vec::new(),
        },
    }
}

impl Request {
    fn parse(body: &[u8]) -> Result<Request, Invalid> {
        // UTF-8 checked once for the whole body: `from_slice` checks every string on its own.
        let body = std::str::from_utf8(body)
            .map_err(|error| Invalid::new("", format!("body is not JSON: not UTF-8 ({error})")))?;
        let mut review: Value = serde_json::from_str(body)
            .map_err(|error| Invalid::new("", format!("body is not JSON: {error}")))?;
        let Some(fields) = review.as_object_mut() else {
            return Err(Invalid::new("", "body is not a JSON object"));
        };
        let text = |fields: &Map<String, Value>, key: &str| {
            fields
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let uid = fields
            .get("request")
            .and_then(|request| request.get("uid"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let api_version = text(fields, "apiVersion");
        if api_version != API_VERSION {
            return Err(Invalid::new(
                &uid,
                format!("unsupported apiVersion `{api_version}`, expected `{API_VERSION}`"),
            ));
        }
        let kind = text(fields, "kind");
        if kind != KIND {
            return Err(Invalid::new(
                &uid,
                format!("unsupported kind `{kind}`, expected `{KIND}`"),
            ));
        }
        let Some(Value::Object(mut request)) = fields.remove("request") else {
            return Err(Invalid::new(&uid, "missing `request` object"));
        };
        if uid.is_empty() {
            return Err(Invalid::new("", "missing `request.uid`"));
        }
        let operation = text(&request, "operation");
        if operation.is_empty() {
            return Err(Invalid::new(&uid, "missing `request.operation`"));
        }
        Ok(Request {
            operation,
            namespace: text(&request, "namespace"),
            name: text(&request, "name"),
            sub_resource: text(&request, "subResource"),
            dry_run: request
                .get("dryRun")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            object: request.remove("object").unwrap_or(Value::Null),
            old_object: request.remove("oldObject").unwrap_or(Value::Null),
            uid,
        })
    }
}

/// The decision for a well-formed request.
fn decide(request: Request, context: Context<'_>) -> Review {
    let mut answer = Answer::new(&request);
    let Some(mut workload) = workload::workloads(&request.object)
        .into_iter()
        .find(|workload| workload.pointer.is_empty())
    else {
        return answer.skip("not a workload kind");
    };
    // The request's namespace is authoritative: a client may leave metadata.namespace out.
    if !request.namespace.is_empty() {
        workload.namespace = Some(request.namespace.clone());
    }
    answer.summary.kind = workload.kind.clone();
    if answer.summary.name.is_empty() {
        answer.summary.name = workload.name.clone().unwrap_or_default();
    }

    if let Some(reason) = skip_reason(&request, &workload, context.config) {
        return answer.skip(reason);
    }
    let Some((level, version)) = level_for(&request.namespace, context) else {
        return answer.skip("privileged namespace");
    };
    let policy = match context.config.policy_for(&workload, level, version) {
        Ok(policy) => policy,
        // A skip annotation naming no control: fixing anyway would edit what its author meant
        // to exempt, so the author is told, as `check` and `fix` tell theirs.
        Err(error) => return answer.deny(400, &format!("pss-fix: {error}")),
    };
    // The object is not needed after the plan: it is edited in place, not copied.
    let plan = plan::plan_owned(request.object, &policy);
    answer.planned(&plan, level, version, context.config.enforce)
}

/// Why a workload request is admitted without planning, if it is.
fn skip_reason(
    request: &Request,
    workload: &Workload<'_>,
    config: &Config,
) -> Option<&'static str> {
    if !request.sub_resource.is_empty() {
        return Some("subresource");
    }
    match request.operation.as_str() {
        "CREATE" => {}
        // A running pod's spec is immutable but for a few fields (image, tolerations), so a
        // patch adding securityContext fields would make the API server reject an update that
        // was valid: pods are fixed when created, and through their controllers' templates.
        "UPDATE" if workload.kind == "Pod" => return Some("pod update"),
        "UPDATE" if !template_changed(workload, &request.old_object) => {
            return Some("pod template unchanged")
        }
        "UPDATE" => {}
        _ => return Some("operation"),
    }
    if config.skip_namespaces.contains(&request.namespace) {
        return Some("skipped namespace");
    }
    if workload.kind == "Pod"
        && workload
            .object
            .get("metadata")
            .and_then(|metadata| metadata.get("annotations"))
            .and_then(|annotations| annotations.get(MIRROR_POD_ANNOTATION))
            .is_some()
    {
        return Some("mirror pod");
    }
    None
}

/// Whether an UPDATE changes the pod template (its metadata or spec). Changing only replicas,
/// labels of the controller or its status must not gain a patch: patching the template would
/// roll every pod of a workload that was admitted before the webhook existed.
fn template_changed(workload: &Workload<'_>, old_object: &Value) -> bool {
    let Some(pod) = workload.pod_pointers() else {
        return true;
    };
    [pod.metadata, pod.spec].iter().any(|pointer| {
        pointer::lookup(workload.object, pointer) != pointer::lookup(old_object, pointer)
    })
}

/// The level and version the request's namespace is held to; `None` for privileged.
fn level_for(namespace: &str, context: Context<'_>) -> Option<(Level, Version)> {
    let config = context.config;
    match config.level {
        LevelChoice::Fixed(level) => Some((level, config.version)),
        LevelChoice::Namespace => {
            let enforced = context
                .namespaces
                .and_then(|namespaces| namespaces.labels(namespace))
                .and_then(|labels| pss::enforced_level(&labels));
            match enforced {
                Some((level, version)) => level.map(|level| (level, version)),
                None => config.default_level.map(|level| (level, config.version)),
            }
        }
    }
}

/// The answer under construction for a well-formed request.
struct Answer {
    response: AdmissionResponse,
    summary: Summary,
}

impl Answer {
    fn new(request: &Request) -> Answer {
        Answer {
            response: AdmissionResponse {
                uid: request.uid.clone(),
                allowed: true,
                status: None,
                patch_type: None,
                patch: None,
                audit_annotations: BTreeMap::new(),
                warnings: Vec::new(),
            },
            summary: Summary {
                uid: request.uid.clone(),
                kind: request
                    .object
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                namespace: request.namespace.clone(),
                name: request.name.clone(),
                operation: request.operation.clone(),
                dry_run: request.dry_run,
                ..Summary::default()
            },
        }
    }

    fn skip(mut self, reason: &str) -> Review {
        self.summary.reason = reason.to_owned();
        self.finish(Outcome::Skipped)
    }

    fn deny(mut self, code: u16, message: &str) -> Review {
        self.response = failure(&self.response.uid, code, message).response;
        self.summary.reason = message.to_owned();
        self.finish(Outcome::Denied)
    }

    fn planned(mut self, plan: &Plan, level: Level, version: Version, enforce: bool) -> Review {
        let patched = unique(plan.changes.iter().map(|change| change.check.as_str()));
        let unfixable = unique(plan.unfixable.iter().map(|left| left.check.as_str()));
        self.summary.reason = format!("{level}:{version}");

        if enforce && !plan.unfixable.is_empty() {
            let details: Vec<String> = plan
                .unfixable
                .iter()
                .map(|left| format!("{} at {}: {}", left.check, left.path, left.reason))
                .collect();
            let message = format!(
                "pss-fix: violates PodSecurity \"{level}:{version}\" and cannot be fixed: {}",
                details.join("; ")
            );
            self.response = failure(&self.response.uid, 403, &message).response;
            self.summary.unfixable = unfixable;
            return self.finish(Outcome::Denied);
        }

        for check in &patched {
            let mut changes = plan.changes.iter().filter(|change| change.check == *check);
            let first = changes
                .next()
                .map_or("", |change| change.description.as_str());
            // Built by hand: one warning per control on every patched review.
            let mut warning = String::with_capacity(24 + check.len() + first.len());
            warning.push_str("pss-fix fixed ");
            warning.push_str(check);
            warning.push_str(": ");
            warning.push_str(first);
            let more = changes.count();
            if more > 0 {
                warning.push_str(" (+");
                warning.push_str(&more.to_string());
                warning.push_str(" more)");
            }
            self.response.warnings.push(shorten(warning));
        }
        for left in &plan.unfixable {
            self.response.warnings.push(shorten(format!(
                "pss-fix cannot fix {} at {}: {}",
                left.check, left.path, left.reason
            )));
        }
        if !self.summary.dry_run {
            if !patched.is_empty() {
                self.response
                    .audit_annotations
                    .insert("patched", patched.join(","));
            }
            if !unfixable.is_empty() {
                self.response
                    .audit_annotations
                    .insert("unfixable", unfixable.join(","));
            }
        }
        let outcome = if plan.patch.0.is_empty() {
            Outcome::Unchanged
        } else {
            let json = serde_json::to_vec(&plan.patch)
                .expect("a JSON patch of JSON values should serialise");
            self.response.patch_type = Some("JSONPatch");
            self.response.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
            Outcome::Patched
        };
        self.summary.patched = patched;
        self.summary.unfixable = unfixable;
        self.finish(outcome)
    }

    fn finish(self, outcome: Outcome) -> Review {
        Review {
            http_status: 200,
            response: AdmissionReview {
                api_version: API_VERSION,
                kind: KIND,
                response: self.response,
            },
            outcome,
            summary: self.summary,
        }
    }
}

/// The distinct ids, in first-seen order.
fn unique<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for id in ids {
        if !seen.iter().any(|known| known == id) {
            seen.push(id.to_owned());
        }
    }
    seen
}

/// Cuts a warning to [`MAX_WARNING_CHARS`] characters, ending in `...` when cut.
fn shorten(mut warning: String) -> String {
    if warning.chars().count() > MAX_WARNING_CHARS {
        let keep = warning
            .char_indices()
            .nth(MAX_WARNING_CHARS - 3)
            .map_or(warning.len(), |(index, _)| index);
        warning.truncate(keep);
        warning.push_str("...");
    }
    warning
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    struct Labels(HashMap<&'static str, Value>);

    impl NamespaceLabels for Labels {
        fn labels(&self, namespace: &str) -> Option<Map<String, Value>> {
            self.0.get(namespace)?.as_object().cloned()
        }
    }

    fn request(operation: &str, object: Value, old_object: Value) -> Value {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "team-a",
                "operation": operation,
                "object": object,
                "oldObject": old_object,
                "dryRun": false
            }
        })
    }

    fn pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": {"containers": [{"name": "app", "image": "nginx"}]}
        })
    }

    fn review_value(body: &Value, config: &Config) -> Review {
        let bytes = serde_json::to_vec(body).unwrap();
        review(
            &bytes,
            Context {
                config,
                namespaces: None,
            },
        )
    }

    fn assert_skipped(answer: &Review, reason: &str) {
        assert_eq!(answer.http_status, 200);
        assert_eq!(answer.outcome, Outcome::Skipped);
        assert_eq!(answer.summary.reason, reason);
        let response = &answer.response.response;
        assert_eq!(response.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert!(response.allowed);
        assert_eq!((&response.patch, &response.patch_type), (&None, &None));
        assert!(response.warnings.is_empty() && response.audit_annotations.is_empty());
    }

    #[test]
    fn invalid_bodies_get_400_with_the_reason_and_the_uid_when_known() {
        let config = Config::default();
        let cases: [(&[u8], &str, &str); 7] = [
            (b"{not json", "", "body is not JSON"),
            (b"{\"a\": \"\xff\"}", "", "body is not JSON: not UTF-8"),
            (b"[1, 2]", "", "body is not a JSON object"),
            (
                br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"u1"}}"#,
                "u1",
                "unsupported apiVersion `admission.k8s.io/v1beta1`, expected `admission.k8s.io/v1`",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod"}"#,
                "",
                "unsupported kind `Pod`, expected `AdmissionReview`",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
                "",
                "missing `request` object",
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u2"}}"#,
                "u2",
                "missing `request.operation`",
            ),
        ];
        for (body, uid, message) in cases {
            let answer = review(
                body,
                Context {
                    config: &config,
                    namespaces: None,
                },
            );
            assert_eq!(answer.http_status, 400, "{message}");
            assert_eq!(answer.outcome, Outcome::Invalid);
            let response = &answer.response.response;
            assert_eq!(response.uid, uid);
            assert!(!response.allowed);
            let status = response.status.as_ref().unwrap();
            assert_eq!((status.code, status.reason), (400, "BadRequest"));
            assert!(
                status.message.starts_with("invalid AdmissionReview: ")
                    && status.message.contains(message),
                "{} lacks {message}",
                status.message
            );
        }
    }

    #[test]
    fn other_kinds_operations_and_subresources_pass_untouched() {
        let config = Config::default();
        let config_map =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let answer = review_value(&request("CREATE", config_map, Value::Null), &config);
        assert_skipped(&answer, "not a workload kind");

        let answer = review_value(&request("DELETE", Value::Null, pod()), &config);
        assert_skipped(&answer, "not a workload kind");

        let answer = review_value(&request("CONNECT", pod(), Value::Null), &config);
        assert_skipped(&answer, "operation");

        let mut body = request("CREATE", pod(), Value::Null);
        body["request"]["subResource"] = json!("status");
        assert_skipped(&review_value(&body, &config), "subresource");
    }

    #[test]
    fn updates_are_planned_only_when_the_pod_template_changes() {
        let config = Config::default();
        let deployment = |replicas: u32, image: &str| {
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": replicas,
                    "template": {"spec": {"containers": [{"name": "app", "image": image}]}}
                }
            })
        };
        let scaled = request("UPDATE", deployment(3, "nginx"), deployment(2, "nginx"));
        assert_skipped(&review_value(&scaled, &config), "pod template unchanged");

        let pod_update = request("UPDATE", pod(), pod());
        assert_skipped(&review_value(&pod_update, &config), "pod update");
    }

    #[test]
    fn mirror_pods_skipped_namespaces_and_privileged_namespaces_pass_untouched() {
        let mut mirror = pod();
        mirror["metadata"]["annotations"] = json!({"kubernetes.io/config.mirror": "abc"});
        let config = Config::default();
        assert_skipped(
            &review_value(&request("CREATE", mirror, Value::Null), &config),
            "mirror pod",
        );

        let config = Config {
            skip_namespaces: vec!["team-a".into()],
            ..Config::default()
        };
        assert_skipped(
            &review_value(&request("CREATE", pod(), Value::Null), &config),
            "skipped namespace",
        );

        let config = Config {
            level: LevelChoice::Namespace,
            ..Config::default()
        };
        let labels = Labels(HashMap::from([(
            "team-a",
            json!({"pod-security.kubernetes.io/enforce": "privileged"}),
        )]));
        let body = serde_json::to_vec(&request("CREATE", pod(), Value::Null)).unwrap();
        let context = Context {
            config: &config,
            namespaces: Some(&labels),
        };
        assert_skipped(&review(&body, context), "privileged namespace");
        // Unknown namespace, no defaultLevel: privileged, as PSA's default.
        let empty = Labels(HashMap::new());
        let context = Context {
            config: &config,
            namespaces: Some(&empty),
        };
        assert_skipped(&review(&body, context), "privileged namespace");
    }

    #[test]
    fn namespace_labels_choose_level_and_version() {
        let config = Config {
            level: LevelChoice::Namespace,
            default_level: Some(Level::Baseline),
            ..Config::default()
        };
        let labels = Labels(HashMap::from([(
            "strict",
            json!({
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "v1.30"
            }),
        )]));
        let context = Context {
            config: &config,
            namespaces: Some(&labels),
        };
        assert_eq!(
            level_for("strict", context),
            Some((Level::Restricted, Version::Minor(30)))
        );
        assert_eq!(
            level_for("elsewhere", context),
            Some((Level::Baseline, Version::Latest))
        );
    }

    #[test]
    fn warnings_are_cut_below_120_characters_on_a_char_boundary() {
        let long = format!("pss-fix cannot fix x: {}", "é".repeat(200));
        let short = shorten(long);
        assert_eq!(short.chars().count(), MAX_WARNING_CHARS);
        assert!(short.ends_with("..."));
        assert_eq!(shorten("short".into()), "short");
    }

    #[test]
    fn a_skip_annotation_naming_no_control_is_denied_with_the_known_names() {
        let mut pod = pod();
        pod["metadata"]["annotations"] = json!({"pss-fix.dev/skip": "hostNamespace"});
        let answer = review_value(&request("CREATE", pod, Value::Null), &Config::default());
        assert_eq!((answer.http_status, answer.outcome), (200, Outcome::Denied));
        let response = &answer.response.response;
        assert!(!response.allowed);
        let status = response.status.as_ref().unwrap();
        assert_eq!(status.code, 400);
        assert!(
            status.message.starts_with(
                "pss-fix: annotation `pss-fix.dev/skip`: unknown control `hostNamespace`; known: "
            ),
            "{}",
            status.message
        );
    }
}

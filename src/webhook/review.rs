//! One AdmissionReview in, one AdmissionReview out: a pure function of the request bytes, the
//! policies and the namespace labels known at the time. No async, no sockets, no clock, no
//! logging: the server shell logs the [`Summary`] and counts the [`Outcome`].
//!
//! The patch is the engine's own ([`crate::plan::plan`] on the raw request object, invariant I6),
//! so unknown and newer fields survive; this module only decides *whether* to plan, at which
//! level (the CLI's rule, [`Policies::held_to_enforcing`]), and how to say the result (the
//! wire types are in [`super::wire`]).
//!
//! What one object can make us hold and produce is bounded ([`ReviewLimits`]): an object of
//! more JSON values or containers than the limits is not reviewed (counted before it is built),
//! then one warning per control (with a count of the places), audit annotations of control
//! ids, a patch of at most `max_patch_bytes`, and every field echoed or logged cut to
//! [`MAX_FIELD_CHARS`].

use super::metrics::Outcome;
use super::wire::{AdmissionReview, IncomingReview, RequestFields, API_VERSION, KIND};
use crate::manifest::{self, Enforce, Policies};
use crate::plan::{self, Plan};
use crate::pointer;
use crate::pss::pod::Pod;
use crate::pss::{Level, Version};
use crate::workload::{self, Workload};
use base64::Engine as _;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Annotation the kubelet puts on mirror pods (static pods seen through the API server); the
/// kubelet runs them from files, so a patch on the mirror would change nothing but the record.
const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// Longest warning we send: the API server documents 120 characters as the limit for warnings
/// to display well, and we stay strictly below it.
pub const MAX_WARNING_CHARS: usize = 119;

/// Longest request field (uid, names, operation, apiVersion, kind) we echo or log: real ones
/// are far shorter (names 253, uids 36), and a caller's 5 MB apiVersion must not become a
/// 5 MB response and log line.
pub const MAX_FIELD_CHARS: usize = 256;

/// Labels of the namespaces the server knows about (a watch cache in the cluster, a map in
/// tests). `None`: the namespace is unknown (not created yet, or the cache not synced).
pub trait NamespaceLabels: Send + Sync {
    fn labels(&self, namespace: &str) -> Option<Map<String, Value>>;
}

/// What [`review`] needs besides the request.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// How levels are chosen and the config every plan starts from.
    pub policies: &'a Policies,
    /// Consulted only with `level: namespace`; without it every namespace is unknown and gets
    /// the default level.
    pub namespaces: Option<&'a dyn NamespaceLabels>,
    pub limits: ReviewLimits,
}

impl<'a> Context<'a> {
    /// A context without namespace labels and with no practical limits (tests, benches).
    pub fn new(policies: &'a Policies) -> Context<'a> {
        Context {
            policies,
            namespaces: None,
            limits: ReviewLimits {
                max_object_values: usize::MAX,
                max_containers: usize::MAX,
                max_patch_bytes: usize::MAX,
            },
        }
    }
}

/// What one object may make a review hold and send. The memory of a review follows the JSON
/// values of its object (each a node once parsed) and, for the plan, its containers (each
/// gains edits, changes and patch operations): both are checked before the work they cost.
/// An object over either limit is admitted unchanged with a warning, or denied in `enforce`
/// mode; PSA still judges it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReviewLimits {
    /// JSON values (every scalar, array and object counts one) in `object` and `oldObject`.
    pub max_object_values: usize,
    /// Containers of all three lists in the object's pod.
    pub max_containers: usize,
    /// Largest patch (its JSON) to send; a larger one is not applied.
    pub max_patch_bytes: usize,
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

/// What the log line and the metrics say about one review. Never object contents; every
/// field at most [`MAX_FIELD_CHARS`].
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

/// Answers one AdmissionReview request body.
pub fn review(body: &[u8], context: Context<'_>) -> Review {
    match Request::parse(body, context.limits.max_object_values) {
        Ok(request) => decide(request, context),
        Err(invalid) => invalid.into_review(),
    }
}

/// `text` cut to [`MAX_FIELD_CHARS`] characters, ending in `...` when cut.
pub fn capped(text: &str) -> String {
    shorten(text.to_owned(), MAX_FIELD_CHARS)
}

/// The fields of `AdmissionReview.request` we use, capped, and the object parsed.
struct Request<'a> {
    uid: String,
    operation: String,
    namespace: String,
    name: String,
    sub_resource: bool,
    dry_run: bool,
    /// `null` when the object was too large to parse (see `over_limit`).
    object: Value,
    /// Parsed only when an UPDATE needs it.
    old_object: Option<&'a RawValue>,
    /// The warning for an object over a [`ReviewLimits`] limit: it is not reviewed.
    over_limit: Option<String>,
}

/// A body that is not an AdmissionReview v1 we can answer; the uid when it could be read.
struct Invalid {
    uid: String,
    message: String,
}

impl Invalid {
    fn new(uid: &str, message: impl Into<String>) -> Invalid {
        Invalid {
            uid: capped(uid),
            message: message.into(),
        }
    }

    /// Like kube-core's `AdmissionResponse::invalid`, but with HTTP 400 and the uid echoed
    /// when there is one, so both the API server's log and a human with curl see why.
    fn into_review(self) -> Review {
        let message = format!("invalid AdmissionReview: {}", self.message);
        Review {
            http_status: 400,
            response: AdmissionReview::failure(self.uid.clone(), 400, message.clone()),
            outcome: Outcome::Invalid,
            summary: Summary {
                uid: self.uid,
                reason: message,
                ..Summary::default()
            },
        }
    }
}

/// The answer for a request the server refused before reviewing it (too large, too slow,
/// overloaded, a caught panic): no uid is known, the status says why.
pub fn refusal(code: u16, message: &str) -> AdmissionReview {
    AdmissionReview::failure(String::new(), code, message.to_owned())
}

impl<'a> Request<'a> {
    fn parse(body: &'a [u8], max_object_values: usize) -> Result<Request<'a>, Invalid> {
        // UTF-8 checked once for the whole body: `from_slice` checks every string on its own.
        let body = std::str::from_utf8(body)
            .map_err(|error| Invalid::new("", format!("body is not JSON: not UTF-8 ({error})")))?;
        let review: IncomingReview<'a> = serde_json::from_str(body).map_err(|error| {
            let what = match error.classify() {
                serde_json::error::Category::Data => "body is not an AdmissionReview",
                _ => "body is not JSON",
            };
            Invalid::new(
                "",
                format!("{what}: {}", shorten(error.to_string(), MAX_FIELD_CHARS)),
            )
        })?;
        let uid = review
            .request
            .as_ref()
            .map_or("", |request| request.uid.as_ref());
        if review.api_version != API_VERSION {
            return Err(Invalid::new(
                uid,
                format!(
                    "unsupported apiVersion `{}`, expected `{API_VERSION}`",
                    capped(&review.api_version)
                ),
            ));
        }
        if review.kind != KIND {
            return Err(Invalid::new(
                uid,
                format!(
                    "unsupported kind `{}`, expected `{KIND}`",
                    capped(&review.kind)
                ),
            ));
        }
        let Some(request) = review.request else {
            return Err(Invalid::new("", "missing `request` object"));
        };
        let RequestFields {
            uid,
            operation,
            namespace,
            name,
            sub_resource,
            dry_run,
            object,
            old_object,
        } = request;
        if uid.is_empty() {
            return Err(Invalid::new("", "missing `request.uid`"));
        }
        if operation.is_empty() {
            return Err(Invalid::new(&uid, "missing `request.operation`"));
        }
        // Counted before anything is built: parsing is what costs memory.
        let values: usize = [object, old_object]
            .into_iter()
            .flatten()
            .map(|raw| json_values(raw.get()))
            .sum();
        let over_limit = (values > max_object_values).then(|| {
            format!(
                "pss-fix did not review: {values} JSON values, over the limit of {max_object_values}"
            )
        });
        let object = match object {
            Some(raw) if over_limit.is_none() => serde_json::from_str(raw.get())
                .map_err(|error| Invalid::new(&uid, format!("request.object: {error}")))?,
            _ => Value::Null,
        };
        Ok(Request {
            uid: capped(&uid),
            operation: capped(&operation),
            namespace: capped(&namespace),
            name: capped(&name),
            sub_resource: !sub_resource.is_empty(),
            dry_run: dry_run.unwrap_or(false),
            object,
            old_object,
            over_limit,
        })
    }
}

/// How many JSON values `json` (valid JSON) holds, every scalar, array and object counting
/// one, read without building any of them.
fn json_values(json: &str) -> usize {
    struct Counted(usize);
    impl<'de> Deserialize<'de> for Counted {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Counted, D::Error> {
            deserializer.deserialize_any(Counter).map(Counted)
        }
    }
    struct Counter;
    impl<'de> Visitor<'de> for Counter {
        type Value = usize;
        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("a JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_str<E>(self, _: &str) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_unit<E>(self) -> Result<usize, E> {
            Ok(1)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<usize, A::Error> {
            let mut count = 1;
            while let Some(Counted(inner)) = items.next_element()? {
                count += inner;
            }
            Ok(count)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<usize, A::Error> {
            let mut count = 1;
            while let Some((IgnoredAny, Counted(inner))) = entries.next_entry()? {
                count += inner;
            }
            Ok(count)
        }
    }
    serde_json::from_str::<Counted>(json).map_or(0, |Counted(count)| count)
}

/// The decision for a well-formed request.
fn decide(request: Request<'_>, context: Context<'_>) -> Review {
    let mut answer = Answer::new(&request);
    let enforce = context.policies.config.enforce;
    if let Some(warning) = request.over_limit {
        return answer.over_limit(warning, enforce);
    }
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
    answer.summary.kind = capped(&workload.kind);
    if answer.summary.name.is_empty() {
        answer.summary.name = capped(workload.name.as_deref().unwrap_or_default());
    }

    let config = &context.policies.config;
    if let Some(reason) = skip_reason(&request, &workload, &config.skip_namespaces) {
        return answer.skip(reason);
    }
    let Enforce::Level(level, version) = held_to(&request.namespace, context) else {
        return answer.skip("privileged namespace");
    };
    let policy = match config.policy_for(&workload, level, version) {
        Ok(policy) => policy,
        // A skip annotation naming no control: fixing anyway would edit what its author meant
        // to exempt, so the author is told, as `check` and `fix` tell theirs.
        Err(error) => {
            let message = shorten(format!("pss-fix: {error}"), MAX_MESSAGE_CHARS);
            return answer.deny(400, &message);
        }
    };
    let containers = Pod::of(workload.object).map_or(0, |pod| pod.containers().len());
    let max_containers = context.limits.max_containers;
    if containers > max_containers {
        let warning = format!(
            "pss-fix did not review: {containers} containers, over the limit of {max_containers}"
        );
        return answer.over_limit(warning, enforce);
    }
    // The object is not needed after the plan: it is edited in place, not copied.
    let plan = plan::plan_owned(request.object, &policy);
    answer.planned(
        &plan,
        level,
        version,
        enforce,
        context.limits.max_patch_bytes,
    )
}

/// Why a workload request is admitted without planning, if it is.
fn skip_reason(
    request: &Request<'_>,
    workload: &Workload<'_>,
    skip_namespaces: &[String],
) -> Option<&'static str> {
    if request.sub_resource {
        return Some("subresource");
    }
    match request.operation.as_str() {
        "CREATE" => {}
        // A running pod's spec is immutable but for a few fields (image, tolerations), so a
        // patch adding securityContext fields would make the API server reject an update that
        // was valid: pods are fixed when created, and through their controllers' templates.
        "UPDATE" if workload.kind == "Pod" => return Some("pod update"),
        "UPDATE" if !template_changed(workload, request.old_object) => {
            return Some("pod template unchanged")
        }
        "UPDATE" => {}
        _ => return Some("operation"),
    }
    if skip_namespaces.contains(&request.namespace) {
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
fn template_changed(workload: &Workload<'_>, old_object: Option<&RawValue>) -> bool {
    let Some(pod) = workload.pod_pointers() else {
        return true;
    };
    let old_object: Value = old_object
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    [pod.metadata, pod.spec].iter().any(|pointer| {
        pointer::lookup(workload.object, pointer) != pointer::lookup(&old_object, pointer)
    })
}

/// What the request's namespace is held to: the CLI's rule, with the namespace's labels from
/// the watch cache.
fn held_to(namespace: &str, context: Context<'_>) -> Enforce {
    let enforced = context
        .namespaces
        .and_then(|namespaces| namespaces.labels(namespace))
        .and_then(|labels| manifest::enforce_of_labels(&labels));
    context.policies.held_to_enforcing(enforced).enforce
}

/// The answer under construction for a well-formed request.
struct Answer {
    response: AdmissionReview,
    summary: Summary,
}

impl Answer {
    fn new(request: &Request<'_>) -> Answer {
        Answer {
            response: AdmissionReview::allowed(request.uid.clone()),
            summary: Summary {
                uid: request.uid.clone(),
                kind: capped(
                    request
                        .object
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                ),
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

    /// An object over a [`ReviewLimits`] limit: admitted unchanged with `warning`, or denied
    /// in `enforce` mode (whether it complies is not known).
    fn over_limit(mut self, warning: String, enforce: bool) -> Review {
        if enforce {
            return self.deny(413, &warning);
        }
        self.response
            .response
            .warnings
            .push(shorten(warning.clone(), MAX_WARNING_CHARS));
        self.summary.reason = warning;
        self.finish(Outcome::Unchanged)
    }

    fn deny(mut self, code: u16, message: &str) -> Review {
        self.response =
            AdmissionReview::failure(self.response.response.uid, code, message.to_owned());
        self.summary.reason = message.to_owned();
        self.finish(Outcome::Denied)
    }

    fn planned(
        mut self,
        plan: &Plan,
        level: Level,
        version: Version,
        enforce: bool,
        max_patch_bytes: usize,
    ) -> Review {
        let patched = unique(plan.changes.iter().map(|change| change.check.as_str()));
        let unfixable = unique(plan.unfixable.iter().map(|left| left.check.as_str()));
        self.summary.reason = format!("{level}:{version}");

        if enforce && !plan.unfixable.is_empty() {
            let details: Vec<String> = unfixable
                .iter()
                .map(|check| {
                    let mut left = plan.unfixable.iter().filter(|left| left.check == *check);
                    let first = left.next().expect("a listed control has an entry");
                    counted(
                        format!("{check} at {}: {}", first.path, first.reason),
                        left.count(),
                        MAX_FIELD_CHARS,
                    )
                })
                .collect();
            let message = shorten(
                format!(
                    "pss-fix: violates PodSecurity \"{level}:{version}\" and cannot be fixed: {}",
                    details.join("; ")
                ),
                MAX_MESSAGE_CHARS,
            );
            self.response = AdmissionReview::failure(self.response.response.uid, 403, message);
            self.summary.unfixable = unfixable;
            return self.finish(Outcome::Denied);
        }

        let json = if plan.patch.0.is_empty() {
            None
        } else {
            Some(
                serde_json::to_vec(&plan.patch)
                    .expect("a JSON patch of JSON values should serialise"),
            )
        };
        if let Some(json) = json.as_ref().filter(|json| json.len() > max_patch_bytes) {
            // Sending it would only move the problem to the API server and its storage.
            self.response.response.warnings.push(shorten(
                format!(
                    "pss-fix did not patch: the patch would be {} bytes, over the limit of {max_patch_bytes}",
                    json.len()
                ),
                MAX_WARNING_CHARS,
            ));
            self.summary.reason = format!("{level}:{version} patch too large");
            return self.finish(Outcome::Unchanged);
        }

        let response = &mut self.response.response;
        for check in &patched {
            let mut changes = plan.changes.iter().filter(|change| change.check == *check);
            let first = changes.next().map_or("", |change| change.description);
            let warning = format!("pss-fix fixed {check}: {first}");
            response
                .warnings
                .push(counted(warning, changes.count(), MAX_WARNING_CHARS));
        }
        for check in &unfixable {
            let mut left = plan.unfixable.iter().filter(|left| left.check == *check);
            let first = left.next().expect("a listed control has an entry");
            let warning = format!(
                "pss-fix cannot fix {check} at {}: {}",
                first.path, first.reason
            );
            response
                .warnings
                .push(counted(warning, left.count(), MAX_WARNING_CHARS));
        }
        if !self.summary.dry_run {
            if !patched.is_empty() {
                response
                    .audit_annotations
                    .insert("patched", shorten(patched.join(","), MAX_FIELD_CHARS));
            }
            if !unfixable.is_empty() {
                response
                    .audit_annotations
                    .insert("unfixable", shorten(unfixable.join(","), MAX_FIELD_CHARS));
            }
        }
        let outcome = match json {
            None => Outcome::Unchanged,
            Some(json) => {
                response.patch_type = Some("JSONPatch");
                response.patch = Some(base64::engine::general_purpose::STANDARD.encode(json));
                Outcome::Patched
            }
        };
        self.summary.patched = patched;
        self.summary.unfixable = unfixable;
        self.finish(outcome)
    }

    fn finish(self, outcome: Outcome) -> Review {
        Review {
            http_status: 200,
            response: self.response,
            outcome,
            summary: self.summary,
        }
    }
}

/// Longest denial message: it reaches the user through kubectl, one line per control at most.
const MAX_MESSAGE_CHARS: usize = 1024;

/// `text` cut to fit `max` characters with ` (+N more)` after it when `more` places share
/// it: the count survives the cut.
fn counted(text: String, more: usize, max: usize) -> String {
    if more == 0 {
        return shorten(text, max);
    }
    let count = format!(" (+{more} more)");
    let mut text = shorten(text, max - count.len());
    text.push_str(&count);
    text
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

/// Cuts `text` to `max` characters, ending in `...` when cut.
fn shorten(mut text: String, max: usize) -> String {
    if text.len() > max && text.chars().count() > max {
        let keep = text
            .char_indices()
            .nth(max - 3)
            .map_or(text.len(), |(index, _)| index);
        text.truncate(keep);
        text.push_str("...");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, LevelChoice};
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

    fn policies(config: &Config) -> Policies {
        Policies::new(config.clone(), config.default_level)
    }

    fn review_value(body: &Value, config: &Config) -> Review {
        let bytes = serde_json::to_vec(body).unwrap();
        review(&bytes, Context::new(&policies(config)))
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
    fn json_values_counts_every_scalar_list_and_map() {
        assert_eq!(json_values("0"), 1);
        assert_eq!(
            json_values(r#"{"a": [1, "x\n", null, {"b": true}], "c": {}}"#),
            8
        );
    }

    /// Over either limit, nothing is planned: admitted unchanged with a warning, or denied
    /// with `enforce`. At the limit, the plan runs.
    #[test]
    fn objects_over_the_value_or_container_limit_are_not_reviewed() {
        let mut three = pod();
        three["spec"]["containers"] = json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]);
        // 14 JSON values, 3 containers.
        let body = serde_json::to_vec(&request("CREATE", three, Value::Null)).unwrap();
        let limited = |config: &Config, max_object_values, max_containers| {
            let policies = policies(config);
            let mut context = Context::new(&policies);
            context.limits.max_object_values = max_object_values;
            context.limits.max_containers = max_containers;
            review(&body, context)
        };
        let config = Config::default();
        for (values, containers, warning) in [
            (
                13,
                3,
                "pss-fix did not review: 14 JSON values, over the limit of 13",
            ),
            (
                14,
                2,
                "pss-fix did not review: 3 containers, over the limit of 2",
            ),
        ] {
            let answer = limited(&config, values, containers);
            assert_eq!(answer.outcome, Outcome::Unchanged);
            let response = &answer.response.response;
            assert!(response.allowed && response.patch.is_none());
            assert_eq!(response.warnings, [warning]);
            assert_eq!(answer.summary.reason, warning);

            let enforcing = Config {
                enforce: true,
                ..Config::default()
            };
            let denied = limited(&enforcing, values, containers);
            assert_eq!(denied.outcome, Outcome::Denied);
            let status = denied.response.response.status.unwrap();
            assert_eq!((status.code, status.message.as_str()), (413, warning));
        }
        assert_eq!(limited(&config, 14, 3).outcome, Outcome::Patched);
    }

    #[test]
    fn invalid_bodies_get_400_with_the_reason_and_the_uid_when_known() {
        let config = Config::default();
        let cases: [(&[u8], &str, &str); 7] = [
            (b"{not json", "", "body is not JSON"),
            (b"{\"a\": \"\xff\"}", "", "body is not JSON: not UTF-8"),
            (
                b"[1, 2]",
                "",
                "body is not an AdmissionReview: invalid type",
            ),
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
            let answer = review(body, Context::new(&policies(&config)));
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
        let policies = policies(&config);
        let context = Context {
            namespaces: Some(&labels),
            ..Context::new(&policies)
        };
        assert_skipped(&review(&body, context), "privileged namespace");
        // Unknown namespace, no defaultLevel: privileged, as PSA's default.
        let empty = Labels(HashMap::new());
        let context = Context {
            namespaces: Some(&empty),
            ..Context::new(&policies)
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
        let policies = policies(&config);
        let context = Context {
            namespaces: Some(&labels),
            ..Context::new(&policies)
        };
        assert_eq!(
            held_to("strict", context),
            Enforce::Level(Level::Restricted, Version::Minor(30))
        );
        assert_eq!(
            held_to("elsewhere", context),
            Enforce::Level(Level::Baseline, Version::Latest)
        );
    }

    #[test]
    fn warnings_are_cut_below_120_characters_on_a_char_boundary() {
        let long = format!("pss-fix cannot fix x: {}", "é".repeat(200));
        let short = shorten(long, MAX_WARNING_CHARS);
        assert_eq!(short.chars().count(), MAX_WARNING_CHARS);
        assert!(short.ends_with("..."));
        assert_eq!(shorten("short".into(), MAX_WARNING_CHARS), "short");
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

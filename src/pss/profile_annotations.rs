//! The deprecated annotations that name the same profile as a securityContext field
//! (seccomp: `seccomp.security.alpha.kubernetes.io/pod` and
//! `container.seccomp.security.alpha.kubernetes.io/<name>`; AppArmor:
//! `container.apparmor.security.beta.kubernetes.io/<name>`), kept in agreement with the fields
//! when a remedy changes either side. The API server rejects a pod whose annotation and field
//! disagree (`validateSeccompAnnotationsAndFields`, `validateAppArmorAnnotationsAndFieldsMatch`
//! in `pkg/apis/core/validation`), whatever PSS version the policy names.
//!
//! A remedy takes a [`Snapshot`] before it edits and calls [`Snapshot::reconcile`] after: the
//! side the remedy changed wins. Where a field changed, an annotation that agreed with the old
//! profile (or had none to agree with) is rewritten to name the new one, except that a
//! container annotation naming an allowed profile gets a field of its own instead (a pod-level
//! field added for the pod must not take a container off the profile its annotation names).
//! Where an annotation changed, a field of the same pod or container that disagrees follows it.

use super::catalog::remedy;
use super::fixer::Fixer;
use super::pod::{set, Pod};
use serde_json::{json, Map, Value};

/// One kind of profile: where its field and annotations are.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// The control (catalog file) whose remedies make the edits.
    control: &'static str,
    /// The securityContext field.
    field: &'static str,
    /// The pod annotation, when the kind has one.
    pod_annotation: Option<&'static str>,
    /// The container annotations' prefix (the container name follows).
    container_prefix: &'static str,
    /// Whether `docker/default` names RuntimeDefault (seccomp only).
    docker_default: bool,
}

pub const SECCOMP: Kind = Kind {
    control: "seccompProfile",
    field: "seccompProfile",
    pod_annotation: Some("seccomp.security.alpha.kubernetes.io/pod"),
    container_prefix: "container.seccomp.security.alpha.kubernetes.io/",
    docker_default: true,
};

pub const APP_ARMOR: Kind = Kind {
    control: "appArmorProfile",
    field: "appArmorProfile",
    pod_annotation: None,
    container_prefix: "container.apparmor.security.beta.kubernetes.io/",
    docker_default: false,
};

impl Kind {
    /// The annotation value that names `profile` (a field value).
    pub fn annotation_for(&self, profile: &Value) -> Option<String> {
        match profile.get("type").and_then(Value::as_str)? {
            "RuntimeDefault" => Some("runtime/default".to_string()),
            "Unconfined" => Some("unconfined".to_string()),
            "Localhost" => {
                let name = profile.get("localhostProfile").and_then(Value::as_str)?;
                Some(format!("localhost/{name}"))
            }
            _ => None,
        }
    }

    /// The field value an annotation names, when it names one PSS allows (RuntimeDefault or
    /// Localhost).
    pub fn allowed_field_for(&self, annotation: &str) -> Option<Value> {
        if annotation == "runtime/default"
            || (self.docker_default && annotation == "docker/default")
        {
            return Some(json!({"type": "RuntimeDefault"}));
        }
        let name = annotation.strip_prefix("localhost/")?;
        Some(json!({"type": "Localhost", "localhostProfile": name}))
    }

    /// Whether `annotation` names `profile`, as the API server compares them.
    fn agrees(&self, annotation: &str, profile: &Value) -> bool {
        match profile.get("type").and_then(Value::as_str) {
            Some("RuntimeDefault") => {
                annotation == "runtime/default"
                    || (self.docker_default && annotation == "docker/default")
            }
            _ => self.annotation_for(profile).as_deref() == Some(annotation),
        }
    }
}

/// What one pod or container had before a remedy ran.
#[derive(Debug)]
struct Subject {
    /// `None`: the pod.
    container: Option<String>,
    /// Its securityContext pointer.
    context_at: String,
    annotation_key: String,
    annotation: Option<String>,
    /// The profile in effect: its own field, or for a container the pod's.
    effective: Option<Value>,
}

/// The annotations and fields of one kind in a pod, before a remedy.
#[derive(Debug)]
pub struct Snapshot {
    kind: Kind,
    annotations_at: String,
    subjects: Vec<Subject>,
}

fn profile(context: Option<&Map<String, Value>>, field: &str) -> Option<Value> {
    set(context?.get(field)).cloned()
}

fn annotation(pod: &Pod, key: &str) -> Option<String> {
    pod.annotations()
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, value)| value.to_string())
}

impl Snapshot {
    /// The state of `kind` in the pod under repair; `None` when there is no pod or no
    /// annotation of the kind (then there is nothing to keep in agreement).
    pub fn take(fix: &Fixer, kind: Kind) -> Option<Snapshot> {
        let pod = fix.pod()?;
        let has_any = pod.annotations().iter().any(|(key, _)| {
            key.starts_with(kind.container_prefix) || Some(*key) == kind.pod_annotation
        });
        if !has_any {
            return None;
        }
        let pod_profile = profile(pod.security_context(), kind.field);
        let mut subjects = Vec::new();
        if let Some(key) = kind.pod_annotation {
            subjects.push(Subject {
                container: None,
                context_at: pod.security_context_at(),
                annotation_key: key.to_string(),
                annotation: annotation(&pod, key),
                effective: pod_profile.clone(),
            });
        }
        for c in pod.containers() {
            let key = format!("{}{}", kind.container_prefix, c.name);
            let own = profile(c.security_context(), kind.field);
            subjects.push(Subject {
                container: Some(c.name.to_string()),
                context_at: c.security_context_at(),
                annotation: annotation(&pod, &key),
                annotation_key: key,
                effective: own.or_else(|| pod_profile.clone()),
            });
        }
        Some(Snapshot {
            kind,
            annotations_at: format!("{}/annotations", pod.metadata_at),
            subjects,
        })
    }

    /// Brings the annotations and fields the remedy left disagreeing back into agreement,
    /// recording each edit under `check`.
    pub fn reconcile(self, fix: &mut Fixer, check: &str) {
        let Some(pod) = fix.pod() else { return };
        let kind = self.kind;
        let mut pod_profile = profile(pod.security_context(), kind.field);
        let mut edits = Vec::new();
        // The pod comes first: a field it gets is the one its containers then inherit.
        for before in &self.subjects {
            let own = match &before.container {
                None => pod_profile.clone(),
                Some(_) => pod
                    .containers()
                    .iter()
                    .find(|c| c.security_context_at() == before.context_at)
                    .and_then(|c| profile(c.security_context(), kind.field)),
            };
            let effective = match &before.container {
                None => own.clone(),
                Some(_) => own.clone().or_else(|| pod_profile.clone()),
            };
            let now = annotation(&pod, &before.annotation_key);
            if let Some(edit) = edit_for(kind, before, now, own, effective) {
                if let (None, Edit::Field(value)) = (&before.container, &edit) {
                    pod_profile = Some(value.clone());
                }
                edits.push((before, edit));
            }
        }
        let field_remedy = remedy(kind.control, "field-from-annotation");
        let annotation_remedy = remedy(kind.control, "annotation-from-field");
        for (subject, edit) in edits {
            let container = subject.container.as_deref();
            match edit {
                Edit::Field(value) => fix.set(
                    check,
                    field_remedy,
                    &subject.context_at,
                    kind.field,
                    value,
                    container,
                ),
                Edit::Annotation(value) => fix.set(
                    check,
                    annotation_remedy,
                    &self.annotations_at,
                    &subject.annotation_key,
                    Value::String(value),
                    container,
                ),
            };
        }
    }
}

/// The edit that brings one subject back into agreement, if it needs one: `now` is its
/// annotation, `own` its own field and `effective` the profile in effect after the remedy.
fn edit_for(
    kind: Kind,
    before: &Subject,
    now: Option<String>,
    own: Option<Value>,
    effective: Option<Value>,
) -> Option<Edit> {
    let annotation = now?;
    if before.annotation.as_deref() != Some(annotation.as_str()) {
        // The remedy rewrote the annotation: the profile in effect, if it agreed with the old
        // one, follows it (in a field of the subject's own).
        let effective = effective?;
        let agreed_before = match (&before.annotation, &before.effective) {
            (Some(old), Some(profile)) => kind.agrees(old, profile),
            _ => false,
        };
        if !agreed_before || kind.agrees(&annotation, &effective) {
            return None;
        }
        return kind.allowed_field_for(&annotation).map(Edit::Field);
    }
    let effective = effective?;
    if before.effective.as_ref() == Some(&effective) {
        return None;
    }
    let agreed_before = before
        .effective
        .as_ref()
        .is_none_or(|old| kind.agrees(&annotation, old));
    if !agreed_before || kind.agrees(&annotation, &effective) {
        return None;
    }
    // A container that gained the pod's new profile keeps the one its annotation names.
    if before.container.is_some() && own.is_none() {
        if let Some(value) = kind.allowed_field_for(&annotation) {
            return Some(Edit::Field(value));
        }
    }
    kind.annotation_for(&effective).map(Edit::Annotation)
}

/// An edit that restores agreement.
#[derive(Debug)]
enum Edit {
    /// Set the subject's own field to this profile.
    Field(Value),
    /// Rewrite the subject's annotation to this value.
    Annotation(String),
}

#[cfg(test)]
mod tests {
    use crate::pss::testing::*;
    use crate::pss::Level::{Baseline, Restricted};
    use serde_json::{json, Value};

    const POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const APP: &str = "container.seccomp.security.alpha.kubernetes.io/app";
    const APP_ARMOR: &str = "container.apparmor.security.beta.kubernetes.io/app";

    fn annotated(mut pod: Value, annotations: Value) -> Value {
        pod["metadata"]["annotations"] = annotations;
        pod
    }

    #[test]
    fn an_unconfined_pod_annotation_is_rewritten_with_the_field_it_gains() {
        let pod = annotated(
            restricted_pod(
                json!({}),
                json!({"securityContext": {"seccompProfile": null}}),
            ),
            json!({POD: "unconfined"}),
        );
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            [
                "replace /metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod",
                "replace /spec/securityContext/seccompProfile"
            ]
        );
        assert_eq!(patched["metadata"]["annotations"][POD], "runtime/default");
        assert!(plan
            .changes
            .iter()
            .any(|c| c.description.contains("rewrite the seccomp annotation")));
    }

    #[test]
    fn an_added_field_takes_the_profile_the_annotation_names() {
        let pod = annotated(
            restricted_pod(
                json!({}),
                json!({"securityContext": {"seccompProfile": null}}),
            ),
            json!({POD: "localhost/profiles/audit.json"}),
        );
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(ops(&plan), ["replace /spec/securityContext/seccompProfile"]);
        assert_eq!(
            patched["spec"]["securityContext"]["seccompProfile"],
            json!({"type": "Localhost", "localhostProfile": "profiles/audit.json"})
        );
    }

    #[test]
    fn a_container_annotation_gives_its_container_the_profile_it_names() {
        let pod = annotated(
            restricted_pod(
                json!({}),
                json!({"securityContext": {"seccompProfile": null}}),
            ),
            json!({APP: "localhost/app.json"}),
        );
        let (plan, patched) = fix(&pod, Restricted, "latest");
        assert_eq!(
            ops(&plan),
            ["add /spec/containers/0/securityContext/seccompProfile"]
        );
        assert_eq!(
            patched["spec"]["containers"][0]["securityContext"]["seccompProfile"],
            json!({"type": "Localhost", "localhostProfile": "app.json"})
        );
        let unconfined = annotated(pod, json!({APP: "unconfined"}));
        let (_, patched) = fix(&unconfined, Restricted, "latest");
        assert_eq!(patched["metadata"]["annotations"][APP], "runtime/default");
    }

    #[test]
    fn before_v1_19_a_field_follows_the_rewritten_annotation() {
        let pod = annotated(
            pod(
                json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}},
                "containers": [{"name": "app", "image": "x"}]}),
            ),
            json!({POD: "unconfined"}),
        );
        let (plan, patched) = fix(&pod, Baseline, "v1.18");
        assert_eq!(
            ops(&plan),
            [
                "replace /metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod",
                "replace /spec/securityContext/seccompProfile/type"
            ]
        );
        assert_eq!(
            patched["spec"]["securityContext"]["seccompProfile"],
            json!({"type": "RuntimeDefault"})
        );
        // From v1.19 the field is what PSS reads, and the annotation follows it.
        let (plan, patched) = fix(&pod, Baseline, "v1.19");
        assert_eq!(plan.patch.0.len(), 2);
        assert_eq!(patched["metadata"]["annotations"][POD], "runtime/default");
    }

    #[test]
    fn app_armor_annotations_follow_a_fixed_pod_level_field() {
        let pod = annotated(
            pod(
                json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                "containers": [{"name": "app", "image": "x"}]}),
            ),
            json!({APP_ARMOR: "unconfined"}),
        );
        let mut policy = policy(Baseline, "latest");
        policy
            .exemptions
            .containers
            .push(("app".into(), ["apparmorprofile".to_string()].into()));
        // The exempt container's annotation stays, and so does the field it reads.
        let (plan, exempted) = fix_with(&pod, &policy);
        assert_eq!(exempted, pod);
        assert_eq!(plan.unfixable.len(), 2);
        assert!(plan.unfixable[0]
            .reason
            .contains("container \"app\" exempted"));
        let (_, patched) = fix(&pod, Baseline, "latest");
        assert_eq!(
            patched["spec"]["securityContext"]["appArmorProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(
            patched["metadata"]["annotations"][APP_ARMOR],
            "runtime/default"
        );
    }
}

//! Properties of plans over generated workloads (proptest): the patch applies, the patched
//! workload passes or keeps only violations the plan lists as unfixable, planning it again
//! gives an empty patch (idempotence), and no single operation can be dropped (minimality:
//! without it a check fails, a hardening gap reappears, or a container the plan made
//! non-root is left without a non-zero UID; ops for a check an exemption keeps failing are
//! exempt from this), and no violation is left without a remedy having tried. A workload that
//! cannot reach the level gets no patch unless the policy is `partial` (all or nothing), and
//! what it withholds is listed. Generated policies vary level, version, `safe_only`,
//! `partial` and exemptions. Windows pods never gain
//! Linux-only fields, and `safe_only` plans only make safe changes.

use proptest::prelude::*;
use pss_fix::config::Config;
use pss_fix::plan::{hardening, plan, Plan};
use pss_fix::policy::ExemptionRule;
use pss_fix::policy::Safety;
use pss_fix::pss::{self, pod::Pod, Level, Version};
use pss_fix::workload::workloads;
use serde_json::{json, Map, Value};

fn maybe<T: std::fmt::Debug + Clone + 'static>(values: Vec<T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(proptest::sample::select(values))
}

fn subset(values: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(values.to_vec(), 0..=values.len())
        .prop_map(|items| items.into_iter().map(str::to_string).collect())
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value);
    }
}

fn security_context() -> impl Strategy<Value = Option<Value>> {
    let flags = (
        maybe(vec![true, false]),
        maybe(vec![true, false]),
        maybe(vec![true, false]),
        maybe(vec![true, false]),
    );
    let values = (
        maybe(vec![0i64, 1000]),
        proptest::option::of((
            subset(&["NET_ADMIN", "NET_BIND_SERVICE", "CHOWN", "SYS_ADMIN"]),
            subset(&["ALL", "NET_RAW"]),
        )),
        maybe(vec!["Unconfined", "RuntimeDefault", "Localhost"]),
        maybe(vec!["Unconfined", "RuntimeDefault"]),
        maybe(vec!["Default", "Unmasked"]),
        maybe(vec!["container_t", "spc_t"]),
    );
    proptest::option::of((flags, values)).prop_map(|generated| {
        let (
            (privileged, escalation, non_root, read_only),
            (uid, caps, seccomp, apparmor, proc_mount, selinux),
        ) = generated?;
        let mut context = Map::new();
        insert(&mut context, "privileged", privileged.map(Value::Bool));
        insert(
            &mut context,
            "allowPrivilegeEscalation",
            escalation.map(Value::Bool),
        );
        insert(&mut context, "runAsNonRoot", non_root.map(Value::Bool));
        insert(
            &mut context,
            "readOnlyRootFilesystem",
            read_only.map(Value::Bool),
        );
        insert(&mut context, "runAsUser", uid.map(Value::from));
        insert(
            &mut context,
            "capabilities",
            caps.map(|(add, drop)| json!({"add": add, "drop": drop})),
        );
        insert(
            &mut context,
            "seccompProfile",
            seccomp.map(|kind| match kind {
                "Localhost" => json!({"type": kind, "localhostProfile": "p.json"}),
                _ => json!({"type": kind}),
            }),
        );
        insert(
            &mut context,
            "appArmorProfile",
            apparmor.map(|kind| json!({"type": kind})),
        );
        insert(&mut context, "procMount", proc_mount.map(Value::from));
        insert(
            &mut context,
            "seLinuxOptions",
            selinux.map(|kind| json!({"type": kind, "level": "s0"})),
        );
        Some(Value::Object(context))
    })
}

fn container() -> impl Strategy<Value = Map<String, Value>> {
    (
        security_context(),
        maybe(vec![0i64, 8080]),
        proptest::option::of((maybe(vec!["50m", "2"]), maybe(vec!["64Mi", "1Gi"]))),
        maybe(vec!["10.0.0.1", ""]),
    )
        .prop_map(|(context, host_port, resources, probe_host)| {
            let mut c = Map::new();
            c.insert("image".into(), json!("x"));
            insert(&mut c, "securityContext", context);
            insert(
                &mut c,
                "ports",
                host_port.map(|port| json!([{"containerPort": 80, "hostPort": port}])),
            );
            insert(
                &mut c,
                "resources",
                resources.map(|(cpu, memory)| {
                    let mut r = json!({});
                    if let Some(cpu) = cpu {
                        r["requests"] = json!({"cpu": cpu});
                    }
                    if let Some(memory) = memory {
                        r["limits"] = json!({"memory": memory});
                    }
                    r
                }),
            );
            insert(
                &mut c,
                "readinessProbe",
                probe_host.map(|host| json!({"httpGet": {"host": host, "port": 80}})),
            );
            c
        })
}

fn pod_spec() -> impl Strategy<Value = Value> {
    let pod_level = (
        maybe(vec![true, false]),
        maybe(vec![0i64, 1000]),
        maybe(vec!["Unconfined", "RuntimeDefault"]),
        subset(&["kernel.msgmax", "net.ipv4.tcp_syncookies"]),
    );
    let host = (
        maybe(vec![true, false]),
        maybe(vec![true]),
        maybe(vec![false]),
        proptest::bool::weighted(0.15),
    );
    (
        proptest::collection::vec(container(), 0..2),
        proptest::collection::vec(container(), 1..3),
        pod_level,
        host,
        subset(&["hostPath", "emptyDir", "nfs"]),
    )
        .prop_map(|(init, containers, (non_root, uid, seccomp, sysctls), (network, pid, users, windows), volumes)| {
            let name = |prefix: &str, list: Vec<Map<String, Value>>| -> Vec<Value> {
                list.into_iter()
                    .enumerate()
                    .map(|(i, mut c)| {
                        c.insert("name".into(), json!(format!("{prefix}{i}")));
                        Value::Object(c)
                    })
                    .collect()
            };
            let mut spec = Map::new();
            if !init.is_empty() {
                spec.insert("initContainers".into(), Value::Array(name("init", init)));
            }
            spec.insert("containers".into(), Value::Array(name("c", containers)));
            let mut context = Map::new();
            insert(&mut context, "runAsNonRoot", non_root.map(Value::Bool));
            insert(&mut context, "runAsUser", uid.map(Value::from));
            insert(&mut context, "seccompProfile", seccomp.map(|kind| json!({"type": kind})));
            if !sysctls.is_empty() {
                context.insert("sysctls".into(), sysctls.iter().map(|n| json!({"name": n, "value": "1"})).collect());
            }
            if !context.is_empty() {
                spec.insert("securityContext".into(), Value::Object(context));
            }
            insert(&mut spec, "hostNetwork", network.map(Value::Bool));
            insert(&mut spec, "hostPID", pid.map(Value::Bool));
            insert(&mut spec, "hostUsers", users.map(Value::Bool));
            if windows {
                spec.insert("os".into(), json!({"name": "windows"}));
            }
            if !volumes.is_empty() {
                let volumes: Vec<_> = volumes
                    .iter()
                    .enumerate()
                    .map(|(i, kind)| json!({"name": format!("v{i}"), kind.as_str(): if kind == "nfs" { json!({"server": "s", "path": "/"}) } else if kind == "hostPath" { json!({"path": "/"}) } else { json!({}) }}))
                    .collect();
                spec.insert("volumes".into(), Value::Array(volumes));
            }
            Value::Object(spec)
        })
}

const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";
const APP_ARMOR_CONTAINER: &str = "container.apparmor.security.beta.kubernetes.io/";

/// Pod annotations: the deprecated seccomp and AppArmor profile annotations.
fn annotations() -> impl Strategy<Value = Map<String, Value>> {
    (
        maybe(vec!["unconfined", "runtime/default", "localhost/p.json"]),
        maybe(vec!["unconfined", "docker/default", "localhost/c.json"]),
        maybe(vec!["unconfined", "runtime/default", "localhost/a"]),
    )
        .prop_map(|(pod, container, app_armor)| {
            let mut annotations = Map::new();
            insert(&mut annotations, SECCOMP_POD, pod.map(Value::from));
            let c0 = |prefix: &str| format!("{prefix}c0");
            insert(
                &mut annotations,
                &c0(SECCOMP_CONTAINER),
                container.map(Value::from),
            );
            insert(
                &mut annotations,
                &c0(APP_ARMOR_CONTAINER),
                app_armor.map(Value::from),
            );
            annotations
        })
}

/// How a pod may target Windows nodes without `spec.os.name`.
fn windows_selection() -> impl Strategy<Value = Option<(&'static str, Value)>> {
    let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]}]}}});
    proptest::option::weighted(
        0.3,
        proptest::sample::select(vec![
            ("nodeSelector", json!({"kubernetes.io/os": "windows"})),
            ("nodeSelector", json!({"beta.kubernetes.io/os": "windows"})),
            ("nodeSelector", json!({"kubernetes.io/os": "linux"})),
            ("affinity", affinity),
            (
                "securityContext",
                json!({"windowsOptions": {"hostProcess": true}}),
            ),
        ]),
    )
}

/// Pod-level resources (Kubernetes 1.32+), a Windows user, and a Windows selection.
fn pod_extras() -> impl Strategy<
    Value = (
        Option<Value>,
        Option<&'static str>,
        Option<(&'static str, Value)>,
    ),
> {
    (
        proptest::option::weighted(
            0.3,
            proptest::sample::select(vec![
                json!({"limits": {"cpu": "300m"}}),
                json!({"requests": {"memory": "256Mi"}}),
                json!({"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}),
            ]),
        ),
        maybe(vec![
            "ContainerAdministrator",
            "containeradministrator",
            "ContainerUser",
        ]),
        windows_selection(),
    )
}

fn workload() -> impl Strategy<Value = Value> {
    (pod_spec(), proptest::bool::ANY, annotations(), pod_extras()).prop_map(
        |(mut spec, as_pod, annotations, (resources, user, selection))| {
            insert(
                spec.as_object_mut().expect("a spec"),
                "resources",
                resources,
            );
            if let Some(user) = user {
                spec["securityContext"]["windowsOptions"]["runAsUserName"] = json!(user);
            }
            if let Some((key, value)) = selection {
                match (key, spec.get_mut(key)) {
                    ("securityContext", Some(context)) => {
                        context["windowsOptions"]["hostProcess"] = json!(true);
                    }
                    _ => {
                        spec[key] = value;
                    }
                }
            }
            let mut metadata = json!({"name": "p"});
            if !annotations.is_empty() {
                metadata["annotations"] = Value::Object(annotations);
            }
            if as_pod {
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
            } else {
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                       "spec": {"template": {"metadata": metadata, "spec": spec}}})
            }
        },
    )
}

/// Profile annotations that name another profile than the one in effect for their pod or
/// container (its own field, or for a container the pod's): what the API server rejects
/// (it compares a seccomp container annotation with the container's own field only) and
/// what would take a container off the profile its annotation names.
fn annotation_disagreements(object: &Value) -> usize {
    let Some(pod) = Pod::of(object) else { return 0 };
    let annotations = pod.annotations();
    let annotation = |key: &str| annotations.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let agrees = |annotation: &str, profile: &Value| match profile["type"].as_str() {
        Some("RuntimeDefault") => annotation == "runtime/default" || annotation == "docker/default",
        Some("Unconfined") => annotation == "unconfined",
        Some("Localhost") => {
            profile["localhostProfile"]
                .as_str()
                .map(|p| format!("localhost/{p}"))
                .as_deref()
                == Some(annotation)
        }
        _ => true,
    };
    let field = |context: Option<&Map<String, Value>>, key: &str| {
        context
            .and_then(|c| c.get(key))
            .filter(|v| !v.is_null())
            .cloned()
    };
    let mut count = 0;
    let pod_seccomp = field(pod.security_context(), "seccompProfile");
    if let (Some(a), Some(f)) = (annotation(SECCOMP_POD), &pod_seccomp) {
        count += usize::from(!agrees(a, f));
    }
    let pod_app_armor = field(pod.security_context(), "appArmorProfile");
    for c in pod.containers() {
        for (prefix, key, inherited) in [
            (SECCOMP_CONTAINER, "seccompProfile", &pod_seccomp),
            (APP_ARMOR_CONTAINER, "appArmorProfile", &pod_app_armor),
        ] {
            let effective = field(c.security_context(), key).or_else(|| inherited.clone());
            if let (Some(a), Some(f)) = (annotation(&format!("{prefix}{}", c.name)), &effective) {
                count += usize::from(!agrees(a, f));
            }
        }
    }
    count
}

/// Containers that must run as non-root as `ContainerAdministrator`: the kubelet never
/// starts them.
fn windows_admin_gaps(object: &Value) -> usize {
    let Some(pod) = Pod::of(object) else { return 0 };
    let pod_field = |key: &str| pod.security_context().and_then(|c| c.get(key)).cloned();
    let pod_user = pod_field("windowsOptions").and_then(|o| o.get("runAsUserName").cloned());
    pod.containers()
        .iter()
        .filter(|c| {
            let non_root = c
                .context_field("runAsNonRoot")
                .cloned()
                .or_else(|| pod_field("runAsNonRoot"));
            let user = c
                .context_field("windowsOptions")
                .and_then(|o| o.get("runAsUserName").cloned())
                .or_else(|| pod_user.clone());
            non_root == Some(json!(true))
                && user.and_then(|u| {
                    u.as_str()
                        .map(|u| u.eq_ignore_ascii_case("ContainerAdministrator"))
                }) == Some(true)
        })
        .count()
}

/// The container requests and limits of the resources the pod-level `resources` bounds.
fn pod_bounded_container_values(object: &Value) -> Vec<Value> {
    let Some(pod) = Pod::of(object) else {
        return Vec::new();
    };
    let Some(bounds) = pod.field("resources") else {
        return Vec::new();
    };
    let bounded: Vec<&String> = ["requests", "limits"]
        .iter()
        .filter_map(|group| bounds.get(*group).and_then(Value::as_object))
        .flat_map(|values| values.keys())
        .collect();
    pod.containers()
        .iter()
        .flat_map(|c| {
            let resources = c.value.get("resources").cloned().unwrap_or(Value::Null);
            bounded
                .iter()
                .flat_map(move |name| {
                    ["requests", "limits"].map(|group| resources[group][name.as_str()].clone())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Level, version, safe-only, partial, and an exemption: (control id, only for container `c0`).
type PolicyChoice = (Level, Version, bool, bool, Option<(&'static str, bool)>);

fn policy_strategy() -> impl Strategy<Value = PolicyChoice> {
    let controls = vec![
        "capabilities",
        "seccompProfile",
        "runAsNonRoot",
        "hostNamespaces",
        "resources",
    ];
    (
        proptest::sample::select(vec![Level::Baseline, Level::Restricted]),
        proptest::sample::select(vec![0u32, 8, 18, 19, 22, 23, 25, 31, 34, 35, 37])
            .prop_map(Version::Minor),
        proptest::bool::weighted(0.2),
        proptest::bool::weighted(0.5),
        proptest::option::weighted(
            0.3,
            (proptest::sample::select(controls), proptest::bool::ANY),
        ),
    )
}

/// Containers of a non-Windows pod that run as non-root by `runAsNonRoot` but have no
/// non-zero UID: what the plan's `runAsUser` companion prevents.
fn uid_gaps(object: &Value) -> usize {
    let Some(pod) = Pod::of(object) else { return 0 };
    if pod.targets_windows() {
        return 0;
    }
    let pod_field = |key: &str| pod.security_context().and_then(|c| c.get(key)).cloned();
    pod.containers()
        .iter()
        .filter(|c| {
            let field = |key: &str| c.context_field(key).cloned().or_else(|| pod_field(key));
            field("runAsNonRoot") == Some(json!(true))
                && field("runAsUser").and_then(|v| v.as_i64()).unwrap_or(0) == 0
        })
        .count()
}

fn patched(object: &Value, ops: &[json_patch::PatchOperation]) -> Option<Value> {
    let mut copy = object.clone();
    json_patch::patch(&mut copy, ops).ok().map(|()| copy)
}

fn messages(object: &Value, level: Level, version: Version) -> Vec<String> {
    pss::check(object, level, version)
        .into_iter()
        .map(|v| v.message)
        .collect()
}

const LINUX_ONLY: [&str; 9] = [
    "allowPrivilegeEscalation",
    "appArmorProfile",
    "capabilities",
    "privileged",
    "procMount",
    "readOnlyRootFilesystem",
    "runAsUser",
    "seLinuxOptions",
    "seccompProfile",
];

fn mentions_linux_only(path: &str, value: &Value) -> bool {
    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(map) => map
                .iter()
                .flat_map(|(k, v)| std::iter::once(k.clone()).chain(keys(v)))
                .collect(),
            _ => Vec::new(),
        }
    }
    let last = path.rsplit('/').next().unwrap_or_default().to_string();
    std::iter::once(last)
        .chain(keys(value))
        .any(|key| LINUX_ONLY.contains(&key.as_str()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn plans_are_sound_idempotent_and_minimal(object in workload(), (level, version, safe_only, partial, exemption) in policy_strategy()) {
        let found = workloads(&object);
        let exemptions = exemption
            .map(|(control, one_container)| ExemptionRule {
                container: one_container.then(|| "c0".to_string()),
                controls: [control.to_ascii_lowercase()].into(),
                ..ExemptionRule::default()
            })
            .into_iter()
            .collect();
        let config = Config { safe_only, partial, exemptions, ..Config::default() };
        let policy = config
            .policy_for(&found[0], level, version)
            .expect("the skip annotations name controls");
        let plan: Plan = plan(&object, &policy);
        // Editing in place (the webhook's way) plans the same.
        prop_assert_eq!(&pss_fix::plan::plan_owned(object.clone(), &policy), &plan);
        let fixed = patched(&object, &plan.patch.0).expect("the plan applies");

        let remaining = pss::check(&fixed, level, version);
        // All or nothing: a workload that cannot reach the level is left unchanged, and what
        // blocks it is listed; otherwise every violation left is listed.
        if plan.blocked && !partial {
            prop_assert!(plan.patch.0.is_empty() && plan.changes.is_empty());
            prop_assert!(!plan.unfixable.is_empty());
        } else {
            prop_assert!(plan.withheld.is_empty());
            for violation in &remaining {
                prop_assert!(plan.unfixable.iter().any(|u| u.check == violation.check),
                    "{} left and not listed as unfixable: {:?}", violation.check, plan.unfixable);
            }
        }
        for unfixable in &plan.unfixable {
            prop_assert!(unfixable.reason != pss_fix::plan::NO_REMEDY_REASON, "no remedy ran: {unfixable:?}");
        }
        let again = pss_fix::plan::plan(&fixed, &policy);
        prop_assert!(again.patch.0.is_empty(), "not idempotent: {:?}", again.patch);

        let full_messages = messages(&fixed, level, version);
        let full_gaps = hardening::gaps(&fixed, &policy.hardening).len();
        let full_uid_gaps = uid_gaps(&fixed);
        let full_disagreements = annotation_disagreements(&fixed);
        let full_admin_gaps = windows_admin_gaps(&fixed);
        for index in 0..plan.patch.0.len() {
            let mut ops = plan.patch.0.clone();
            let dropped = ops.remove(index);
            let Some(without) = patched(&object, &ops) else { continue };
            // An op for a check that stays violated anyway (an exempted container keeps it
            // failing) still fixes the other containers; "drop it and still pass" cannot
            // apply to it.
            let op_path = dropped.path().to_string();
            let for_unfixable = plan.changes.iter().any(|change| {
                change.path.starts_with(&op_path) && plan.unfixable.iter().any(|u| u.check == change.check)
            });
            if for_unfixable {
                continue;
            }
            let needed = messages(&without, level, version) != full_messages
                || hardening::gaps(&without, &policy.hardening).len() > full_gaps
                || uid_gaps(&without) > full_uid_gaps
                || annotation_disagreements(&without) > full_disagreements
                || windows_admin_gaps(&without) > full_admin_gaps;
            prop_assert!(needed, "operation {dropped:?} can be dropped");
        }

        if safe_only {
            prop_assert!(plan.changes.iter().all(|c| c.safety == Safety::Safe));
        }
        // The API server holds containers to the pod-level resources: no default goes there.
        prop_assert_eq!(pod_bounded_container_values(&fixed), pod_bounded_container_values(&object));
        if exemption.is_none() {
            prop_assert!(annotation_disagreements(&fixed) <= annotation_disagreements(&object),
                "profile annotations left disagreeing: {:?}", plan.patch);
            prop_assert!(windows_admin_gaps(&fixed) <= windows_admin_gaps(&object),
                "ContainerAdministrator made non-root: {:?}", plan.patch);
        }
        if Pod::of(&object).is_some_and(|pod| pod.targets_windows() && !pod.is_windows()) {
            // Only the PSS controls may still write a Linux-only field (replacing a UID 0).
            for op in &plan.patch.0 {
                if let json_patch::PatchOperation::Add(add) = op {
                    let text = format!("{} {}", add.path, add.value);
                    prop_assert!(!text.contains("readOnlyRootFilesystem") && !text.contains("runAsUser"), "{op:?}");
                }
            }
        }
        if Pod::of(&object).is_some_and(|pod| pod.is_windows()) {
            for op in &plan.patch.0 {
                if let json_patch::PatchOperation::Add(add) = op {
                    prop_assert!(!mentions_linux_only(&add.path.to_string(), &add.value), "{op:?}");
                }
            }
        }
    }
}

//! deploy/: the manifests pass `pss-fix check --level restricted` (the real binary), hold
//! together (names, ports, paths, the CA injection), register the webhook the way issue 5
//! asks, and the self-signed script's certificate serves the webhook over verified TLS.

use crate::util::webhook as webhook_util;

use assert_cmd::Command;
use pss_fix::config::{Config, LevelChoice};
use pss_fix::pss::{self, Level, Version};
use pss_fix::{workload, yaml};
use serde_json::{json, Value};
use std::path::Path;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");

/// Every document of every manifest under deploy/ (kustomization files excluded).
fn manifests() -> Vec<Value> {
    let mut documents = Vec::new();
    for file in [
        "base/namespace.yaml",
        "base/rbac.yaml",
        "base/configmap.yaml",
        "base/priorityclass.yaml",
        "base/deployment.yaml",
        "base/webhook.yaml",
        "cert-manager.yaml",
        "networkpolicy.yaml",
    ] {
        let text = std::fs::read_to_string(Path::new(DEPLOY).join(file)).unwrap();
        let stream = yaml::Stream::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        documents.extend(stream.documents().iter().map(|d| d.value().clone()));
    }
    documents
}

fn find<'a>(documents: &'a [Value], kind: &str) -> &'a Value {
    documents
        .iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in deploy/"))
}

#[test]
fn manifests_pass_check_restricted_with_the_real_binary() {
    let output = Command::cargo_bin("pss-fix")
        .unwrap()
        .args([
            "check",
            "--level",
            "restricted",
            "--hardening",
            "--output",
            "json",
            DEPLOY,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let checked: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        checked,
        ["Deployment"],
        "the Deployment must have been checked"
    );
}

#[test]
fn the_deployment_meets_restricted_and_hardening_through_the_library() {
    let documents = manifests();
    let workloads: Vec<_> = documents.iter().flat_map(workload::workloads).collect();
    assert_eq!(workloads.len(), 1);
    assert_eq!(
        pss::check(workloads[0].object, Level::Restricted, Version::Latest),
        vec![]
    );
    let container = &workloads[0].object["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(container["resources"]["limits"]["memory"].is_string());
}

#[test]
fn the_pieces_fit_together() {
    let documents = manifests();
    let namespace = find(&documents, "Namespace");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    let ns = namespace["metadata"]["name"].as_str().unwrap();

    let deployment = find(&documents, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "webhook");
    let flag = |name: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("--{name}=")))
            .unwrap_or_else(|| panic!("no --{name}"))
    };
    let mounted = |path: &str| {
        let mount = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| path.starts_with(m["mountPath"].as_str().unwrap()))
            .unwrap_or_else(|| panic!("{path} is not mounted"));
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap()
            .clone()
    };
    let certificate = find(&documents, "Certificate");
    assert_eq!(
        mounted(flag("tls-cert"))["secret"]["secretName"],
        certificate["spec"]["secretName"]
    );
    assert_eq!(
        mounted(flag("tls-key"))["secret"]["secretName"],
        certificate["spec"]["secretName"]
    );
    let config_map = find(&documents, "ConfigMap");
    assert_eq!(
        mounted(flag("config"))["configMap"]["name"],
        config_map["metadata"]["name"]
    );
    assert!(flag("config").ends_with("/config.yaml"));
    // Probes on the plain-HTTP port of --metrics-listen, reviews alone on the HTTPS port.
    let probes_port = container["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|port| port["name"] == "probes")
        .unwrap();
    assert!(flag("metrics-listen").ends_with(&format!(":{}", probes_port["containerPort"])));
    for (probe, path) in [
        ("startupProbe", "/healthz"),
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
    ] {
        assert_eq!(container[probe]["httpGet"]["path"], path);
        assert_eq!(container[probe]["httpGet"]["port"], "probes");
        assert_eq!(container[probe]["httpGet"]["scheme"], "HTTP");
    }
    // The drain fits the grace period: the delay, then a request's whole deadline.
    let seconds = |flag_value: &str| flag_value.trim_end_matches('s').parse::<u64>().unwrap();
    let (delay, timeout) = (
        seconds(flag("shutdown-delay")),
        seconds(flag("request-timeout")),
    );
    assert!(pod["terminationGracePeriodSeconds"].as_u64().unwrap() >= delay + timeout + 5);
    let webhook = &find(&documents, "MutatingWebhookConfiguration")["webhooks"][0];
    assert!(webhook["timeoutSeconds"].as_u64().unwrap() < timeout);
    assert!(timeout < 10, "the API server waits 10 s at most");
    // Spread for real, and a priority class that exists.
    assert_eq!(
        pod["topologySpreadConstraints"][0]["whenUnsatisfiable"],
        "DoNotSchedule"
    );
    assert_eq!(
        pod["priorityClassName"],
        find(&documents, "PriorityClass")["metadata"]["name"]
    );
    let policy = find(&documents, "NetworkPolicy");
    assert_eq!(
        policy["spec"]["podSelector"],
        deployment["spec"]["selector"]
    );
    assert_eq!(
        policy["spec"]["ingress"][0]["ports"][0]["port"],
        container["ports"][0]["containerPort"]
    );
    assert!(policy["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"].is_string());
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        find(&documents, "ServiceAccount")["metadata"]["name"]
    );

    let pdb = find(&documents, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["selector"], deployment["spec"]["selector"]);
    let service = find(&documents, "Service");
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        service["spec"]["ports"][0]["targetPort"],
        container["ports"][0]["name"]
    );

    let webhook_configuration = find(&documents, "MutatingWebhookConfiguration");
    assert_eq!(
        webhook_configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        json!(format!(
            "{ns}/{}",
            certificate["metadata"]["name"].as_str().unwrap()
        ))
    );
    let client = &webhook_configuration["webhooks"][0]["clientConfig"]["service"];
    assert_eq!(client["name"], service["metadata"]["name"]);
    assert_eq!(client["namespace"], ns);
    assert_eq!(client["path"], "/mutate");
    assert_eq!(client["port"], service["spec"]["ports"][0]["port"]);
    let dns = format!("{}.{ns}.svc", service["metadata"]["name"].as_str().unwrap());
    assert!(certificate["spec"]["dnsNames"]
        .as_array()
        .unwrap()
        .contains(&json!(dns)));

    let role = find(&documents, "ClusterRole");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}])
    );

    let text = config_map["data"]["config.yaml"].as_str().unwrap();
    let stream = yaml::Stream::parse(text).unwrap();
    let config = Config::from_value(stream.documents()[0].value()).unwrap();
    assert_eq!(config.level, LevelChoice::Namespace);
    assert!(config.skip_namespaces.contains(&ns.to_owned()));
}

#[test]
fn the_webhook_registration_is_safe_and_covers_the_nine_kinds() {
    let documents = manifests();
    let webhook = &find(&documents, "MutatingWebhookConfiguration")["webhooks"][0];
    assert_eq!(webhook["failurePolicy"], "Ignore");
    assert_eq!(webhook["sideEffects"], "None");
    assert_eq!(webhook["timeoutSeconds"], 5);
    assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
    assert_eq!(webhook["reinvocationPolicy"], "IfNeeded");
    let excluded = &webhook["namespaceSelector"]["matchExpressions"][0];
    assert_eq!(excluded["key"], "kubernetes.io/metadata.name");
    assert_eq!(excluded["operator"], "NotIn");
    for ns in ["kube-system", "kube-node-lease", "pss-fix-system"] {
        assert!(
            excluded["values"].as_array().unwrap().contains(&json!(ns)),
            "{ns}"
        );
    }
    let mut covered = Vec::new();
    for rule in webhook["rules"].as_array().unwrap() {
        // Pod UPDATEs are always admitted untouched: the API server need not send them.
        let operations = if rule["resources"] == json!(["pods"]) {
            json!(["CREATE"])
        } else {
            json!(["CREATE", "UPDATE"])
        };
        assert_eq!(rule["operations"], operations, "{rule}");
        assert_eq!(rule["apiVersions"], json!(["v1"]));
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                covered.push(format!(
                    "{}/{}",
                    group.as_str().unwrap(),
                    resource.as_str().unwrap()
                ));
            }
        }
    }
    covered.sort();
    let nine = [
        "/pods",
        "/podtemplates",
        "/replicationcontrollers",
        "apps/daemonsets",
        "apps/deployments",
        "apps/replicasets",
        "apps/statefulsets",
        "batch/cronjobs",
        "batch/jobs",
    ];
    assert_eq!(covered, nine);
}

/// deploy/self-signed/gen-certs.sh: its certificate, for the Service's DNS name, serves the
/// real webhook to a client that trusts only the script's CA. Skips without openssl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_signed_script_makes_a_working_serving_certificate() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("note: openssl not found, skipping the gen-certs.sh test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(Path::new(DEPLOY).join("self-signed/gen-certs.sh"))
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let server = webhook_util::TestServer::start(Config::default()).await;
    std::fs::copy(dir.path().join("tls.key"), &server.key).unwrap();
    std::fs::copy(dir.path().join("tls.crt"), &server.cert).unwrap();
    let ca = std::fs::read(dir.path().join("ca.crt")).unwrap();
    let host = "pss-fix-webhook.pss-fix-system.svc";
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .resolve(host, server.addr)
        .build()
        .unwrap();
    let url = format!("https://{host}:{}/healthz", server.addr.port());
    let mut served = false;
    for _ in 0..400 {
        if client.get(&url).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(
        served,
        "the script's certificate was never served (reload or SAN problem)"
    );
    server.stop().await.unwrap();
}

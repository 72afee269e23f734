//! `level: namespace`: the webhook reads each namespace's PSA enforce labels through the kube
//! client's watch cache. The API server is faked on a loopback port: it answers the Namespace
//! list and watch calls (`GET /api/v1/namespaces`, then `?watch=true`) the way the real one
//! does, and can push watch events.

use crate::util::webhook as webhook_util;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::routing::get;
use futures_util::StreamExt as _;
use pss_fix::config::{Config, LevelChoice};
use pss_fix::pss::{Level, Version};
use pss_fix::{plan, workload};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;
use webhook_util::*;

/// The fake API server's state: the namespaces, and the open watches.
struct FakeApi {
    namespaces: Mutex<Vec<Value>>,
    events: broadcast::Sender<Value>,
    calls: Mutex<Vec<String>>,
}

fn namespace(name: &str, labels: Value, resource_version: u32) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": format!("uid-{name}"),
            "resourceVersion": resource_version.to_string(),
            "labels": labels
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}

async fn namespaces(State(api): State<Arc<FakeApi>>, RawQuery(query): RawQuery) -> Response {
    let watch = query
        .unwrap_or_default()
        .split('&')
        .any(|pair| pair == "watch=true" || pair == "watch=1");
    api.calls
        .lock()
        .unwrap()
        .push(if watch { "watch" } else { "list" }.to_owned());
    let response = Response::builder().header("content-type", "application/json");
    if watch {
        // One JSON object per line, as the API server streams watch events.
        let events = tokio_stream_of(api.events.subscribe()).map(|event| {
            let mut line = serde_json::to_vec(&event).unwrap();
            line.push(b'\n');
            Ok::<_, std::convert::Infallible>(Bytes::from(line))
        });
        return response.body(Body::from_stream(events)).unwrap();
    }
    let items = api.namespaces.lock().unwrap().clone();
    let list = json!({
        "apiVersion": "v1",
        "kind": "NamespaceList",
        "metadata": {"resourceVersion": "10"},
        "items": items
    });
    response
        .body(Body::from(serde_json::to_vec(&list).unwrap()))
        .unwrap()
}

/// A broadcast receiver as a stream that ends when the sender is gone.
fn tokio_stream_of(
    receiver: broadcast::Receiver<Value>,
) -> impl futures_util::Stream<Item = Value> {
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await.ok()?;
        Some((event, receiver))
    })
}

async fn start_fake_api(initial: Vec<Value>) -> (String, Arc<FakeApi>) {
    let (events, _) = broadcast::channel(16);
    let api = Arc::new(FakeApi {
        namespaces: Mutex::new(initial),
        events,
        calls: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .route("/api/v1/namespaces", get(namespaces))
        .with_state(Arc::clone(&api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, api)
}

fn patch_of(answer: &Value) -> Option<json_patch::Patch> {
    answer["response"]
        .get("patch")
        .map(|_| decoded_patch(answer))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_labels_choose_the_level_and_follow_the_watch() {
    let enforce = "pod-security.kubernetes.io/enforce";
    let (url, api) = start_fake_api(vec![
        namespace(
            "strict",
            json!({enforce: "restricted", "pod-security.kubernetes.io/enforce-version": "v1.30"}),
            3,
        ),
        namespace("loose", json!({enforce: "baseline"}), 4),
        namespace("open", json!({enforce: "privileged"}), 5),
    ])
    .await;
    let config = Config {
        level: LevelChoice::Namespace,
        ..Config::default()
    };
    let server = TestServer::start_with(config.clone(), |options| {
        options.kube = Some(kube::Config::new(url.parse().unwrap()));
    })
    .await;
    let client = server.client();
    let mut ready = false;
    for _ in 0..400 {
        let status = client
            .get(server.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if status == 200 {
            ready = true;
            break;
        }
        assert_eq!(status, 503, "not ready until the namespace cache is synced");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(ready, "the namespace cache never synced");

    // A Deployment that meets baseline but not restricted.
    let deployment_in = |namespace: &str| {
        let mut deployment = nine_kinds().remove(4);
        deployment["metadata"]["namespace"] = json!(namespace);
        deployment
    };
    let review_in = |namespace: &str| admission_review("CREATE", &deployment_in(namespace), None);

    // restricted:v1.30 from the labels: the engine's patch at exactly that level and version.
    let (_, answer) = server.review(&review_in("strict")).await;
    let object = deployment_in("strict");
    let policy = config
        .policy_for(
            &workload::workloads(&object)[0],
            Level::Restricted,
            Version::Minor(30),
        )
        .expect("the skip annotations name controls");
    assert_eq!(patch_of(&answer), Some(plan::plan(&object, &policy).patch));

    // Baseline is met already (hardening is off at baseline); privileged and unknown
    // namespaces (no defaultLevel) are not touched.
    for namespace in ["loose", "open", "nowhere"] {
        let (_, answer) = server.review(&review_in(namespace)).await;
        assert_eq!(answer["response"]["allowed"], true, "{namespace}");
        assert_eq!(patch_of(&answer), None, "{namespace}: {answer}");
    }

    // The watch delivers a label change: `loose` becomes restricted.
    let mut patched = false;
    for _ in 0..400 {
        let _ = api.events.send(json!({
            "type": "MODIFIED",
            "object": namespace("loose", json!({enforce: "restricted"}), 11)
        }));
        let (_, answer) = server.review(&review_in("loose")).await;
        if patch_of(&answer).is_some() {
            patched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(patched, "the label change never reached the cache");
    let calls = api.calls.lock().unwrap().clone();
    assert!(
        calls.starts_with(&["list".to_owned(), "watch".to_owned()]),
        "{calls:?}"
    );
    server.stop().await.unwrap();
}

//! Namespace labels through the kube client: a reflector (list, then watch, with the runtime's
//! backoff on errors) keeps every Namespace in memory, so a review reads its namespace's
//! `pod-security.kubernetes.io/enforce[-version]` labels without an API call. Used only with
//! `level: namespace`; RBAC needs get, list and watch on namespaces (deploy/rbac.yaml).

use super::review::NamespaceLabels;
use super::Error;
use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt as _};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A watch cache of Namespaces.
#[derive(Clone)]
pub struct NamespaceCache {
    store: Store<Namespace>,
    synced: Arc<AtomicBool>,
}

impl NamespaceCache {
    /// Starts the list/watch on the current tokio runtime. `config` is the cluster connection;
    /// `None` infers it (in-cluster service account, or `KUBECONFIG`).
    pub async fn start(config: Option<kube::Config>) -> Result<NamespaceCache, Error> {
        let client = match config {
            Some(config) => kube::Client::try_from(config),
            None => kube::Client::try_default().await,
        }
        .map_err(Error::Kube)?;
        let api: kube::Api<Namespace> = kube::Api::all(client);
        let (store, writer) = reflector::store();
        let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
            .default_backoff()
            .touched_objects();
        tokio::spawn(stream.for_each(|event| async move {
            if let Err(error) = event {
                tracing::warn!(%error, "namespace watch failed, retrying");
            }
        }));
        let synced = Arc::new(AtomicBool::new(false));
        let ready = store.clone();
        let flag = Arc::clone(&synced);
        tokio::spawn(async move {
            if ready.wait_until_ready().await.is_ok() {
                flag.store(true, Ordering::Release);
                tracing::info!(namespaces = ready.len(), "namespace cache synced");
            }
        });
        Ok(NamespaceCache { store, synced })
    }

    /// Whether the first list has arrived (until then every namespace is unknown, which
    /// `/readyz` reports so no review is sent here too early).
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }
}

impl NamespaceLabels for NamespaceCache {
    fn labels(&self, namespace: &str) -> Option<Map<String, Value>> {
        let found = self.store.get(&ObjectRef::new(namespace))?;
        let labels = found.metadata.labels.as_ref();
        Some(
            labels
                .into_iter()
                .flatten()
                .map(|(key, value)| (key.clone(), Value::String(value.clone())))
                .collect(),
        )
    }
}

//! The operations listener (`--http-listen`): `GET /metrics` (Prometheus
//! text), `GET /healthz` (the process is up) and `GET /readyz` (200 once
//! the collections are open and the gRPC port listens; 503 with the reason
//! before that and while shutting down), and the search page with its
//! JSON API (`/`, `/assets/`, `/api/`: `api::web`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use parking_lot::RwLock;
use tokio::net::TcpListener;

use crate::engine::Database;

/// What `/readyz` and `/metrics` report, shared with the server's startup
/// and shutdown.
pub struct Readiness {
    db: OnceLock<Arc<Database>>,
    ready: AtomicBool,
    reason: RwLock<String>,
    model: RwLock<String>,
}

impl Readiness {
    pub fn new() -> Arc<Readiness> {
        Arc::new(Readiness {
            db: OnceLock::new(),
            ready: AtomicBool::new(false),
            reason: RwLock::new("starting: loading the model and opening collections".into()),
            model: RwLock::new(String::new()),
        })
    }

    pub fn set_model(&self, model: &str) {
        *self.model.write() = model.to_string();
    }

    /// Serving: collections open, the gRPC port listening.
    pub fn set_ready(&self, db: Arc<Database>) {
        self.set_database(db);
        self.ready.store(true, Ordering::Release);
    }

    /// The database is open (for /metrics) though not ready yet.
    pub fn set_database(&self, db: Arc<Database>) {
        let _ = self.db.set(db);
    }

    pub fn set_not_ready(&self, reason: &str) {
        *self.reason.write() = reason.to_string();
        self.ready.store(false, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The database, once opened.
    pub fn database(&self) -> Option<Arc<Database>> {
        self.db.get().cloned()
    }
}

async fn metrics(State(state): State<Arc<Readiness>>) -> impl IntoResponse {
    let body = match state.db.get() {
        Some(db) => {
            let (db, model) = (db.clone(), state.model.read().clone());
            // Walks collection directories for their sizes: off the runtime.
            tokio::task::spawn_blocking(move || super::metrics::render(&db, &model))
                .await
                .unwrap_or_default()
        }
        None => super::metrics::handle().render(),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<Arc<Readiness>>) -> (StatusCode, String) {
    if state.is_ready() {
        (StatusCode::OK, "ready\n".into())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", state.reason.read()),
        )
    }
}

/// Serves the operations endpoints and the search page on `listener` until
/// the task is dropped; `keys` guard the page's API as they guard gRPC.
pub async fn serve(
    listener: TcpListener,
    state: Arc<Readiness>,
    keys: crate::api::auth::ApiKeys,
    cluster: Option<Arc<std::sync::OnceLock<crate::cluster::api::ClusterApi>>>,
) -> std::io::Result<()> {
    let web = super::web::routes(super::web::WebState {
        readiness: state.clone(),
        keys: Arc::new(keys),
        cluster,
    });
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(web);
    axum::serve(listener, app).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn readyz_says_why_until_ready_and_again_when_stopping() {
        let state = Readiness::new();
        let (status, body) = readyz(State(state.clone())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.contains("loading the model and opening collections"),
            "{body}"
        );
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), Default::default(), None).unwrap();
        state.set_ready(db);
        assert_eq!(readyz(State(state.clone())).await.0, StatusCode::OK);
        state.set_not_ready("shutting down");
        let (status, body) = readyz(State(state)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "not ready: shutting down\n");
    }
}

//! Shared by the targets that need a database: a small one in a temporary
//! directory, opened once per fuzzing process, without a model (raw vectors
//! only, as `--model none`).
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clipdb::api::Api;
use clipdb::engine::{Database, DatabaseOptions};
use clipdb::proto;
use clipdb::proto::collections_server::Collections;
use clipdb::proto::points_server::Points;
use tonic::Request;

pub const DIM: u32 = 4;
pub const CAPACITY: u32 = 16;

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

/// Small limits keep every input cheap.
pub fn options() -> DatabaseOptions {
    DatabaseOptions {
        default_m: 8,
        default_ef_construction: 32,
        default_ef_search: 16,
        default_segment_capacity: CAPACITY,
        max_points_per_request: 64,
        max_ids_per_request: 64,
        max_payload_bytes: 4096,
        max_pending_writes: 16,
        ..DatabaseOptions::default()
    }
}

pub fn open(dir: &Path) -> (Arc<Database>, Api) {
    let db = Database::open(dir, options(), None).expect("open database");
    let api = Api::new(db.clone());
    (db, api)
}

pub fn point(i: u32) -> proto::Point {
    let x = i as f32;
    let mut fields = std::collections::BTreeMap::new();
    fields.insert(
        "n".to_string(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::NumberValue(i as f64)),
        },
    );
    fields.insert(
        "tag".to_string(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::StringValue(
                if i % 2 == 0 { "even" } else { "odd" }.into(),
            )),
        },
    );
    proto::Point {
        id: format!("p{i}"),
        vector: vec![1.0 + x, (x * 0.7).sin(), (x * 1.3).cos(), 0.5],
        payload: Some(prost_types::Struct { fields }),
        ..Default::default()
    }
}

/// Creates raw-vector collection `name` (dimension 4, segments of 16) with
/// `n` points and waits until its full segments are sealed (graph files written).
pub fn seed_collection(db: &Database, api: &Api, name: &str, n: u32) {
    runtime().block_on(async {
        api.create_collection(Request::new(proto::CreateCollectionRequest {
            name: name.into(),
            dimension: DIM,
            metric: proto::Metric::Cosine as i32,
            segment_capacity: CAPACITY,
            ..Default::default()
        }))
        .await
        .expect("create collection");
        api.upsert(Request::new(proto::UpsertRequest {
            collection: name.into(),
            points: (0..n).map(point).collect(),
        }))
        .await
        .expect("upsert");
    });
    let full = (n / CAPACITY) as usize;
    let start = Instant::now();
    loop {
        let info = db.collection(name).expect("collection").info();
        let sealed = info.segments.iter().filter(|s| s.sealed).count();
        if sealed >= full {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "sealing timed out"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

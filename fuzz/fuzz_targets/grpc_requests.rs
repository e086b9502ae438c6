//! Arbitrary protobuf requests through the real service handlers, in
//! process, over a database without a model (raw vectors only). Input:
//! `[method, request bytes...]`; the bytes are decoded as that method's
//! request message (as tonic's codec does) and the handler is awaited. Every
//! outcome must be a response or a status: a panic anywhere (handler, engine,
//! commit or sealing thread) aborts through libfuzzer-sys's panic hook and is
//! reported.
//!
//! The database holds collection `c` (dimension 4, segments of 16 records,
//! cosine) seeded with 20 points. State is kept bounded: collections and
//! snapshots an input creates are removed again, and `c` is re-seeded when
//! an input deleted it or it grew past 300 points.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Arc, OnceLock};

use clipdb::api::Api;
use clipdb::engine::Database;
use clipdb::proto;
use clipdb::proto::collections_server::Collections;
use clipdb::proto::embeddings_server::Embeddings;
use clipdb::proto::points_server::Points;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use tonic::{Code, Request, Status};

struct Fixture {
    _tmp: tempfile::TempDir,
    db: Arc<Database>,
    api: Api,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (db, api) = common::open(tmp.path());
        common::seed_collection(&db, &api, "c", 20);
        Fixture { _tmp: tmp, db, api }
    })
}

/// The outcome of one call: a status must never be the catch-all of a
/// failed task (a panic inside spawn_blocking turns into INTERNAL with a
/// JoinError message).
fn check<T>(r: Result<tonic::Response<T>, Status>) -> Option<T> {
    match r {
        Ok(r) => Some(r.into_inner()),
        Err(s) => {
            assert!(
                !(s.code() == Code::Internal && s.message().contains("panicked")),
                "a handler task panicked: {s:?}"
            );
            None
        }
    }
}

macro_rules! decode {
    ($t:ty, $b:expr) => {
        match <$t>::decode($b) {
            Ok(m) => m,
            Err(_) => return,
        }
    };
}

async fn call(api: &Api, method: u8, b: &[u8]) {
    match method % 14 {
        0 => {
            let r = decode!(proto::CreateCollectionRequest, b);
            let name = r.name.clone();
            if check(api.create_collection(Request::new(r)).await).is_some() {
                let req = proto::DeleteCollectionRequest { name };
                check(api.delete_collection(Request::new(req)).await).expect("drop");
            }
        }
        1 => {
            let r = decode!(proto::GetCollectionRequest, b);
            check(api.get_collection(Request::new(r)).await);
        }
        2 => {
            let r = decode!(proto::ListCollectionsRequest, b);
            check(api.list_collections(Request::new(r)).await);
        }
        3 => {
            let r = decode!(proto::DeleteCollectionRequest, b);
            check(api.delete_collection(Request::new(r)).await);
        }
        4 => {
            let r = decode!(proto::CreateSnapshotRequest, b);
            let collection = r.collection.clone();
            if let Some(info) = check(api.create_snapshot(Request::new(r)).await) {
                let req = proto::DeleteSnapshotRequest {
                    collection,
                    name: info.name,
                };
                check(api.delete_snapshot(Request::new(req)).await).expect("delete");
            }
        }
        5 => {
            let r = decode!(proto::ListSnapshotsRequest, b);
            check(api.list_snapshots(Request::new(r)).await);
        }
        6 => {
            let r = decode!(proto::DeleteSnapshotRequest, b);
            check(api.delete_snapshot(Request::new(r)).await);
        }
        7 => {
            let r = decode!(proto::UpsertRequest, b);
            check(api.upsert(Request::new(r)).await);
        }
        8 => {
            let r = decode!(proto::GetRequest, b);
            check(api.get(Request::new(r)).await);
        }
        9 => {
            let r = decode!(proto::DeleteRequest, b);
            check(Points::delete(api, Request::new(r)).await);
        }
        10 => {
            let r = decode!(proto::SearchRequest, b);
            check(api.search(Request::new(r)).await);
        }
        11 => {
            let r = decode!(proto::CountRequest, b);
            check(api.count(Request::new(r)).await);
        }
        12 => {
            let r = decode!(proto::EmbedTextRequest, b);
            check(api.embed_text(Request::new(r)).await);
        }
        _ => {
            let r = decode!(proto::EmbedImageRequest, b);
            check(api.embed_image(Request::new(r)).await);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&method, body)) = data.split_first() else {
        return;
    };
    let fx = fixture();
    common::runtime().block_on(call(&fx.api, method, body));
    // Keep the state small and `c` present.
    match fx.db.collection("c") {
        Ok(c) if c.count() <= 300 => {}
        Ok(_) => {
            fx.db.drop_collection("c").expect("drop c");
            common::seed_collection(&fx.db, &fx.api, "c", 20);
        }
        Err(_) => common::seed_collection(&fx.db, &fx.api, "c", 20),
    }
});

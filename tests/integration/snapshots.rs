//! Collection snapshots against the real server binary: a snapshot taken
//! under concurrent writes is one consistent cut, `clipdb snapshot restore`
//! brings it back into a fresh data directory point for point, and the
//! snapshot RPCs check names, collections and API key roles.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clipdb::proto::*;
use common::*;
use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::Code;

const DIM: usize = 8;
/// Points per concurrent writer batch (plus the `counter` point).
const BATCH: usize = 10;

/// What a point must look like: vector (as the server stores it) and payload.
type Model = BTreeMap<String, (Vec<f32>, prost_types::Struct)>;

fn writer_vector(k: i64, j: usize) -> Vec<f32> {
    random_unit_vectors(1, DIM, 1_000_000 + (k as u64) * 100 + j as u64).remove(0)
}

async fn get_all(
    server: &TestServer,
    collection: &str,
    ids: Vec<String>,
) -> BTreeMap<String, (Vec<f32>, Option<prost_types::Struct>)> {
    let mut p = server.points().await;
    p.get(GetRequest {
        collection: collection.into(),
        ids,
        with_vector: true,
    })
    .await
    .unwrap()
    .into_inner()
    .points
    .into_iter()
    .map(|pt| (pt.id, (pt.vector, pt.payload)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_under_concurrent_writes_restores_point_for_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = TestServer::start(&dir.path().join("a"), &[]);
    let mut c = a.collections().await;
    c.create_collection(CreateCollectionRequest {
        segment_capacity: 64,
        ..create_request("snap", DIM as u32)
    })
    .await
    .unwrap();

    // 300 points with payloads, then 30 deleted and 40 replaced.
    let base = random_unit_vectors(300, DIM, 7);
    let replaced = random_unit_vectors(40, DIM, 8);
    let mut p = a.points().await;
    for chunk in (0..300).collect::<Vec<usize>>().chunks(50) {
        p.upsert(UpsertRequest {
            collection: "snap".into(),
            points: chunk
                .iter()
                .map(|&i| Point {
                    payload: Some(payload(json!({"n": i, "tag": format!("t{}", i % 7)}))),
                    ..vector_point(format!("p{i}"), base[i].clone())
                })
                .collect(),
        })
        .await
        .unwrap();
    }
    let deleted: Vec<String> = (0..300).step_by(10).map(|i| format!("p{i}")).collect();
    p.delete(DeleteRequest {
        collection: "snap".into(),
        ids: deleted.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    p.upsert(UpsertRequest {
        collection: "snap".into(),
        points: (0..40)
            .map(|r| {
                let i = 5 + r * 7;
                Point {
                    payload: Some(payload(json!({"n": i, "replaced": true}))),
                    ..vector_point(format!("p{i}"), replaced[r].clone())
                }
            })
            .collect(),
    })
    .await
    .unwrap();
    // Several sealed segments, so the snapshot carries sealed graph files.
    wait_sealed(&mut c, "snap", 4).await;

    // The expected state of the base points, as the server reports it.
    let base_ids: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
    let base_state = get_all(&a, "snap", base_ids.clone()).await;
    // 270 left after the deletes, plus 4 deleted ids replaced back to life
    // (p40, p110, p180, p250).
    assert_eq!(base_state.len(), 274);
    for (id, (_, pl)) in &base_state {
        let i: usize = id[1..].parse().unwrap();
        let want = if i >= 5 && (i - 5).is_multiple_of(7) && (i - 5) / 7 < 40 {
            json!({"n": i, "replaced": true})
        } else {
            json!({"n": i, "tag": format!("t{}", i % 7)})
        };
        assert_eq!(pl.as_ref(), Some(&payload(want)), "{id}");
    }

    // A writer keeps upserting batches: BATCH new points and the `counter`
    // point replaced with the batch number. `acked` = last acknowledged batch.
    let acked = Arc::new(AtomicI64::new(-1));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let mut p = a.points().await;
        tokio::spawn(async move {
            let mut k: i64 = 0;
            while !stop.load(Ordering::Acquire) {
                let mut points: Vec<Point> = (0..BATCH)
                    .map(|j| Point {
                        payload: Some(payload(json!({"batch": k, "j": j}))),
                        ..vector_point(format!("w{k}-{j}"), writer_vector(k, j))
                    })
                    .collect();
                points.push(Point {
                    payload: Some(payload(json!({"batch": k}))),
                    ..vector_point("counter", writer_vector(k, BATCH))
                });
                p.upsert(UpsertRequest {
                    collection: "snap".into(),
                    points,
                })
                .await
                .unwrap();
                acked.store(k, Ordering::Release);
                k += 1;
            }
            k
        })
    };
    while acked.load(Ordering::Acquire) < 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acked_before = acked.load(Ordering::Acquire);
    let snap = c
        .create_snapshot(CreateSnapshotRequest {
            collection: "snap".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let acked_after = acked.load(Ordering::Acquire);
    // Let the writer run on past the snapshot, then stop it.
    while acked.load(Ordering::Acquire) < acked_after + 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Release);
    let batches = writer.await.unwrap();

    assert!(snap.name.starts_with("snap-"), "{snap:?}");
    assert_eq!(snap.collection, "snap");
    assert!(snap.error.is_empty(), "{snap:?}");
    assert!(snap.size_bytes > 0);
    assert!(Path::new(&snap.path).is_file(), "{snap:?}");
    assert!(snap.created_at.is_some());
    // The cut holds the batches 0..=cut: every batch acknowledged before the
    // call, and at most the one in flight when it returned.
    let writer_points = snap.point_count as i64 - 274 - 1;
    assert_eq!(writer_points % BATCH as i64, 0, "a half batch: {snap:?}");
    let cut = writer_points / BATCH as i64 - 1;
    assert!(
        cut >= acked_before && cut <= acked_after + 1,
        "cut {cut} outside [{acked_before}, {}]",
        acked_after + 1
    );
    assert!(batches > cut + 1, "the writer went on past the cut");

    let listed = c
        .list_snapshots(ListSnapshotsRequest {
            collection: "snap".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .snapshots;
    assert_eq!(listed, vec![snap.clone()]);
    let all = c
        .list_snapshots(ListSnapshotsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .snapshots;
    assert_eq!(all, vec![snap.clone()]);

    // The expected restored state: base points as they were, writer batches
    // 0..=cut, the counter at batch `cut`. Vectors from server A itself
    // (written before or at the cut, never changed since).
    let mut expected: Model = BTreeMap::new();
    for (id, (v, pl)) in base_state {
        expected.insert(id, (v, pl.unwrap()));
    }
    let writer_ids: Vec<String> = (0..batches)
        .flat_map(|k| (0..BATCH).map(move |j| format!("w{k}-{j}")))
        .collect();
    let a_writer = get_all(&a, "snap", writer_ids.clone()).await;
    assert_eq!(a_writer.len(), batches as usize * BATCH);
    for (id, (v, pl)) in &a_writer {
        let k: i64 = id[1..id.find('-').unwrap()].parse().unwrap();
        if k <= cut {
            expected.insert(id.clone(), (v.clone(), pl.clone().unwrap()));
        }
    }
    let norm = |v: Vec<f32>| {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    expected.insert(
        "counter".into(),
        (
            norm(writer_vector(cut, BATCH)),
            payload(json!({"batch": cut})),
        ),
    );
    a.stop();

    // Restore into a fresh data directory and serve it.
    let b_dir = dir.path().join("b");
    let out = restore(&snap.path, &b_dir, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "restore failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} points", snap.point_count)) && stdout.contains("`snap`"),
        "{stdout}"
    );
    let b = TestServer::start(&b_dir, &[]);
    let mut cb = b.collections().await;
    let info = cb
        .get_collection(GetCollectionRequest {
            name: "snap".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.point_count, snap.point_count);
    assert_eq!(info.segment_capacity, 64);
    let sealed: Vec<_> = info.segments.iter().filter(|s| s.sealed).collect();
    assert!(sealed.len() >= 4, "{info:?}");
    assert!(
        sealed
            .iter()
            .all(|s| s.graph_source == GraphSource::Loaded as i32),
        "sealed graphs must come from the snapshot, not be rebuilt: {info:?}"
    );

    // Every point: id, vector (bit for bit), payload; nothing else.
    let mut asked = base_ids.clone();
    asked.extend(writer_ids);
    asked.push("counter".into());
    let got = get_all(&b, "snap", asked).await;
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (id, (v, pl)) in &expected {
        let (gv, gpl) = &got[id];
        if id == "counter" {
            assert!(max_abs_diff(gv, v) < 1e-6, "{id}");
        } else {
            assert_eq!(gv, v, "vector of {id}");
        }
        assert_eq!(gpl.as_ref(), Some(pl), "payload of {id}");
    }
    let mut pb = b.points().await;
    let count = pb
        .count(CountRequest {
            collection: "snap".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, expected.len() as u64);

    // Search answers as over exactly the expected points (ef above the
    // collection size: every graph is walked in full).
    let model: Vec<(&String, &Vec<f32>)> = expected.iter().map(|(id, (v, _))| (id, v)).collect();
    let vectors: Vec<Vec<f32>> = model.iter().map(|(_, v)| (*v).clone()).collect();
    for q in random_unit_vectors(20, DIM, 99) {
        let truth: Vec<&String> = brute_force_top_k(&vectors, &q, 10)
            .into_iter()
            .map(|i| model[i].0)
            .collect();
        let hits = pb
            .search(SearchRequest {
                ef: 1000,
                with_payload: true,
                ..search_vector("snap", q.clone(), 10)
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        let ids: Vec<&String> = hits.iter().map(|h| &h.id).collect();
        assert_eq!(ids, truth);
        for h in &hits {
            assert_eq!(h.payload.as_ref(), Some(&expected[&h.id].1));
        }
    }
    // A filtered search sees the restored payloads.
    let hits = pb
        .search(SearchRequest {
            filter: Some(Filter {
                must: vec![Condition {
                    key: "replaced".into(),
                    r#match: Some(condition::Match::Equals(prost_types::Value {
                        kind: Some(prost_types::value::Kind::BoolValue(true)),
                    })),
                }],
                ..Default::default()
            }),
            ..search_vector("snap", base[0].clone(), 100)
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    let replaced_live = expected
        .values()
        .filter(|(_, pl)| pl.fields.contains_key("replaced"))
        .count();
    assert_eq!(hits.len(), replaced_live);

    // The restored server takes writes.
    pb.upsert(UpsertRequest {
        collection: "snap".into(),
        points: vec![vector_point("after", base[1].clone())],
    })
    .await
    .unwrap();
}

fn with_key<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("x-api-key", MetadataValue::try_from(key).unwrap());
    r
}

const WRITER: &str = "snap-writer-key";
const READER: &str = "snap-reader-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_rpcs_names_roles_delete_and_restore_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let a_dir = dir.path().join("a");
    let mut a = TestServer::start(
        &a_dir,
        &["--api-key", WRITER, "--read-only-api-key", READER],
    );
    let mut c = a.collections().await;
    c.create_collection(with_key(create_request("e", 4), WRITER))
        .await
        .unwrap();
    let mut p = a.points().await;
    p.upsert(with_key(
        UpsertRequest {
            collection: "e".into(),
            points: (0..20)
                .map(|i| vector_point(format!("x{i}"), vec![1.0, i as f32, 0.5, -1.0]))
                .collect(),
        },
        WRITER,
    ))
    .await
    .unwrap();

    // Unknown collections and bad names.
    let create = |name: &str| {
        with_key(
            CreateSnapshotRequest {
                collection: name.into(),
            },
            WRITER,
        )
    };
    let (k, m) = code(c.create_snapshot(create("nope")).await);
    assert_eq!(k, Code::NotFound, "{m}");
    assert!(m.contains("nope"), "{m}");
    for bad in ["../e", "e/../../x", ""] {
        let (k, m) = code(c.create_snapshot(create(bad)).await);
        assert_eq!(k, Code::InvalidArgument, "{bad}: {m}");
    }
    let list = |name: &str, key: &str| {
        with_key(
            ListSnapshotsRequest {
                collection: name.into(),
            },
            key,
        )
    };
    let (k, _) = code(c.list_snapshots(list("nope", WRITER)).await);
    assert_eq!(k, Code::NotFound);
    let (k, _) = code(c.list_snapshots(list("../a", WRITER)).await);
    assert_eq!(k, Code::InvalidArgument);
    // An existing collection without snapshots lists none.
    let none = c
        .list_snapshots(list("e", READER))
        .await
        .unwrap()
        .into_inner();
    assert!(none.snapshots.is_empty());

    // Two snapshots in a row get distinct names.
    let s1 = c.create_snapshot(create("e")).await.unwrap().into_inner();
    let s2 = c.create_snapshot(create("e")).await.unwrap().into_inner();
    assert_ne!(s1.name, s2.name);
    assert_eq!((s1.point_count, s2.point_count), (20, 20));

    // The read-only key lists, and can neither create nor delete.
    let listed = c
        .list_snapshots(list("e", READER))
        .await
        .unwrap()
        .into_inner()
        .snapshots;
    assert_eq!(
        listed.iter().map(|s| &s.name).collect::<Vec<_>>(),
        vec![&s1.name, &s2.name]
    );
    let (k, _) = code(
        c.create_snapshot(with_key(
            CreateSnapshotRequest {
                collection: "e".into(),
            },
            READER,
        ))
        .await,
    );
    assert_eq!(k, Code::PermissionDenied);
    let delete = |collection: &str, name: &str, key: &str| {
        with_key(
            DeleteSnapshotRequest {
                collection: collection.into(),
                name: name.into(),
            },
            key,
        )
    };
    let (k, _) = code(c.delete_snapshot(delete("e", &s1.name, READER)).await);
    assert_eq!(k, Code::PermissionDenied);
    let (k, _) = code(c.list_snapshots(list("e", "wrong-key")).await);
    assert_eq!(k, Code::Unauthenticated);

    // DeleteSnapshot: traversal names refused, unknown ones not found.
    for (collection, name) in [
        ("e", "../../meta/db"),
        ("e", ".."),
        ("e", "a/b"),
        ("e", ""),
        ("../e", &s1.name),
    ] {
        let (k, m) = code(c.delete_snapshot(delete(collection, name, WRITER)).await);
        assert_eq!(k, Code::InvalidArgument, "{collection}/{name}: {m}");
    }
    let (k, m) = code(c.delete_snapshot(delete("e", "e-never", WRITER)).await);
    assert_eq!(k, Code::NotFound, "{m}");
    assert!(m.contains("e-never"), "{m}");
    assert!(a_dir.join("meta").exists(), "nothing outside was touched");

    c.delete_snapshot(delete("e", &s1.name, WRITER))
        .await
        .unwrap();
    assert!(!Path::new(&s1.path).exists());
    let (k, _) = code(c.delete_snapshot(delete("e", &s1.name, WRITER)).await);
    assert_eq!(k, Code::NotFound);

    // A snapshot outlives its collection.
    c.delete_collection(with_key(
        DeleteCollectionRequest { name: "e".into() },
        WRITER,
    ))
    .await
    .unwrap();
    let listed = c
        .list_snapshots(list("e", WRITER))
        .await
        .unwrap()
        .into_inner()
        .snapshots;
    assert_eq!(listed, vec![s2.clone()]);

    // Restoring into the data directory of a running server is refused.
    let out = restore(&s2.path, &a_dir, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "is in use by a running clipdb server (pid {}); stop it first",
        a.pid()
    );
    assert!(err.contains(&expected), "{err}");
    assert!(!err.contains("WouldBlock"), "{err}");
    a.stop();

    // Into a fresh directory: once, then refused without --force, then
    // replaced with --force, and under another name with --collection.
    let b_dir = dir.path().join("b");
    let out = restore(&s2.path, &b_dir, &[]);
    assert!(out.status.success(), "{out:?}");
    let out = restore(&s2.path, &b_dir, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    let out = restore(&s2.path, &b_dir, &["--force"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("replacing"));
    let out = restore(&s2.path, &b_dir, &["--collection", "e2"]);
    assert!(out.status.success(), "{out:?}");
    let out = restore(&s2.path, &b_dir, &["--collection", "../x"]);
    assert!(!out.status.success());

    // A damaged snapshot is refused, naming what is wrong, and restores nothing.
    let mut bytes = std::fs::read(&s2.path).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"vectors-0.bin\0")
        .expect("vector member");
    let data = (at / 512 + 1) * 512;
    bytes[data + 64 + 3] ^= 0x40;
    let damaged = dir.path().join("damaged.snapshot");
    std::fs::write(&damaged, &bytes).unwrap();
    let c_dir = dir.path().join("c");
    let out = restore(damaged.to_str().unwrap(), &c_dir, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vectors-0.bin") && err.contains("checksum"),
        "{err}"
    );

    let b = TestServer::start(&b_dir, &[]);
    let mut cb = b.collections().await;
    let mut names: Vec<String> = cb
        .list_collections(ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .collections
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(names, vec!["e", "e2"]);
    let mut pb = b.points().await;
    for name in ["e", "e2"] {
        let got = pb
            .get(GetRequest {
                collection: name.into(),
                ids: (0..20).map(|i| format!("x{i}")).collect(),
                with_vector: true,
            })
            .await
            .unwrap()
            .into_inner()
            .points;
        assert_eq!(got.len(), 20, "{name}");
    }
    let c = TestServer::start(&c_dir, &[]);
    let names = c
        .collections()
        .await
        .list_collections(ListCollectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .collections;
    assert!(names.is_empty(), "a refused restore left {names:?}");
}

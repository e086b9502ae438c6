//! Collection snapshots in cluster mode (CreateSnapshot, ListSnapshots,
//! DeleteSnapshot): one snapshot per shard in the JetStream object store,
//! named by a record in the metadata bucket, kept until deleted (the
//! periodic shard snapshots, which keep only the latest two, never prune
//! them). The parts are checked the way docs/cluster.md restores them:
//! downloaded from the object store and restored with
//! `clipdb snapshot restore` on a single node.

use super::*;

/// Periodic shard snapshots every few entries (so some are taken and
/// pruned while the collection snapshot must stay), never by time.
const SNAPSHOT_ARGS: &[&str] = &["--snapshot-every-entries", "8", "--snapshot-interval", "0"];

const DIM: usize = 8;

/// id -> (vector, n) of live points; `None`: deleted.
type Points = BTreeMap<String, Option<(Vec<f32>, u64)>>;

async fn upsert(cluster: &Cluster, i: usize, collection: &str, points: &[(String, Vec<f32>, u64)]) {
    cluster
        .points(i)
        .await
        .upsert(UpsertRequest {
            collection: collection.into(),
            points: points
                .iter()
                .map(|(id, v, n)| point_with(id, v.clone(), 0, *n))
                .collect(),
        })
        .await
        .expect("upsert");
}

async fn delete(cluster: &Cluster, i: usize, collection: &str, ids: &[String]) {
    cluster
        .points(i)
        .await
        .delete(DeleteRequest {
            collection: collection.into(),
            ids: ids.to_vec(),
            ..Default::default()
        })
        .await
        .expect("delete");
}

/// Downloads an object of the snapshot bucket; Err: it is not there.
async fn download(nats_url: &str, object: &str) -> Result<Vec<u8>, String> {
    use tokio::io::AsyncReadExt;
    let client = async_nats::connect(nats_url)
        .await
        .expect("connect to NATS");
    let js = async_nats::jetstream::new(client);
    let store = js
        .get_object_store("clipdb-snapshots")
        .await
        .expect("the snapshot object store");
    let mut obj = store.get(object).await.map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    obj.read_to_end(&mut bytes)
        .await
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_snapshots_through_any_node_hold_the_model_at_their_sequences() {
    let _one = CLUSTER_LOCK.lock().await;
    let cluster = Cluster::start_with_args(3, SNAPSHOT_ARGS);
    let name = "csnap";
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded(name, DIM as u32, 2, 2))
        .await
        .expect("create");

    // Before the snapshot: 40 points, 4 of them deleted again.
    let vectors = random_unit_vectors(80, DIM, 16);
    let mut model: Points = BTreeMap::new();
    let first: Vec<(String, Vec<f32>, u64)> = (0..40)
        .map(|i| (format!("p{i:03}"), vectors[i].clone(), i as u64))
        .collect();
    for chunk in first.chunks(10) {
        upsert(&cluster, 0, name, chunk).await;
    }
    for (id, v, n) in &first {
        model.insert(id.clone(), Some((v.clone(), *n)));
    }
    let gone: Vec<String> = (0..4).map(|i| format!("p{:03}", i * 7)).collect();
    delete(&cluster, 1, name, &gone).await;
    for id in &gone {
        model.insert(id.clone(), None);
    }
    cluster.wait_caught_up(0).await;
    let last_before: Vec<u64> = cluster
        .status(0)
        .await
        .collections
        .into_iter()
        .find(|c| c.name == name)
        .unwrap()
        .shard_details
        .iter()
        .map(|s| s.last_sequence)
        .collect();

    // Taken through node 0.
    let info = collections_client(&cluster.url(0))
        .await
        .create_snapshot(CreateSnapshotRequest {
            collection: name.into(),
        })
        .await
        .expect("CreateSnapshot")
        .into_inner();
    assert_eq!(info.collection, name);
    assert!(info.name.starts_with("csnap-"), "{}", info.name);
    let live = model.values().filter(|p| p.is_some()).count() as u64;
    assert_eq!(info.point_count, live);
    assert_eq!(info.shards.len(), 2);
    for (shard, part) in info.shards.iter().enumerate() {
        assert_eq!(part.shard, shard as u32);
        // Nothing was written since: each part holds its whole log.
        assert_eq!(part.sequence, last_before[shard], "shard {shard}");
        let in_shard = model
            .iter()
            .filter(|(id, p)| p.is_some() && shard_of(id, 2) == shard as u32)
            .count() as u64;
        assert_eq!(part.point_count, in_shard, "shard {shard}");
    }
    assert_eq!(
        info.size_bytes,
        info.shards.iter().map(|s| s.size_bytes).sum::<u64>()
    );

    // Writes after it (updates, deletes, new points): enough for several
    // periodic snapshots of each shard, which keep only their latest two.
    let later: Vec<(String, Vec<f32>, u64)> = (20..80)
        .map(|i| (format!("p{i:03}"), vectors[i].clone(), 1000 + i as u64))
        .collect();
    for chunk in later.chunks(5) {
        upsert(&cluster, 1, name, chunk).await;
    }
    delete(&cluster, 2, name, &["p001".to_string(), "p002".to_string()]).await;
    cluster.wait_caught_up(0).await;

    // Listed through the other nodes, with or without the collection name.
    for i in [1, 2] {
        let mut client = collections_client(&cluster.url(i)).await;
        for filter in [name, ""] {
            let listed = client
                .list_snapshots(ListSnapshotsRequest {
                    collection: filter.into(),
                })
                .await
                .expect("ListSnapshots")
                .into_inner()
                .snapshots;
            assert_eq!(listed, vec![info.clone()], "node {i}, filter `{filter}`");
        }
    }

    // The parts hold the model as of the snapshot (not the later writes),
    // restored as docs/cluster.md says: download each part, restore it on
    // a single node.
    let nats_url = cluster.nats.urls().split(',').next().unwrap().to_string();
    let restore_dir = cluster.dir.join("restored");
    for part in &info.shards {
        let bytes = download(&nats_url, &part.object)
            .await
            .unwrap_or_else(|e| panic!("part {} is gone: {e}", part.object));
        assert_eq!(bytes.len() as u64, part.size_bytes);
        let file = cluster.dir.join(format!("{}.snapshot", part.object));
        std::fs::write(&file, bytes).unwrap();
        let out = common::restore(
            file.to_str().unwrap(),
            &restore_dir,
            &["--collection", &format!("shard{}", part.shard)],
        );
        assert!(
            out.status.success(),
            "restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let single = TestServer::start(&restore_dir, &[]);
    let mut points = single.points().await;
    for shard in 0..2u32 {
        let collection = format!("shard{shard}");
        let ids: Vec<String> = model
            .keys()
            .filter(|id| shard_of(id, 2) == shard)
            .cloned()
            .collect();
        let got = points
            .get(GetRequest {
                collection: collection.clone(),
                ids: ids.clone(),
                with_vector: true,
            })
            .await
            .expect("get from the restored shard")
            .into_inner()
            .points;
        let got: HashMap<String, Point> = got.into_iter().map(|p| (p.id.clone(), p)).collect();
        for id in &ids {
            match (&model[id], got.get(id)) {
                (None, None) => {}
                (Some((v, n)), Some(p)) => {
                    assert!(common::max_abs_diff(&p.vector, v) < 1e-6, "vector of {id}");
                    assert_eq!(
                        p.payload,
                        Some(payload(serde_json::json!({"group": 0, "n": n}))),
                        "payload of {id}"
                    );
                }
                (want, got) => panic!(
                    "shard {shard}: {id}: model {:?}, restored {:?}",
                    want.as_ref().map(|w| w.1),
                    got.map(|p| p.payload.clone())
                ),
            }
        }
        let live = ids.iter().filter(|id| model[*id].is_some()).count() as u64;
        assert_eq!(single.count(&collection).await, live, "shard {shard}");
    }

    // Deleted through node 1: no longer listed anywhere, its parts gone.
    collections_client(&cluster.url(1))
        .await
        .delete_snapshot(DeleteSnapshotRequest {
            collection: name.into(),
            name: info.name.clone(),
        })
        .await
        .expect("DeleteSnapshot");
    let listed = collections_client(&cluster.url(0))
        .await
        .list_snapshots(ListSnapshotsRequest {
            collection: name.into(),
        })
        .await
        .expect("ListSnapshots")
        .into_inner()
        .snapshots;
    assert!(listed.is_empty(), "{listed:?}");
    for part in &info.shards {
        assert!(
            download(&nats_url, &part.object).await.is_err(),
            "part {} was not deleted",
            part.object
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_collection_snapshot_requests_get_the_single_node_codes() {
    let _one = CLUSTER_LOCK.lock().await;
    let cluster = Cluster::start(2);
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("present", DIM as u32, 2, 1))
        .await
        .expect("create");
    let tmp = tempfile::tempdir().unwrap();
    let single = TestServer::start(tmp.path(), &[]);
    single
        .collections()
        .await
        .create_collection(common::create_request("present", DIM as u32))
        .await
        .expect("create on the single node");

    let mut on_cluster = collections_client(&cluster.url(1)).await;
    let mut on_single = single.collections().await;
    let create = |c: &str| CreateSnapshotRequest {
        collection: c.into(),
    };
    let list = |c: &str| ListSnapshotsRequest {
        collection: c.into(),
    };
    let delete = |c: &str, n: &str| DeleteSnapshotRequest {
        collection: c.into(),
        name: n.into(),
    };
    type Answer = (tonic::Code, String);
    let cases: Vec<(&str, tonic::Code, Answer, Answer)> = vec![
        (
            "create, unknown collection",
            tonic::Code::NotFound,
            code(on_cluster.create_snapshot(create("absent")).await),
            code(on_single.create_snapshot(create("absent")).await),
        ),
        (
            "create, invalid collection name",
            tonic::Code::InvalidArgument,
            code(on_cluster.create_snapshot(create("a/b")).await),
            code(on_single.create_snapshot(create("a/b")).await),
        ),
        (
            "list, unknown collection",
            tonic::Code::NotFound,
            code(on_cluster.list_snapshots(list("absent")).await),
            code(on_single.list_snapshots(list("absent")).await),
        ),
        (
            "delete, unknown snapshot",
            tonic::Code::NotFound,
            code(
                on_cluster
                    .delete_snapshot(delete("present", "present-x"))
                    .await,
            ),
            code(
                on_single
                    .delete_snapshot(delete("present", "present-x"))
                    .await,
            ),
        ),
        (
            "delete, invalid snapshot name",
            tonic::Code::InvalidArgument,
            code(on_cluster.delete_snapshot(delete("present", "../x")).await),
            code(on_single.delete_snapshot(delete("present", "../x")).await),
        ),
    ];
    for (what, want, cluster_answer, single_answer) in cases {
        assert_eq!(cluster_answer.0, want, "{what}: {}", cluster_answer.1);
        assert_eq!(
            single_answer.0, want,
            "{what} (single node): {}",
            single_answer.1
        );
    }
    // The messages name the problem.
    let (_, message) = code(on_cluster.create_snapshot(create("absent")).await);
    assert!(message.contains("absent"), "{message}");
    let (_, message) = code(
        on_cluster
            .delete_snapshot(delete("present", "present-x"))
            .await,
    );
    assert!(message.contains("present-x"), "{message}");
    // Nothing was created by the bad requests.
    let listed = on_cluster
        .list_snapshots(list(""))
        .await
        .expect("ListSnapshots")
        .into_inner()
        .snapshots;
    assert!(listed.is_empty(), "{listed:?}");
}

//! Shard snapshots in the JetStream object store: the logs are trimmed
//! behind them, and replicas that cannot replay the log from where they
//! are (wiped, down past a trim, new) restore the latest snapshot, then
//! replay the rest. Each test ends comparing replicas with the client-side
//! model of the acknowledged writes.

use super::*;

/// Snapshots every few entries, never by time (so the tests depend on
/// writes, not on the clock).
const SNAPSHOT_ARGS: &[&str] = &["--snapshot-every-entries", "8", "--snapshot-interval", "0"];

/// The collection's shards as node `i` reports them.
async fn shards(cluster: &Cluster, i: usize, collection: &str) -> Vec<ShardInfo> {
    cluster
        .status(i)
        .await
        .collections
        .into_iter()
        .find(|c| c.name == collection)
        .expect("collection in status")
        .shard_details
}

/// Waits (while the writer runs) until every shard's log starts after
/// `after[shard] + 1`: a replica that applied up to `after[shard]` cannot
/// go on from the log alone.
async fn wait_trimmed_past(cluster: &Cluster, i: usize, collection: &str, after: &[u64]) {
    let mut last = Vec::new();
    for _ in 0..600 {
        last = shards(cluster, i, collection).await;
        if last
            .iter()
            .all(|s| s.first_sequence > after[s.shard as usize] + 1 && s.snapshot_sequence > 0)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the logs were not trimmed past {after:?}: {last:#?}");
}

/// How many of node `i`'s replicas restored a snapshot, by its log.
fn restores_logged(cluster: &Cluster, i: usize) -> usize {
    cluster
        .node(i)
        .log()
        .lines()
        .filter(|l| l.contains("restored the replica from the shard's snapshot"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_replica_restores_a_snapshot_and_replays_the_trimmed_log() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start_with_args(3, SNAPSHOT_ARGS);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("wiped", dim as u32, 2, 2))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(vec![
        cluster.url(0),
        cluster.url(2),
    ]));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "wiped", dim, 240, acked.clone(), 11));
    wait_acked(&acked, 40).await;
    // Lose node 1's disk while the writes go on.
    cluster.kill_node(1);
    std::fs::remove_dir_all(cluster.dir.join("node-1")).unwrap();
    // The logs get trimmed behind newer snapshots: from the log alone
    // (starting at sequence 1) the replica could not be rebuilt.
    wait_trimmed_past(&cluster, 0, "wiped", &[0, 0]).await;
    cluster.start_node(1);
    let (model, failures) = writing.await.unwrap();
    eprintln!("writer: {failures} failed attempts retried");
    cluster.wait_caught_up(0).await;
    let held = shards(&cluster, 0, "wiped")
        .await
        .iter()
        .filter(|s| s.replicas.iter().any(|r| r.node == "n1"))
        .count();
    assert!(held > 0);
    assert_eq!(
        restores_logged(&cluster, 1),
        held,
        "{}",
        cluster.node(1).log()
    );
    for i in 0..3 {
        check_replicas_of(&cluster, i, "wiped", &model).await;
    }
    let live = model.values().filter(|v| v.is_some()).count() as u64;
    assert_eq!(cluster.node(1).count("wiped").await, live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_past_a_trim_restores_from_the_snapshot() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start_with_args(3, SNAPSHOT_ARGS);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("trimmed", dim as u32, 2, 3))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(vec![
        cluster.url(0),
        cluster.url(1),
    ]));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "trimmed", dim, 260, acked.clone(), 12));
    wait_acked(&acked, 40).await;
    cluster.kill_node(2);
    // Whatever node 2 applied, it is at most each log's last sequence now.
    let at_kill: Vec<u64> = shards(&cluster, 0, "trimmed")
        .await
        .iter()
        .map(|s| s.last_sequence)
        .collect();
    wait_trimmed_past(&cluster, 0, "trimmed", &at_kill).await;
    cluster.start_node(2);
    let (model, _) = writing.await.unwrap();
    cluster.wait_caught_up(0).await;
    // It started each replica from its own data (applied > 0), found the
    // next entry trimmed away and restored the snapshot instead.
    let log = cluster.node(2).log();
    let resumed: Vec<u64> = log
        .lines()
        .filter(|l| l.contains("starting local replica"))
        .filter_map(|l| {
            l.split("applied=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(resumed.len(), 2, "{log}");
    assert!(resumed.iter().all(|&a| a > 0), "{resumed:?}");
    assert_eq!(restores_logged(&cluster, 2), 2, "{log}");
    for i in 0..3 {
        check_replicas_of(&cluster, i, "trimmed", &model).await;
    }
    // The snapshot sequence on its /metrics and in `clipdb cluster status`.
    let status = shards(&cluster, 2, "trimmed").await;
    let http = cluster.node(2).http_addr.clone().expect("operations port");
    let mut text = String::new();
    for _ in 0..50 {
        text = http_get(&http, "/metrics").1;
        if (0..2).all(|shard| {
            metric(
                &text,
                &format!(
                    "clipdb_shard_snapshot_sequence{{collection=\"trimmed\",shard=\"{shard}\"}}"
                ),
            )
            .is_some_and(|s| s > 0.0)
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for s in &status {
        let series = format!(
            "clipdb_shard_snapshot_sequence{{collection=\"trimmed\",shard=\"{}\"}}",
            s.shard
        );
        let gauge = metric(&text, &series).unwrap_or(0.0);
        assert!(gauge > 0.0 && gauge <= s.last_sequence as f64, "{text}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["cluster", "status", "--server", &cluster.url(2)])
        .output()
        .expect("clipdb cluster status");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed}");
    assert!(printed.contains("SNAPSHOT"), "{printed}");
    let status = shards(&cluster, 2, "trimmed").await;
    for s in &status {
        let row = printed
            .lines()
            .find(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() == 4
                    && cols[0] == s.shard.to_string()
                    && cols[1] == s.first_sequence.to_string()
            })
            .unwrap_or_else(|| panic!("no row for shard {}: {printed}", s.shard));
        assert!(
            row.trim_end().ends_with(&s.snapshot_sequence.to_string()),
            "{row}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_moved_to_a_new_node_restores_from_the_snapshot() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start_with_args(2, SNAPSHOT_ARGS);
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("moved", dim as u32, 2, 2))
        .await
        .expect("create");
    let urls = Arc::new(parking_lot::Mutex::new(vec![
        cluster.url(0),
        cluster.url(1),
    ]));
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writing = tokio::spawn(writer(urls, "moved", dim, 200, acked.clone(), 13));
    wait_acked(&acked, 40).await;
    wait_trimmed_past(&cluster, 0, "moved", &[0, 0]).await;
    cluster.addrs.push(format!("127.0.0.1:{}", free_port()));
    cluster.nodes.push(None);
    cluster.start_node(2);
    cluster
        .cluster_client(1)
        .await
        .move_replica(MoveReplicaRequest {
            collection: "moved".into(),
            shard: 0,
            from_node: "n0".into(),
            to_node: "n2".into(),
            timeout_ms: 0,
        })
        .await
        .expect("move");
    let (model, _) = writing.await.unwrap();
    cluster.wait_caught_up(1).await;
    assert_eq!(restores_logged(&cluster, 2), 1, "{}", cluster.node(2).log());
    for i in 0..3 {
        check_replicas_of(&cluster, i, "moved", &model).await;
    }
    let live = model.values().filter(|v| v.is_some()).count() as u64;
    for i in 0..3 {
        assert_eq!(cluster.node(i).count("moved").await, live);
    }
}

/// kill -9 of a node while it restores a snapshot: started again, it
/// restores again (a cut-short install leaves no local copy, never a
/// partial one) or goes on from the whole one, and ends equal to the
/// model. The shard is large enough (9 000 x 256) that the restore takes a
/// while; the log says whether the kill landed inside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_restoring_restores_again() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start_with_args(2, SNAPSHOT_ARGS);
    let dim = 256;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("big", dim as u32, 1, 2))
        .await
        .expect("create");
    let mut model: Model = BTreeMap::new();
    let mut p = cluster.points(0).await;
    for batch in 0..18u64 {
        let vectors = random_unit_vectors(500, dim, 100 + batch);
        let points: Vec<Point> = vectors
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let id = format!("b{}", batch * 500 + i as u64);
                model.insert(id.clone(), Some((v.clone(), batch)));
                point_with(&id, v, 0, batch)
            })
            .collect();
        p.upsert(UpsertRequest {
            collection: "big".into(),
            points,
        })
        .await
        .expect("upsert");
    }
    // A snapshot holding at least 7 of the 18 batches, the log trimmed
    // behind. The snapshotter polls, so the first snapshot lands anywhere
    // from sequence 8 on, and when it lands after 10 the next one needs
    // more writes than there are: only "past 7" is certain.
    wait_trimmed_past(&cluster, 0, "big", &[7]).await;
    cluster.kill_node(1);
    std::fs::remove_dir_all(cluster.dir.join("node-1")).unwrap();
    cluster.start_node(1);
    let started = "restoring the replica from the shard's snapshot";
    let mut log = String::new();
    for _ in 0..30_000 {
        log = cluster.node(1).log();
        if log.contains(started) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(log.contains(started), "{log}");
    // kill -9, then read what it logged (dropping the server removes its
    // log).
    cluster.nodes[1].as_mut().unwrap().kill();
    let finished_before_kill = restores_logged(&cluster, 1) > 0;
    cluster.kill_node(1);
    eprintln!(
        "node 1 killed {} its restore had finished",
        if finished_before_kill {
            "after"
        } else {
            "before"
        }
    );
    cluster.start_node(1);
    // Through node 1: its own replica's state is its own, not a report.
    cluster.wait_caught_up(1).await;
    check_replicas_of(&cluster, 1, "big", &model).await;
    assert_eq!(cluster.node(1).count("big").await, model.len() as u64);
    // Started again after a restore cut short, it restored again.
    if !finished_before_kill {
        assert_eq!(restores_logged(&cluster, 1), 1, "{}", cluster.node(1).log());
    }
}

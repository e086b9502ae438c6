//! Crash harness: a mixed workload (upserts with payloads, replacements,
//! deletes, payload updates) from concurrent writers against the real server process, which
//! is `kill -9`ed at a random moment, restarted, and checked against the
//! model each writer keeps of what the server acknowledged:
//! - every acknowledged write is present and intact, deleted points stay
//!   deleted;
//! - a batch in flight at the kill (unacknowledged) is all or nothing;
//! - the server always comes back.
//!
//! `cargo test` runs 20 trials; `CLIPDB_CRASH_TRIALS=200 cargo test --test
//! crash_harness -- --nocapture` runs more and prints the tally.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clipdb::proto::*;
use common::SplitMix64 as Rng;
use common::*;
use serde_json::json;
use tokio::sync::Mutex;

const DIM: usize = 8;
const WRITERS: usize = 4;
const IDS_PER_WRITER: u64 = 400;
const BATCH: usize = 12;

/// The state of one id as the client knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Absent,
    /// Upserted with this version (the first number), its payload's `tag`
    /// last set by SetPayload to the second (0: never).
    Version(u64, u64),
}

/// What one writer knows: acknowledged states, and the batch in flight.
#[derive(Default)]
struct Model {
    acked: HashMap<u64, State>,
    in_flight: Option<Vec<(u64, State)>>,
}

/// The unit vector stored for (id, version): anything else is corruption.
fn vector_of(id: u64, version: u64) -> Vec<f32> {
    let mut r = Rng(id.wrapping_mul(1_000_003) ^ version);
    let v: Vec<f32> = (0..DIM)
        .map(|_| (r.below(2001) as f32 - 1000.0) / 1000.0 + 0.01)
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// Runs batches until the server dies; records acknowledgements in `model`.
async fn writer(server_url: String, w: usize, model: Arc<Mutex<Model>>, seed: u64) {
    let Ok(channel) = tonic::transport::Channel::from_shared(server_url)
        .unwrap()
        .connect()
        .await
    else {
        return;
    };
    let mut points = clipdb::proto::points_client::PointsClient::new(channel);
    let mut rng = Rng(seed);
    let base = w as u64 * IDS_PER_WRITER;
    let mut version = seed << 20;
    loop {
        version += 1;
        let op = rng.below(8);
        let (delete, set_tag) = (op < 2, op == 2);
        let mut ids: Vec<u64> = (0..BATCH)
            .map(|_| base + rng.below(IDS_PER_WRITER))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let planned: Vec<(u64, State)> = {
            let mut m = model.lock().await;
            let planned: Vec<(u64, State)> = ids
                .iter()
                .map(|&id| {
                    let new = if delete {
                        State::Absent
                    } else if set_tag {
                        // Only points that exist get the tag.
                        match m.acked.get(&id) {
                            Some(State::Version(v, _)) => State::Version(*v, version),
                            _ => State::Absent,
                        }
                    } else {
                        State::Version(version, 0)
                    };
                    (id, new)
                })
                .collect();
            m.in_flight = Some(planned.clone());
            planned
        };
        let result = if set_tag {
            points
                .set_payload(SetPayloadRequest {
                    collection: "crash".into(),
                    ids: ids.iter().map(u64::to_string).collect(),
                    payload: Some(payload(json!({ "tag": version }))),
                    ..Default::default()
                })
                .await
                .map(|_| ())
        } else if delete {
            points
                .delete(DeleteRequest {
                    collection: "crash".into(),
                    ids: ids.iter().map(u64::to_string).collect(),
                    ..Default::default()
                })
                .await
                .map(|_| ())
        } else {
            points
                .upsert(UpsertRequest {
                    collection: "crash".into(),
                    points: ids
                        .iter()
                        .map(|&id| Point {
                            id: id.to_string(),
                            vector: vector_of(id, version),
                            payload: Some(payload(
                                json!({"id": id, "version": version, "writer": w}),
                            )),
                            ..Default::default()
                        })
                        .collect(),
                })
                .await
                .map(|_| ())
        };
        match result {
            Ok(()) => {
                let mut m = model.lock().await;
                m.acked.extend(planned);
                m.in_flight = None;
            }
            // The server is gone: the batch stays in flight (unknown outcome).
            Err(_) => return,
        }
    }
}

/// The state the server holds for each of `ids`.
async fn server_states(server: &TestServer, ids: &[u64]) -> HashMap<u64, (State, Vec<f32>)> {
    let got = server
        .points()
        .await
        .get(GetRequest {
            collection: "crash".into(),
            ids: ids.iter().map(u64::to_string).collect(),
            with_vector: true,
        })
        .await
        .expect("get after restart")
        .into_inner()
        .points;
    got.into_iter()
        .map(|p| {
            let fields = &p.payload.as_ref().expect("payload kept").fields;
            let number = |key: &str| match fields.get(key).map(|v| &v.kind) {
                Some(Some(prost_types::value::Kind::NumberValue(v))) => Some(*v as u64),
                None => None,
                Some(other) => panic!("point {} has a bad payload: {other:?}", p.id),
            };
            let version = number("version").expect("a version in every payload");
            let state = State::Version(version, number("tag").unwrap_or(0));
            (p.id.parse().unwrap(), (state, p.vector))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_nothing() {
    let trials: usize = std::env::var("CLIPDB_CRASH_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Small segments, so that trials cross seals; a compactor that looks
    // often, so that kills land inside compactions too.
    // Growing graphs checkpointed every 100 points, so kills land inside
    // checkpoint writes too and restarts load checkpoints.
    let args = [
        "--segment-capacity",
        "1500",
        "--compaction-interval-ms",
        "20",
        "--graph-checkpoint-points",
        "100",
    ];
    {
        let mut server = TestServer::start(&data, &args);
        server
            .collections()
            .await
            .create_collection(create_request("crash", DIM as u32))
            .await
            .unwrap();
        server.kill();
    }
    let models: Vec<Arc<Mutex<Model>>> = (0..WRITERS).map(|_| Arc::default()).collect();
    let mut rng = Rng(0xC0FFEE);
    let (mut acked_batches_checked, mut in_flight_applied, mut in_flight_dropped) = (0, 0, 0);
    let mut restarts_from_checkpoint = 0;
    // Trial t checks what trial t-1's kill left; the last start only checks.
    for trial in 0..=trials {
        let mut server = TestServer::start(&data, &args);

        // Check the previous trial's outcome against the models.
        let all_ids: Vec<u64> = (0..WRITERS as u64 * IDS_PER_WRITER).collect();
        let stored = server_states(&server, &all_ids).await;
        for model in &models {
            let mut m = model.lock().await;
            let in_flight = m.in_flight.take();
            let mut applied = None;
            if let Some(batch) = &in_flight {
                // All or nothing: compare only ids whose state would change.
                let outcomes: Vec<bool> = batch
                    .iter()
                    .filter(|(id, new)| m.acked.get(id).copied().unwrap_or(State::Absent) != *new)
                    .map(|(id, new)| {
                        let now = stored.get(id).map(|s| s.0).unwrap_or(State::Absent);
                        assert!(
                            now == *new || now == m.acked.get(id).copied().unwrap_or(State::Absent),
                            "trial {trial}: id {id} is {now:?}, neither acknowledged nor in flight"
                        );
                        now == *new
                    })
                    .collect();
                if !outcomes.is_empty() {
                    let all = outcomes.iter().all(|&b| b);
                    let none = outcomes.iter().all(|&b| !b);
                    assert!(
                        all || none,
                        "trial {trial}: an unacknowledged batch was half applied"
                    );
                    applied = Some(all);
                }
            }
            if applied == Some(true) {
                in_flight_applied += 1;
                m.acked.extend(in_flight.clone().unwrap());
            } else if applied == Some(false) {
                in_flight_dropped += 1;
            }
            for (id, expected) in &m.acked {
                let now = stored.get(id);
                match (expected, now) {
                    (State::Absent, None) => {}
                    (State::Absent, Some(s)) => {
                        panic!(
                            "trial {trial}: id {id} was deleted (acknowledged) but is {:?}",
                            s.0
                        )
                    }
                    (State::Version(v, tag), Some((State::Version(got, got_tag), vector)))
                        if got == v && got_tag == tag =>
                    {
                        assert!(
                            max_abs_diff(vector, &vector_of(*id, *v)) < 1e-5,
                            "trial {trial}: id {id} version {v} has a corrupt vector"
                        );
                    }
                    (State::Version(v, _), other) => panic!(
                        "trial {trial}: id {id} acknowledged at version {v} but is {:?}",
                        other.map(|s| s.0)
                    ),
                }
            }
            acked_batches_checked += 1;
        }
        // Searchable too, whatever the growing graph was restored from (a
        // checkpoint plus the points after it, or a rebuild): every live
        // point is found by its own vector.
        let info = server
            .collections()
            .await
            .get_collection(GetCollectionRequest {
                name: "crash".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if info
            .segments
            .iter()
            .any(|s| !s.sealed && s.graph_source == GraphSource::Checkpoint as i32)
        {
            restarts_from_checkpoint += 1;
        }
        let mut points = server.points().await;
        for (id, (state, vector)) in stored.iter().take(40) {
            if let State::Version(..) = state {
                let hits = points
                    .search(SearchRequest {
                        ef: 256,
                        ..search_vector("crash", vector.clone(), 1)
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .hits;
                assert_eq!(
                    hits.first().map(|h| h.id.as_str()),
                    Some(id.to_string().as_str()),
                    "trial {trial}: id {id} is not found by its own vector"
                );
            }
        }

        if trial == trials {
            let info = server
                .collections()
                .await
                .get_collection(GetCollectionRequest {
                    name: "crash".into(),
                })
                .await
                .unwrap()
                .into_inner();
            let newest = info.segments.iter().map(|s| s.id).max().unwrap_or(0);
            println!(
                "after the last restart: {} points in {} segments ({} sealed); {} segments compacted away",
                info.point_count,
                info.segment_count,
                info.segments.iter().filter(|s| s.sealed).count(),
                newest as usize - info.segments.len()
            );
            break;
        }
        // Run the workload and kill the server at a random moment.
        let mut tasks = Vec::new();
        for (w, model) in models.iter().enumerate() {
            tasks.push(tokio::spawn(writer(
                server.url(),
                w,
                model.clone(),
                (trial * WRITERS + w) as u64 + 1,
            )));
        }
        tokio::time::sleep(Duration::from_millis(30 + rng.below(400))).await;
        server.kill();
        for t in tasks {
            t.await.unwrap();
        }
    }
    let acked: usize = {
        let mut n = 0;
        for m in &models {
            n += m.lock().await.acked.len();
        }
        n
    };
    println!(
        "crash harness: {trials} kill -9 trials, 0 acknowledged writes lost; {acked} ids tracked, \
         {acked_batches_checked} writer checks, in-flight batches at the kill: {in_flight_applied} applied, \
         {in_flight_dropped} not applied, none half-applied; {restarts_from_checkpoint} restarts \
         loaded the growing graph from its checkpoint"
    );
    assert!(
        restarts_from_checkpoint > 0,
        "no restart loaded a graph checkpoint: the harness no longer covers them"
    );
}

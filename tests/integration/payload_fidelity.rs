//! Payloads come back exactly as they were sent: every number bit for bit
//! (random doubles, integers beyond 2^53, negative zero, subnormal and huge
//! exponents, deep nesting) while the server runs, after a graceful restart,
//! after kill -9, after compaction moved them and after a snapshot restore;
//! and nesting deeper than the documented limit is INVALID_ARGUMENT naming
//! it, wherever in the stack the refusal happens.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clipdb::proto::*;
use prost_types::value::Kind;
use tonic::Code;

use crate::common::*;

const DIM: usize = 4;
const POINTS: usize = 400;
const SEGMENT_CAPACITY: u32 = 100;
/// The documented payload nesting limit (docs/api.md).
const MAX_DEPTH: usize = 32;

fn number(n: f64) -> prost_types::Value {
    prost_types::Value {
        kind: Some(Kind::NumberValue(n)),
    }
}

fn object(fields: Vec<(&str, prost_types::Value)>) -> prost_types::Struct {
    prost_types::Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

/// `leaf` under `levels` nested objects: at nesting depth `levels` when it
/// is the value of a top-level payload field.
fn nested(levels: usize, leaf: prost_types::Value) -> prost_types::Value {
    (0..levels).fold(leaf, |inner, _| prost_types::Value {
        kind: Some(Kind::StructValue(object(vec![("a", inner)]))),
    })
}

/// Doubles whose text form is hard to read back exactly.
fn tricky_numbers() -> Vec<f64> {
    let two = |e: i32| 2f64.powi(e);
    vec![
        0.9452706955539223, // came back as ...224 after a restart
        -0.0,
        5e-324,                 // smallest subnormal
        2.225073858507201e-308, // largest subnormal
        f64::MIN_POSITIVE,
        1.7976931348623157e308,
        -1.7976931348623157e308,
        1e-300,
        1e300,
        two(53) + 2.0, // integers beyond 2^53, as doubles
        two(60) + two(8),
        two(63),
        two(64),
        -two(62) - two(10),
        1e22,
        1e23,
        0.1,
        1.0 / 3.0,
        123456789012345680000.0,
    ]
}

fn random_double(rng: &mut SplitMix64) -> f64 {
    // Half uniform in [0, 1) (like the report's), half any finite bits.
    if rng.next().is_multiple_of(2) {
        (rng.next() >> 11) as f64 / (1u64 << 53) as f64
    } else {
        loop {
            let x = f64::from_bits(rng.next());
            if x.is_finite() {
                return x;
            }
        }
    }
}

/// The points with their payloads: five random doubles each, tricky ones
/// spread over the first points, and a value nested to the limit.
fn workload() -> BTreeMap<String, Point> {
    let mut rng = SplitMix64(0x5eed_f1de);
    let tricky = tricky_numbers();
    let vectors = random_unit_vectors(POINTS, DIM, 7);
    vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let id = format!("p{i:04}");
            let mut fields = vec![
                ("x", number(random_double(&mut rng))),
                (
                    "list",
                    prost_types::Value {
                        kind: Some(Kind::ListValue(prost_types::ListValue {
                            values: (0..3).map(|_| number(random_double(&mut rng))).collect(),
                        })),
                    },
                ),
                ("deep", nested(MAX_DEPTH, number(random_double(&mut rng)))),
            ];
            if let Some(t) = tricky.get(i) {
                fields.push(("tricky", number(*t)));
            }
            let point = Point {
                payload: Some(object(fields)),
                ..vector_point(id.clone(), v)
            };
            (id, point)
        })
        .collect()
}

/// Panics unless `got` equals `want` with every number bit-identical
/// (`==` would take -0.0 for 0.0).
fn assert_identical(want: &prost_types::Value, got: &prost_types::Value, at: &str) {
    match (&want.kind, &got.kind) {
        (Some(Kind::NumberValue(a)), Some(Kind::NumberValue(b))) => assert_eq!(
            a.to_bits(),
            b.to_bits(),
            "{at}: sent {a:e} ({a:?}), got back {b:e} ({b:?})"
        ),
        (Some(Kind::StructValue(a)), Some(Kind::StructValue(b))) => {
            let keys = |s: &prost_types::Struct| s.fields.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(a), keys(b), "{at}: keys");
            for (k, v) in &a.fields {
                assert_identical(v, &b.fields[k], &format!("{at}.{k}"));
            }
        }
        (Some(Kind::ListValue(a)), Some(Kind::ListValue(b))) => {
            assert_eq!(a.values.len(), b.values.len(), "{at}: list length");
            for (i, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
                assert_identical(x, y, &format!("{at}[{i}]"));
            }
        }
        (a, b) => assert_eq!(a, b, "{at}"),
    }
}

/// Every point of `expected` is stored with exactly its payload, and no
/// other point is.
async fn assert_payloads(server: &TestServer, expected: &BTreeMap<String, Point>, when: &str) {
    let got = server
        .points()
        .await
        .get(GetRequest {
            collection: "c".into(),
            ids: expected.keys().cloned().collect(),
            with_vector: false,
        })
        .await
        .expect("get")
        .into_inner()
        .points;
    assert_eq!(got.len(), expected.len(), "{when}: points found");
    for point in got {
        let want = prost_types::Value {
            kind: Some(Kind::StructValue(
                expected[&point.id].payload.clone().unwrap(),
            )),
        };
        let got = prost_types::Value {
            kind: point.payload.map(Kind::StructValue),
        };
        assert_identical(&want, &got, &format!("{when}: {}", point.id));
    }
    assert_eq!(server.count("c").await, expected.len() as u64, "{when}");
}

async fn start(data: &Path) -> TestServer {
    TestServer::start(data, &["--compaction-interval-ms", "50"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_numbers_survive_restart_kill_compaction_and_snapshot_restore_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut expected = workload();
    let mut server = start(&data).await;
    create_with_segment_capacity(
        &mut server.collections().await,
        "c",
        DIM as u32,
        SEGMENT_CAPACITY,
    )
    .await;
    let points: Vec<Point> = expected.values().cloned().collect();
    for batch in points.chunks(50) {
        server
            .points()
            .await
            .upsert(UpsertRequest {
                collection: "c".into(),
                points: batch.to_vec(),
            })
            .await
            .expect("upsert");
    }
    assert_payloads(&server, &expected, "while running").await;

    server.stop();
    let mut server = start(&data).await;
    assert_payloads(&server, &expected, "after a graceful restart").await;

    server.kill();
    let mut server = start(&data).await;
    assert_payloads(&server, &expected, "after kill -9").await;

    // 60 of the first segment's 100 points deleted: the compactor moves the
    // other 40 (payloads as read back after the restarts) to the growing
    // segment and drops segment 1.
    let deleted: Vec<String> = expected.keys().take(60).cloned().collect();
    server
        .points()
        .await
        .delete(DeleteRequest {
            collection: "c".into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .expect("delete");
    for id in &deleted {
        expected.remove(id);
    }
    for attempt in 0.. {
        let segments = segment_ids(&mut server.collections().await, "c").await;
        if !segments.contains(&1) {
            break;
        }
        assert!(attempt < 300, "segment 1 compacted away: {segments:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_payloads(&server, &expected, "after compaction").await;
    server.stop();
    let mut server = start(&data).await;
    assert_payloads(&server, &expected, "after compaction and a restart").await;

    let snapshot = server
        .collections()
        .await
        .create_snapshot(CreateSnapshotRequest {
            collection: "c".into(),
        })
        .await
        .expect("snapshot")
        .into_inner();
    server.stop();
    let restored = dir.path().join("restored");
    let out = restore(&snapshot.path, &restored, &[]);
    assert!(out.status.success(), "restore: {out:?}");
    let server = start(&restored).await;
    assert_payloads(&server, &expected, "after a snapshot restore").await;
}

#[tokio::test]
async fn payload_nesting_is_limited_where_documented_with_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    server
        .collections()
        .await
        .create_collection(create_request("c", DIM as u32))
        .await
        .unwrap();
    let upsert = |levels: usize| UpsertRequest {
        collection: "c".into(),
        points: vec![Point {
            payload: Some(object(vec![("deep", nested(levels, number(-0.0)))])),
            ..vector_point("deep", vec![1.0, 0.0, 0.0, 0.0])
        }],
    };
    let mut points = server.points().await;
    points
        .upsert(upsert(MAX_DEPTH))
        .await
        .expect("nesting at the limit is accepted");
    // One level more, and far more (which the protobuf decoder refuses
    // before clipdb's own check runs): the same answer, naming the limit,
    // through Upsert and UpsertStream alike.
    for levels in [MAX_DEPTH + 1, MAX_DEPTH + 2, 40, 200] {
        let (status, message) = code(points.upsert(upsert(levels)).await);
        assert_eq!(status, Code::InvalidArgument, "{levels} levels: {message}");
        assert!(
            message.contains(&format!("at most {MAX_DEPTH} levels"))
                || message.contains(&format!("deeper than {MAX_DEPTH} levels")),
            "{levels} levels: {message}"
        );
        let streamed = points
            .upsert_stream(tokio_stream::iter(vec![upsert(levels)]))
            .await;
        let (status, message) = code(streamed);
        assert_eq!(
            status,
            Code::InvalidArgument,
            "stream, {levels} levels: {message}"
        );
    }
    // Nothing of the refused requests was stored; the accepted one is intact.
    assert_eq!(server.count("c").await, 1);
    let got = points
        .get(GetRequest {
            collection: "c".into(),
            ids: vec!["deep".into()],
            with_vector: false,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    let want = prost_types::Value {
        kind: Some(Kind::StructValue(object(vec![(
            "deep",
            nested(MAX_DEPTH, number(-0.0)),
        )]))),
    };
    let got = prost_types::Value {
        kind: got[0].payload.clone().map(Kind::StructValue),
    };
    assert_identical(&want, &got, "deep");
}

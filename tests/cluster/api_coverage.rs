//! Every Points and Collections RPC through any node of a cluster answers
//! as a single server does on the same data: payload writes and deletes by
//! id and by filter, Scroll page by page, search by a stored point's id,
//! Recommend, payload indexes; also after a replica was killed and caught
//! up again, and with each write acknowledgement level. Bad input gets the
//! single server's status codes.

use super::*;

const COLLECTION: &str = "items";

/// A request carrying the write acknowledgement header.
fn with_ack<T>(message: T, ack: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("clipdb-write-ack", ack.parse().unwrap());
    request
}

fn group_is(g: f64) -> Filter {
    Filter {
        must: vec![Condition {
            key: "group".into(),
            r#match: Some(condition::Match::Equals(prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(g)),
            })),
        }],
        ..Default::default()
    }
}

fn n_between(gte: f64, lt: f64) -> Filter {
    Filter {
        must: vec![Condition {
            key: "n".into(),
            r#match: Some(condition::Match::Range(Range {
                gte: Some(gte),
                lt: Some(lt),
                ..Default::default()
            })),
        }],
        ..Default::default()
    }
}

/// Every page of a scroll (limit 7, so pages end inside and across shards).
async fn scroll_pages(
    p: &mut PointsClient,
    filter: Option<Filter>,
    with_vector: bool,
) -> Vec<Vec<Point>> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = p
            .scroll(ScrollRequest {
                collection: COLLECTION.into(),
                filter: filter.clone(),
                limit: 7,
                page_token: token.clone(),
                with_payload: true,
                with_vector,
            })
            .await
            .expect("scroll")
            .into_inner();
        pages.push(page.points);
        if page.next_page_token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "scroll does not end");
        token = page.next_page_token;
    }
}

/// Scrolls (whole state, then filtered) through node `node` equal the
/// single server's, page by page.
async fn assert_scrolls_equal(
    cluster: &Cluster,
    node: usize,
    single: &mut PointsClient,
    when: &str,
) {
    let mut p = cluster.points(node).await;
    let variants = [
        (None, true),
        (Some(group_is(2.0)), false),
        (Some(n_between(50.0, 250.0)), false),
    ];
    for (filter, with_vector) in variants {
        let expected = scroll_pages(single, filter.clone(), with_vector).await;
        let got = scroll_pages(&mut p, filter.clone(), with_vector).await;
        assert!(expected.iter().map(Vec::len).sum::<usize>() > 0);
        assert_eq!(
            got.len(),
            expected.len(),
            "{when}: node {node}, filter {filter:?}: number of pages"
        );
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(g, e, "{when}: node {node}, filter {filter:?}, page {i}");
        }
    }
}

/// Search by a stored point's id and Recommend through node `node` equal
/// the single server's (ids, scores, payloads), with and without filters.
async fn assert_similarity_equal(
    cluster: &Cluster,
    node: usize,
    single: &mut PointsClient,
    ids: &[String],
    when: &str,
) {
    let mut p = cluster.points(node).await;
    for (q, id) in ids.iter().enumerate() {
        for filter in [None, Some(group_is((q % 5) as f64))] {
            let request = SearchRequest {
                collection: COLLECTION.into(),
                query: Some(search_request::Query::Id(id.clone())),
                limit: 8,
                offset: (q % 2) as u32,
                filter: filter.clone(),
                with_payload: true,
                ..Default::default()
            };
            let expected = single.search(request.clone()).await.unwrap().into_inner();
            let got = p.search(request).await.expect("search by id").into_inner();
            assert!(!expected.hits.is_empty());
            assert!(got.hits.iter().all(|h| &h.id != id), "{id} left out");
            assert_eq!(got.hits, expected.hits, "{when}: node {node}, by id {id}");
        }
        let other = &ids[(q + 1) % ids.len()];
        let far = &ids[(q + 2) % ids.len()];
        let recommend = RecommendRequest {
            collection: COLLECTION.into(),
            positive_ids: vec![id.clone(), other.clone()],
            positive_vectors: vec![Vector {
                values: random_unit_vectors(1, 16, 500 + q as u64).remove(0),
            }],
            negative_ids: vec![far.clone()],
            limit: 9,
            with_payload: true,
            filter: (q % 2 == 0).then(|| n_between(0.0, 300.0)),
            ..Default::default()
        };
        let expected = single
            .recommend(recommend.clone())
            .await
            .unwrap()
            .into_inner();
        let got = p
            .recommend(recommend)
            .await
            .expect("recommend")
            .into_inner();
        assert!(!expected.hits.is_empty());
        assert_eq!(
            got.hits, expected.hits,
            "{when}: node {node}, recommend {id}"
        );
    }
}

#[tokio::test]
async fn every_points_rpc_through_any_node_equals_a_single_node() {
    let _one = CLUSTER_LOCK.lock().await;
    let mut cluster = Cluster::start(3);
    let single_dir = tempfile::tempdir().unwrap();
    let single = TestServer::start(single_dir.path(), &[]);
    let mut sp = single.points().await;
    let dim = 16;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded(COLLECTION, dim as u32, 4, 2))
        .await
        .expect("create sharded");
    single
        .collections()
        .await
        .create_collection(common::create_request(COLLECTION, dim as u32))
        .await
        .unwrap();
    let points: Vec<Point> = random_unit_vectors(360, dim, 11)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Point {
            payload: Some(payload(serde_json::json!({
                "group": i % 5, "n": i, "tag": format!("t{}", i % 3), "meta": {"a": i % 2, "b": "x"}
            }))),
            ..vector_point(format!("p{i:03}"), v)
        })
        .collect();
    for (b, batch) in points.chunks(90).enumerate() {
        let request = UpsertRequest {
            collection: COLLECTION.into(),
            points: batch.to_vec(),
        };
        sp.upsert(request.clone()).await.unwrap();
        cluster
            .points(b % 3)
            .await
            .upsert(request)
            .await
            .expect("cluster upsert");
    }

    // Each write through another node; the counts it reports equal the
    // single server's.
    macro_rules! both {
        ($node:expr, $method:ident, $request:expr, $field:ident) => {{
            let request = $request;
            let expected = sp
                .$method(request.clone())
                .await
                .unwrap()
                .into_inner()
                .$field;
            let got = cluster
                .points($node)
                .await
                .$method(request)
                .await
                .unwrap_or_else(|e| panic!("cluster {}: {e}", stringify!($method)))
                .into_inner()
                .$field;
            assert_eq!(
                got,
                expected,
                "{} through node {}",
                stringify!($method),
                $node
            );
            got
        }};
    }
    let some_ids: Vec<String> = (0..360).step_by(7).map(|i| format!("p{i:03}")).collect();
    let mut with_missing = some_ids.clone();
    with_missing.push("nowhere".into());
    let n = both!(
        0,
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            ids: with_missing.clone(),
            payload: Some(payload(serde_json::json!({"color": "red", "n": 1000}))),
            ..Default::default()
        },
        updated
    );
    assert_eq!(n, some_ids.len() as u64);
    let n = both!(
        1,
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(2.0)),
            payload: Some(payload(serde_json::json!({"flag": true}))),
            ..Default::default()
        },
        updated
    );
    assert!(n > 0);
    both!(
        2,
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            ids: vec!["p001".into(), "p002".into(), "p100".into()],
            payload: Some(payload(serde_json::json!({"group": 4, "n": 7}))),
            replace: true,
            ..Default::default()
        },
        updated
    );
    let n = both!(
        0,
        delete_payload_keys,
        DeletePayloadKeysRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(1.0)),
            keys: vec!["tag".into(), "meta.a".into()],
            ..Default::default()
        },
        updated
    );
    assert!(n > 0);
    both!(
        1,
        delete_payload_keys,
        DeletePayloadKeysRequest {
            collection: COLLECTION.into(),
            ids: some_ids[..10].to_vec(),
            keys: vec!["color".into()],
            ..Default::default()
        },
        updated
    );
    let n = both!(
        2,
        delete,
        DeleteRequest {
            collection: COLLECTION.into(),
            filter: Some(Filter {
                must_not: vec![group_is(3.0).must.remove(0)],
                ..n_between(300.0, 340.0)
            }),
            ..Default::default()
        },
        deleted
    );
    assert!(n > 0);
    // A filter matching nothing deletes nothing on any shard.
    let n = both!(
        0,
        delete,
        DeleteRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(77.0)),
            ..Default::default()
        },
        deleted
    );
    assert_eq!(n, 0);

    // Payload indexes: recorded in the config, reported by every node,
    // filtered reads unchanged.
    let index = CreatePayloadIndexRequest {
        collection: COLLECTION.into(),
        key: "group".into(),
        r#type: PayloadIndexType::PayloadIndexInteger as i32,
    };
    single
        .collections()
        .await
        .create_payload_index(index.clone())
        .await
        .unwrap();
    let created = collections_client(&cluster.url(1))
        .await
        .create_payload_index(index.clone())
        .await
        .expect("cluster create index")
        .into_inner();
    assert_eq!(created.key, "group");
    // Again: a no-op, as on a single server.
    collections_client(&cluster.url(2))
        .await
        .create_payload_index(index.clone())
        .await
        .expect("the same index again");
    for node in 0..3 {
        let info = collections_client(&cluster.url(node))
            .await
            .get_collection(GetCollectionRequest {
                name: COLLECTION.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let keys: Vec<(String, i32)> = info
            .payload_indexes
            .iter()
            .map(|i| (i.key.clone(), i.r#type))
            .collect();
        assert_eq!(
            keys,
            vec![("group".to_string(), index.r#type)],
            "node {node}"
        );
    }

    for node in 0..3 {
        assert_scrolls_equal(&cluster, node, &mut sp, "after the writes").await;
    }
    let probes: Vec<String> = ["p000", "p105", "p101", "p202", "p359", "p250"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for node in 0..3 {
        assert_similarity_equal(&cluster, node, &mut sp, &probes, "after the writes").await;
        let mut p = cluster.points(node).await;
        for filter in [Some(group_is(2.0)), Some(group_is(4.0)), None] {
            let request = SearchRequest {
                filter: filter.clone(),
                with_payload: true,
                ..search_vector(COLLECTION, random_unit_vectors(1, dim, 77).remove(0), 10)
            };
            let expected = sp.search(request.clone()).await.unwrap().into_inner();
            let got = p.search(request).await.unwrap().into_inner();
            assert_eq!(got.hits, expected.hits, "indexed filter {filter:?}");
        }
    }

    // Bad input: the single server's codes, from any node.
    let mut cp = cluster.points(1).await;
    macro_rules! same_error {
        ($method:ident, $request:expr, $what:expr) => {{
            let request = $request;
            let (expected, expected_message) = code(sp.$method(request.clone()).await);
            let (got, message) = code(cp.$method(request).await);
            assert_eq!(
                got, expected,
                "{}: {message} (single: {expected_message})",
                $what
            );
            message
        }};
    }
    let scroll = |token: &str, limit: u32| ScrollRequest {
        collection: COLLECTION.into(),
        page_token: token.into(),
        limit,
        ..Default::default()
    };
    let m = same_error!(scroll, scroll("not-a-token!", 5), "bad page token");
    assert!(m.contains("page_token"), "{m}");
    same_error!(scroll, scroll("", 20_000), "scroll limit too large");
    same_error!(
        scroll,
        ScrollRequest {
            collection: "missing".into(),
            ..scroll("", 5)
        },
        "scroll of a missing collection"
    );
    same_error!(
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            ids: vec!["p000".into()],
            filter: Some(group_is(1.0)),
            payload: Some(payload(serde_json::json!({"a": 1}))),
            ..Default::default()
        },
        "ids and filter"
    );
    same_error!(
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            ids: vec!["p000".into()],
            ..Default::default()
        },
        "no keys to set"
    );
    same_error!(
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            payload: Some(payload(serde_json::json!({"a": 1}))),
            ..Default::default()
        },
        "neither ids nor filter"
    );
    same_error!(
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            ids: vec![String::new()],
            payload: Some(payload(serde_json::json!({"a": 1}))),
            ..Default::default()
        },
        "an empty id"
    );
    same_error!(
        delete_payload_keys,
        DeletePayloadKeysRequest {
            collection: COLLECTION.into(),
            ids: vec!["p000".into()],
            ..Default::default()
        },
        "no keys"
    );
    same_error!(
        delete,
        DeleteRequest {
            collection: COLLECTION.into(),
            ids: vec!["p000".into()],
            filter: Some(group_is(1.0)),
        },
        "delete by ids and filter"
    );
    let m = same_error!(
        search,
        SearchRequest {
            collection: COLLECTION.into(),
            query: Some(search_request::Query::Id("nowhere".into())),
            ..Default::default()
        },
        "search by a missing id"
    );
    assert!(m.contains("nowhere") && m.contains("query.id"), "{m}");
    same_error!(
        recommend,
        RecommendRequest {
            collection: COLLECTION.into(),
            negative_ids: vec!["p000".into()],
            ..Default::default()
        },
        "recommend without positives"
    );
    let m = same_error!(
        recommend,
        RecommendRequest {
            collection: COLLECTION.into(),
            positive_ids: vec!["p000".into(), "nowhere".into()],
            ..Default::default()
        },
        "recommend with a missing id"
    );
    assert!(m.contains("positive_ids[1]"), "{m}");
    let nothing_changed = scroll_pages(&mut cp, None, false).await;
    let mut sc = single.collections().await;
    let mut cc = collections_client(&cluster.url(2)).await;
    let conflicting = CreatePayloadIndexRequest {
        r#type: PayloadIndexType::PayloadIndexKeyword as i32,
        ..index.clone()
    };
    let expected = code(sc.create_payload_index(conflicting.clone()).await).0;
    assert_eq!(code(cc.create_payload_index(conflicting).await).0, expected);
    let unknown = DeletePayloadIndexRequest {
        collection: COLLECTION.into(),
        key: "nothing".into(),
    };
    let expected = code(sc.delete_payload_index(unknown.clone()).await).0;
    assert_eq!(code(cc.delete_payload_index(unknown).await).0, expected);
    let bad_key = CreatePayloadIndexRequest {
        key: "a..b".into(),
        ..index.clone()
    };
    let expected = code(sc.create_payload_index(bad_key.clone()).await).0;
    assert_eq!(code(cc.create_payload_index(bad_key).await).0, expected);
    let (c, m) = code(
        cp.upsert(with_ack(
            UpsertRequest {
                collection: COLLECTION.into(),
                points: points[..1].to_vec(),
            },
            "maybe",
        ))
        .await,
    );
    assert_eq!(c, tonic::Code::InvalidArgument, "{m}");
    assert!(m.contains("clipdb-write-ack"), "{m}");
    assert_eq!(scroll_pages(&mut cp, None, false).await, nothing_changed);

    // A replica killed: writes by filter keep working through the others;
    // restarted, it applies them at the same log positions and ends equal.
    cluster.kill_node(2);
    for _ in 0..200 {
        if cluster
            .status(0)
            .await
            .nodes
            .iter()
            .any(|n| n.id == "n2" && !n.live)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    both!(
        0,
        delete,
        DeleteRequest {
            collection: COLLECTION.into(),
            filter: Some(n_between(0.0, 40.0)),
            ..Default::default()
        },
        deleted
    );
    both!(
        1,
        set_payload,
        SetPayloadRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(0.0)),
            payload: Some(payload(serde_json::json!({"after": "kill"}))),
            ..Default::default()
        },
        updated
    );
    // New points matching the filter of the next write, so its result
    // depends on its position after them.
    let late: Vec<Point> = random_unit_vectors(30, dim, 12)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Point {
            payload: Some(payload(serde_json::json!({"group": 3, "n": 500 + i}))),
            ..vector_point(format!("q{i:02}"), v)
        })
        .collect();
    let request = UpsertRequest {
        collection: COLLECTION.into(),
        points: late,
    };
    sp.upsert(request.clone()).await.unwrap();
    cluster.points(1).await.upsert(request).await.unwrap();
    both!(
        0,
        delete_payload_keys,
        DeletePayloadKeysRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(3.0)),
            keys: vec!["n".into()],
            ..Default::default()
        },
        updated
    );
    collections_client(&cluster.url(0))
        .await
        .delete_payload_index(DeletePayloadIndexRequest {
            collection: COLLECTION.into(),
            key: "group".into(),
        })
        .await
        .expect("cluster drop index");
    sc.delete_payload_index(DeletePayloadIndexRequest {
        collection: COLLECTION.into(),
        key: "group".into(),
    })
    .await
    .unwrap();
    for node in 0..2 {
        assert_scrolls_equal(&cluster, node, &mut sp, "with a replica down").await;
    }
    cluster.start_node(2);
    cluster.wait_caught_up(0).await;
    assert_scrolls_equal(&cluster, 2, &mut sp, "after catching up").await;
    assert_similarity_equal(&cluster, 2, &mut sp, &probes[..3], "after catching up").await;
    let info = collections_client(&cluster.url(2))
        .await
        .get_collection(GetCollectionRequest {
            name: COLLECTION.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(info.payload_indexes.is_empty());
    assert_eq!(info.point_count, single.count(COLLECTION).await);

    // Acknowledgement levels: each write is in the log when acknowledged;
    // once the replicas caught up every node answers as the single server.
    for (node, ack) in [
        (0, "log-only"),
        (1, "one-replica"),
        (2, "all-live-replicas"),
    ] {
        let request = SetPayloadRequest {
            collection: COLLECTION.into(),
            filter: Some(group_is(4.0)),
            payload: Some(payload(serde_json::json!({ "ack": ack }))),
            ..Default::default()
        };
        let expected = sp.set_payload(request.clone()).await.unwrap().into_inner();
        let got = cluster
            .points(node)
            .await
            .set_payload(with_ack(request, ack))
            .await
            .unwrap_or_else(|e| panic!("{ack}: {e}"))
            .into_inner();
        if ack != "log-only" {
            assert_eq!(got.updated, expected.updated, "{ack}");
        }
        let upsert = UpsertRequest {
            collection: COLLECTION.into(),
            points: vec![vector_point(
                format!("ack-{ack}"),
                random_unit_vectors(1, dim, node as u64).remove(0),
            )],
        };
        sp.upsert(upsert.clone()).await.unwrap();
        let upserted = cluster
            .points(node)
            .await
            .upsert(with_ack(upsert, ack))
            .await
            .unwrap()
            .into_inner()
            .upserted;
        assert_eq!(upserted, 1, "{ack}");
    }
    cluster.wait_caught_up(1).await;
    for node in 0..3 {
        assert_scrolls_equal(&cluster, node, &mut sp, "after the ack levels").await;
    }
}

const CLUSTER_KEY: &str = "cluster-test-key";

fn present_cluster_key(
    mut request: tonic::Request<()>,
) -> Result<tonic::Request<()>, tonic::Status> {
    request
        .metadata_mut()
        .insert("x-api-key", CLUSTER_KEY.parse().unwrap());
    Ok(request)
}

/// A CA, and one certificate it signed for localhost and 127.0.0.1 that
/// every node serves (and presents to the others as a client).
pub(crate) fn write_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let write = |name: &str, pem: String| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p
    };
    (
        write("ca.pem", ca.pem()),
        write("node.pem", cert.pem()),
        write("node.key", key.serialize_pem()),
    )
}

#[tokio::test]
async fn nodes_serving_tls_and_api_keys_call_each_other_with_them() {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    let _one = CLUSTER_LOCK.lock().await;
    let pki_dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = write_pki(pki_dir.path());
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    // Mutual TLS and an API key on every node: the node-to-node calls
    // (replicas confirming writes, shard reads) need all three.
    let secure_args: Vec<String> = [
        "--tls-cert",
        &path(&cert),
        "--tls-key",
        &path(&key),
        "--tls-client-ca",
        &path(&ca),
        "--api-key",
        CLUSTER_KEY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut args = secure_args.clone();
    args.extend(["--cluster-tls-ca".to_string(), path(&ca)]);
    let cluster = Cluster::start_with(2, args);

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&ca).unwrap()))
        .identity(Identity::from_pem(
            std::fs::read(&cert).unwrap(),
            std::fs::read(&key).unwrap(),
        ))
        .domain_name("localhost");
    let channel = |i: usize| {
        Channel::from_shared(format!("https://{}", cluster.addrs[i]))
            .unwrap()
            .tls_config(tls.clone())
            .unwrap()
            .connect_lazy()
    };
    let points =
        |i: usize| points_client::PointsClient::with_interceptor(channel(i), present_cluster_key);
    // Two shards, one replica each: every write and read through one node
    // reaches the other node's shard.
    let info =
        collections_client::CollectionsClient::with_interceptor(channel(0), present_cluster_key)
            .create_collection(sharded("secure", 8, 2, 1))
            .await
            .expect("create over TLS with the key")
            .into_inner();
    let holders: Vec<&str> = info
        .shard_details
        .iter()
        .map(|s| s.replicas[0].node.as_str())
        .collect();
    assert!(
        holders.contains(&"n0") && holders.contains(&"n1"),
        "{holders:?}"
    );
    let vectors = random_unit_vectors(60, 8, 5);
    let batch: Vec<Point> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| vector_point(format!("s{i:02}"), v.clone()))
        .collect();
    let upserted = points(0)
        .upsert(UpsertRequest {
            collection: "secure".into(),
            points: batch,
        })
        .await
        .expect("upsert confirmed by the other node over TLS")
        .into_inner()
        .upserted;
    assert_eq!(upserted, 60);
    for node in 0..2 {
        let mut p = points(node);
        let hits = p
            .search(search_vector("secure", vectors[7].clone(), 60))
            .await
            .expect("search across both nodes")
            .into_inner()
            .hits;
        assert_eq!(hits.len(), 60, "node {node}");
        assert_eq!(hits[0].id, "s07");
        let count = p
            .count(CountRequest {
                collection: "secure".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .count;
        assert_eq!(count, 60);
    }
    // Without the key: refused, as on a single server.
    let (c, _) = code(
        points_client::PointsClient::new(channel(1))
            .count(CountRequest {
                collection: "secure".into(),
                ..Default::default()
            })
            .await,
    );
    assert_eq!(c, tonic::Code::Unauthenticated);

    // `clipdb cluster status` speaks TLS with the key like the other
    // client commands.
    let status = |with_key: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clipdb"));
        command
            .args(["cluster", "status", "--server"])
            .arg(format!(
                "https://localhost:{}",
                cluster.addrs[1].rsplit(':').next().unwrap()
            ))
            .args(["--tls-ca", &path(&ca)])
            .args(["--tls-client-cert", &path(&cert)])
            .args(["--tls-client-key", &path(&key)])
            .env_remove("CLIPDB_API_KEY");
        if with_key {
            command.args(["--api-key", CLUSTER_KEY]);
        }
        command.output().unwrap()
    };
    let out = status(true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("n0") && stdout.contains("n1") && stdout.contains("secure"),
        "{stdout}"
    );
    let out = status(false);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthenticated"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A node serving TLS without the CA of the others is refused at start.
    let data = tempfile::tempdir().unwrap();
    let mut refused = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--http-listen", "off"])
        .args(["--model", "none", "--data-dir"])
        .arg(data.path())
        .args(["--nats", &cluster.nats.urls(), "--node-id", "n9"])
        .args(&secure_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut exited = None;
    for _ in 0..600 {
        if let Some(s) = refused.try_wait().unwrap() {
            exited = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let Some(exit) = exited else {
        let _ = refused.kill();
        panic!("a node serving TLS without --cluster-tls-ca started");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut refused.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!exit.success());
    assert!(stderr.contains("--cluster-tls-ca"), "{stderr}");
}

//! The point API beyond upsert/get/search: Scroll, filtered Count and
//! Delete, SetPayload and DeletePayloadKeys, the richer filter conditions,
//! search thresholds, offsets and payload projection, and Recommend, each
//! through the real server against a client-side model.

use std::collections::{BTreeMap, BTreeSet};

use clipdb::proto::*;
use serde_json::json;
use tonic::Code;

use crate::common::*;

const DIM: usize = 8;

fn condition(key: &str, m: condition::Match) -> Condition {
    Condition {
        key: key.into(),
        r#match: Some(m),
    }
}

fn equals(key: &str, v: serde_json::Value) -> Condition {
    condition(key, condition::Match::Equals(json_value(v)))
}

fn json_value(v: serde_json::Value) -> prost_types::Value {
    payload(json!({ "v": v })).fields.remove("v").unwrap()
}

fn must(conditions: Vec<Condition>) -> Option<Filter> {
    Some(Filter {
        must: conditions,
        ..Default::default()
    })
}

/// `n` points `p000`.. with payloads {n: i, colour: red|green|blue, tags, caption}.
fn points(n: usize) -> Vec<Point> {
    let colours = ["red", "green", "blue"];
    random_unit_vectors(n, DIM, 3)
        .into_iter()
        .enumerate()
        .map(|(i, v)| Point {
            payload: Some(payload(json!({
                "n": i,
                "colour": colours[i % 3],
                "tags": if i % 5 == 0 { json!([]) } else { json!(["t", format!("t{}", i % 4)]) },
                "caption": format!("A photo of Bus number {i}"),
                "meta": {"source": if i % 2 == 0 { "coco" } else { "web" }, "year": 2000 + i % 10},
            }))),
            ..vector_point(format!("p{i:03}"), v)
        })
        .collect()
}

async fn server_with(n: usize) -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    server
        .collections()
        .await
        .create_collection(create_request("c", DIM as u32))
        .await
        .unwrap();
    server
        .points()
        .await
        .upsert(UpsertRequest {
            collection: "c".into(),
            points: points(n),
        })
        .await
        .unwrap();
    (dir, server)
}

async fn count(server: &TestServer, filter: Option<Filter>) -> u64 {
    server
        .points()
        .await
        .count(CountRequest {
            collection: "c".into(),
            filter,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count
}

/// Every page of a scroll, following tokens; `between` runs between pages.
async fn scroll_all(
    server: &TestServer,
    limit: u32,
    filter: Option<Filter>,
    mut between: impl FnMut(usize) -> Option<UpsertRequest>,
) -> Vec<Vec<String>> {
    let mut p = server.points().await;
    let mut token = String::new();
    let mut pages = Vec::new();
    loop {
        let page = p
            .scroll(ScrollRequest {
                collection: "c".into(),
                filter: filter.clone(),
                limit,
                page_token: token.clone(),
                with_payload: true,
                with_vector: false,
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(page.points.iter().map(|p| p.id.clone()).collect());
        if page.next_page_token.is_empty() {
            return pages;
        }
        token = page.next_page_token;
        if let Some(write) = between(pages.len()) {
            p.upsert(write).await.unwrap();
        }
    }
}

#[tokio::test]
async fn scroll_pages_through_every_point_once_in_id_order_under_concurrent_writes() {
    let (_dir, server) = server_with(250).await;
    let pages = scroll_all(&server, 40, None, |_| None).await;
    assert_eq!(pages.len(), 7);
    let all: Vec<String> = pages.concat();
    let want: Vec<String> = (0..250).map(|i| format!("p{i:03}")).collect();
    assert_eq!(all, want);

    // With a filter: only the matching points, still in order.
    let pages = scroll_all(
        &server,
        7,
        must(vec![equals("colour", json!("blue"))]),
        |_| None,
    )
    .await;
    let blue: Vec<String> = (0..250)
        .filter(|i| i % 3 == 2)
        .map(|i| format!("p{i:03}"))
        .collect();
    assert_eq!(pages.concat(), blue);

    // Writes between pages: points before and after the cursor appear or
    // not, but every point that existed throughout comes exactly once.
    let pages = scroll_all(&server, 30, None, |page| {
        Some(UpsertRequest {
            collection: "c".into(),
            points: vec![
                vector_point(format!("a{page:03}"), vec![1.0; DIM]),
                vector_point(format!("p{:03}x", page * 30), vec![1.0; DIM]),
                vector_point(format!("z{page:03}"), vec![1.0; DIM]),
            ],
        })
    })
    .await;
    let seen: Vec<String> = pages.concat();
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a point came twice");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "in id order");
    for id in &want {
        assert!(unique.contains(id), "{id} missed");
    }
}

#[tokio::test]
async fn bad_page_tokens_are_refused_naming_the_problem() {
    let (_dir, server) = server_with(30).await;
    let mut c = server.collections().await;
    c.create_collection(create_request("other", DIM as u32))
        .await
        .unwrap();
    let mut p = server.points().await;
    let page = |collection: &str, token: &str, limit: u32| ScrollRequest {
        collection: collection.into(),
        page_token: token.into(),
        limit,
        ..Default::default()
    };
    let first = p.scroll(page("c", "", 10)).await.unwrap().into_inner();
    let token = first.next_page_token;
    assert!(!token.is_empty());
    let (status, message) = code(p.scroll(page("other", &token, 10)).await);
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("another collection"), "{message}");
    let mut altered = token.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let (status, message) = code(
        p.scroll(page("c", std::str::from_utf8(&altered).unwrap(), 10))
            .await,
    );
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("page_token"), "{message}");
    let (status, message) = code(p.scroll(page("c", "not a token!", 10)).await);
    assert_eq!(status, Code::InvalidArgument, "{message}");
    let (status, message) = code(p.scroll(page("c", "", 10_001)).await);
    assert_eq!(status, Code::InvalidArgument, "{message}");
    // A token outlives neither a drop nor a re-creation under the same name.
    c.delete_collection(DeleteCollectionRequest { name: "c".into() })
        .await
        .unwrap();
    c.create_collection(create_request("c", DIM as u32))
        .await
        .unwrap();
    let (status, message) = code(p.scroll(page("c", &token, 10)).await);
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("earlier collection"), "{message}");
}

#[tokio::test]
async fn count_and_delete_by_filter_are_exact_and_atomic() {
    let (_dir, server) = server_with(90).await;
    assert_eq!(count(&server, None).await, 90);
    assert_eq!(
        count(&server, must(vec![equals("colour", json!("red"))])).await,
        30
    );
    let range = condition(
        "n",
        condition::Match::Range(Range {
            gte: Some(10.0),
            lt: Some(20.0),
            ..Default::default()
        }),
    );
    assert_eq!(count(&server, must(vec![range.clone()])).await, 10);

    let mut p = server.points().await;
    // Both ids and a filter: refused, nothing deleted.
    let (status, message) = code(
        p.delete(DeleteRequest {
            collection: "c".into(),
            ids: vec!["p000".into()],
            filter: must(vec![range.clone()]),
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("not both"), "{message}");
    assert_eq!(count(&server, None).await, 90);
    let deleted = p
        .delete(DeleteRequest {
            collection: "c".into(),
            ids: vec![],
            filter: must(vec![range]),
        })
        .await
        .unwrap()
        .into_inner()
        .deleted;
    assert_eq!(deleted, 10);
    assert_eq!(count(&server, None).await, 80);
    assert_eq!(
        count(&server, must(vec![equals("colour", json!("red"))])).await,
        27
    );
}

#[tokio::test]
async fn richer_conditions_any_is_empty_has_id_text_and_nested_filters() {
    let (_dir, server) = server_with(60).await;
    let any = condition(
        "meta.year",
        condition::Match::Any(ValueList {
            values: vec![json_value(json!(2001)), json_value(json!(2003))],
        }),
    );
    assert_eq!(count(&server, must(vec![any])).await, 12);
    let empty = condition("tags", condition::Match::IsEmpty(IsEmpty {}));
    assert_eq!(count(&server, must(vec![empty])).await, 12);
    let missing = condition("nope", condition::Match::IsEmpty(IsEmpty {}));
    assert_eq!(count(&server, must(vec![missing])).await, 60);
    let has_id = condition(
        "",
        condition::Match::HasId(IdList {
            ids: vec!["p001".into(), "p002".into(), "p999".into()],
        }),
    );
    assert_eq!(count(&server, must(vec![has_id])).await, 2);
    let text = condition("caption", condition::Match::Text("BUS number 7".into()));
    assert_eq!(count(&server, must(vec![text])).await, 1);
    // colour = red AND (year = 2000 OR source = web)
    let nested = Filter {
        should: vec![
            equals("meta.year", json!(2000)),
            equals("meta.source", json!("web")),
        ],
        ..Default::default()
    };
    let filter = must(vec![
        equals("colour", json!("red")),
        condition("", condition::Match::Filter(nested)),
    ]);
    let want = (0..60)
        .filter(|i| i % 3 == 0 && (i % 10 == 0 || i % 2 == 1))
        .count() as u64;
    assert_eq!(count(&server, filter).await, want);

    // Nesting deeper than 8 levels, an empty `any`, a wordless text: refused.
    let mut deep = Filter::default();
    for _ in 0..9 {
        deep = Filter {
            must: vec![condition("", condition::Match::Filter(deep))],
            ..Default::default()
        };
    }
    let mut p = server.points().await;
    for (filter, expect) in [
        (deep, "at most 8 levels"),
        (
            must(vec![condition(
                "k",
                condition::Match::Any(ValueList::default()),
            )])
            .unwrap(),
            "`any` needs 1 to 10000",
        ),
        (
            must(vec![condition("k", condition::Match::Text("  ...".into()))]).unwrap(),
            "no words",
        ),
    ] {
        let (status, message) = code(
            p.count(CountRequest {
                collection: "c".into(),
                filter: Some(filter),
                ..Default::default()
            })
            .await,
        );
        assert_eq!(status, Code::InvalidArgument, "{message}");
        assert!(message.contains(expect), "{message}");
    }
}

async fn get_all(server: &TestServer, ids: &[&str]) -> BTreeMap<String, Point> {
    server
        .points()
        .await
        .get(GetRequest {
            collection: "c".into(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_payload_and_delete_keys_change_payloads_only_and_survive_kill_9() {
    let (dir, mut server) = server_with(30).await;
    let before = get_all(&server, &["p001", "p002", "p003"]).await;
    let mut p = server.points().await;
    let updated = p
        .set_payload(SetPayloadRequest {
            collection: "c".into(),
            ids: vec!["p001".into(), "p002".into(), "missing".into()],
            payload: Some(payload(json!({"colour": "purple", "reviewed": true}))),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .updated;
    assert_eq!(updated, 2);
    let replaced = p
        .set_payload(SetPayloadRequest {
            collection: "c".into(),
            filter: must(vec![equals("n", json!(3))]),
            payload: Some(payload(json!({"only": 1}))),
            replace: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .updated;
    assert_eq!(replaced, 1);
    let removed = p
        .delete_payload_keys(DeletePayloadKeysRequest {
            collection: "c".into(),
            ids: vec!["p001".into()],
            keys: vec!["meta.year".into(), "tags".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .updated;
    assert_eq!(removed, 1);
    let check = |after: &BTreeMap<String, Point>| {
        let p1 = after["p001"].payload.clone().unwrap();
        assert_eq!(p1.fields["colour"], json_value(json!("purple")));
        assert_eq!(p1.fields["reviewed"], json_value(json!(true)));
        assert!(!p1.fields.contains_key("tags"));
        let meta = payload(json!({"source": "web"}));
        assert_eq!(
            p1.fields["meta"],
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StructValue(meta))
            }
        );
        assert_eq!(
            after["p002"].payload.as_ref().unwrap().fields["n"],
            json_value(json!(2))
        );
        assert_eq!(after["p003"].payload, Some(payload(json!({"only": 1}))));
        for id in ["p001", "p002", "p003"] {
            assert_eq!(
                after[id].vector, before[id].vector,
                "{id}: vectors untouched"
            );
        }
    };
    check(&get_all(&server, &["p001", "p002", "p003"]).await);
    assert_eq!(
        count(&server, must(vec![equals("colour", json!("purple"))])).await,
        2
    );
    // Neither ids nor filter, or no keys: refused.
    let (status, message) = code(
        p.set_payload(SetPayloadRequest {
            collection: "c".into(),
            payload: Some(payload(json!({"x": 1}))),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument, "{message}");
    let (status, _) = code(
        p.delete_payload_keys(DeletePayloadKeysRequest {
            collection: "c".into(),
            ids: vec!["p001".into()],
            ..Default::default()
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument);

    server.kill();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    check(&get_all(&server, &["p001", "p002", "p003"]).await);
}

fn search(limit: u32) -> SearchRequest {
    SearchRequest {
        with_payload: true,
        ..search_vector("c", vec![1.0; DIM], limit)
    }
}

#[tokio::test]
async fn thresholds_offsets_and_payload_fields() {
    let (_dir, server) = server_with(100).await;
    let mut p = server.points().await;
    let all = p.search(search(100)).await.unwrap().into_inner().hits;
    assert_eq!(all.len(), 100);
    // Offset pages are slices of one long ranking.
    for offset in [0u32, 10, 95] {
        let page = p
            .search(SearchRequest {
                offset,
                ..search(10)
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        let want: Vec<&str> = all
            .iter()
            .skip(offset as usize)
            .take(10)
            .map(|h| h.id.as_str())
            .collect();
        let got: Vec<&str> = page.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(got, want, "offset {offset}");
    }
    // A threshold between two scores cuts there.
    let cut = (all[20].score + all[21].score) / 2.0;
    let kept = p
        .search(SearchRequest {
            score_threshold: Some(cut),
            ..search(100)
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(kept.len(), 21);
    // Only the asked payload fields, dotted ones with their path.
    let hit = p
        .search(SearchRequest {
            payload_fields: vec!["colour".into(), "meta.source".into()],
            with_payload: false,
            ..search(1)
        })
        .await
        .unwrap()
        .into_inner()
        .hits
        .remove(0);
    let fields = hit.payload.unwrap().fields;
    assert_eq!(fields.keys().collect::<Vec<_>>(), vec!["colour", "meta"]);
    let (status, message) = code(
        p.search(SearchRequest {
            offset: 9_995,
            ..search(10)
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("offset"), "{message}");
}

#[tokio::test]
async fn thresholds_follow_the_metric_for_l2() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &[]);
    server
        .collections()
        .await
        .create_collection(CreateCollectionRequest {
            metric: Metric::L2 as i32,
            ..create_request("c", 1)
        })
        .await
        .unwrap();
    let mut p = server.points().await;
    p.upsert(UpsertRequest {
        collection: "c".into(),
        points: (0..10)
            .map(|i| vector_point(format!("x{i}"), vec![i as f32]))
            .collect(),
    })
    .await
    .unwrap();
    let hits = p
        .search(SearchRequest {
            score_threshold: Some(3.5),
            ..search_vector("c", vec![0.0], 10)
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, vec!["x0", "x1", "x2", "x3"], "distances up to 3.5");
}

#[tokio::test]
async fn recommend_moves_toward_positives_and_away_from_negatives() {
    let (_dir, server) = server_with(200).await;
    let mut p = server.points().await;
    let stored = get_all(&server, &["p010", "p020", "p030"]).await;
    let v = |id: &str| stored[id].vector.clone();
    let norm = |x: Vec<f32>| {
        let n = x.iter().map(|a| a * a).sum::<f32>().sqrt();
        x.into_iter().map(|a| a / n).collect::<Vec<f32>>()
    };
    // Expected: exact cosine ranking (the growing segment is scanned
    // exactly) for 2 * mean(p010, p020) - p030, without the examples.
    let target = norm(
        (0..DIM)
            .map(|d| 2.0 * (v("p010")[d] + v("p020")[d]) / 2.0 - v("p030")[d])
            .collect(),
    );
    let want: Vec<String> = p
        .search(SearchRequest {
            limit: 13,
            ..search_vector("c", target, 13)
        })
        .await
        .unwrap()
        .into_inner()
        .hits
        .into_iter()
        .map(|h| h.id)
        .filter(|id| !["p010", "p020", "p030"].contains(&id.as_str()))
        .take(10)
        .collect();
    let got: Vec<String> = p
        .recommend(RecommendRequest {
            collection: "c".into(),
            positive_ids: vec!["p010".into(), "p020".into()],
            negative_ids: vec!["p030".into()],
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(got, want);
    let (status, message) = code(
        p.recommend(RecommendRequest {
            collection: "c".into(),
            negative_ids: vec!["p030".into()],
            ..Default::default()
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("positive"), "{message}");
    let (status, message) = code(
        p.recommend(RecommendRequest {
            collection: "c".into(),
            positive_ids: vec!["nope".into()],
            ..Default::default()
        })
        .await,
    );
    assert_eq!(status, Code::InvalidArgument);
    assert!(message.contains("positive_ids[0]"), "{message}");
}

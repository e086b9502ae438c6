//! Int8 quantization end to end: a collection created with
//! `QUANTIZATION_INT8` walks its sealed segments on one byte per dimension,
//! yet answers with exact scores and the exact top hits' recall, honours
//! deletes, keeps its sealed graphs in our own file format across a
//! restart, and refuses an unknown quantization value by name. Int8 is the
//! default for new collections only: collections stored before keep f32.
//! A default CLIP collection with captions seals caption-guided image
//! graphs and answers text queries through gRPC with exact scores.

use crate::common;

use clipdb::proto::embeddings_client::EmbeddingsClient;
use clipdb::proto::*;
use clipdb::storage::{MetaStore, SledMetaStore};
use common::{
    brute_force_top_k, code, random_unit_vectors, search_vector, tiny_model, vector_point,
    TestServer,
};

const DIM: usize = 32;
const N: usize = 1200;
const CAPACITY: u32 = 500;

async fn search_all(server: &TestServer, queries: &[Vec<f32>]) -> Vec<Vec<(String, f32)>> {
    let mut points = server.points().await;
    let mut out = Vec::new();
    for q in queries {
        let hits = points
            .search(SearchRequest {
                ef: 128,
                ..search_vector("q", q.clone(), 10)
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        out.push(hits.into_iter().map(|h| (h.id, h.score)).collect());
    }
    out
}

#[tokio::test]
async fn int8_collection_searches_exactly_scored_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start(&data, &[]);
    let mut collections = server.collections().await;

    let err = collections
        .create_collection(CreateCollectionRequest {
            quantization: 7,
            ..common::create_request("bad", DIM as u32)
        })
        .await;
    let (status, message) = code(err);
    assert_eq!(status, tonic::Code::InvalidArgument);
    assert!(message.contains("quantization"), "{message}");

    let info = collections
        .create_collection(CreateCollectionRequest {
            segment_capacity: CAPACITY,
            quantization: Quantization::Int8 as i32,
            ..common::create_request("q", DIM as u32)
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.quantization, Quantization::Int8 as i32);

    let base = random_unit_vectors(N, DIM, 11);
    let mut points = server.points().await;
    for (b, chunk) in base.chunks(200).enumerate() {
        points
            .upsert(UpsertRequest {
                collection: "q".into(),
                points: chunk
                    .iter()
                    .enumerate()
                    .map(|(i, v)| vector_point((b * 200 + i).to_string(), v.clone()))
                    .collect(),
            })
            .await
            .unwrap();
    }
    // Two full segments seal (in the background).
    common::wait_sealed(&mut collections, "q", 2).await;
    let seg1 = data.join("collections/q/seg-000001");
    assert!(seg1.join("graph-0.idx").exists());
    assert!(
        !seg1.join("graph-0.hnsw.graph").exists(),
        "sealed graphs are stored in our format only"
    );

    // Scores are exact (rescored with the f32 vectors) and the top 10 is
    // found: the int8 walk only chooses candidates.
    let queries = random_unit_vectors(40, DIM, 99);
    let results = search_all(&server, &queries).await;
    let mut found = 0;
    for (q, hits) in queries.iter().zip(&results) {
        assert_eq!(hits.len(), 10);
        for (id, score) in hits {
            let v = &base[id.parse::<usize>().unwrap()];
            assert!((score - common::dot(q, v)).abs() < 1e-5, "{id}: {score}");
        }
        let truth = brute_force_top_k(&base, q, 10);
        found += hits
            .iter()
            .filter(|(id, _)| truth.contains(&id.parse().unwrap()))
            .count();
    }
    let recall = found as f64 / (queries.len() * 10) as f64;
    assert!(recall >= 0.95, "recall@10 {recall}");

    // Deleting the best hits of sealed segments removes them from answers.
    let deleted: Vec<String> = results.iter().map(|h| h[0].0.clone()).collect();
    points
        .delete(DeleteRequest {
            collection: "q".into(),
            ids: deleted.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let after = search_all(&server, &queries).await;
    for hits in &after {
        assert!(hits.iter().all(|(id, _)| !deleted.contains(id)));
    }

    // A restart maps the sealed files again: the same answers.
    server.stop();
    let server = TestServer::start(&data, &[]);
    let info = server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: "q".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.quantization, Quantization::Int8 as i32);
    let sealed = info.segments.iter().filter(|s| s.sealed);
    assert!(sealed
        .clone()
        .all(|s| s.graph_source == GraphSource::Loaded as i32));
    assert_eq!(sealed.count(), 2);
    assert_eq!(search_all(&server, &queries).await, after);
}

async fn upsert_all(server: &TestServer, collection: &str, points: Vec<Point>) {
    let mut client = server.points().await;
    for chunk in points.chunks(200) {
        client
            .upsert(UpsertRequest {
                collection: collection.into(),
                points: chunk.to_vec(),
            })
            .await
            .unwrap();
    }
}

async fn info(server: &TestServer, name: &str) -> CollectionInfo {
    server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

/// New collections walk on int8 unless they ask for f32, and report what
/// they use (never the unset value). A collection stored before int8 became
/// the default, whose config says "none" or has no quantization at all,
/// reopens as f32 with its f32 sealed graphs.
#[tokio::test]
async fn int8_is_the_default_for_new_collections_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = TestServer::start(&data, &[]);
    let mut collections = server.collections().await;
    let base = random_unit_vectors(N, DIM, 5);
    for (name, quantization) in [
        ("default", Quantization::None),
        ("f32", Quantization::F32),
        ("stored-none", Quantization::F32),
        ("stored-without-field", Quantization::F32),
    ] {
        let created = collections
            .create_collection(CreateCollectionRequest {
                segment_capacity: CAPACITY,
                quantization: quantization as i32,
                ..common::create_request(name, DIM as u32)
            })
            .await
            .unwrap()
            .into_inner();
        let expected = if name == "default" {
            Quantization::Int8
        } else {
            Quantization::F32
        };
        assert_eq!(created.quantization, expected as i32, "{name}");
        let points = base
            .iter()
            .enumerate()
            .map(|(i, v)| vector_point(i.to_string(), v.clone()))
            .collect();
        upsert_all(&server, name, points).await;
        common::wait_sealed(&mut collections, name, 2).await;
    }
    // Each collection's own answers (separate builds of the same points are
    // different graphs, so only a collection can be compared with itself):
    // after the restart its sealed graphs are loaded, not rebuilt, and the
    // same walk must give the same answers.
    let queries = random_unit_vectors(20, DIM, 6);
    let mut answers = std::collections::HashMap::new();
    for name in ["f32", "stored-none", "stored-without-field"] {
        answers.insert(name, search_all_in(&server, name, &queries).await);
    }
    server.stop();

    // Rewrite two configs as versions before int8 stored them: the f32 walk
    // was "none", and before quantization existed there was no field.
    {
        let meta = SledMetaStore::open(&data.join("meta")).unwrap();
        for (name, config) in meta.collections().unwrap() {
            let mut json: serde_json::Value = serde_json::from_slice(&config).unwrap();
            let expected = if name == "default" { "int8" } else { "none" };
            assert_eq!(json["quantization"], expected, "{name}: stored form");
            if name == "stored-without-field" {
                json.as_object_mut().unwrap().remove("quantization");
                meta.put_collection(&name, &serde_json::to_vec(&json).unwrap())
                    .unwrap();
            }
        }
    }

    let server = TestServer::start(&data, &[]);
    for name in ["default", "f32", "stored-none", "stored-without-field"] {
        let reopened = info(&server, name).await;
        let expected = if name == "default" {
            Quantization::Int8
        } else {
            Quantization::F32
        };
        assert_eq!(
            reopened.quantization, expected as i32,
            "{name} after restart"
        );
        assert!(reopened
            .segments
            .iter()
            .filter(|s| s.sealed)
            .all(|s| s.graph_source == GraphSource::Loaded as i32));
    }
    for name in ["f32", "stored-none", "stored-without-field"] {
        assert_eq!(
            search_all_in(&server, name, &queries).await,
            answers[name],
            "{name}"
        );
    }
}

async fn search_all_in(
    server: &TestServer,
    collection: &str,
    queries: &[Vec<f32>],
) -> Vec<Vec<(String, f32)>> {
    let mut points = server.points().await;
    let mut out = Vec::new();
    for q in queries {
        let hits = points
            .search(search_vector(collection, q.clone(), 10))
            .await
            .unwrap()
            .into_inner()
            .hits;
        out.push(hits.into_iter().map(|h| (h.id, h.score)).collect());
    }
    out
}

fn normalized(v: Vec<f32>) -> Vec<f32> {
    let norm = common::dot(&v, &v).sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// Issue #22 end to end: a CLIP collection created with defaults walks on
/// int8, seals its image graphs guided by the points' caption vectors, and
/// a text query (embedded by the server) searching images through gRPC at
/// the default ef gets exact scores and the true nearest images. Data is
/// CLIP-like: captions cluster around the query texts' embeddings, images
/// are their captions shifted by a common gap (the modality gap) plus noise.
/// The same images without captions seal unguided, for comparison.
#[tokio::test]
async fn default_clip_collection_seals_guided_graphs_and_text_search_is_exact() {
    const POINTS: usize = 3000;
    const SEGMENT: u32 = 1000;
    const TEXTS: usize = 30;
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &tiny_model()]);
    let texts: Vec<String> = (0..TEXTS)
        .map(|i| {
            format!(
                "a photo of thing {i} on a {} day",
                ["red", "quiet", "long"][i % 3]
            )
        })
        .collect();
    let text_vectors: Vec<Vec<f32>> = EmbeddingsClient::new(server.channel().await)
        .embed_text(EmbedTextRequest {
            texts: texts.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .embeddings
        .into_iter()
        .map(|v| v.values)
        .collect();
    let dim = text_vectors[0].len();
    let noise = random_unit_vectors(2 * POINTS + 1, dim, 22);
    let gap = &noise[2 * POINTS];
    let mut captions = Vec::new();
    let mut images = Vec::new();
    for i in 0..POINTS {
        let centre = &text_vectors[i % TEXTS];
        let caption = normalized((0..dim).map(|d| centre[d] + 0.6 * noise[i][d]).collect());
        let image = normalized(
            (0..dim)
                .map(|d| caption[d] + 0.8 * gap[d] + 0.5 * noise[POINTS + i][d])
                .collect(),
        );
        captions.push(caption);
        images.push(image);
    }

    let mut collections = server.collections().await;
    for name in ["guided", "unguided"] {
        let created = collections
            .create_collection(CreateCollectionRequest {
                name: name.into(),
                vectorizer: Vectorizer::Clip as i32,
                segment_capacity: SEGMENT,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(created.quantization, Quantization::Int8 as i32);
        let points = (0..POINTS)
            .map(|i| Point {
                id: i.to_string(),
                vector: images[i].clone(),
                text_vector: if name == "guided" {
                    captions[i].clone()
                } else {
                    Vec::new()
                },
                ..Default::default()
            })
            .collect();
        upsert_all(&server, name, points).await;
        common::wait_sealed(&mut collections, name, 3).await;
    }
    // Sealing says how many caption vectors guided each image graph.
    let log = server.log();
    let caption_samples = |name: &str| -> Vec<usize> {
        log.lines()
            .filter(|l| {
                l.contains("sealed graphs written") && l.contains(&format!("collection={name} "))
            })
            .map(|l| {
                let field = l
                    .split("caption_sample=")
                    .nth(1)
                    .expect("caption_sample field");
                field
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    assert_eq!(
        caption_samples("guided"),
        vec![SEGMENT as usize; 3],
        "{log}"
    );
    assert_eq!(caption_samples("unguided"), vec![0; 3], "{log}");

    let mut client = server.points().await;
    for name in ["guided", "unguided"] {
        let mut found = 0;
        for (text, query) in texts.iter().zip(&text_vectors) {
            let hits = client
                .search(SearchRequest {
                    collection: name.into(),
                    query: Some(search_request::Query::Text(text.clone())),
                    limit: 10,
                    fusion: Some(FusionWeights {
                        image: 1.0,
                        text: 0.0,
                    }),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner()
                .hits;
            assert_eq!(hits.len(), 10);
            for h in &hits {
                let image = &images[h.id.parse::<usize>().unwrap()];
                let exact = common::dot(query, image);
                assert!(
                    (h.score - exact).abs() < 1e-4,
                    "{name} {}: {} vs {exact}",
                    h.id,
                    h.score
                );
            }
            let truth = brute_force_top_k(&images, query, 10);
            found += hits
                .iter()
                .filter(|h| truth.contains(&h.id.parse().unwrap()))
                .count();
        }
        let recall = found as f64 / (TEXTS * 10) as f64;
        eprintln!("{name}: text->image recall@10 through gRPC at the default ef {recall}");
        assert!(recall >= 0.9, "{name}: recall@10 {recall}");
    }
}

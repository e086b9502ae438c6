//! Server-side CLIP through a real server on 127.0.0.1 with the fixtures'
//! tiny model: text, image and fused points, text and image queries, the
//! Embeddings API against Hugging Face's reference vectors, bad media input,
//! and the model fingerprint check across restarts.

use crate::common;

use std::path::Path;

use clipdb::proto::embeddings_client::EmbeddingsClient;
use clipdb::proto::*;
use common::*;
use tonic::Code;

/// PNG fixture images: their end-to-end embeddings match HF to ~1e-5 (as
/// the JPEGs do, see `truncated_jpegs_are_refused_and_whole_ones_match_hf`).
const PNG_IMAGES: [&str; 5] = [
    "square_224x224.png",
    "rgba_320x240.png",
    "odd_225x321.png",
    "portrait_480x640.png",
    "palette_256x192.png",
];

/// HF and candle agree to ~2e-4 on the tiny model's embeddings.
const TOL: f32 = 5e-4;

fn image_bytes(name: &str) -> Vec<u8> {
    std::fs::read(clip_fixtures().join("images").join(name)).unwrap()
}

fn image_ref(name: &str) -> Vec<f32> {
    reference_vector(&format!("image_embeds_norm.{name}"))
}

fn text_ref(i: usize) -> Vec<f32> {
    reference_vector(&format!("text_embeds_norm.{i}"))
}

fn clip_collection(name: &str) -> CreateCollectionRequest {
    CreateCollectionRequest {
        name: name.into(),
        vectorizer: Vectorizer::Clip as i32,
        ..Default::default()
    }
}

fn fusion(image: f32, text: f32) -> Option<FusionWeights> {
    Some(FusionWeights { image, text })
}

async fn embeddings(server: &TestServer) -> EmbeddingsClient<tonic::transport::Channel> {
    EmbeddingsClient::new(server.channel().await)
}

/// The stored points of the main test and their reference vectors.
struct Stored {
    id: String,
    image: Option<Vec<f32>>,
    caption: Option<Vec<f32>>,
}

/// Expected fused score: weighted mean over the modalities a point has.
fn expected_score(q: &[f32], p: &Stored, w: (f32, f32)) -> f32 {
    let mut num = 0.0;
    let mut den = 0.0;
    if let Some(v) = &p.image {
        num += w.0 * dot(q, v);
        den += w.0;
    }
    if let Some(v) = &p.caption {
        num += w.1 * dot(q, v);
        den += w.1;
    }
    if den == 0.0 {
        f32::NEG_INFINITY
    } else {
        num / den
    }
}

#[tokio::test]
async fn text_image_and_fused_points_search_like_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &model]);
    assert!(
        server.log().contains("embedding model loaded"),
        "{}",
        server.log()
    );
    let mut c = server.collections().await;
    let mut p = server.points().await;

    let info = c
        .create_collection(clip_collection("coco"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.dimension, 16, "dimension 0 means the model's");
    assert_eq!(info.vectorizer, Vectorizer::Clip as i32);
    assert!(info.model_fingerprint.is_empty());

    // Image-only, caption-only and image+caption points.
    let mut stored = Vec::new();
    let mut points = Vec::new();
    for name in &PNG_IMAGES[..3] {
        points.push(Point {
            id: format!("img-{name}"),
            image: image_bytes(name),
            ..Default::default()
        });
        stored.push(Stored {
            id: format!("img-{name}"),
            image: Some(image_ref(name)),
            caption: None,
        });
    }
    for i in 0..6 {
        points.push(Point {
            id: format!("txt-{i}"),
            text: reference_text(i),
            ..Default::default()
        });
        stored.push(Stored {
            id: format!("txt-{i}"),
            image: None,
            caption: Some(text_ref(i)),
        });
    }
    for (k, name) in PNG_IMAGES[3..].iter().enumerate() {
        let i = 10 + k;
        points.push(Point {
            id: format!("both-{name}"),
            image: image_bytes(name),
            text: reference_text(i),
            payload: Some(payload(serde_json::json!({"caption": reference_text(i)}))),
            ..Default::default()
        });
        stored.push(Stored {
            id: format!("both-{name}"),
            image: Some(image_ref(name)),
            caption: Some(text_ref(i)),
        });
    }
    let n = points.len() as u64;
    let up = p
        .upsert(UpsertRequest {
            collection: "coco".into(),
            points,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(up.upserted, n);

    let info = c
        .get_collection(GetCollectionRequest {
            name: "coco".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.point_count, n);
    assert_eq!(info.model_fingerprint.len(), 32, "{info:?}");
    assert_eq!(info.model, model);

    // Stored vectors are the reference embeddings: image in `vector`,
    // caption in `text_vector`.
    let got = p
        .get(GetRequest {
            collection: "coco".into(),
            ids: vec!["both-portrait_480x640.png".into(), "txt-3".into()],
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert_eq!(got.len(), 2);
    let both = got.iter().find(|p| p.id.starts_with("both")).unwrap();
    assert!(max_abs_diff(&both.vector, &image_ref("portrait_480x640.png")) < TOL);
    assert!(max_abs_diff(&both.text_vector, &text_ref(10)) < TOL);
    let txt = got.iter().find(|p| p.id == "txt-3").unwrap();
    assert!(max_abs_diff(&txt.text_vector, &text_ref(3)) < TOL);

    // Text queries under default, caption-only and image-only weights: the
    // ranking and scores equal an exact fused search over the reference vectors.
    for (qi, weights) in [
        (3usize, None),
        (4, fusion(0.0, 1.0)),
        (11, fusion(1.0, 0.0)),
        (5, fusion(0.25, 0.75)),
    ] {
        let q = text_ref(qi);
        let w = weights.map(|f| (f.image, f.text)).unwrap_or((0.5, 0.5));
        let hits = p
            .search(SearchRequest {
                collection: "coco".into(),
                query: Some(search_request::Query::Text(reference_text(qi))),
                limit: 100,
                fusion: weights,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .hits;
        let mut expected: Vec<(&str, f32)> = stored
            .iter()
            .map(|s| (s.id.as_str(), expected_score(&q, s, w)))
            .filter(|(_, score)| score.is_finite())
            .collect();
        expected.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(hits.len(), expected.len(), "query {qi} weights {w:?}");
        for (hit, (id, score)) in hits.iter().zip(&expected) {
            assert!(
                (hit.score - score).abs() < TOL,
                "query {qi} {w:?}: {} scored {}, expected {id} {score}",
                hit.id,
                hit.score
            );
        }
        for pair in hits.windows(2) {
            assert!(pair[0].score >= pair[1].score, "best first");
        }
        if w == (0.0, 1.0) {
            // A query equal to a stored caption finds that point first.
            assert_eq!(hits[0].id, format!("txt-{qi}"));
            assert!((hits[0].score - 1.0).abs() < 1e-4);
        }
    }

    // Image query, image-only weights: the same image first, cosine 1.
    let hits = p
        .search(SearchRequest {
            collection: "coco".into(),
            query: Some(search_request::Query::Image(image_bytes(
                "rgba_320x240.png",
            ))),
            limit: 3,
            fusion: fusion(1.0, 0.0),
            with_payload: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits[0].id, "img-rgba_320x240.png");
    assert!((hits[0].score - 1.0).abs() < 1e-4);

    // A fused point found by its caption carries its payload.
    let hits = p
        .search(SearchRequest {
            collection: "coco".into(),
            query: Some(search_request::Query::Text(reference_text(11))),
            limit: 1,
            fusion: fusion(0.0, 1.0),
            with_payload: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits[0].id, "both-palette_256x192.png");
    let caption = &hits[0].payload.as_ref().unwrap().fields["caption"];
    assert_eq!(
        caption.kind,
        Some(prost_types::value::Kind::StringValue(reference_text(11)))
    );

    // A CLIP collection also takes raw vectors of the model's dimension.
    let raw = image_ref("square_224x224.png");
    p.upsert(UpsertRequest {
        collection: "coco".into(),
        points: vec![vector_point("raw", raw.clone())],
    })
    .await
    .unwrap();
    let hits = p
        .search(search_vector("coco", raw, 2))
        .await
        .unwrap()
        .into_inner()
        .hits;
    let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
    assert!(
        ids.contains(&"raw") && ids.contains(&"img-square_224x224.png"),
        "{ids:?}"
    );
}

#[tokio::test]
async fn embeddings_api_returns_the_reference_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &tiny_model()]);
    let mut e = embeddings(&server).await;

    // Every reference text, including CJK, emoji, empty and > 77 tokens.
    let texts: Vec<String> = (0..88).map(reference_text).collect();
    let got = e
        .embed_text(EmbedTextRequest {
            texts: texts.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .embeddings;
    assert_eq!(got.len(), texts.len());
    for (i, v) in got.iter().enumerate() {
        let d = max_abs_diff(&v.values, &text_ref(i));
        assert!(d < TOL, "text {i} {:?}: max diff {d}", texts[i]);
        let norm = dot(&v.values, &v.values).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "L2-normalised");
    }

    let got = e
        .embed_image(EmbedImageRequest {
            images: PNG_IMAGES.iter().map(|n| image_bytes(n)).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .embeddings;
    for (v, name) in got.iter().zip(PNG_IMAGES) {
        let d = max_abs_diff(&v.values, &image_ref(name));
        assert!(d < TOL, "{name}: max diff {d}");
    }

    // Concurrent clients get their own rows back (the queue batches them).
    let mut tasks = Vec::new();
    for i in 0..8usize {
        let mut e = e.clone();
        tasks.push(tokio::spawn(async move {
            let v = e
                .embed_text(EmbedTextRequest {
                    texts: vec![reference_text(i)],
                })
                .await
                .unwrap()
                .into_inner()
                .embeddings;
            (i, v[0].values.clone())
        }));
    }
    for t in tasks {
        let (i, v) = t.await.unwrap();
        assert!(max_abs_diff(&v, &text_ref(i)) < TOL);
    }

    // A bad image is named by its position.
    let (k, m) = code(
        e.embed_image(EmbedImageRequest {
            images: vec![image_bytes("square_224x224.png"), b"not an image".to_vec()],
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("images[1]"), "{m}");
}

#[tokio::test]
async fn bad_media_input_is_rejected_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("data"),
        &[
            "--model",
            &tiny_model(),
            "--max-image-pixels",
            "250000",
            "--max-image-bytes",
            "400000",
        ],
    );
    let mut c = server.collections().await;
    let mut p = server.points().await;
    c.create_collection(clip_collection("clip")).await.unwrap();
    c.create_collection(create_request("plain", 16))
        .await
        .unwrap();
    let up = |points: Vec<Point>| UpsertRequest {
        collection: "clip".into(),
        points,
    };
    let good = Point {
        id: "good".into(),
        image: image_bytes("square_224x224.png"),
        text: "a good point".into(),
        ..Default::default()
    };
    let png = image_bytes("rgba_320x240.png");
    let bad_images: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", png[..png.len() / 2].to_vec(), "truncated"),
        (
            "garbage",
            b"this is not an image at all".to_vec(),
            "garbage",
        ),
        ("tiff-header", b"II*\0\x08\0\0\0".to_vec(), "tiff-header"),
        // 640x480 = 307200 pixels, over the 250000 limit given above.
        (
            "too-many-pixels",
            image_bytes("photo_640x480.jpg"),
            "too large",
        ),
        // large_3000x2000.jpg is over the 400000-byte limit.
        (
            "too-many-bytes",
            image_bytes("large_3000x2000.jpg"),
            "too large",
        ),
    ];
    for (id, bytes, expect) in bad_images {
        let (k, m) = code(
            p.upsert(up(vec![
                good.clone(),
                Point {
                    id: id.into(),
                    image: bytes,
                    ..Default::default()
                },
            ]))
            .await,
        );
        assert_eq!(k, Code::InvalidArgument, "{id}: {m}");
        assert!(m.contains(&format!("point `{id}`")), "{id}: {m}");
        assert!(
            m.to_lowercase().contains(expect) || expect == id,
            "{id}: {m}"
        );
    }
    // A bad image in a large request (several embedding chunks) is still named.
    let mut many: Vec<Point> = (0..70)
        .map(|i| Point {
            id: format!("p{i}"),
            image: image_bytes("square_224x224.png"),
            ..Default::default()
        })
        .collect();
    many[65].image = b"broken".to_vec();
    let (k, m) = code(p.upsert(up(many)).await);
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("point `p65`"), "{m}");

    // Vector together with text: ambiguous.
    let (k, m) = code(
        p.upsert(up(vec![Point {
            id: "mixed".into(),
            vector: vec![0.25; 16],
            text: "a cat".into(),
            ..Default::default()
        }]))
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("mixed"), "{m}");
    // Raw vector of the wrong dimension in a CLIP collection.
    let (k, m) = code(
        p.upsert(up(vec![vector_point("short", vec![1.0; 8])]))
            .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("short"), "{m}");
    // Text on a collection without a vectorizer.
    let (k, m) = code(
        p.upsert(UpsertRequest {
            collection: "plain".into(),
            points: vec![Point {
                id: "t".into(),
                text: "a cat".into(),
                ..Default::default()
            }],
        })
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
    assert!(m.contains("VECTORIZER_CLIP"), "{m}");
    // Bad query image.
    let (k, m) = code(
        p.search(SearchRequest {
            collection: "clip".into(),
            query: Some(search_request::Query::Image(b"nope".to_vec())),
            ..Default::default()
        })
        .await,
    );
    assert_eq!(k, Code::InvalidArgument);
    assert!(m.contains("query.image"), "{m}");

    // Nothing of the failed requests was stored.
    let count = p
        .count(CountRequest {
            collection: "clip".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 0);

    // Long text is truncated, never rejected.
    let long = "a very long caption about a cat ".repeat(200);
    p.upsert(up(vec![
        good,
        Point {
            id: "long".into(),
            text: long,
            ..Default::default()
        },
    ]))
    .await
    .unwrap();
    let count = p
        .count(CountRequest {
            collection: "clip".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 2);
}

const JPEG_IMAGES: [&str; 5] = [
    "photo_640x480.jpg",
    "wide_1000x200.jpg",
    "large_3000x2000.jpg",
    "gray_401x300.jpg",
    "exif_orient6_640x480.jpg",
];

/// An interrupted JPEG upload (baseline or progressive, cut at a third, at
/// 90 % or before its last two bytes) used to be embedded as a half-grey
/// picture. Pillow refuses such files, so now does the server: Upsert,
/// Search and EmbedImage answer INVALID_ARGUMENT naming the image, and
/// nothing is stored. Whole JPEGs embed as Hugging Face embeds them.
#[tokio::test]
async fn truncated_jpegs_are_refused_and_whole_ones_match_hf() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &tiny_model()]);
    let mut c = server.collections().await;
    let mut p = server.points().await;
    let mut e = embeddings(&server).await;
    c.create_collection(clip_collection("clip")).await.unwrap();

    // Whole JPEGs (libjpeg-turbo, as Pillow decodes them) match HF.
    let got = e
        .embed_image(EmbedImageRequest {
            images: JPEG_IMAGES.iter().map(|n| image_bytes(n)).collect(),
        })
        .await
        .unwrap()
        .into_inner()
        .embeddings;
    for (v, name) in got.iter().zip(JPEG_IMAGES) {
        let d = max_abs_diff(&v.values, &image_ref(name));
        assert!(d < TOL, "{name}: max diff {d}");
    }

    let baseline = image_bytes("photo_640x480.jpg");
    let progressive = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg/q85_progressive_420.jpg"),
    )
    .unwrap();
    let good = Point {
        id: "good".into(),
        image: image_bytes("square_224x224.png"),
        ..Default::default()
    };
    for (kind, whole) in [("baseline", &baseline), ("progressive", &progressive)] {
        let n = whole.len();
        for cut in [n / 3, n * 9 / 10, n - 2] {
            let bytes = whole[..cut].to_vec();
            let id = format!("{kind}-{cut}");
            // Upsert: the bad point is named, the good one beside it is not stored.
            let (k, m) = code(
                p.upsert(UpsertRequest {
                    collection: "clip".into(),
                    points: vec![
                        good.clone(),
                        Point {
                            id: id.clone(),
                            image: bytes.clone(),
                            text: "a caption too".into(),
                            ..Default::default()
                        },
                    ],
                })
                .await,
            );
            assert_eq!(k, Code::InvalidArgument, "{id}: {m}");
            assert!(m.contains(&format!("point `{id}`")), "{id}: {m}");
            assert!(m.contains("truncated"), "{id}: {m}");
            // Search with the truncated image as the query.
            let (k, m) = code(
                p.search(SearchRequest {
                    collection: "clip".into(),
                    query: Some(search_request::Query::Image(bytes.clone())),
                    limit: 3,
                    ..Default::default()
                })
                .await,
            );
            assert_eq!(k, Code::InvalidArgument, "{id}: {m}");
            assert!(m.contains("query.image") && m.contains("truncated"), "{m}");
            // EmbedImage names its position.
            let (k, m) = code(
                e.embed_image(EmbedImageRequest {
                    images: vec![whole.clone(), bytes],
                })
                .await,
            );
            assert_eq!(k, Code::InvalidArgument, "{id}: {m}");
            assert!(m.contains("images[1]") && m.contains("truncated"), "{m}");
        }
    }
    let count = p
        .count(CountRequest {
            collection: "clip".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 0, "nothing of the refused requests was stored");
    // The whole files are accepted.
    p.upsert(UpsertRequest {
        collection: "clip".into(),
        points: vec![
            Point {
                id: "baseline".into(),
                image: baseline,
                ..Default::default()
            },
            Point {
                id: "progressive".into(),
                image: progressive,
                ..Default::default()
            },
        ],
    })
    .await
    .unwrap();
}

/// A copy of the tiny model with every weight scaled: same shapes, other
/// embeddings, another fingerprint.
fn perturbed_model(dir: &Path) -> String {
    let tiny = clip_fixtures().join("tiny");
    std::fs::create_dir_all(dir).unwrap();
    for f in ["config.json", "tokenizer.json", "preprocessor_config.json"] {
        std::fs::copy(tiny.join(f), dir.join(f)).unwrap();
    }
    let weights =
        candle_core::safetensors::load(tiny.join("model.safetensors"), &candle_core::Device::Cpu)
            .unwrap();
    let scaled: std::collections::HashMap<String, candle_core::Tensor> = weights
        .into_iter()
        .map(|(k, t)| (k, (t * 1.05).unwrap()))
        .collect();
    candle_core::safetensors::save(&scaled, dir.join("model.safetensors")).unwrap();
    dir.to_str().unwrap().to_string()
}

// Multi-threaded: the clients' connections must keep answering the server's
// graceful-close handshake while `stop()` blocks this thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_model_is_refused_for_text_and_image_but_raw_vectors_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let model_a = tiny_model();
    let model_b = perturbed_model(&dir.path().join("tiny-b"));

    let mut server = TestServer::start(&data, &["--model", &model_a]);
    server
        .collections()
        .await
        .create_collection(clip_collection("c"))
        .await
        .unwrap();
    let mut p = server.points().await;
    p.upsert(UpsertRequest {
        collection: "c".into(),
        points: (0..4)
            .map(|i| Point {
                id: format!("t{i}"),
                text: reference_text(i),
                ..Default::default()
            })
            .collect(),
    })
    .await
    .unwrap();
    let fingerprint_a = server
        .collections()
        .await
        .get_collection(GetCollectionRequest { name: "c".into() })
        .await
        .unwrap()
        .into_inner()
        .model_fingerprint;
    server.stop();

    // Another model: text and image operations refuse, naming both models.
    let mut server = TestServer::start(&data, &["--model", &model_b]);
    let mut p = server.points().await;
    let text_search = SearchRequest {
        collection: "c".into(),
        query: Some(search_request::Query::Text(reference_text(1))),
        fusion: fusion(0.0, 1.0),
        ..Default::default()
    };
    let (k, m) = code(p.search(text_search.clone()).await);
    assert_eq!(k, Code::FailedPrecondition);
    assert!(m.contains(&model_a) && m.contains(&model_b), "{m}");
    assert!(m.contains(&fingerprint_a), "{m}");
    let (k, m) = code(
        p.upsert(UpsertRequest {
            collection: "c".into(),
            points: vec![Point {
                id: "new".into(),
                image: image_bytes("square_224x224.png"),
                ..Default::default()
            }],
        })
        .await,
    );
    assert_eq!(k, Code::FailedPrecondition, "{m}");
    assert!(m.contains(&model_a) && m.contains(&model_b), "{m}");
    // Raw vectors keep working: the stored caption vector finds its point.
    let stored = p
        .get(GetRequest {
            collection: "c".into(),
            ids: vec!["t2".into()],
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    let hits = p
        .search(SearchRequest {
            fusion: fusion(0.0, 1.0),
            ..search_vector("c", stored[0].text_vector.clone(), 1)
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits[0].id, "t2");
    p.upsert(UpsertRequest {
        collection: "c".into(),
        points: vec![vector_point("raw", text_ref(7))],
    })
    .await
    .unwrap();
    // A fresh collection under model B embeds with B.
    server
        .collections()
        .await
        .create_collection(clip_collection("fresh"))
        .await
        .unwrap();
    p.upsert(UpsertRequest {
        collection: "fresh".into(),
        points: vec![Point {
            id: "x".into(),
            text: reference_text(1),
            ..Default::default()
        }],
    })
    .await
    .unwrap();
    server.stop();

    // No model at all: FAILED_PRECONDITION saying so; raw vectors still work.
    let mut server = TestServer::start(&data, &[]);
    let mut p = server.points().await;
    let (k, m) = code(p.search(text_search.clone()).await);
    assert_eq!(k, Code::FailedPrecondition);
    assert!(m.contains("no embedding model loaded"), "{m}");
    let (k, _) = code(
        embeddings(&server)
            .await
            .embed_text(EmbedTextRequest {
                texts: vec!["x".into()],
            })
            .await,
    );
    assert_eq!(k, Code::FailedPrecondition);
    assert_eq!(
        p.search(search_vector("c", text_ref(7), 1))
            .await
            .unwrap()
            .into_inner()
            .hits[0]
            .id,
        "raw"
    );
    server.stop();

    // Back on model A, text search works and finds the caption.
    let server = TestServer::start(&data, &["--model", &model_a]);
    let hits = server
        .points()
        .await
        .search(text_search)
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits[0].id, "t1");
    assert!((hits[0].score - 1.0).abs() < 1e-4);
}

#[tokio::test]
async fn bad_model_folder_fails_startup_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("broken");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::copy(
        clip_fixtures().join("tiny/config.json"),
        model.join("config.json"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.safetensors"), "{stderr}");
}

//! The ANN harness on tiny data: the in-process runner (what `cargo bench
//! --bench ann` drives) and `clipdb loadgen` against a real server. Checks
//! that the JSON lines parse and recall is sane, not speed.

use crate::common;

use clipdb::bench::{inproc, read_records, synth, Dataset, Record};
use clipdb::index::Quantization;
use common::TestServer;

#[test]
fn inproc_records_parse_and_recall_is_sane() {
    let data = synth::generate(2000, 100, 64, 1);
    let dir = tempfile::tempdir().unwrap();
    let settings = inproc::Settings {
        m: vec![12],
        ef_construction: vec![100],
        ef: vec![16, 128],
        threads: 2,
        sealed_dir: Some(dir.path().to_path_buf()),
        unrefined: false,
        insert_batch: None,
        captions: None,
        build_seed: None,
        file_rows: false,
    };
    let mut seen = 0;
    let quantizations = [Quantization::F32, Quantization::Int8];
    let records = inproc::run(&data, &settings, &quantizations, |_| seen += 1).unwrap();
    assert_eq!(
        (records.len(), seen),
        (8, 8),
        "2 quantizations x 2 query sets x 2 ef"
    );

    // Through JSON lines and back, as --out and --compare do.
    let path = dir.path().join("ann.jsonl");
    let text: String = records
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&path, text).unwrap();
    let back = read_records(&path).unwrap();
    assert_eq!(back.len(), records.len());
    for (a, b) in back.iter().zip(&records) {
        assert_eq!(
            (&a.query_set, a.ef, a.disk_bytes),
            (&b.query_set, b.ef, b.disk_bytes)
        );
        assert!((a.recall_at_10 - b.recall_at_10).abs() < 1e-9);
        assert!((a.qps_1t / b.qps_1t - 1.0).abs() < 1e-9);
    }

    for r in &records {
        let int8 = r.quantization.as_deref() == Some("int8");
        let engine = if int8 { "clipdb-int8" } else { "clipdb" };
        assert_eq!((r.engine.as_str(), r.mode.as_str()), (engine, "inproc"));
        assert_eq!((r.n, r.dim, r.queries, r.k), (2000, 64, 100, 10));
        assert!(r.qps_1t > 0.0 && r.qps > 0.0 && r.build_vectors_per_s > 0.0);
        assert!(r.p50_ms_1t.unwrap() <= r.p99_ms_1t.unwrap());
        assert!(
            r.disk_bytes.unwrap() > 2000 * 64 * 4,
            "the vectors and the graph file"
        );
        // The walk's resident bytes: f32 vectors plus the graph, or the
        // graph file with one byte per dimension.
        let ram = r.index_ram_bytes_per_vector.unwrap();
        if int8 {
            assert!((64.0..64.0 * 4.0).contains(&ram), "int8 {ram}");
        } else {
            assert!(ram > 64.0 * 4.0, "f32 {ram}");
        }
        assert!((0.0..=1.0).contains(&r.recall_at_10));
    }
    // open_s times one reopening of an engine's sealed graph file (what a
    // restart does for a sealed segment), done once before that file is
    // searched: every record measured on the file reports that one time,
    // as every record of one build reports its build_s. How long either
    // took is not for a test to judge.
    for engine in ["clipdb", "clipdb-int8"] {
        let opens: Vec<u64> = records
            .iter()
            .filter(|r| r.engine == engine)
            .map(|r| {
                r.open_s
                    .expect("a sealed graph reports its open time")
                    .to_bits()
            })
            .collect();
        assert_eq!(opens.len(), 4, "{engine}");
        assert!(
            opens.iter().all(|&o| o == opens[0]),
            "{engine}: {records:?}"
        );
    }
    assert!(
        records
            .iter()
            .all(|r| r.build_s.to_bits() == records[0].build_s.to_bits()),
        "one build, sealed twice: {records:?}"
    );
    for engine in ["clipdb", "clipdb-int8"] {
        let at = |set: &str, ef: usize| {
            records
                .iter()
                .find(|r| r.engine == engine && r.query_set == set && r.ef == ef)
                .unwrap()
                .recall_at_10
        };
        assert!(at("image->image", 128) > 0.9, "{records:?}");
        assert!(at("text->image", 128) > 0.8, "{records:?}");
        assert!(at("image->image", 128) >= at("image->image", 16) - 0.02);
    }
    // The sealed graph files are removed again.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn generated_set_round_trips_through_texmex_files() {
    let data = synth::generate(500, 20, 16, 3);
    let dir = tempfile::tempdir().unwrap();
    data.save(dir.path()).unwrap();
    let back = Dataset::load(dir.path(), Some(10)).unwrap();
    assert_eq!((back.n(), back.dim), (500, 16));
    assert_eq!(back.base, data.base);
    assert_eq!(back.query_sets.len(), 2);
    assert_eq!(back.query_sets[1].len(), 10);
    assert_eq!(
        back.query_sets[1].ground_truth[..],
        data.query_sets[1].ground_truth[..10]
    );
}

#[test]
fn loadgen_end_to_end_through_grpc() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let server = TestServer::start(&data_dir, &[]);
    let out = root.path().join("grpc.jsonl");
    let result = std::process::Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args([
            "loadgen",
            "--generate",
            "1500",
            "--dim",
            "32",
            "--queries",
            "40",
        ])
        .args(["--m", "12", "--ef-construction", "100", "--ef", "16,64"])
        .args(["--clients", "3", "--batch-size", "400", "--server"])
        .arg(server.url())
        .arg("--server-data-dir")
        .arg(&data_dir)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let stdout: Vec<Record> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = read_records(&out).unwrap();
    assert_eq!(records, stdout);
    assert_eq!(records.len(), 4, "{stderr}");
    for r in &records {
        assert_eq!(
            (r.mode.as_str(), r.n, r.queries, r.threads),
            ("grpc", 1500, 40, 3)
        );
        assert_eq!((r.m, r.ef_construction), (12, 100));
        assert!(r.qps > 0.0 && r.qps_1t > 0.0 && r.build_s > 0.0);
        assert!(r.p99_ms.unwrap() >= r.p50_ms.unwrap());
        assert!(r.disk_bytes.unwrap() > 1500 * 32 * 4);
        if r.ef == 64 {
            assert!(r.recall_at_10 > 0.85, "{r:?}");
        }
    }
    // Without --keep the collection is gone afterwards.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let list = rt.block_on(async {
        server
            .collections()
            .await
            .list_collections(clipdb::proto::ListCollectionsRequest {})
            .await
            .unwrap()
            .into_inner()
    });
    assert!(list.collections.is_empty(), "{list:?}");
}

/// `clipdb loadgen --clip --captions`: a CLIP collection whose points carry
/// caption vectors, sealed guided by them, searched for images only by the
/// text query set through gRPC (issue #22's end-to-end figure uses it at
/// 100 000 points). A caption file of another dimension is refused.
#[test]
fn loadgen_clip_collection_with_captions_through_grpc() {
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("data");
    let server = TestServer::start(&data_dir, &["--model", &common::tiny_model()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dim = rt.block_on(async {
        clipdb::proto::embeddings_client::EmbeddingsClient::new(server.channel().await)
            .embed_text(clipdb::proto::EmbedTextRequest {
                texts: vec!["a photo".into()],
            })
            .await
            .unwrap()
            .into_inner()
            .embeddings[0]
            .values
            .len()
    });
    // The same base with a longer query stream: its text queries, not the
    // measured ones, are the captions.
    let data = synth::generate(1200, 40, dim, 5);
    let captions = synth::generate(1200, 1200, dim, 5).query_sets[1]
        .queries
        .clone();
    let data_path = root.path().join("set");
    data.save(&data_path).unwrap();
    let captions_path = root.path().join("captions.fvecs");
    clipdb::bench::texmex::write_fvecs(&captions_path, dim, &captions).unwrap();
    let loadgen = |captions: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_clipdb"))
            .args(["loadgen", "--data"])
            .arg(&data_path)
            .args(["--clip", "--captions"])
            .arg(captions)
            .args(["--segment-capacity", "400", "--ef", "64", "--clients", "2"])
            .args(["--collection", "guided", "--keep", "--server"])
            .arg(server.url())
            .output()
            .unwrap()
    };
    let result = loadgen(&captions_path);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    let records: Vec<Record> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{stderr}");
    for r in &records {
        assert_eq!(
            (r.engine.as_str(), r.n, r.dim),
            ("clipdb-clip-captions", 1200, dim)
        );
        assert!(r.recall_at_10 > 0.9, "{r:?}");
    }
    // The collection is a CLIP one, its points carry both vectors, and its
    // full segments were sealed guided by their captions.
    rt.block_on(async {
        let mut collections = server.collections().await;
        common::wait_sealed(&mut collections, "guided", 3).await;
        let info = collections
            .get_collection(clipdb::proto::GetCollectionRequest {
                name: "guided".into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(info.vectorizer, clipdb::proto::Vectorizer::Clip as i32);
        let got = server
            .points()
            .await
            .get(clipdb::proto::GetRequest {
                collection: "guided".into(),
                ids: vec!["7".into()],
                with_vector: true,
            })
            .await
            .unwrap()
            .into_inner()
            .points;
        let norm = |v: &[f32]| -> Vec<f32> {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect()
        };
        let caption = norm(&captions[7 * dim..8 * dim]);
        let stored = &got[0].text_vector;
        assert!(
            stored
                .iter()
                .zip(&caption)
                .all(|(a, b)| (a - b).abs() < 1e-5),
            "caption vector of point 7"
        );
    });
    let log = server.log();
    let guided = log
        .lines()
        .filter(|l| l.contains("sealed graphs written") && l.contains("collection=guided "))
        .filter(|l| !l.contains("caption_sample=0"))
        .count();
    assert_eq!(guided, 3, "{log}");

    // Captions of another dimension: refused before anything is created.
    let wrong = root.path().join("wrong.fvecs");
    clipdb::bench::texmex::write_fvecs(&wrong, dim + 1, &vec![0.5; dim + 1]).unwrap();
    let result = loadgen(&wrong);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains(&format!("{}-d, the data set is {dim}-d", dim + 1)),
        "{stderr}"
    );
}

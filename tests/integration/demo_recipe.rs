//! The quickstart recipe end to end, offline, with the bundled demo model:
//! `clipdb serve` (no `--model`: the demo CLIP built into the binary),
//! `clipdb demo-data`, `clipdb import coco`, `clipdb search --gallery`, and
//! the top hits checked against the generated ground truth.

use crate::common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use clipdb::proto::*;
use common::*;

fn clipdb(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(args)
        .output()
        .expect("run clipdb");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `(colour, shape)` of every object of every image, by image id, from the
/// ground truth `demo-data` writes beside the COCO fields.
fn ground_truth(captions_json: &Path) -> HashMap<String, Vec<(String, String)>> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(captions_json).unwrap()).unwrap();
    v["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|img| {
            let objects = img["scene"]["objects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    (
                        o["colour"].as_str().unwrap().to_string(),
                        o["shape"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (img["id"].to_string(), objects)
        })
        .collect()
}

/// Ids of `clipdb search`'s table (rank, id, score, file, caption).
fn table_ids(out: &str) -> Vec<String> {
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with("gallery"))
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_data_import_and_search_find_the_right_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("shapes");
    let (ok, out, err) = clipdb(&[
        "demo-data",
        "--out",
        data.to_str().unwrap(),
        "--count",
        "240",
        "--seed",
        "11",
    ]);
    assert!(ok, "{out}\n{err}");
    let captions = data.join("captions.json");
    let truth = ground_truth(&captions);
    assert_eq!(truth.len(), 240);
    assert_eq!(std::fs::read_dir(data.join("images")).unwrap().count(), 240);

    // No --model: the server loads the demo model built into the binary.
    let server = TestServer::start(&dir.path().join("db"), &["--model", "demo"]);
    let url = server.url();
    let (ok, out, err) = clipdb(&[
        "import",
        "coco",
        "--annotations",
        captions.to_str().unwrap(),
        "--images",
        data.join("images").to_str().unwrap(),
        "--collection",
        "shapes",
        "--server",
        &url,
    ]);
    assert!(ok, "{out}\n{err}");
    let count = server.count("shapes").await;
    assert_eq!(count, 240);

    // Each query's top hits show the named object (colour and shape).
    let queries = [
        ("red", "circle"),
        ("blue", "square"),
        ("yellow", "star"),
        ("green", "triangle"),
        ("purple", "cross"),
        ("orange", "ring"),
    ];
    let mut hits_checked = 0;
    let mut hits_right = 0;
    for (colour, shape) in queries {
        let query = format!("a {colour} {shape}");
        let available = truth
            .values()
            .filter(|objs| objs.iter().any(|(c, s)| c == colour && s == shape))
            .count();
        assert!(available >= 1, "no {colour} {shape} in the generated set");
        let (ok, out, err) = clipdb(&[
            "search",
            &query,
            "--collection",
            "shapes",
            "--limit",
            "3",
            "--server",
            &url,
        ]);
        assert!(ok, "{out}\n{err}");
        let ids = table_ids(&out);
        assert_eq!(ids.len(), 3, "{out}");
        let right = |id: &String| truth[id].iter().any(|(c, s)| c == colour && s == shape);
        assert!(
            right(&ids[0]),
            "top hit of {query:?} is {:?}\n{out}",
            truth[&ids[0]]
        );
        for id in ids.iter().take(available.min(3)) {
            hits_checked += 1;
            hits_right += usize::from(right(id));
        }
    }
    assert!(
        hits_right * 10 >= hits_checked * 8,
        "{hits_right} of {hits_checked} top-3 hits show the named object"
    );

    // The gallery: the same images in the same order as the table.
    let gallery = dir.path().join("results.html");
    let (ok, out, err) = clipdb(&[
        "search",
        "a red circle",
        "--collection",
        "shapes",
        "--limit",
        "5",
        "--server",
        &url,
        "--gallery",
        gallery.to_str().unwrap(),
    ]);
    assert!(ok, "{out}\n{err}");
    let html = std::fs::read_to_string(&gallery).unwrap();
    let gallery_ids: Vec<String> = html
        .split("data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect();
    assert_eq!(gallery_ids, table_ids(&out));
    assert_eq!(html.matches("src=\"data:image/jpeg;base64,").count(), 5);
    assert!(html.contains("a red circle"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_model_flag_loads_the_bundled_demo_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    // `--model` left out entirely: the default is the bundled model.
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&db)
        .env("CLIPDB_LOG", "info")
        .env_remove("CLIPDB_MODEL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = out.id();
    // Wait for it to listen, then stop it and read its log.
    let started = std::time::Instant::now();
    let mut child = out;
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(a) = line.strip_prefix("clipdb listening on ") {
            break a.to_string();
        }
        assert!(started.elapsed().as_secs() < 120, "server did not start");
    };
    let mut e =
        clipdb::proto::embeddings_client::EmbeddingsClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
    let v = e
        .embed_text(EmbedTextRequest {
            texts: vec!["a red circle".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(v.embeddings.len(), 1);
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("bundled demo CLIP"), "{log}");
    assert!(log.contains(clipdb::embed::bundled::DEMO_MODEL_ID), "{log}");
    assert!(
        log.contains("--model openai/clip-vit-base-patch32"),
        "{log}"
    );
}

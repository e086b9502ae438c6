//! The client commands against a real server: `clipdb import coco`,
//! `clipdb import folder`, `clipdb search` and its HTML gallery.

use crate::common;

use std::path::Path;
use std::process::Command;

use clipdb::proto::*;
use common::*;
use serde_json::json;

/// Non-JPEG fixture images (copied into a COCO-style folder).
const IMAGES: [&str; 6] = [
    "square_224x224.png",
    "rgba_320x240.png",
    "odd_225x321.png",
    "portrait_480x640.png",
    "palette_256x192.png",
    "tall_300x700.png",
];

/// Runs `clipdb ARGS` and returns (success, stdout, stderr).
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

/// A COCO captions file over `ids`; image `i` is IMAGES[i] with captions
/// from tokens.json. Adds a missing file (id 100) and a corrupt one (id 101).
fn write_coco(dir: &Path, ids: &[usize], with_bad: bool) -> std::path::PathBuf {
    let images_dir = dir.join("images");
    std::fs::create_dir_all(&images_dir).unwrap();
    let mut images = Vec::new();
    let mut annotations = Vec::new();
    for &i in ids {
        let file_name = format!("{i:012}.png");
        std::fs::copy(
            clip_fixtures().join("images").join(IMAGES[i]),
            images_dir.join(&file_name),
        )
        .unwrap();
        images.push(json!({"id": i, "file_name": file_name, "width": 1, "height": 1}));
        for k in 0..2 {
            annotations.push(
                json!({"id": i * 10 + k, "image_id": i, "caption": reference_text(i * 2 + k)}),
            );
        }
    }
    if with_bad {
        images.push(json!({"id": 100, "file_name": "missing.jpg"}));
        std::fs::write(
            images_dir.join("corrupt.jpg"),
            b"\xff\xd8\xff not really a jpeg",
        )
        .unwrap();
        images.push(json!({"id": 101, "file_name": "corrupt.jpg"}));
    }
    let path = dir.join(format!("captions-{}.json", ids.len()));
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({"images": images, "annotations": annotations})).unwrap(),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_coco_resumes_skips_bad_files_and_search_shows_the_ranking() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &tiny_model()]);
    let url = server.url();
    let coco_dir = dir.path().join("coco");
    let images = coco_dir.join("images");

    // First an interrupted import: only half of the images made it in.
    let half = write_coco(&coco_dir, &[0, 1, 2], false);
    let (ok, out, err) = clipdb(&[
        "import",
        "coco",
        "--annotations",
        half.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--collection",
        "coco",
        "--server",
        &url,
        "--batch-size",
        "2",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 3 of 3"), "{out}");

    // The full import resumes: the three stored ids are skipped, the bad
    // files are reported by name and skipped, the rest is imported.
    let full = write_coco(&coco_dir, &[0, 1, 2, 3, 4, 5], true);
    let (ok, out, err) = clipdb(&[
        "import",
        "coco",
        "--annotations",
        full.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--collection",
        "coco",
        "--server",
        &url,
        "--batch-size",
        "2",
        "--in-flight",
        "3",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 3 of 8"), "{out}");
    assert!(out.contains("3 already present"), "{out}");
    assert!(out.contains("2 skipped"), "{out}");
    assert!(out.contains("skipped missing.jpg"), "{out}");
    assert!(out.contains("skipped corrupt.jpg"), "{out}");

    let mut p = server.points().await;
    let count = p
        .count(CountRequest {
            collection: "coco".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .count;
    assert_eq!(count, 6);
    // Each point: the image's embedding and the mean of its two captions'.
    let got = p
        .get(GetRequest {
            collection: "coco".into(),
            ids: vec!["4".into()],
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    let point = &got[0];
    assert!(
        max_abs_diff(
            &point.vector,
            &reference_vector("image_embeds_norm.palette_256x192.png")
        ) < 5e-4
    );
    let mean: Vec<f32> = reference_vector("text_embeds_norm.8")
        .iter()
        .zip(reference_vector("text_embeds_norm.9"))
        .map(|(a, b)| a + b)
        .collect();
    let norm = dot(&mean, &mean).sqrt();
    let mean: Vec<f32> = mean.iter().map(|x| x / norm).collect();
    assert!(max_abs_diff(&point.text_vector, &mean) < 5e-4);
    let payload = point.payload.as_ref().unwrap();
    assert_eq!(
        payload.fields["file_name"].kind,
        Some(prost_types::value::Kind::StringValue(
            "000000000004.png".into()
        ))
    );
    assert_eq!(
        payload.fields["coco_id"].kind,
        Some(prost_types::value::Kind::NumberValue(4.0))
    );

    // `clipdb search` prints the server's ranking; the gallery shows the
    // same images in the same order, embedded in the page.
    let query = reference_text(6);
    let gallery = dir.path().join("results.html");
    let (ok, out, err) = clipdb(&[
        "search",
        &query,
        "--collection",
        "coco",
        "--limit",
        "4",
        "--server",
        &url,
        "--gallery",
        gallery.to_str().unwrap(),
    ]);
    assert!(ok, "{out}\n{err}");
    let expected: Vec<String> = p
        .search(SearchRequest {
            collection: "coco".into(),
            query: Some(search_request::Query::Text(query.clone())),
            limit: 4,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .hits
        .into_iter()
        .map(|h| h.id)
        .collect();
    let table_ids: Vec<String> = out
        .lines()
        .skip(1)
        .filter(|l| !l.starts_with("gallery"))
        .map(|l| l.split_whitespace().nth(1).unwrap().to_string())
        .collect();
    assert_eq!(table_ids, expected, "{out}");
    assert!(
        out.contains(&format!("{:012}.png", expected[0].parse::<u64>().unwrap())),
        "{out}"
    );
    let html = std::fs::read_to_string(&gallery).unwrap();
    let gallery_ids: Vec<&str> = html
        .split("data-id=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(gallery_ids, expected);
    assert_eq!(html.matches("src=\"data:image/jpeg;base64,").count(), 4);
    assert!(html.contains(&query));

    // Caption-only weights: a query equal to image 3's first caption finds it first.
    let (ok, out, err) = clipdb(&[
        "search",
        &reference_text(6),
        "--collection",
        "coco",
        "--fusion",
        "0,1",
        "--limit",
        "1",
        "--server",
        &url,
    ]);
    assert!(ok, "{out}\n{err}");
    assert_eq!(
        out.lines().nth(1).and_then(|l| l.split_whitespace().nth(1)),
        Some("3"),
        "{out}"
    );
    let (ok, _, err) = clipdb(&[
        "search",
        "x",
        "--collection",
        "coco",
        "--fusion",
        "1",
        "--server",
        &url,
    ]);
    assert!(!ok && err.contains("IMAGE,TEXT"), "{err}");

    // Image query and a payload filter.
    let (ok, out, err) = clipdb(&[
        "search",
        "--image",
        images.join("000000000002.png").to_str().unwrap(),
        "--collection",
        "coco",
        "--filter",
        "coco_id=2",
        "--server",
        &url,
    ]);
    assert!(ok, "{out}\n{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert!(rows[0].split_whitespace().nth(1) == Some("2"), "{out}");

    // Errors are one clear line and a failing exit status.
    let (ok, _, err) = clipdb(&["search", "cats", "--collection", "nope", "--server", &url]);
    assert!(!ok);
    assert!(err.contains("NotFound") && err.contains("nope"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_folder_uses_caption_files() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("data"), &["--model", &tiny_model()]);
    let folder = dir.path().join("pictures");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::copy(
        clip_fixtures().join("images/square_224x224.png"),
        folder.join("a.png"),
    )
    .unwrap();
    std::fs::write(folder.join("a.txt"), reference_text(3)).unwrap();
    std::fs::copy(
        clip_fixtures().join("images/rgba_320x240.png"),
        folder.join("sub/b.png"),
    )
    .unwrap();
    std::fs::write(folder.join("notes.md"), "not an image").unwrap();
    let (ok, out, err) = clipdb(&[
        "import",
        "folder",
        folder.to_str().unwrap(),
        "--collection",
        "pics",
        "--server",
        &server.url(),
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("imported 2 of 2"), "{out}");
    let got = server
        .points()
        .await
        .get(GetRequest {
            collection: "pics".into(),
            ids: vec!["a.png".into(), "sub/b.png".into()],
            with_vector: true,
        })
        .await
        .unwrap()
        .into_inner()
        .points;
    assert_eq!(got.len(), 2);
    let a = got.iter().find(|p| p.id == "a.png").unwrap();
    assert!(max_abs_diff(&a.text_vector, &reference_vector("text_embeds_norm.3")) < 5e-4);
    let b = got.iter().find(|p| p.id == "sub/b.png").unwrap();
    assert!(
        b.text_vector.is_empty(),
        "no caption file, no caption vector"
    );
}

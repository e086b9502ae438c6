//! `--model` with a hub id resolves through the local Hugging Face cache;
//! offline and not cached, the server refuses to start with a message that
//! says where to put the files. No network: HF_HUB_OFFLINE=1 and an empty
//! HF_HOME, set on the server process only.

use std::path::Path;
use std::process::Command;

use clipdb::proto::embeddings_client::EmbeddingsClient;
use clipdb::proto::*;

use crate::common::*;

#[test]
fn hub_id_offline_and_not_cached_stops_the_server_with_a_clear_message() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data");
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .args(["--model", "clipdb-test/no-such-clip-model"])
        .env("HF_HOME", home.path())
        .env_remove("HF_HUB_CACHE")
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("run clipdb");
    assert!(
        !out.status.success(),
        "a missing model must stop the server"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "clipdb-test/no-such-clip-model",
        "HF_HUB_OFFLINE",
        "config.json",
        "models--clipdb-test--no-such-clip-model",
        home.path().to_str().unwrap(),
    ] {
        assert!(stderr.contains(expected), "no `{expected}` in:\n{stderr}");
    }
}

#[tokio::test]
async fn hub_id_placed_in_the_cache_layout_loads_offline() {
    let home = tempfile::tempdir().unwrap();
    let tiny = clip_fixtures().join("tiny");
    let repo = home.path().join("hub/models--clipdb-test--tiny-clip");
    let snap = repo.join("snapshots/0123456789abcdef");
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123456789abcdef").unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
    ] {
        std::fs::copy(tiny.join(f), snap.join(f)).unwrap();
    }
    let server = TestServer::start_with_env(
        &home.path().join("data"),
        &["--model", "clipdb-test/tiny-clip"],
        &[("HF_HOME", home.path()), ("HF_HUB_OFFLINE", Path::new("1"))],
    );
    let mut embeddings = EmbeddingsClient::new(server.channel().await);
    let embedded = embeddings
        .embed_text(EmbedTextRequest {
            texts: vec![reference_text(0)],
        })
        .await
        .expect("the cached model serves")
        .into_inner();
    let ours = &embedded.embeddings[0].values;
    let hf = reference_vector("text_embeds_norm.0");
    assert!(max_abs_diff(ours, &hf) < 1e-4, "not the fixtures' model");
    assert!(server.log().contains("clipdb-test/tiny-clip"));
}

//! Hub ids resolve through the local Hugging Face cache; offline and not cached
//! is a clear error. No network: HF_HUB_OFFLINE=1 and an empty HF_HOME.

use clipdb::embed::{DeviceKind, EmbedError, Embedder, ImageLimits};

#[test]
fn hub_id_offline_and_not_cached_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    // Only test in this binary: changing the environment is safe here.
    std::env::set_var("HF_HOME", home.path());
    std::env::remove_var("HF_HUB_CACHE");
    std::env::set_var("HF_HUB_OFFLINE", "1");
    match Embedder::load(
        "clipdb-test/no-such-clip-model",
        DeviceKind::Cpu,
        ImageLimits::default(),
    ) {
        Err(EmbedError::HubUnavailable { id, message }) => {
            assert_eq!(id, "clipdb-test/no-such-clip-model");
            assert!(message.contains("HF_HUB_OFFLINE"), "{message}");
            assert!(message.contains("config.json"), "{message}");
            assert!(
                message.contains("models--clipdb-test--no-such-clip-model"),
                "{message}"
            );
            assert!(message.contains(home.path().to_str().unwrap()), "{message}");
        }
        other => panic!("{:?}", other.err()),
    }

    // A model placed in the cache layout loads offline.
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/clip/tiny");
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
        std::fs::copy(format!("{tiny}/{f}"), snap.join(f)).unwrap();
    }
    let e = Embedder::load(
        "clipdb-test/tiny-clip",
        DeviceKind::Cpu,
        ImageLimits::default(),
    )
    .unwrap();
    assert_eq!(e.info().model_id, "clipdb-test/tiny-clip");
    assert_eq!(e.info().dimension, 16);
    let local = Embedder::load(tiny, DeviceKind::Cpu, ImageLimits::default()).unwrap();
    assert_eq!(e.info().fingerprint, local.info().fingerprint);
}

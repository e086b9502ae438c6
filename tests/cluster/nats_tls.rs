//! TLS between the nodes and NATS (`--nats-tls-ca`, `--nats-tls-cert`,
//! `--nats-tls-key`): three nats-servers that require TLS and verify
//! client certificates, so a node reaching them at all proves it speaks
//! TLS with its certificate; a node without them is refused with a clear
//! error.

use super::*;

/// Runs `clipdb serve` against `nats_urls` with `extra` arguments and
/// returns its failure output (it must exit, not serve).
fn serve_must_fail(dir: &Path, nats_urls: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["serve", "--listen", "127.0.0.1:0", "--http-listen", "off"])
        .arg("--data-dir")
        .arg(dir)
        .args([
            "--model",
            "none",
            "--nats",
            nats_urls,
            "--node-id",
            "intruder",
        ])
        .args(extra)
        .output()
        .expect("run clipdb serve");
    assert!(!out.status.success(), "clipdb serve started: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reach_nats_over_tls_with_client_certificates() {
    let _one = CLUSTER_LOCK.lock().await;
    let pki_dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = api_coverage::write_pki(pki_dir.path());
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let tls_args = vec![
        "--nats-tls-ca".to_string(),
        path(&ca),
        "--nats-tls-cert".to_string(),
        path(&cert),
        "--nats-tls-key".to_string(),
        path(&key),
    ];
    let tls = (ca.clone(), cert.clone(), key.clone());
    let cluster = Cluster::start_on(3, tls_args, |dir| Nats::start_with_tls(dir, Some(tls)));

    // Writes and reads through different nodes: the log, the metadata and
    // the replicas all go over the TLS connections.
    let dim = 8;
    collections_client(&cluster.url(0))
        .await
        .create_collection(sharded("secure", dim as u32, 2, 2))
        .await
        .expect("create over TLS to NATS");
    let vectors = random_unit_vectors(30, dim, 21);
    cluster
        .points(1)
        .await
        .upsert(UpsertRequest {
            collection: "secure".into(),
            points: vectors
                .iter()
                .enumerate()
                .map(|(i, v)| vector_point(format!("v{i}"), v.clone()))
                .collect(),
        })
        .await
        .expect("upsert");
    let query = random_unit_vectors(1, dim, 22).remove(0);
    let mut answers = Vec::new();
    for i in 0..3 {
        let r = cluster
            .points(i)
            .await
            .search(search_vector("secure", query.clone(), 30))
            .await
            .expect("search")
            .into_inner();
        assert_eq!(r.hits.len(), 30, "node {i} sees every point");
        answers.push(hits(&r));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);

    // Without TLS, or without a client certificate, a node is refused;
    // the error names the NATS servers.
    let urls = cluster.nats.urls();
    let first_url = urls.split(',').next().unwrap().to_string();
    let scratch = tempfile::tempdir().unwrap();
    let plain = serve_must_fail(&scratch.path().join("plain"), &urls, &[]);
    assert!(plain.contains(&first_url), "{plain}");
    let no_cert = serve_must_fail(
        &scratch.path().join("no-cert"),
        &urls,
        &["--nats-tls-ca", &path(&ca)],
    );
    assert!(no_cert.contains(&first_url), "{no_cert}");
    // A missing CA file is named.
    let missing = scratch.path().join("absent-ca.pem");
    let err = serve_must_fail(
        &scratch.path().join("missing"),
        &urls,
        &["--nats-tls-ca", missing.to_str().unwrap()],
    );
    assert!(err.contains("absent-ca.pem"), "{err}");
    // A certificate without its key is refused before anything starts.
    let err = serve_must_fail(
        &scratch.path().join("half"),
        &urls,
        &["--nats-tls-ca", &path(&ca), "--nats-tls-cert", &path(&cert)],
    );
    assert!(err.contains("--nats-tls-key"), "{err}");
}

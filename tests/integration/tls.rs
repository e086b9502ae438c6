//! TLS and mutual TLS through a real server on 127.0.0.1, with certificates
//! generated at test time.

use crate::common;

use std::path::{Path, PathBuf};

use clipdb::proto::collections_client::CollectionsClient;
use clipdb::proto::*;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate.
fn make_pki(dir: &Path) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()]);
    let (client_cert, client_key) = leaf(vec!["client".into()]);
    let write = |name: &str, pem: &str| {
        let p = dir.join(name);
        std::fs::write(&p, pem).unwrap();
        p
    };
    Pki {
        ca: write("ca.pem", &ca.pem()),
        server_cert: write("server.pem", &server_cert),
        server_key: write("server.key", &server_key),
        client_cert: write("client.pem", &client_cert),
        client_key: write("client.key", &client_key),
    }
}

async fn tls_client(
    server: &TestServer,
    pki: &Pki,
    with_client_cert: bool,
) -> Result<CollectionsClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(&pki.ca).unwrap()))
        .domain_name("localhost");
    if with_client_cert {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(&pki.client_cert).unwrap(),
            std::fs::read(&pki.client_key).unwrap(),
        ));
    }
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(CollectionsClient::new(channel))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path());
    let arg = |p: &PathBuf| p.to_str().unwrap().to_string();

    // Server TLS: a client trusting the CA gets in; plaintext does not.
    let server = TestServer::start(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            &arg(&pki.server_cert),
            "--tls-key",
            &arg(&pki.server_key),
        ],
    );
    let mut c = tls_client(&server, &pki, false).await.unwrap();
    c.create_collection(create_request("secure", 3))
        .await
        .unwrap();
    let plain = Channel::from_shared(server.url()).unwrap().connect().await;
    if let Ok(channel) = plain {
        let r = CollectionsClient::new(channel)
            .list_collections(ListCollectionsRequest {})
            .await;
        assert!(r.is_err(), "plaintext must not be served over a TLS port");
    }
    // The client command speaks TLS with --tls-ca.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clipdb"))
        .args(["search", "--collection", "nope", "x", "--server"])
        .arg(format!(
            "https://localhost:{}",
            server.addr.rsplit(':').next().unwrap()
        ))
        .args(["--tls-ca", &arg(&pki.ca)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NotFound"),
        "reached the server over TLS: {stderr}"
    );
    drop(server);

    // Mutual TLS: without a client certificate the handshake or the first
    // call fails; with one signed by the CA it works.
    let server = TestServer::start(
        &dir.path().join("data2"),
        &[
            "--tls-cert",
            &arg(&pki.server_cert),
            "--tls-key",
            &arg(&pki.server_key),
            "--tls-client-ca",
            &arg(&pki.ca),
        ],
    );
    let anonymous = match tls_client(&server, &pki, false).await {
        Ok(mut c) => c.list_collections(ListCollectionsRequest {}).await.is_ok(),
        Err(_) => false,
    };
    assert!(
        !anonymous,
        "mutual TLS must refuse clients without a certificate"
    );
    let mut c = tls_client(&server, &pki, true).await.unwrap();
    c.list_collections(ListCollectionsRequest {}).await.unwrap();
}

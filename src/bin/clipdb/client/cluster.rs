//! `clipdb cluster status`: the Cluster service's view, as a table.

use std::fmt::Write;

use clipdb::proto;
use clipdb::proto::cluster_client::ClusterClient;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::ClientError;
use crate::config::{ClusterStatusArgs, MoveReplicaArgs, ServerAddress};

/// Presents the API key, if given, on every call.
#[derive(Clone)]
struct ApiKey(Option<tonic::metadata::AsciiMetadataValue>);

impl tonic::service::Interceptor for ApiKey {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.0 {
            request.metadata_mut().insert("x-api-key", key.clone());
        }
        Ok(request)
    }
}

/// Connects as the other client commands do: TLS for https:// URLs
/// (trusting --tls-ca, presenting --tls-client-cert), --api-key.
async fn connect(
    address: &ServerAddress,
) -> Result<ClusterClient<InterceptedService<Channel, ApiKey>>, ClientError> {
    let url = address.server.as_str();
    let key = address
        .api_key
        .as_deref()
        .map(|k| {
            k.parse()
                .map_err(|_| ClientError::Usage("the API key must be printable ASCII".into()))
        })
        .transpose()?;
    let mut endpoint = Channel::from_shared(url.to_string())
        .map_err(|e| ClientError::Usage(format!("bad server URL {url}: {e}")))?;
    if url.starts_with("https://") {
        let ca = address.tls_ca.as_ref().ok_or_else(|| {
            ClientError::Usage(
                "https:// servers need --tls-ca (the CA that signed the server's certificate)"
                    .into(),
            )
        })?;
        let read = |p: &std::path::PathBuf| std::fs::read(p).map_err(|e| ClientError::file(p, e));
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(ca)?));
        if let (Some(cert), Some(key)) = (&address.tls_client_cert, &address.tls_client_key) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| ClientError::Usage(format!("TLS: {e}")))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            url: url.to_string(),
            source,
        })?;
    Ok(ClusterClient::with_interceptor(channel, ApiKey(key)))
}

pub async fn move_replica_command(args: MoveReplicaArgs) -> Result<(), ClientError> {
    let mut client = connect(&args.address).await?;
    let moved = client
        .move_replica(proto::MoveReplicaRequest {
            collection: args.collection.clone(),
            shard: args.shard,
            from_node: args.from.clone(),
            to_node: args.to.clone(),
            timeout_ms: 0,
        })
        .await
        .map_err(|s| ClientError::rpc("MoveReplica", s))?
        .into_inner();
    println!(
        "moved shard {} of {} from {} to {}",
        args.shard, args.collection, args.from, args.to
    );
    if let Some(c) = moved.collection {
        let cluster = proto::GetClusterResponse {
            collections: vec![c],
            ..Default::default()
        };
        let table = format_status(&cluster);
        // Only the collection's part.
        if let Some(i) = table.find("\ncollection ") {
            print!("{}", &table[i + 1..]);
        }
    }
    Ok(())
}

pub async fn status_command(args: ClusterStatusArgs) -> Result<(), ClientError> {
    let mut client = connect(&args.address).await?;
    let cluster = client
        .get_cluster(proto::GetClusterRequest {})
        .await
        .map_err(|s| ClientError::rpc("GetCluster", s))?
        .into_inner();
    print!("{}", format_status(&cluster));
    Ok(())
}

pub fn format_status(c: &proto::GetClusterResponse) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "answered by node {}", c.node);
    let _ = writeln!(
        out,
        "{:<20} {:<24} {:<5} HEARTBEAT",
        "NODE", "ADDRESS", "LIVE"
    );
    for n in &c.nodes {
        let _ = writeln!(
            out,
            "{:<20} {:<24} {:<5} {} ms ago",
            n.id,
            n.address,
            if n.live { "yes" } else { "no" },
            n.heartbeat_age_ms
        );
    }
    for col in &c.collections {
        let _ = writeln!(
            out,
            "\ncollection {}: {} shard(s) x {} replica(s), {} points",
            col.name, col.shards, col.replication_factor, col.point_count
        );
        let _ = writeln!(
            out,
            "  {:<6} {:<20} {:>10} {:>8}  STATE",
            "SHARD", "NODE", "APPLIED", "LAG"
        );
        for s in &col.shard_details {
            for r in &s.replicas {
                let state = match proto::ReplicaState::try_from(r.state) {
                    Ok(proto::ReplicaState::Active) => "active",
                    Ok(proto::ReplicaState::CatchingUp) => "catching up",
                    Ok(proto::ReplicaState::Down) => "down",
                    Ok(proto::ReplicaState::Restoring) => "restoring from snapshot",
                    _ => "unknown",
                };
                let _ = writeln!(
                    out,
                    "  {:<6} {:<20} {:>10} {:>8}  {state}",
                    s.shard, r.node, r.applied_sequence, r.lag
                );
            }
        }
        // The log each shard still holds (entries before FIRST were
        // trimmed behind a snapshot) and its latest snapshot.
        let _ = writeln!(
            out,
            "  {:<6} {:>10} {:>10} {:>10}",
            "SHARD", "LOG FIRST", "LOG LAST", "SNAPSHOT"
        );
        for s in &col.shard_details {
            let snapshot = match s.snapshot_sequence {
                0 => "none".to_string(),
                n => n.to_string(),
            };
            let _ = writeln!(
                out,
                "  {:<6} {:>10} {:>10} {:>10}",
                s.shard, s.first_sequence, s.last_sequence, snapshot
            );
        }
    }
    out
}

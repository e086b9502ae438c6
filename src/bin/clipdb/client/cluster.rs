//! `clipdb cluster status`: the Cluster service's view, as a table.

use std::fmt::Write;

use clipdb::proto;
use clipdb::proto::cluster_client::ClusterClient;

use super::ClientError;
use crate::config::ClusterStatusArgs;

pub async fn status_command(args: ClusterStatusArgs) -> Result<(), ClientError> {
    let mut client = ClusterClient::connect(args.server.clone())
        .await
        .map_err(|source| ClientError::Connect {
            url: args.server.clone(),
            source,
        })?;
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
                    _ => "unknown",
                };
                let _ = writeln!(
                    out,
                    "  {:<6} {:<20} {:>10} {:>8}  {state}",
                    s.shard, r.node, r.applied_sequence, r.lag
                );
            }
        }
    }
    out
}

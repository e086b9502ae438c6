//! A shard's log entries: what the node that takes a write appends to the
//! shard's JetStream stream and every replica applies. Protobuf (prost
//! derive, no .proto file: nodes of one build only read their own), vectors
//! as the coordinator prepared them, payloads as JSON.

use prost::Message;

use crate::engine::{Payload, ReplicatedOp, ReplicatedPoint};

#[derive(Clone, PartialEq, Message)]
struct LogEntry {
    #[prost(message, repeated, tag = "1")]
    upserts: Vec<LogPoint>,
    #[prost(string, repeated, tag = "2")]
    deletes: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct LogPoint {
    #[prost(string, tag = "1")]
    id: String,
    /// Image (or raw) space; empty: none.
    #[prost(float, repeated, tag = "2")]
    vector: Vec<f32>,
    /// Caption space; empty: none.
    #[prost(float, repeated, tag = "3")]
    text_vector: Vec<f32>,
    /// The payload as JSON; absent: none.
    #[prost(bytes = "vec", optional, tag = "4")]
    payload: Option<Vec<u8>>,
}

pub fn encode(op: &ReplicatedOp) -> Vec<u8> {
    let entry = match op {
        ReplicatedOp::Upsert(points) => LogEntry {
            upserts: points
                .iter()
                .map(|p| LogPoint {
                    id: p.id.clone(),
                    vector: p.vectors[0].clone().unwrap_or_default(),
                    text_vector: p.vectors[1].clone().unwrap_or_default(),
                    payload: p
                        .payload
                        .as_ref()
                        .map(|pl| serde_json::to_vec(pl).expect("JSON encodes")),
                })
                .collect(),
            deletes: Vec::new(),
        },
        ReplicatedOp::Delete(ids) => LogEntry {
            upserts: Vec::new(),
            deletes: ids.clone(),
        },
    };
    entry.encode_to_vec()
}

pub fn decode(bytes: &[u8]) -> Result<ReplicatedOp, String> {
    let entry = LogEntry::decode(bytes).map_err(|e| format!("undecodable log entry: {e}"))?;
    if !entry.deletes.is_empty() {
        return Ok(ReplicatedOp::Delete(entry.deletes));
    }
    let points = entry
        .upserts
        .into_iter()
        .map(|p| {
            let payload = p
                .payload
                .map(|b| serde_json::from_slice::<Payload>(&b))
                .transpose()
                .map_err(|e| format!("log entry: payload of `{}`: {e}", p.id))?;
            let some = |v: Vec<f32>| (!v.is_empty()).then_some(v);
            Ok(ReplicatedPoint {
                id: p.id,
                vectors: [some(p.vector), some(p.text_vector)],
                payload,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(ReplicatedOp::Upsert(points))
}

/// Splits a shard's part of a write into entries of at most `max_bytes`
/// encoded (the NATS servers' max_payload): one entry when it fits, which
/// is what makes a request atomic per shard.
pub fn split(op: ReplicatedOp, max_bytes: usize) -> Vec<ReplicatedOp> {
    let whole = encode(&op).len();
    if whole <= max_bytes {
        return vec![op];
    }
    let parts = whole.div_ceil(max_bytes.max(1)) + 1;
    match op {
        ReplicatedOp::Upsert(points) => {
            let per = points.len().div_ceil(parts).max(1);
            points
                .chunks(per)
                .map(|c| ReplicatedOp::Upsert(c.to_vec()))
                .collect()
        }
        ReplicatedOp::Delete(ids) => {
            let per = ids.len().div_ceil(parts).max(1);
            ids.chunks(per)
                .map(|c| ReplicatedOp::Delete(c.to_vec()))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &str, v: Vec<f32>) -> ReplicatedPoint {
        let mut payload = Payload::new();
        payload.insert("x".into(), serde_json::json!(0.1f64 + id.len() as f64));
        ReplicatedPoint {
            id: id.into(),
            vectors: [Some(v), None],
            payload: Some(payload),
        }
    }

    #[test]
    fn entries_round_trip_bit_for_bit() {
        let op = ReplicatedOp::Upsert(vec![
            point("a", vec![0.1, -0.3, f32::MIN_POSITIVE]),
            ReplicatedPoint {
                id: "b".into(),
                vectors: [None, Some(vec![1.0, 2.0, 3.0])],
                payload: None,
            },
        ]);
        assert_eq!(decode(&encode(&op)).unwrap(), op);
        let del = ReplicatedOp::Delete(vec!["a".into(), "c".into()]);
        assert_eq!(decode(&encode(&del)).unwrap(), del);
    }

    #[test]
    fn large_parts_split_in_order() {
        let points: Vec<_> = (0..100)
            .map(|i| point(&format!("p{i}"), vec![i as f32; 64]))
            .collect();
        let op = ReplicatedOp::Upsert(points.clone());
        let parts = split(op, 4096);
        assert!(parts.len() > 1);
        let mut joined = Vec::new();
        for p in parts {
            assert!(encode(&p).len() <= 4096);
            let ReplicatedOp::Upsert(ps) = p else {
                panic!()
            };
            joined.extend(ps);
        }
        assert_eq!(joined, points);
    }
}

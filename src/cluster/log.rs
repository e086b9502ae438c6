//! A shard's log entries: what the node that takes a write appends to the
//! shard's JetStream stream and every replica applies. Protobuf (prost
//! derive, no .proto file: nodes of one build only read their own), vectors
//! as the coordinator prepared them, payloads as JSON.

use prost::Message;

use crate::engine::payload_index::PayloadIndexSpec;
use crate::engine::{
    LoggedFilter, Payload, ReplicatedOp, ReplicatedPayloadUpdate, ReplicatedPoint, ReplicatedTarget,
};

/// `op` of an entry; 0 (entries before it existed too): upserts or deletes
/// by id, whichever is set.
const OP_POINTS: u32 = 0;
const OP_DELETE_MATCHING: u32 = 1;
const OP_MERGE_PAYLOAD: u32 = 2;
const OP_REPLACE_PAYLOAD: u32 = 3;
const OP_DELETE_PAYLOAD_KEYS: u32 = 4;
const OP_CREATE_PAYLOAD_INDEX: u32 = 5;
const OP_DROP_PAYLOAD_INDEX: u32 = 6;

#[derive(Clone, PartialEq, Message)]
struct LogEntry {
    #[prost(message, repeated, tag = "1")]
    upserts: Vec<LogPoint>,
    #[prost(string, repeated, tag = "2")]
    deletes: Vec<String>,
    #[prost(uint32, tag = "3")]
    op: u32,
    /// The filter selecting the points (a `clipdb.v1.Filter`); absent: `ids`.
    #[prost(bytes = "vec", optional, tag = "4")]
    filter: Option<Vec<u8>>,
    /// The points a payload update addresses.
    #[prost(string, repeated, tag = "5")]
    ids: Vec<String>,
    /// The payload to merge or set, as JSON.
    #[prost(bytes = "vec", optional, tag = "6")]
    payload: Option<Vec<u8>>,
    /// Payload keys to delete; the key of an index to drop.
    #[prost(string, repeated, tag = "7")]
    keys: Vec<String>,
    /// The index to create, as JSON.
    #[prost(bytes = "vec", optional, tag = "8")]
    index: Option<Vec<u8>>,
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

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON encodes")
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
            ..Default::default()
        },
        ReplicatedOp::Delete(ids) => LogEntry {
            deletes: ids.clone(),
            ..Default::default()
        },
        ReplicatedOp::DeleteMatching(f) => LogEntry {
            op: OP_DELETE_MATCHING,
            filter: Some(f.wire.clone()),
            ..Default::default()
        },
        ReplicatedOp::UpdatePayloads { target, update } => {
            let (filter, ids) = match target {
                ReplicatedTarget::Ids(ids) => (None, ids.clone()),
                ReplicatedTarget::Matching(f) => (Some(f.wire.clone()), Vec::new()),
            };
            let (op, payload, keys) = match update {
                ReplicatedPayloadUpdate::Merge(p) => (OP_MERGE_PAYLOAD, Some(json(p)), Vec::new()),
                ReplicatedPayloadUpdate::Replace(p) => {
                    (OP_REPLACE_PAYLOAD, Some(json(p)), Vec::new())
                }
                ReplicatedPayloadUpdate::DeleteKeys(k) => (OP_DELETE_PAYLOAD_KEYS, None, k.clone()),
            };
            LogEntry {
                op,
                filter,
                ids,
                payload,
                keys,
                ..Default::default()
            }
        }
        ReplicatedOp::CreatePayloadIndex(spec) => LogEntry {
            op: OP_CREATE_PAYLOAD_INDEX,
            index: Some(json(spec)),
            ..Default::default()
        },
        ReplicatedOp::DropPayloadIndex(key) => LogEntry {
            op: OP_DROP_PAYLOAD_INDEX,
            keys: vec![key.clone()],
            ..Default::default()
        },
    };
    entry.encode_to_vec()
}

/// A logged filter from its wire form (a `clipdb.v1.Filter`).
pub fn logged_filter(wire: Vec<u8>) -> Result<LoggedFilter, String> {
    let proto = <crate::proto::Filter as Message>::decode(wire.as_slice())
        .map_err(|e| format!("undecodable filter: {e}"))?;
    let filter = crate::api::convert::filter_from_proto(Some(proto))
        .map_err(|s| format!("filter: {}", s.message()))?
        .unwrap_or_default();
    Ok(LoggedFilter { filter, wire })
}

pub fn decode(bytes: &[u8]) -> Result<ReplicatedOp, String> {
    let entry = LogEntry::decode(bytes).map_err(|e| format!("undecodable log entry: {e}"))?;
    let payload = |p: Option<Vec<u8>>| -> Result<Payload, String> {
        serde_json::from_slice(p.as_deref().unwrap_or(b"{}"))
            .map_err(|e| format!("log entry: payload: {e}"))
    };
    let target = |filter: Option<Vec<u8>>, ids: Vec<String>| -> Result<ReplicatedTarget, String> {
        Ok(match filter {
            Some(wire) => ReplicatedTarget::Matching(logged_filter(wire)?),
            None => ReplicatedTarget::Ids(ids),
        })
    };
    match entry.op {
        OP_POINTS => {}
        OP_DELETE_MATCHING => {
            let wire = entry
                .filter
                .ok_or("log entry: delete by filter without a filter")?;
            return Ok(ReplicatedOp::DeleteMatching(logged_filter(wire)?));
        }
        OP_MERGE_PAYLOAD | OP_REPLACE_PAYLOAD | OP_DELETE_PAYLOAD_KEYS => {
            let update = match entry.op {
                OP_MERGE_PAYLOAD => ReplicatedPayloadUpdate::Merge(payload(entry.payload)?),
                OP_REPLACE_PAYLOAD => ReplicatedPayloadUpdate::Replace(payload(entry.payload)?),
                _ => ReplicatedPayloadUpdate::DeleteKeys(entry.keys),
            };
            return Ok(ReplicatedOp::UpdatePayloads {
                target: target(entry.filter, entry.ids)?,
                update,
            });
        }
        OP_CREATE_PAYLOAD_INDEX => {
            let spec: PayloadIndexSpec =
                serde_json::from_slice(entry.index.as_deref().unwrap_or(b""))
                    .map_err(|e| format!("log entry: payload index: {e}"))?;
            return Ok(ReplicatedOp::CreatePayloadIndex(spec));
        }
        OP_DROP_PAYLOAD_INDEX => {
            let key = entry
                .keys
                .into_iter()
                .next()
                .ok_or("log entry: index drop without a key")?;
            return Ok(ReplicatedOp::DropPayloadIndex(key));
        }
        other => {
            return Err(format!(
                "log entry of unknown kind {other} (written by a newer clipdb?)"
            ))
        }
    }
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
        ReplicatedOp::UpdatePayloads {
            target: ReplicatedTarget::Ids(ids),
            update,
        } => {
            let per = ids.len().div_ceil(parts).max(1);
            ids.chunks(per)
                .map(|c| ReplicatedOp::UpdatePayloads {
                    target: ReplicatedTarget::Ids(c.to_vec()),
                    update: update.clone(),
                })
                .collect()
        }
        // A filter and its update are one entry (too large: the log refuses
        // it and the request fails whole).
        other => vec![other],
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
    fn filter_payload_and_index_entries_round_trip() {
        use crate::proto;
        let wire = prost::Message::encode_to_vec(&proto::Filter {
            must: vec![proto::Condition {
                key: "group".into(),
                r#match: Some(proto::condition::Match::Equals(prost_types::Value {
                    kind: Some(prost_types::value::Kind::NumberValue(2.0)),
                })),
            }],
            ..Default::default()
        });
        let filter = logged_filter(wire).unwrap();
        assert_eq!(filter.filter.must.len(), 1);
        let mut payload = Payload::new();
        payload.insert("tag".into(), serde_json::json!(["a", 1.5, null]));
        let ops = vec![
            ReplicatedOp::DeleteMatching(filter.clone()),
            ReplicatedOp::UpdatePayloads {
                target: ReplicatedTarget::Matching(filter.clone()),
                update: ReplicatedPayloadUpdate::Merge(payload.clone()),
            },
            ReplicatedOp::UpdatePayloads {
                target: ReplicatedTarget::Ids(vec!["a".into(), "b".into()]),
                update: ReplicatedPayloadUpdate::Replace(Payload::new()),
            },
            ReplicatedOp::UpdatePayloads {
                target: ReplicatedTarget::Ids(vec!["a".into()]),
                update: ReplicatedPayloadUpdate::DeleteKeys(vec!["tag".into(), "m.x".into()]),
            },
            ReplicatedOp::CreatePayloadIndex(PayloadIndexSpec {
                key: "tag".into(),
                kind: crate::engine::payload_index::PayloadIndexType::Keyword,
            }),
            ReplicatedOp::DropPayloadIndex("tag".into()),
        ];
        for op in ops {
            assert_eq!(decode(&encode(&op)).unwrap(), op);
        }
        let unknown = LogEntry {
            op: 99,
            ..Default::default()
        };
        assert!(decode(&unknown.encode_to_vec())
            .unwrap_err()
            .contains("unknown kind 99"));
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

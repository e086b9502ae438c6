//! Protobuf <-> domain conversions.

use std::collections::BTreeMap;

use prost_types::value::Kind;
use serde_json::{Map, Number, Value};
use tonic::Status;

use super::status::invalid;
use crate::engine::payload::MAX_FILTER_DEPTH;
use crate::engine::payload_index::{PayloadIndexStats, PayloadIndexType};
use crate::engine::{
    self, CollectionInfo, Condition, Filter, Fusion, GraphSource, Match, Metric, Payload,
    Quantization, Range, Vectorizer,
};
use crate::proto;

/// Payload nesting deeper than this is refused (protects the stack and filters).
pub const MAX_PAYLOAD_DEPTH: usize = 32;

pub fn metric_from_proto(v: i32) -> Result<Metric, Status> {
    match proto::Metric::try_from(v) {
        Ok(proto::Metric::Cosine) => Ok(Metric::Cosine),
        Ok(proto::Metric::Dot) => Ok(Metric::Dot),
        Ok(proto::Metric::L2) => Ok(Metric::L2),
        Err(_) => Err(invalid("metric", format!("unknown value {v}"))),
    }
}

pub fn metric_to_proto(m: Metric) -> proto::Metric {
    match m {
        Metric::Cosine => proto::Metric::Cosine,
        Metric::Dot => proto::Metric::Dot,
        Metric::L2 => proto::Metric::L2,
    }
}

pub fn vectorizer_from_proto(v: i32) -> Result<Vectorizer, Status> {
    match proto::Vectorizer::try_from(v) {
        Ok(proto::Vectorizer::None) => Ok(Vectorizer::None),
        Ok(proto::Vectorizer::Clip) => Ok(Vectorizer::Clip),
        Err(_) => Err(invalid("vectorizer", format!("unknown value {v}"))),
    }
}

/// The quantization a create request asks for; None when unset (the
/// server's default applies).
pub fn quantization_from_proto(v: i32) -> Result<Option<Quantization>, Status> {
    match proto::Quantization::try_from(v) {
        Ok(proto::Quantization::None) => Ok(None),
        Ok(proto::Quantization::Int8) => Ok(Some(Quantization::Int8)),
        Ok(proto::Quantization::F32) => Ok(Some(Quantization::F32)),
        Err(_) => Err(invalid(
            "quantization",
            format!("unknown value {v} (0 unset, 1 int8, 2 f32)"),
        )),
    }
}

/// The proto form of a quantization a collection uses.
pub fn quantization_to_proto(q: Quantization) -> proto::Quantization {
    match q {
        Quantization::F32 => proto::Quantization::F32,
        Quantization::Int8 => proto::Quantization::Int8,
    }
}

pub fn fusion_from_proto(f: Option<proto::FusionWeights>) -> Option<Fusion> {
    f.map(|f| Fusion {
        image: f.image,
        text: f.text,
    })
}

pub fn collection_info_to_proto(info: CollectionInfo) -> proto::CollectionInfo {
    let c = info.config;
    proto::CollectionInfo {
        name: c.name,
        dimension: c.dimension,
        metric: metric_to_proto(c.metric) as i32,
        hnsw: Some(proto::HnswConfig {
            m: c.m,
            ef_construction: c.ef_construction,
            ef_search: c.ef_search,
        }),
        vectorizer: match c.vectorizer {
            Vectorizer::None => proto::Vectorizer::None,
            Vectorizer::Clip => proto::Vectorizer::Clip,
        } as i32,
        fusion: Some(proto::FusionWeights {
            image: c.fusion.image,
            text: c.fusion.text,
        }),
        segment_capacity: c.segment_capacity,
        point_count: info.point_count,
        segment_count: info.segments.len() as u32,
        segments: info
            .segments
            .into_iter()
            .map(|s| proto::SegmentInfo {
                id: s.id,
                sealed: s.sealed,
                records: s.records,
                live_points: s.live_points,
                graph_source: match s.graph_source {
                    GraphSource::Built => proto::GraphSource::Built,
                    GraphSource::Loaded => proto::GraphSource::Loaded,
                    GraphSource::Checkpoint => proto::GraphSource::Checkpoint,
                } as i32,
            })
            .collect(),
        payload_indexes: info
            .payload_indexes
            .into_iter()
            .map(payload_index_to_proto)
            .collect(),
        model_fingerprint: info
            .model
            .as_ref()
            .map(|m| m.fingerprint.clone())
            .unwrap_or_default(),
        model: info.model.map(|m| m.id).unwrap_or_default(),
        quantization: quantization_to_proto(c.quantization) as i32,
        thumbnails: Some(match c.thumbnails {
            Some(t) => proto::ThumbnailOptions {
                disabled: false,
                max_side: t.max_side,
                quality: t.quality as u32,
            },
            None => proto::ThumbnailOptions {
                disabled: true,
                ..Default::default()
            },
        }),
        // A single server's collection is one shard, one copy (cluster
        // mode fills these in src/cluster/).
        shards: 1,
        replication_factor: 1,
        shard_details: Vec::new(),
    }
}

pub fn thumbnails_from_proto(t: Option<proto::ThumbnailOptions>) -> crate::engine::ThumbnailSpec {
    let t = t.unwrap_or_default();
    crate::engine::ThumbnailSpec {
        disabled: t.disabled,
        max_side: t.max_side,
        quality: t.quality,
    }
}

fn value_to_json(field: &str, v: &prost_types::Value, depth: usize) -> Result<Value, Status> {
    if depth > MAX_PAYLOAD_DEPTH {
        return Err(invalid(
            field,
            format!("nested deeper than {MAX_PAYLOAD_DEPTH} levels"),
        ));
    }
    Ok(match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::NumberValue(n)) => Value::Number(
            Number::from_f64(*n)
                .ok_or_else(|| invalid(field, format!("number {n} is not finite")))?,
        ),
        Some(Kind::StructValue(s)) => Value::Object(struct_to_json(field, s, depth + 1)?),
        Some(Kind::ListValue(l)) => Value::Array(
            l.values
                .iter()
                .map(|x| value_to_json(field, x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn struct_to_json(
    field: &str,
    s: &prost_types::Struct,
    depth: usize,
) -> Result<Map<String, Value>, Status> {
    s.fields
        .iter()
        .map(|(k, v)| Ok((k.clone(), value_to_json(field, v, depth)?)))
        .collect()
}

pub fn payload_from_proto(
    field: &str,
    s: Option<prost_types::Struct>,
) -> Result<Option<Payload>, Status> {
    s.map(|s| struct_to_json(field, &s, 0)).transpose()
}

fn json_to_value(v: &Value) -> prost_types::Value {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(a) => Kind::ListValue(prost_types::ListValue {
            values: a.iter().map(json_to_value).collect(),
        }),
        Value::Object(o) => Kind::StructValue(payload_to_proto(o)),
    };
    prost_types::Value { kind: Some(kind) }
}

pub fn payload_to_proto(p: &Payload) -> prost_types::Struct {
    prost_types::Struct {
        fields: p
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub fn payload_index_type_from_proto(v: i32) -> Result<PayloadIndexType, Status> {
    match proto::PayloadIndexType::try_from(v) {
        Ok(proto::PayloadIndexType::PayloadIndexKeyword) => Ok(PayloadIndexType::Keyword),
        Ok(proto::PayloadIndexType::PayloadIndexInteger) => Ok(PayloadIndexType::Integer),
        Ok(proto::PayloadIndexType::PayloadIndexFloat) => Ok(PayloadIndexType::Float),
        Ok(proto::PayloadIndexType::PayloadIndexBool) => Ok(PayloadIndexType::Bool),
        Ok(proto::PayloadIndexType::PayloadIndexUnspecified) => Err(invalid(
            "type",
            "choose PAYLOAD_INDEX_KEYWORD, _INTEGER, _FLOAT or _BOOL",
        )),
        Err(_) => Err(invalid("type", format!("unknown payload index type {v}"))),
    }
}

pub fn payload_index_to_proto(s: PayloadIndexStats) -> proto::PayloadIndexInfo {
    proto::PayloadIndexInfo {
        key: s.spec.key,
        r#type: match s.spec.kind {
            PayloadIndexType::Keyword => proto::PayloadIndexType::PayloadIndexKeyword,
            PayloadIndexType::Integer => proto::PayloadIndexType::PayloadIndexInteger,
            PayloadIndexType::Float => proto::PayloadIndexType::PayloadIndexFloat,
            PayloadIndexType::Bool => proto::PayloadIndexType::PayloadIndexBool,
        } as i32,
        state: if s.ready {
            proto::PayloadIndexState::Ready
        } else {
            proto::PayloadIndexState::Building
        } as i32,
        indexed_points: s.indexed_points,
        mismatched_points: s.mismatched_points,
    }
}

/// `payload` with only the given keys (top-level or dotted; a dotted key
/// keeps its path's objects with only that field).
pub fn project_payload(payload: &Payload, keys: &[String]) -> Payload {
    let mut out = Payload::new();
    for key in keys {
        let Some(value) = engine::payload::lookup(payload, key) else {
            continue;
        };
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().expect("split yields one part");
        let mut node = &mut out;
        for part in parts {
            let entry = node
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            node = entry.as_object_mut().expect("made an object");
        }
        node.insert(last.to_string(), value.clone());
    }
    out
}

/// Most values in one `any` or ids in one `has_id` condition.
pub const MAX_CONDITION_VALUES: usize = 10_000;

fn condition_from_proto(
    field: &str,
    c: proto::Condition,
    depth: usize,
) -> Result<Condition, Status> {
    use proto::condition::Match as M;
    let needs_key = !matches!(c.r#match, Some(M::HasId(_)) | Some(M::Filter(_)));
    if needs_key && c.key.is_empty() {
        return Err(invalid(field, "condition key is empty"));
    }
    let count = |what: &str, n: usize| -> Result<(), Status> {
        if n == 0 || n > MAX_CONDITION_VALUES {
            return Err(invalid(
                field,
                format!("`{what}` needs 1 to {MAX_CONDITION_VALUES} entries, got {n}"),
            ));
        }
        Ok(())
    };
    let matches = match c.r#match {
        Some(M::Equals(v)) => Match::Equals(value_to_json(field, &v, 0)?),
        Some(M::Range(r)) => {
            let bounds = [r.gt, r.gte, r.lt, r.lte];
            if bounds.iter().flatten().any(|b| b.is_nan()) {
                return Err(invalid(field, "range bound is NaN"));
            }
            if bounds.iter().all(Option::is_none) {
                return Err(invalid(field, "range has no bound"));
            }
            Match::Range(Range {
                gt: r.gt,
                gte: r.gte,
                lt: r.lt,
                lte: r.lte,
            })
        }
        Some(M::Any(list)) => {
            count("any", list.values.len())?;
            Match::Any(
                list.values
                    .iter()
                    .map(|v| value_to_json(field, v, 0))
                    .collect::<Result<_, _>>()?,
            )
        }
        Some(M::IsEmpty(_)) => Match::IsEmpty,
        Some(M::HasId(list)) => {
            count("has_id", list.ids.len())?;
            Match::HasId(list.ids.into_iter().collect())
        }
        Some(M::Text(text)) => {
            let words: Vec<String> = engine::payload::words(&text).collect();
            if words.is_empty() {
                return Err(invalid(field, "`text` has no words (letters or digits)"));
            }
            Match::Text(words)
        }
        Some(M::Filter(f)) => Match::Filter(Box::new(filter_at_depth(field, f, depth + 1)?)),
        None => {
            return Err(invalid(
                field,
                "condition needs one of `equals`, `range`, `any`, `is_empty`, `has_id`, `text`, `filter`",
            ))
        }
    };
    Ok(Condition {
        key: c.key,
        matches,
    })
}

fn filter_at_depth(field: &str, f: proto::Filter, depth: usize) -> Result<Filter, Status> {
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(
            field,
            format!("filters nest at most {MAX_FILTER_DEPTH} levels deep"),
        ));
    }
    let convert = |name: &str, list: Vec<proto::Condition>| -> Result<Vec<Condition>, Status> {
        list.into_iter()
            .enumerate()
            .map(|(i, c)| condition_from_proto(&format!("{field}.{name}[{i}]"), c, depth))
            .collect()
    };
    Ok(Filter {
        must: convert("must", f.must)?,
        should: convert("should", f.should)?,
        must_not: convert("must_not", f.must_not)?,
    })
}

pub fn filter_from_proto(f: Option<proto::Filter>) -> Result<Option<Filter>, Status> {
    f.map(|f| filter_at_depth("filter", f, 1)).transpose()
}

pub fn point_from_proto(
    index: usize,
    p: proto::Point,
    max_payload_bytes: usize,
) -> Result<engine::PointInput, Status> {
    let field = if p.id.is_empty() {
        format!("points[{index}]")
    } else {
        format!("point `{}`", p.id)
    };
    let payload_bytes = p.payload.as_ref().map_or(0, prost::Message::encoded_len);
    if payload_bytes > max_payload_bytes {
        return Err(invalid(
            &format!("{field}.payload"),
            format!(
                "{payload_bytes} bytes exceed the limit of {max_payload_bytes} (server option --max-payload-bytes)"
            ),
        ));
    }
    // Each space takes one source: the image space `vector` or `image`, the
    // caption space `text_vector` or `text`. A raw `vector` with text or
    // image is ambiguous (which model made it?), so it stands alone.
    let has_media = !p.text.is_empty() || !p.image.is_empty();
    if !p.vector.is_empty() && has_media {
        return Err(invalid(
            &field,
            "set either `vector` or `text`/`image`, not both",
        ));
    }
    if !p.text_vector.is_empty() && !p.text.is_empty() {
        return Err(invalid(
            &field,
            "set either `text_vector` or `text`, not both",
        ));
    }
    let image = if !p.vector.is_empty() {
        Some(engine::ImageInput::Vector(p.vector))
    } else if !p.image.is_empty() {
        Some(engine::ImageInput::Encoded(p.image))
    } else {
        None
    };
    let caption = if !p.text_vector.is_empty() {
        Some(engine::CaptionInput::Vector(p.text_vector))
    } else if !p.text.is_empty() {
        Some(engine::CaptionInput::Text(p.text))
    } else {
        None
    };
    if image.is_none() && caption.is_none() {
        return Err(invalid(&field, "has no vector, text or image"));
    }
    let data = engine::PointData { image, caption };
    Ok(engine::PointInput {
        payload: payload_from_proto(&format!("{field}.payload"), p.payload)?,
        id: p.id,
        data,
    })
}

/// Splits stored vectors into the proto's `vector` (image, else caption) and `text_vector`.
pub fn vectors_to_proto(v: Option<[Option<Vec<f32>>; 2]>) -> (Vec<f32>, Vec<f32>) {
    match v {
        None => (Vec::new(), Vec::new()),
        Some([Some(image), text]) => (image, text.unwrap_or_default()),
        Some([None, Some(text)]) => (text.clone(), text),
        Some([None, None]) => (Vec::new(), Vec::new()),
    }
}

pub fn snapshot_info_to_proto(info: crate::engine::SnapshotInfo) -> proto::SnapshotInfo {
    let created_at = (info.created_at_us > 0).then(|| prost_types::Timestamp {
        seconds: (info.created_at_us / 1_000_000) as i64,
        nanos: (info.created_at_us % 1_000_000) as i32 * 1000,
    });
    proto::SnapshotInfo {
        name: info.name,
        collection: info.collection,
        size_bytes: info.size_bytes,
        created_at,
        point_count: info.point_count,
        path: info.path.display().to_string(),
        error: info.error.unwrap_or_default(),
        shards: Vec::new(),
    }
}

/// The wire form of a filter (the search page's filters, parsed from its
/// syntax, go through the cluster as gRPC searches do).
pub fn filter_to_proto(f: &Filter) -> proto::Filter {
    let convert = |list: &[Condition]| list.iter().map(condition_to_proto).collect();
    proto::Filter {
        must: convert(&f.must),
        should: convert(&f.should),
        must_not: convert(&f.must_not),
    }
}

fn condition_to_proto(c: &Condition) -> proto::Condition {
    use proto::condition::Match as M;
    let matches = match &c.matches {
        Match::Equals(v) => M::Equals(json_to_value(v)),
        Match::Range(r) => M::Range(proto::Range {
            gt: r.gt,
            gte: r.gte,
            lt: r.lt,
            lte: r.lte,
        }),
        Match::Any(values) => M::Any(proto::ValueList {
            values: values.iter().map(json_to_value).collect(),
        }),
        Match::IsEmpty => M::IsEmpty(proto::IsEmpty {}),
        Match::HasId(ids) => {
            let mut ids: Vec<String> = ids.iter().cloned().collect();
            ids.sort();
            M::HasId(proto::IdList { ids })
        }
        Match::Text(words) => M::Text(words.join(" ")),
        Match::Filter(f) => M::Filter(filter_to_proto(f)),
    };
    proto::Condition {
        key: c.key.clone(),
        r#match: Some(matches),
    }
}

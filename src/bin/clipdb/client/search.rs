//! `clipdb search`: a text or image query against a collection, printed as a
//! ranked table and optionally written as an HTML gallery.

use std::path::PathBuf;

use super::{ClientError, Clients};
use clipdb::api::convert::payload_from_proto;
use clipdb::proto;

/// A search as the command line gives it.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub collection: String,
    pub query: QueryInput,
    pub limit: u32,
    /// `key=value` equality conditions, all of which must hold.
    pub filters: Vec<String>,
    /// (image, text) fusion weights; None: the collection's.
    pub fusion: Option<(f32, f32)>,
}

#[derive(Debug, Clone)]
pub enum QueryInput {
    Text(String),
    Image(PathBuf),
}

/// One ranked hit with the fields the table and gallery show.
#[derive(Debug, Clone)]
pub struct ResultRow {
    pub rank: usize,
    pub id: String,
    pub score: f32,
    pub file_name: Option<String>,
    pub captions: Vec<String>,
    pub payload: serde_json::Map<String, serde_json::Value>,
}

/// Parses `key=value`: the value is JSON when it parses as a number, a
/// boolean or a quoted string, else the literal text.
pub fn parse_filter(spec: &str) -> Result<proto::Condition, ClientError> {
    let (key, value) = spec
        .split_once('=')
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| ClientError::Usage(format!("--filter `{spec}`: expected key=value")))?;
    let kind = match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Number(n)) => {
            prost_types::value::Kind::NumberValue(n.as_f64().unwrap_or(0.0))
        }
        Ok(serde_json::Value::Bool(b)) => prost_types::value::Kind::BoolValue(b),
        Ok(serde_json::Value::String(s)) => prost_types::value::Kind::StringValue(s),
        _ => prost_types::value::Kind::StringValue(value.to_string()),
    };
    Ok(proto::Condition {
        key: key.to_string(),
        r#match: Some(proto::condition::Match::Equals(prost_types::Value {
            kind: Some(kind),
        })),
    })
}

pub async fn search(
    clients: &Clients,
    options: &SearchOptions,
) -> Result<Vec<ResultRow>, ClientError> {
    let query = match &options.query {
        QueryInput::Text(t) => proto::search_request::Query::Text(t.clone()),
        QueryInput::Image(path) => proto::search_request::Query::Image(
            std::fs::read(path).map_err(|e| ClientError::file(path, e))?,
        ),
    };
    let must = options
        .filters
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>, _>>()?;
    let request = proto::SearchRequest {
        collection: options.collection.clone(),
        query: Some(query),
        limit: options.limit,
        filter: (!must.is_empty()).then(|| proto::Filter {
            must,
            ..Default::default()
        }),
        with_payload: true,
        fusion: options
            .fusion
            .map(|(image, text)| proto::FusionWeights { image, text }),
        ..Default::default()
    };
    let hits = clients
        .points
        .clone()
        .search(request)
        .await
        .map_err(|s| ClientError::rpc("search", s))?
        .into_inner()
        .hits;
    Ok(hits
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let payload = payload_from_proto("payload", h.payload)
                .ok()
                .flatten()
                .unwrap_or_default();
            let file_name = payload
                .get("file_name")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let captions = match payload.get("captions").or_else(|| payload.get("caption")) {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect(),
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            };
            ResultRow {
                rank: i + 1,
                id: h.id,
                score: h.score,
                file_name,
                captions,
                payload,
            }
        })
        .collect())
}

/// The ranked table printed to stdout.
pub fn format_table(rows: &[ResultRow]) -> String {
    let id_w = rows
        .iter()
        .map(|r| r.id.chars().count())
        .max()
        .unwrap_or(2)
        .max(2);
    let file_w = rows
        .iter()
        .map(|r| r.file_name.as_deref().unwrap_or("-").chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:>4}  {:<id_w$}  {:>7}  {:<file_w$}  caption\n",
        "rank", "id", "score", "file"
    );
    for r in rows {
        let caption: String = r
            .captions
            .first()
            .map(String::as_str)
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        out.push_str(&format!(
            "{:>4}  {:<id_w$}  {:>7.4}  {:<file_w$}  {}\n",
            r.rank,
            r.id,
            r.score,
            r.file_name.as_deref().unwrap_or("-"),
            caption
        ));
    }
    out
}

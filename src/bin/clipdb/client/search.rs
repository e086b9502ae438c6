//! `clipdb search`: a text or image query against a collection, printed as a
//! ranked table and optionally written as an HTML gallery.

use std::path::PathBuf;

use super::{ClientError, Clients};
use clipdb::api::convert::payload_from_proto;
use clipdb_client::proto;

/// A search as the command line gives it.
#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub collection: String,
    pub query: QueryInput,
    pub limit: u32,
    /// Conditions (see [`parse_filter`]), all of which must hold.
    pub filters: Vec<String>,
    /// Best hits to skip (paging).
    pub offset: u32,
    /// Leave out hits worse than this score.
    pub threshold: Option<f32>,
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

/// A filter as the command line writes it, one condition per `--filter`,
/// in the syntax the search page's filter box and the HTTP API share
/// (`clipdb::api::filter_syntax`): `key=value`, `key!=value`, `key>=n`,
/// `key>n`, `key<=n`, `key<n`, or `key~words`. Returns the condition and
/// whether it must NOT hold (`!=`).
pub fn parse_filter(spec: &str) -> Result<(proto::Condition, bool), ClientError> {
    let (condition, negated) = clipdb::api::filter_syntax::parse_condition(spec)
        .map_err(|e| ClientError::Usage(format!("--filter {e}")))?;
    Ok((condition_to_proto(condition), negated))
}

/// The conditions the filter syntax makes, as the client's protobuf.
fn condition_to_proto(c: clipdb::engine::Condition) -> proto::Condition {
    use clipdb::engine::Match as M;
    use proto::condition::Match;
    let matches = match c.matches {
        M::Equals(v) => Match::Equals(json_value(v)),
        M::Range(r) => Match::Range(proto::Range {
            gt: r.gt,
            gte: r.gte,
            lt: r.lt,
            lte: r.lte,
        }),
        M::Text(words) => Match::Text(words.join(" ")),
        other => unreachable!("the filter syntax makes no {other:?}"),
    };
    proto::Condition {
        key: c.key,
        r#match: Some(matches),
    }
}

fn json_value(value: serde_json::Value) -> prost_types::Value {
    let kind = match value {
        serde_json::Value::Number(n) => {
            prost_types::value::Kind::NumberValue(n.as_f64().unwrap_or(0.0))
        }
        serde_json::Value::Bool(b) => prost_types::value::Kind::BoolValue(b),
        serde_json::Value::String(s) => prost_types::value::Kind::StringValue(s),
        other => prost_types::value::Kind::StringValue(other.to_string()),
    };
    prost_types::Value { kind: Some(kind) }
}

/// The filter of several `--filter` specs: all must hold.
pub fn filter_from_specs(specs: &[String]) -> Result<Option<proto::Filter>, ClientError> {
    let mut filter = proto::Filter::default();
    for spec in specs {
        let (condition, negated) = parse_filter(spec)?;
        if negated {
            filter.must_not.push(condition);
        } else {
            filter.must.push(condition);
        }
    }
    Ok((!specs.is_empty()).then_some(filter))
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
    let request = proto::SearchRequest {
        collection: options.collection.clone(),
        query: Some(query),
        limit: options.limit,
        offset: options.offset,
        score_threshold: options.threshold,
        filter: filter_from_specs(&options.filters)?,
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
                rank: options.offset as usize + i + 1,
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

#[cfg(test)]
mod filter_syntax_tests {
    use super::*;
    use proto::condition::Match;

    #[test]
    fn every_operator_parses_to_its_condition() {
        let (c, neg) = parse_filter("colour=red").unwrap();
        assert_eq!(c.key, "colour");
        assert!(!neg);
        assert!(matches!(c.r#match, Some(Match::Equals(_))));
        let (c, neg) = parse_filter("meta.year!=2020").unwrap();
        assert_eq!(c.key, "meta.year");
        assert!(neg);
        let (c, _) = parse_filter("n>=2.5").unwrap();
        assert!(matches!(c.r#match, Some(Match::Range(r)) if r.gte == Some(2.5) && r.lt.is_none()));
        let (c, _) = parse_filter("n<7").unwrap();
        assert!(matches!(c.r#match, Some(Match::Range(r)) if r.lt == Some(7.0)));
        let (c, _) = parse_filter("caption~red bus").unwrap();
        assert!(matches!(c.r#match, Some(Match::Text(t)) if t == "red bus"));
        for bad in ["=x", "novalue", "n>=abc"] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
        let f = filter_from_specs(&["a=1".into(), "b!=2".into()])
            .unwrap()
            .unwrap();
        assert_eq!((f.must.len(), f.must_not.len()), (1, 1));
    }
}

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

/// A filter as the command line writes it, one condition per `--filter`:
/// `key=value`, `key!=value`, `key>=n`, `key>n`, `key<=n`, `key<n`, or
/// `key~words` (the field's text holds every word). A value is JSON when it
/// parses as a number, a boolean or a quoted string, else the literal text.
/// Returns the condition and whether it must NOT hold (`!=`).
pub fn parse_filter(spec: &str) -> Result<(proto::Condition, bool), ClientError> {
    use proto::condition::Match;
    let usage = || {
        ClientError::Usage(format!(
            "--filter `{spec}`: expected key=value, key!=value, key>=n, key>n, key<=n, key<n or key~words"
        ))
    };
    // The first operator character ends the key; two-character operators first.
    let at = spec.find(['=', '!', '<', '>', '~']).ok_or_else(usage)?;
    let (key, rest) = spec.split_at(at);
    if key.is_empty() {
        return Err(usage());
    }
    let (op, value) = ["!=", ">=", "<=", "=", ">", "<", "~"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v)))
        .ok_or_else(usage)?;
    let number = || -> Result<f64, ClientError> {
        value.trim().parse::<f64>().map_err(|_| {
            ClientError::Usage(format!("--filter `{spec}`: `{value}` is not a number"))
        })
    };
    let range = |r: proto::Range| Match::Range(r);
    let matches = match op {
        "=" | "!=" => Match::Equals(json_value(value)),
        ">=" => range(proto::Range {
            gte: Some(number()?),
            ..Default::default()
        }),
        ">" => range(proto::Range {
            gt: Some(number()?),
            ..Default::default()
        }),
        "<=" => range(proto::Range {
            lte: Some(number()?),
            ..Default::default()
        }),
        "<" => range(proto::Range {
            lt: Some(number()?),
            ..Default::default()
        }),
        _ => Match::Text(value.to_string()),
    };
    Ok((
        proto::Condition {
            key: key.to_string(),
            r#match: Some(matches),
        },
        op == "!=",
    ))
}

fn json_value(value: &str) -> prost_types::Value {
    let kind = match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Number(n)) => {
            prost_types::value::Kind::NumberValue(n.as_f64().unwrap_or(0.0))
        }
        Ok(serde_json::Value::Bool(b)) => prost_types::value::Kind::BoolValue(b),
        Ok(serde_json::Value::String(s)) => prost_types::value::Kind::StringValue(s),
        _ => prost_types::value::Kind::StringValue(value.to_string()),
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

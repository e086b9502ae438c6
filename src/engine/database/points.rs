//! Point operations beyond upsert, get and search: counting, deleting and
//! paging by filter, payload updates, and recommendations.

use std::sync::Arc;

use super::validate::{check_count, check_search_params, validate_point_id};
use super::Database;
use crate::engine::commit::PayloadUpdate;
use crate::engine::payload::{Filter, Payload};
use crate::engine::types::*;
use crate::engine::{EngineError, Result};

/// Which points a bulk operation addresses: listed ids or a filter.
#[derive(Debug, Clone)]
pub enum Selection {
    Ids(Vec<String>),
    Filter(Filter),
}

impl Selection {
    /// `ids` or `filter`, exactly one of them.
    pub fn new(ids: Vec<String>, filter: Option<Filter>) -> Result<Selection> {
        match (ids.is_empty(), filter) {
            (false, None) => Ok(Selection::Ids(ids)),
            (true, Some(f)) => Ok(Selection::Filter(f)),
            (false, Some(_)) => Err(EngineError::invalid(
                "filter",
                "set either `ids` or `filter`, not both",
            )),
            (true, None) => Err(EngineError::invalid(
                "ids",
                "set the points: `ids` or `filter`",
            )),
        }
    }
}

/// What a client asks Recommend for.
#[derive(Debug, Clone, Default)]
pub struct RecommendQuery {
    pub positive_ids: Vec<String>,
    pub positive_vectors: Vec<Vec<f32>>,
    pub negative_ids: Vec<String>,
    pub negative_vectors: Vec<Vec<f32>>,
}

impl Database {
    /// Live points of `collection`, or those matching `filter`, exactly.
    pub fn count(&self, collection: &str, filter: Option<&Filter>) -> Result<u64> {
        let collection = self.collection(collection)?;
        Ok(match filter {
            None => collection.count(),
            Some(f) => collection.count_matching(f),
        })
    }

    /// One page of a scroll: up to `limit` points after the one the page
    /// token names (none: from the start), in id order, and the token of
    /// the next page (empty after the last).
    pub fn scroll(
        &self,
        collection: &str,
        page_token: &str,
        limit: usize,
        filter: Option<&Filter>,
        with_vector: bool,
    ) -> Result<(Vec<StoredPoint>, String)> {
        let collection = self.collection(collection)?;
        super::replicated::check_scroll_limit(limit)?;
        let after = if page_token.is_empty() {
            None
        } else {
            Some(page_token::decode(collection.config(), page_token)?)
        };
        let page = collection.scroll(after.as_deref(), limit, filter, with_vector);
        let next = page
            .last_id
            .map(|id| page_token::encode(collection.config(), &id))
            .unwrap_or_default();
        Ok((page.points, next))
    }

    /// The ids a selection names, validated (listed ids) or found (filter).
    fn selected_ids(
        &self,
        collection: &crate::engine::Collection,
        selection: Selection,
    ) -> Result<Vec<String>> {
        match selection {
            Selection::Ids(ids) => {
                check_count(
                    "ids",
                    ids.len(),
                    self.options.max_ids_per_request,
                    "--max-ids-per-request",
                )?;
                for (i, id) in ids.iter().enumerate() {
                    validate_point_id(&format!("ids[{i}]"), id)?;
                }
                Ok(ids)
            }
            Selection::Filter(f) => Ok(collection.matching_ids(&f)),
        }
    }

    /// Deletes the selected points in one atomic commit; returns how many
    /// existed.
    pub async fn delete_points(&self, collection: &str, selection: Selection) -> Result<u64> {
        let collection = self.collection(collection)?;
        let ids = self.selected_ids(&collection, selection)?;
        let _admitted = self.admit_write()?;
        collection.delete(ids).await
    }

    /// Merges `payload` into (or with `replace`, substitutes it for) the
    /// payloads of the selected points; returns how many were updated.
    pub async fn set_payload(
        &self,
        collection: &str,
        selection: Selection,
        payload: Payload,
        replace: bool,
    ) -> Result<u64> {
        let update = if replace {
            PayloadUpdate::Replace(payload)
        } else {
            PayloadUpdate::Merge(payload)
        };
        self.update_payloads(collection, selection, update).await
    }

    /// Removes `keys` from the payloads of the selected points.
    pub async fn delete_payload_keys(
        &self,
        collection: &str,
        selection: Selection,
        keys: Vec<String>,
    ) -> Result<u64> {
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return Err(EngineError::invalid(
                "keys",
                "name at least one key, none empty",
            ));
        }
        self.update_payloads(collection, selection, PayloadUpdate::DeleteKeys(keys))
            .await
    }

    async fn update_payloads(
        &self,
        collection: &str,
        selection: Selection,
        update: PayloadUpdate,
    ) -> Result<u64> {
        let collection = self.collection(collection)?;
        let ids = self.selected_ids(&collection, selection)?;
        let _admitted = self.admit_write()?;
        collection.update_payloads(ids, update).await
    }

    /// "More like these, less like those": searches with
    /// `2 * mean(positive) - mean(negative)` (the mean of the positives
    /// without negatives), leaving the examples given by id out of the hits.
    pub async fn recommend(
        &self,
        collection: &str,
        query: RecommendQuery,
        params: SearchParams,
    ) -> Result<Vec<Hit>> {
        let collection = self.collection(collection)?;
        check_search_params(&params)?;
        if query.positive_ids.is_empty() && query.positive_vectors.is_empty() {
            return Err(EngineError::invalid(
                "positive_ids",
                "give at least one positive example (an id or a vector)",
            ));
        }
        let examples = |ids: &[String], vectors: Vec<Vec<f32>>, side: &str| {
            let mut out = Vec::with_capacity(ids.len() + vectors.len());
            for (i, id) in ids.iter().enumerate() {
                let field = format!("{side}_ids[{i}]");
                validate_point_id(&field, id)?;
                out.push(collection.stored_vector_of(&field, id)?);
            }
            for (i, v) in vectors.into_iter().enumerate() {
                out.push(collection.check_vector(&format!("{side}_vectors[{i}]"), v)?);
            }
            Ok::<_, EngineError>(out)
        };
        let positive = examples(&query.positive_ids, query.positive_vectors, "positive")?;
        let negative = examples(&query.negative_ids, query.negative_vectors, "negative")?;
        let target = recommend_target(&positive, &negative);
        // Normalised again for cosine (a mean of unit vectors is shorter).
        let target = collection.check_vector("positive", target)?;
        let exclude: Vec<String> = query
            .positive_ids
            .into_iter()
            .chain(query.negative_ids)
            .collect();
        self.run_search(Arc::clone(&collection), target, params, exclude)
            .await
    }
}

/// `2 * mean(positive) - mean(negative)`, or the mean of the positives
/// without negatives (not yet normalised). `positive` is not empty.
pub(crate) fn recommend_target(positive: &[Vec<f32>], negative: &[Vec<f32>]) -> Vec<f32> {
    let mean = |vs: &[Vec<f32>]| -> Vec<f32> {
        let mut m = vec![0.0f32; vs[0].len()];
        for v in vs {
            for (a, x) in m.iter_mut().zip(v) {
                *a += x / vs.len() as f32;
            }
        }
        m
    };
    let mut target = mean(positive);
    if !negative.is_empty() {
        let away = mean(negative);
        for (t, n) in target.iter_mut().zip(&away) {
            *t = 2.0 * *t - n;
        }
    }
    target
}

impl Database {
    /// A scroll page token naming `last_id` of the collection `config`
    /// describes (cluster mode: the token of a merged page).
    pub fn encode_page_token(config: &CollectionConfig, last_id: &str) -> String {
        page_token::encode(config, last_id)
    }

    /// The last id a page token of the collection `config` describes names.
    pub fn decode_page_token(config: &CollectionConfig, token: &str) -> Result<String> {
        page_token::decode(config, token)
    }
}

/// Scroll page tokens: the last id of a page, bound to its collection.
///
/// A token is base64url of: version (1 byte), a hash of the collection's
/// name (8 bytes, to tell a token of another collection), a checksum of
/// everything keyed with the collection's secret (8 bytes, to tell an
/// altered or made-up token, or one of a dropped and re-created
/// collection), then the id. A valid token only ever names a place to start
/// from, so the checksum guards against mistakes, not attackers.
mod page_token {
    use base64::Engine as _;
    use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

    use crate::engine::types::CollectionConfig;
    use crate::engine::{EngineError, Result};

    const VERSION: u8 = 1;
    const HEADER: usize = 17;

    fn checksum(config: &CollectionConfig, id: &[u8]) -> u64 {
        xxh3_64_with_seed(id, config.secret ^ xxh3_64(config.name.as_bytes()))
    }

    pub fn encode(config: &CollectionConfig, last_id: &str) -> String {
        let mut raw = Vec::with_capacity(HEADER + last_id.len());
        raw.push(VERSION);
        raw.extend_from_slice(&xxh3_64(config.name.as_bytes()).to_le_bytes());
        raw.extend_from_slice(&checksum(config, last_id.as_bytes()).to_le_bytes());
        raw.extend_from_slice(last_id.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(config: &CollectionConfig, token: &str) -> Result<String> {
        let bad = |why: &str| EngineError::invalid("page_token", why.to_string());
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad("not a page token (not base64url)"))?;
        if raw.len() <= HEADER || raw[0] != VERSION {
            return Err(bad("not a page token of this server"));
        }
        let name_hash = u64::from_le_bytes(raw[1..9].try_into().expect("8 bytes"));
        if name_hash != xxh3_64(config.name.as_bytes()) {
            return Err(bad(&format!(
                "the token belongs to another collection, not `{}`",
                config.name
            )));
        }
        let sum = u64::from_le_bytes(raw[9..17].try_into().expect("8 bytes"));
        let id = &raw[HEADER..];
        if sum != checksum(config, id) {
            return Err(bad(
                "the token was altered or belongs to an earlier collection of this name",
            ));
        }
        String::from_utf8(id.to_vec()).map_err(|_| bad("not a page token of this server"))
    }
}

impl Database {
    /// Creates a payload index (see [`crate::engine::payload_index`]).
    pub async fn create_payload_index(
        &self,
        collection: &str,
        spec: crate::engine::payload_index::PayloadIndexSpec,
    ) -> Result<crate::engine::payload_index::PayloadIndexStats> {
        let collection = self.collection(collection)?;
        if spec.key.is_empty() || spec.key.split('.').any(str::is_empty) {
            return Err(EngineError::invalid(
                "key",
                format!(
                    "`{}` is not a payload key (dotted names need every part)",
                    spec.key
                ),
            ));
        }
        let _admitted = self.admit_write()?;
        collection.create_payload_index(spec).await
    }

    pub async fn drop_payload_index(&self, collection: &str, key: &str) -> Result<()> {
        let collection = self.collection(collection)?;
        let _admitted = self.admit_write()?;
        collection.drop_payload_index(key).await
    }
}

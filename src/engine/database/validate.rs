//! Validation of requests against the collection they address: names, ids,
//! request sizes, and points (vectors checked and normalised, texts and
//! images set aside for embedding).

use std::collections::HashMap;

use super::embedding::MediaInputs;
use super::{Database, MAX_ID_BYTES, MAX_LIMIT};
use crate::engine::collection::{PointSchema, PreparedPoint};
use crate::engine::types::*;
use crate::engine::{EngineError, Result};

pub fn validate_collection_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "name",
            format!("collection name `{name}` must match [A-Za-z0-9_-]{{1,64}}"),
        ))
    }
}

pub fn validate_point_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(EngineError::invalid(
            field,
            format!(
                "point id must be 1 to {MAX_ID_BYTES} bytes, got {}",
                id.len()
            ),
        ));
    }
    Ok(())
}

impl Database {
    /// Validates points against the collection and turns raw ones into
    /// vectors; text and image inputs come back separately, to be embedded
    /// into the returned points' slots.
    pub(crate) fn prepare_points(
        &self,
        collection: &dyn PointSchema,
        points: Vec<PointInput>,
    ) -> Result<(Vec<PreparedPoint>, MediaInputs)> {
        let config = collection.schema_config();
        // Last write of an id within one request wins.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, p) in points.iter().enumerate() {
            validate_point_id(&format!("points[{i}].id"), &p.id)?;
            last.insert(p.id.as_str(), i);
        }
        let keep: Vec<bool> = (0..points.len())
            .map(|i| last.get(points[i].id.as_str()) == Some(&i))
            .collect();
        let mut out = Vec::with_capacity(points.len());
        let mut media = MediaInputs::default();
        for (p, keep) in points.into_iter().zip(keep) {
            if !keep {
                continue;
            }
            let field = format!("point `{}`", p.id);
            if p.data.image.is_none() && p.data.caption.is_none() {
                return Err(EngineError::invalid(&field, "has no vector, text or image"));
            }
            let mut vectors = [None, None];
            match p.data.image {
                Some(ImageInput::Vector(v)) => {
                    vectors[IMAGE_SPACE] = Some(collection.check_vector(&field, v)?)
                }
                Some(ImageInput::Encoded(image)) => {
                    self.embedder_for(collection, &field)?;
                    media.images.push((out.len(), image));
                }
                None => {}
            }
            match p.data.caption {
                Some(CaptionInput::Vector(v)) => {
                    if config.vectorizer != Vectorizer::Clip {
                        return Err(EngineError::invalid(
                            &field,
                            "caption vectors need a CLIP collection",
                        ));
                    }
                    vectors[TEXT_SPACE] = Some(collection.check_vector(&field, v)?);
                }
                Some(CaptionInput::Text(text)) => {
                    self.embedder_for(collection, &field)?;
                    media.texts.push((out.len(), text));
                }
                None => {}
            }
            out.push(PreparedPoint {
                id: p.id,
                vectors,
                payload: p.payload,
                thumbnail: None,
            });
        }
        Ok((out, media))
    }
}

/// A request's item count against its configured limit.
pub(super) fn check_count(field: &str, n: usize, max: usize, flag: &str) -> Result<()> {
    if n > max {
        return Err(EngineError::invalid(
            field,
            format!("{n} in one request exceed the limit of {max} (server option {flag})"),
        ));
    }
    Ok(())
}

/// Limits every search-like request shares: 1 <= limit, offset + limit <=
/// [`MAX_LIMIT`], valid fusion weights, a finite threshold.
pub(super) fn check_search_params(params: &SearchParams) -> Result<()> {
    if params.limit == 0 || params.limit > MAX_LIMIT {
        return Err(EngineError::invalid(
            "limit",
            format!("{} is outside 1..={MAX_LIMIT}", params.limit),
        ));
    }
    if params.offset + params.limit > MAX_LIMIT {
        return Err(EngineError::invalid(
            "offset",
            format!(
                "offset + limit = {} exceeds {MAX_LIMIT}",
                params.offset + params.limit
            ),
        ));
    }
    if params.score_threshold.is_some_and(|t| !t.is_finite()) {
        return Err(EngineError::invalid("score_threshold", "must be finite"));
    }
    if let Some(f) = &params.fusion {
        f.validate("fusion")?;
    }
    Ok(())
}

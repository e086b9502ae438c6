//! Embedding of texts and images through the shared queue, in chunks of its
//! batch size, and the mapping of input errors to the points that caused
//! them.

use super::{Database, NO_MODEL};
use crate::embed::{EmbedError, EmbedQueue};
use crate::engine::collection::{PointSchema, PreparedPoint, MODEL_KEY};
use crate::engine::types::*;
use crate::engine::{EngineError, Result};

/// Embedding requests kept in flight per client request: enough to overlap
/// decoding the next chunk with the forward pass of this one, few enough to
/// leave the shared queue to other clients.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Texts and images of one upsert request waiting to be embedded, each with
/// the position of its point among the prepared points.
#[derive(Default)]
pub(crate) struct MediaInputs {
    pub(super) texts: Vec<(usize, String)>,
    pub(super) images: Vec<(usize, Vec<u8>)>,
}

impl MediaInputs {
    fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.images.is_empty()
    }
}

impl Database {
    /// The embedding queue, for text or image work on `collection`: a model
    /// is loaded, the collection is a CLIP one, and it was filled by this
    /// model (or by none yet).
    pub(super) fn embedder_for(
        &self,
        collection: &dyn PointSchema,
        what: &str,
    ) -> Result<&EmbedQueue> {
        let queue = self
            .embedder
            .as_ref()
            .ok_or_else(|| EngineError::FailedPrecondition(format!("{what}: {NO_MODEL}")))?;
        let config = collection.schema_config();
        if config.vectorizer != Vectorizer::Clip {
            return Err(EngineError::FailedPrecondition(format!(
                "{what}: collection `{}` has no vectorizer; text and image need a collection created with VECTORIZER_CLIP",
                config.name
            )));
        }
        let info = queue.embedder().info();
        if let Some(recorded) = collection.schema_model() {
            if recorded.fingerprint != info.fingerprint {
                return Err(EngineError::FailedPrecondition(format!(
                    "{what}: collection `{}` was embedded with model {} (fingerprint {}), but this server runs model {} (fingerprint {}); \
                     serve it with its own model for text and image operations (raw vectors still work)",
                    config.name, recorded.id, recorded.fingerprint, info.model_id, info.fingerprint
                )));
            }
        }
        if info.dimension != config.dimension as usize {
            return Err(EngineError::FailedPrecondition(format!(
                "{what}: collection `{}` has dimension {}, but model {} embeds into {} dimensions",
                config.name, config.dimension, info.model_id, info.dimension
            )));
        }
        Ok(queue)
    }

    /// Embeds texts for the `Embeddings` API (L2-normalised).
    pub async fn embed_texts(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        let queue = self
            .embedder
            .as_ref()
            .ok_or_else(|| EngineError::FailedPrecondition(NO_MODEL.into()))?;
        Ok(embed_chunked(queue, texts, |q, chunk| async move {
            q.embed_texts(chunk).await
        })
        .await?)
    }

    /// Embeds encoded images for the `Embeddings` API (L2-normalised); a bad
    /// image is named by its position, `images[i]`.
    pub async fn embed_images(&self, images: Vec<Vec<u8>>) -> Result<Vec<Vec<f32>>> {
        let queue = self
            .embedder
            .as_ref()
            .ok_or_else(|| EngineError::FailedPrecondition(NO_MODEL.into()))?;
        embed_chunked(queue, images, |q, chunk| async move {
            q.embed_images(chunk).await
        })
        .await
        .map_err(|e| input_error(e, |i| format!("images[{i}]")))
    }

    /// Embeds the media of prepared points into their vector slots (image
    /// space 0, caption space 1). Returns the model record to store with the
    /// points when this is the collection's first embedded data.
    pub(super) async fn embed_media(
        &self,
        collection: &dyn PointSchema,
        points: &mut [PreparedPoint],
        media: MediaInputs,
    ) -> Result<Option<(String, Vec<u8>)>> {
        if media.is_empty() {
            return Ok(None);
        }
        let queue = self.embedder_for(collection, "text and image input")?;
        let (text_slots, texts): (Vec<usize>, Vec<String>) = media.texts.into_iter().unzip();
        let (image_slots, images): (Vec<usize>, Vec<Vec<u8>>) = media.images.into_iter().unzip();
        // Made once the images have embedded (so decoded within the limits).
        let thumbnail_sources = collection
            .schema_config()
            .thumbnails
            .filter(|_| !images.is_empty())
            .map(|config| (config, images.clone()));
        let (text_vectors, image_vectors) = tokio::join!(
            embed_chunked(queue, texts, |q, chunk| async move {
                q.embed_texts(chunk).await
            }),
            embed_chunked(queue, images, |q, chunk| async move {
                q.embed_images(chunk).await
            }),
        );
        let image_vectors = image_vectors.map_err(|e| {
            input_error(e, |i| {
                format!("point `{}`: image", points[image_slots[i]].id)
            })
        })?;
        let text_vectors = text_vectors?;
        let image_slots_for_thumbnails = image_slots.clone();
        for (space, slots, vectors) in [
            (IMAGE_SPACE, image_slots, image_vectors),
            (TEXT_SPACE, text_slots, text_vectors),
        ] {
            for (slot, v) in slots.into_iter().zip(vectors) {
                let field = format!("point `{}`", points[slot].id);
                points[slot].vectors[space] = Some(collection.check_vector(&field, v)?);
            }
        }
        if let Some((config, images)) = thumbnail_sources {
            let embedder = queue.embedder().clone();
            let thumbnails = tokio::task::spawn_blocking(move || {
                use rayon::prelude::*;
                images
                    .par_iter()
                    .map(|image| {
                        crate::engine::thumbnail::make(embedder.preprocessor(), image, config)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| EngineError::Internal(format!("thumbnail task failed: {e}")))?;
            for (slot, thumbnail) in image_slots_for_thumbnails.into_iter().zip(thumbnails) {
                let point = &mut points[slot];
                point.thumbnail = match (thumbnail, &point.vectors[IMAGE_SPACE]) {
                    (Some(jpeg), Some(vector)) => {
                        Some(crate::engine::thumbnail::stored(vector, jpeg))
                    }
                    _ => None,
                };
            }
        }
        if collection.schema_model().is_some() {
            return Ok(None);
        }
        let info = queue.embedder().info();
        let record = ModelRecord {
            id: info.model_id.clone(),
            fingerprint: info.fingerprint.clone(),
        };
        Ok(Some((
            MODEL_KEY.to_string(),
            serde_json::to_vec(&record).expect("model record encodes"),
        )))
    }
}

/// Embeds `items` through the shared queue in chunks of its batch size, with
/// a few chunks in flight, and returns the vectors in order. Chunking keeps
/// one large request within the queue's capacity; an input error's index is
/// made relative to the whole of `items`.
async fn embed_chunked<T, F, Fut>(
    queue: &EmbedQueue,
    items: Vec<T>,
    embed: F,
) -> std::result::Result<Vec<Vec<f32>>, EmbedError>
where
    T: Send + 'static,
    F: Fn(EmbedQueue, Vec<T>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Vec<Vec<f32>>, EmbedError>>
        + Send
        + 'static,
{
    let config = queue.config();
    let chunk_size = config.max_batch.max(1);
    let window = (config.queue_capacity / chunk_size / 2).clamp(1, CHUNKS_IN_FLIGHT);
    let total = items.len();
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(total.div_ceil(chunk_size));
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(chunk_size).collect());
    }
    let mut results: Vec<Option<Vec<Vec<f32>>>> = (0..chunks.len()).map(|_| None).collect();
    // A JoinSet aborts its tasks when dropped, so an abandoned request stops
    // queueing work.
    let mut running = tokio::task::JoinSet::new();
    for (c, chunk) in chunks.into_iter().enumerate() {
        if running.len() >= window {
            collect_chunk(&mut running, &mut results, chunk_size).await?;
        }
        let fut = embed(queue.clone(), chunk);
        running.spawn(async move { (c, fut.await) });
    }
    while !running.is_empty() {
        collect_chunk(&mut running, &mut results, chunk_size).await?;
    }
    let out: Vec<Vec<f32>> = results.into_iter().flatten().flatten().collect();
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

type ChunkResult = (usize, std::result::Result<Vec<Vec<f32>>, EmbedError>);

async fn collect_chunk(
    running: &mut tokio::task::JoinSet<ChunkResult>,
    results: &mut [Option<Vec<Vec<f32>>>],
    chunk_size: usize,
) -> std::result::Result<(), EmbedError> {
    let Some(joined) = running.join_next().await else {
        return Ok(());
    };
    let (c, result) =
        joined.map_err(|e| EmbedError::Inference(format!("embedding task failed: {e}")))?;
    let offset = c * chunk_size;
    results[c] = Some(result.map_err(|e| match e {
        EmbedError::InvalidImage { index, reason } => EmbedError::InvalidImage {
            index: index + offset,
            reason,
        },
        EmbedError::ImageTooLarge { index, reason } => EmbedError::ImageTooLarge {
            index: index + offset,
            reason,
        },
        other => other,
    })?);
    Ok(())
}

/// Turns an embedding error caused by the client's input into
/// `InvalidArgument` naming the input (`name(index)`); others pass through.
pub(super) fn input_error(e: EmbedError, name: impl Fn(usize) -> String) -> EngineError {
    match e {
        EmbedError::InvalidImage { index, reason } => EngineError::invalid(name(index), reason),
        EmbedError::ImageTooLarge { index, reason } => {
            EngineError::invalid(name(index), format!("image is too large: {reason}"))
        }
        other => EngineError::Embedding(other),
    }
}

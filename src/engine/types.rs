//! Domain types of the engine's interface.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use crate::index::{Metric, Quantization};

use super::payload::{Filter, Payload};

/// Index of the vector space holding image (or raw client) vectors.
pub const IMAGE_SPACE: usize = 0;
/// Index of the vector space holding caption vectors (CLIP collections).
pub const TEXT_SPACE: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vectorizer {
    None,
    Clip,
}

/// Query-time weights of a point's image and caption vectors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fusion {
    pub image: f32,
    pub text: f32,
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion {
            image: 0.5,
            text: 0.5,
        }
    }
}

impl Fusion {
    pub fn validate(&self, field: &str) -> super::Result<()> {
        let ok = |w: f32| w.is_finite() && w >= 0.0;
        if !ok(self.image) || !ok(self.text) || self.image + self.text <= 0.0 {
            return Err(super::EngineError::invalid(
                field,
                "fusion weights must be finite, non-negative and not both zero",
            ));
        }
        Ok(())
    }

    pub fn weights(&self) -> [f32; 2] {
        [self.image, self.text]
    }
}

/// A collection's configuration, fixed at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionConfig {
    pub name: String,
    pub dimension: u32,
    pub metric: Metric,
    pub vectorizer: Vectorizer,
    pub m: u32,
    pub ef_construction: u32,
    pub ef_search: u32,
    pub fusion: Fusion,
    pub segment_capacity: u32,
    /// How sealed segments' graph walks read vectors (collections created
    /// before the option existed walk on f32).
    #[serde(default = "f32_before_quantization_existed")]
    pub quantization: Quantization,
    /// A random number drawn at creation: scroll page tokens are
    /// checksummed with it, so a token of a dropped and re-created
    /// collection, or an altered one, is refused (0 for collections created
    /// before it existed). Never shown to clients.
    #[serde(default)]
    pub secret: u64,
    /// Small JPEGs kept with image points (None: none kept; collections
    /// created before the option existed keep none).
    #[serde(default)]
    pub thumbnails: Option<ThumbnailConfig>,
}

fn f32_before_quantization_existed() -> Quantization {
    Quantization::F32
}

/// How a collection's thumbnails are made from the images written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailConfig {
    /// The longest side, in pixels (the image is shrunk, never enlarged).
    pub max_side: u32,
    /// JPEG quality, 1 to 100.
    pub quality: u8,
}

impl Default for ThumbnailConfig {
    fn default() -> Self {
        // About 5-15 KB for a photo: enough for a result grid.
        ThumbnailConfig {
            max_side: 192,
            quality: 80,
        }
    }
}

/// What a client asks of thumbnails at creation; zeros mean defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThumbnailSpec {
    /// Keep none (the default is to keep them in CLIP collections).
    pub disabled: bool,
    pub max_side: u32,
    pub quality: u32,
}

impl CollectionConfig {
    /// Named vector spaces: one for client vectors, image + caption for CLIP.
    pub fn spaces(&self) -> usize {
        match self.vectorizer {
            Vectorizer::None => 1,
            Vectorizer::Clip => 2,
        }
    }
}

/// What a client asks for when creating a collection; zeros mean defaults.
#[derive(Debug, Clone)]
pub struct CollectionSpec {
    pub name: String,
    pub dimension: u32,
    pub metric: Metric,
    pub vectorizer: Vectorizer,
    pub m: u32,
    pub ef_construction: u32,
    pub ef_search: u32,
    pub fusion: Option<Fusion>,
    pub segment_capacity: u32,
    /// None: the server's default ([`crate::engine::DatabaseOptions::default_quantization`]).
    pub quantization: Option<Quantization>,
    pub thumbnails: ThumbnailSpec,
}

/// Where a segment's graphs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphSource {
    /// Built from the vectors (a new segment, or no usable checkpoint).
    Built,
    /// A sealed segment's graph files.
    Loaded,
    /// A growing segment's checkpoint, plus the records written after it.
    Checkpoint,
}

#[derive(Debug, Clone)]
pub struct SegmentStats {
    pub id: u32,
    pub sealed: bool,
    pub records: u64,
    pub live_points: u64,
    pub graph_source: GraphSource,
}

#[derive(Debug, Clone)]
pub struct CollectionInfo {
    pub config: CollectionConfig,
    pub point_count: u64,
    pub segments: Vec<SegmentStats>,
    /// The model that embedded the collection's text and images, if any has.
    pub model: Option<ModelRecord>,
    pub payload_indexes: Vec<crate::engine::payload_index::PayloadIndexStats>,
}

/// Which CLIP model filled a collection: recorded with its first embedded
/// point, checked on every later text or image operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The folder path or hub id the model was loaded from (for messages).
    pub id: String,
    /// Hash of the model files; equal fingerprints embed identically.
    pub fingerprint: String,
}

/// The data of a point to write: a source for its image vector and one for
/// its caption vector (CLIP collections), at least one of the two. Plain
/// collections have only the image space, which holds their raw vectors.
#[derive(Debug, Clone, Default)]
pub struct PointData {
    pub image: Option<ImageInput>,
    pub caption: Option<CaptionInput>,
}

#[derive(Debug, Clone)]
pub enum ImageInput {
    /// A raw vector from the client.
    Vector(Vec<f32>),
    /// An encoded image to embed.
    Encoded(Vec<u8>),
}

#[derive(Debug, Clone)]
pub enum CaptionInput {
    /// A precomputed caption vector (e.g. the mean of several captions).
    Vector(Vec<f32>),
    /// A text to embed.
    Text(String),
}

impl PointData {
    /// A raw vector, the only kind of data a plain collection stores.
    pub fn vector(v: Vec<f32>) -> PointData {
        PointData {
            image: Some(ImageInput::Vector(v)),
            caption: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PointInput {
    pub id: String,
    pub data: PointData,
    pub payload: Option<Payload>,
}

/// A stored point as returned by Get.
#[derive(Debug, Clone)]
pub struct StoredPoint {
    pub id: Arc<str>,
    pub payload: Option<Arc<Payload>>,
    /// Vectors per space, when asked for.
    pub vectors: Option<[Option<Vec<f32>>; 2]>,
}

#[derive(Debug, Clone)]
pub enum Query {
    Vector(Vec<f32>),
    Text(String),
    Image(Vec<u8>),
    /// "More like this": the stored vector of this point.
    Id(String),
}

#[derive(Debug, Clone)]
pub struct SearchParams {
    pub limit: usize,
    /// 0 = the collection's ef_search.
    pub ef: usize,
    pub filter: Option<Filter>,
    pub with_payload: bool,
    pub with_vector: bool,
    pub fusion: Option<Fusion>,
    /// Best hits to skip before the `limit` returned ones.
    pub offset: usize,
    /// Hits worse than this (below it; above it for L2) are left out.
    pub score_threshold: Option<f32>,
}

/// One page of [`crate::engine::Collection::scroll`].
#[derive(Debug, Clone)]
pub struct ScrollPage {
    pub points: Vec<StoredPoint>,
    /// The last id returned, when more may follow.
    pub last_id: Option<Arc<str>>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: Arc<str>,
    pub score: f32,
    pub payload: Option<Arc<Payload>>,
    pub vectors: Option<[Option<Vec<f32>>; 2]>,
}

/// A point as a cluster's log carries it: validated, embedded and (cosine)
/// normalised by the node that took the write; replicas store it as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicatedPoint {
    pub id: String,
    /// Image (or raw) space, caption space.
    pub vectors: [Option<Vec<f32>>; 2],
    pub payload: Option<Payload>,
}

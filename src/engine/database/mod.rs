//! The database: collections by name, their lifecycle, and the point
//! operations that need more than one collection's state (validation against
//! the config, embedding).
//!
//! Validation of requests against a collection's config is in `validate.rs`,
//! the chunked embedding of texts and images in `embedding.rs`.

mod embedding;
mod points;
mod replicated;
pub use points::{RecommendQuery, Selection};
pub use replicated::{
    check_scroll_limit, LoggedFilter, ReplicatedOp, ReplicatedPayloadUpdate, ReplicatedTarget,
};
mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::collection::Collection;
use super::commit::Committer;
use super::types::*;
use super::{EngineError, Result};
use crate::embed::{EmbedQueue, ModelInfo};
use crate::storage::{MetaStore, SledMetaStore, StorageError};
use embedding::input_error;
pub(crate) use validate::validate_collection_name;
pub use validate::validate_point_id;
use validate::{check_count, check_search_params};

/// Server-wide defaults for collection parameters left at 0.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub default_m: u32,
    pub default_ef_construction: u32,
    pub default_ef_search: u32,
    pub default_segment_capacity: u32,
    /// Quantization of collections that do not ask for one: int8 codes for
    /// the walk with exact f32 rescoring (faster at equal recall).
    pub default_quantization: Quantization,
    /// Most points in one Upsert request (or one message of a stream).
    pub max_points_per_request: usize,
    /// Most ids in one Get or Delete request.
    pub max_ids_per_request: usize,
    /// Largest payload of one point, in encoded bytes.
    pub max_payload_bytes: usize,
    /// Most write requests (Upsert, a stream message, Delete) in progress at
    /// once, embedding and commit included; past it writes fail fast with
    /// `ResourceExhausted` instead of queueing without bound.
    pub max_pending_writes: usize,
    /// A sealed segment whose share of dead (replaced or deleted) records
    /// reaches this is compacted: its live points move to the growing
    /// segment and its files are deleted. 1.0: only wholly dead segments.
    pub compaction_dead_ratio: f64,
    /// How often the compactor looks for work (and growing graphs are
    /// checkpointed).
    pub compaction_interval: std::time::Duration,
    /// A growing segment's graph is checkpointed once this many points were
    /// inserted since its last checkpoint; 0: only at shutdown
    /// ([`Database::checkpoint_graphs`]).
    pub graph_checkpoint_points: usize,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            default_m: 16,
            default_ef_construction: 200,
            default_ef_search: 64,
            default_segment_capacity: 100_000,
            default_quantization: Quantization::Int8,
            max_points_per_request: 10_000,
            max_ids_per_request: 10_000,
            max_payload_bytes: 64 << 10,
            max_pending_writes: 256,
            compaction_dead_ratio: 0.5,
            compaction_interval: std::time::Duration::from_secs(1),
            graph_checkpoint_points: 5_000,
        }
    }
}

pub const MAX_ID_BYTES: usize = 256;
pub const MAX_DIMENSION: u32 = 65_536;
pub const MAX_LIMIT: usize = 10_000;
/// Largest segment capacity: a segment's record table and graph are sized
/// for it when the segment is created (about 40 bytes a record).
pub const MAX_SEGMENT_CAPACITY: u32 = 10_000_000;
const MAX_M: u32 = 128;
const MAX_EF: u32 = 4096;

pub struct Database {
    dir: PathBuf,
    meta: Arc<dyn MetaStore>,
    committer: Committer,
    options: DatabaseOptions,
    collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    /// Collections that failed to open (corruption), with the reason.
    unavailable: RwLock<BTreeMap<String, String>>,
    /// The loaded CLIP model behind its batching queue; None: raw vectors only.
    embedder: Option<EmbedQueue>,
    /// Admission of write requests (`DatabaseOptions::max_pending_writes`).
    write_permits: tokio::sync::Semaphore,
    /// Where searches run: one thread per core, taking requests first come,
    /// first served. On tokio's blocking pool every request in flight got
    /// its own thread and they all shared the cores, so with 8 clients on 2
    /// cores each search took as long as several and the p99 stretched to
    /// 3x the mean.
    search_pool: rayon::ThreadPool,
}

const NO_MODEL: &str = "no embedding model loaded (start the server with --model)";

impl Database {
    /// Opens (or creates) the database in `dir`, reopening every collection.
    /// Opens (or creates) the database in `dir`. `embedder` is the loaded CLIP
    /// model, if any: without one, text and image operations answer
    /// `FailedPrecondition`.
    pub fn open(
        dir: &Path,
        options: DatabaseOptions,
        embedder: Option<EmbedQueue>,
    ) -> Result<Arc<Database>> {
        std::fs::create_dir_all(dir.join("collections")).map_err(|e| StorageError::io(dir, e))?;
        let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(&dir.join("meta"))?);
        let committer = Committer::start(meta.clone());
        let db = Database {
            dir: dir.to_path_buf(),
            meta: meta.clone(),
            committer,
            write_permits: tokio::sync::Semaphore::new(options.max_pending_writes.max(1)),
            search_pool: search_pool()?,
            options,
            collections: RwLock::new(BTreeMap::new()),
            unavailable: RwLock::new(BTreeMap::new()),
            embedder,
        };
        for (name, raw) in meta.collections()? {
            let started = std::time::Instant::now();
            let opened = serde_json::from_slice::<CollectionConfig>(&raw)
                .map_err(|e| {
                    EngineError::Storage(StorageError::CorruptMetadata(format!(
                        "config of `{name}` is unreadable: {e}"
                    )))
                })
                .and_then(|config| {
                    Collection::open(
                        db.collection_dir(&name),
                        config,
                        meta.clone(),
                        db.committer.clone(),
                    )
                });
            match opened {
                Ok(c) => {
                    let info = c.info();
                    tracing::info!(
                        collection = %name,
                        points = info.point_count,
                        segments = info.segments.len(),
                        graphs_loaded = info.segments.iter().filter(|s| s.graph_source == GraphSource::Loaded).count(),
                        graphs_from_checkpoint = info.segments.iter().filter(|s| s.graph_source == GraphSource::Checkpoint).count(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "opened collection"
                    );
                    db.collections.write().insert(name, c);
                }
                Err(e) => {
                    tracing::error!(collection = %name, error = %e, "collection is corrupt or unreadable; refusing to serve it");
                    db.unavailable.write().insert(name, e.to_string());
                }
            }
        }
        db.clear_unfinished_snapshots();
        Ok(Arc::new(db))
    }

    /// Starts the background compactor (see [`DatabaseOptions`]). The server
    /// calls it; offline tools (`clipdb check`) open the database without.
    /// The thread ends once the database is dropped.
    pub fn start_compaction(self: &Arc<Self>) {
        let db = Arc::downgrade(self);
        let interval = self.options.compaction_interval;
        let ratio = self.options.compaction_dead_ratio;
        let checkpoint_points = self.options.graph_checkpoint_points;
        std::thread::Builder::new()
            .name("clipdb-compact".into())
            .spawn(move || loop {
                std::thread::sleep(interval);
                let Some(db) = db.upgrade() else { break };
                let collections: Vec<_> = db.collections.read().values().cloned().collect();
                drop(db);
                for c in collections {
                    if checkpoint_points > 0 {
                        // Failure costs only restart time (the graph is
                        // rebuilt from the vectors); retried next round.
                        if let Err(e) = c.checkpoint_graphs(checkpoint_points) {
                            tracing::error!(collection = %c.name(), error = %e, "graph checkpoint failed; will retry");
                        }
                    }
                    // Until nothing is left at or above the ratio.
                    loop {
                        match c.compact_once(ratio) {
                            Ok(Some(_)) => continue,
                            Ok(None) => break,
                            Err(e) => {
                                // Nothing is lost: moves commit atomically and
                                // the rest stays where it was; retried later.
                                tracing::error!(collection = %c.name(), error = %e, "compaction failed; will retry");
                                break;
                            }
                        }
                    }
                }
            })
            .expect("spawn compaction thread");
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn committer(&self) -> &Committer {
        &self.committer
    }

    /// Whether a collection of this name exists (served or unavailable).
    pub(crate) fn has_collection(&self, name: &str) -> bool {
        self.collections.read().contains_key(name) || self.unavailable.read().contains_key(name)
    }

    fn collection_dir(&self, name: &str) -> PathBuf {
        self.dir.join("collections").join(name)
    }

    pub fn options(&self) -> &DatabaseOptions {
        &self.options
    }

    /// The loaded embedding model, if any.
    pub fn model(&self) -> Option<&ModelInfo> {
        self.embedder.as_ref().map(|q| q.embedder().info())
    }

    pub fn collection(&self, name: &str) -> Result<Arc<Collection>> {
        if let Some(c) = self.collections.read().get(name) {
            return Ok(c.clone());
        }
        if let Some(reason) = self.unavailable.read().get(name) {
            return Err(EngineError::CollectionUnavailable {
                name: name.to_string(),
                reason: reason.clone(),
            });
        }
        validate_collection_name(name)?;
        Err(EngineError::CollectionNotFound(name.to_string()))
    }

    /// Fills defaults, validates and creates a collection.
    pub fn create_collection(&self, spec: CollectionSpec) -> Result<CollectionInfo> {
        let config = self.config_for_spec(&spec)?;
        self.create_collection_with_config(config)
    }

    /// The config a collection created from `spec` gets: validated, with
    /// the server's defaults filled in (cluster mode records it for every
    /// shard's replicas to create from).
    pub fn config_for_spec(&self, spec: &CollectionSpec) -> Result<CollectionConfig> {
        validate_collection_name(&spec.name)?;
        let model_dimension = self.model().map(|m| m.dimension as u32);
        let dimension = match (spec.vectorizer, spec.dimension) {
            (Vectorizer::None, 0) => {
                return Err(EngineError::invalid(
                    "dimension",
                    "required for collections without a vectorizer",
                ))
            }
            (Vectorizer::Clip, d) => match model_dimension {
                None => {
                    return Err(EngineError::FailedPrecondition(format!(
                        "VECTORIZER_CLIP: {NO_MODEL}"
                    )))
                }
                Some(m) if d != 0 && d != m => {
                    return Err(EngineError::invalid(
                        "dimension",
                        format!("{d} differs from the model's dimension {m}"),
                    ))
                }
                Some(m) => m,
            },
            (Vectorizer::None, d) => d,
        };
        if dimension > MAX_DIMENSION {
            return Err(EngineError::invalid(
                "dimension",
                format!("{dimension} exceeds the maximum {MAX_DIMENSION}"),
            ));
        }
        let pick = |v: u32, default: u32| if v == 0 { default } else { v };
        let o = &self.options;
        let config = CollectionConfig {
            name: spec.name.clone(),
            dimension,
            metric: spec.metric,
            vectorizer: spec.vectorizer,
            m: pick(spec.m, o.default_m),
            ef_construction: pick(spec.ef_construction, o.default_ef_construction),
            ef_search: pick(spec.ef_search, o.default_ef_search),
            fusion: spec.fusion.unwrap_or_default(),
            segment_capacity: pick(spec.segment_capacity, o.default_segment_capacity),
            quantization: spec.quantization.unwrap_or(o.default_quantization),
            secret: random_u64(),
            thumbnails: thumbnail_config(spec.vectorizer, spec.thumbnails)?,
        };
        if config.segment_capacity == 0 || config.segment_capacity > MAX_SEGMENT_CAPACITY {
            return Err(EngineError::invalid(
                "segment_capacity",
                format!(
                    "{} is outside 1..={MAX_SEGMENT_CAPACITY}",
                    config.segment_capacity
                ),
            ));
        }
        if config.m < 2 || config.m > MAX_M {
            return Err(EngineError::invalid(
                "hnsw.m",
                format!("{} is outside 2..={MAX_M}", config.m),
            ));
        }
        if config.ef_construction > MAX_EF || config.ef_search > MAX_EF {
            return Err(EngineError::invalid(
                "hnsw",
                format!("ef values must be at most {MAX_EF}"),
            ));
        }
        config.fusion.validate("fusion")?;

        Ok(config)
    }

    /// Creates a collection from a complete, validated config.
    pub fn create_collection_with_config(
        &self,
        config: CollectionConfig,
    ) -> Result<CollectionInfo> {
        let spec_name = config.name.clone();
        let mut collections = self.collections.write();
        if collections.contains_key(&spec_name) || self.unavailable.read().contains_key(&spec_name)
        {
            return Err(EngineError::CollectionExists(spec_name));
        }
        // Metadata a crash left under the name (an install of a snapshot
        // cut short before its config was written) must not become part of
        // the new collection.
        self.meta.remove_collection(&spec_name)?;
        let collection = Collection::create(
            self.collection_dir(&spec_name),
            config.clone(),
            self.meta.clone(),
            self.committer.clone(),
        )?;
        // The config is written (and flushed) last: a crash before leaves only
        // a directory that the next create of this name clears.
        self.meta.put_collection(
            &spec_name,
            &serde_json::to_vec(&config).expect("config encodes"),
        )?;
        let info = collection.info();
        collections.insert(spec_name, collection);
        Ok(info)
    }

    /// Replaces collection `name` (dropping it if it exists) with the
    /// snapshot `file`, verified first, and serves it (blocking; cluster
    /// mode restores a shard replica this way). The collection's values,
    /// among them a replica's applied log sequence, come from the snapshot
    /// and appear with its data: the config, written last, makes the
    /// collection exist, so a crash part-way leaves no collection of that
    /// name, never a partial one.
    pub fn install_collection_snapshot(&self, name: &str, file: &Path) -> Result<CollectionInfo> {
        validate_collection_name(name)?;
        match self.drop_collection(name) {
            Ok(()) | Err(EngineError::CollectionNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        // Not under the collections lock: installing copies the whole
        // shard, and every other collection keeps serving meanwhile. The
        // caller owns the name (a replica's own task), so nothing else
        // creates it meanwhile; checked again below.
        let header = super::snapshot::install_snapshot(
            file,
            &self.dir.join("collections"),
            self.meta.as_ref(),
            name,
        )?;
        let mut config = header.config.clone();
        config.name = name.to_string();
        let collection = Collection::open(
            self.collection_dir(name),
            config,
            self.meta.clone(),
            self.committer.clone(),
        )?;
        let info = collection.info();
        if info.point_count != header.point_count {
            return Err(EngineError::Internal(format!(
                "installed collection {name} has {} points, the snapshot {}",
                info.point_count, header.point_count
            )));
        }
        let mut collections = self.collections.write();
        if collections.contains_key(name) || self.unavailable.read().contains_key(name) {
            return Err(EngineError::CollectionExists(name.to_string()));
        }
        collections.insert(name.to_string(), collection);
        Ok(info)
    }

    /// Collections that failed verification at startup, with the reason
    /// (which names the file).
    pub fn unavailable_collections(&self) -> Vec<(String, String)> {
        self.unavailable
            .read()
            .iter()
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect()
    }

    pub fn list_collections(&self) -> Vec<CollectionInfo> {
        self.collections.read().values().map(|c| c.info()).collect()
    }

    pub fn drop_collection(&self, name: &str) -> Result<()> {
        // A seal in progress writes into the collection's directory and its
        // metadata: wait for it (later ones see `dropped` and do nothing).
        // Without this, a drop could remove the directory under a sealing
        // thread (found by fuzz/grpc_requests), and a late seal could write
        // segment metadata for a dropped (or re-created) name.
        let current = self.collections.read().get(name).cloned();
        let sealing = current.as_ref().map(|c| {
            c.seal_lock.try_lock().unwrap_or_else(|| {
                // A seal is in progress: tests see here that the drop waits.
                fail::fail_point!(&format!("drop-waits-for-seal/{name}"));
                c.seal_lock.lock()
            })
        });
        let mut collections = self.collections.write();
        let same = match (collections.get(name), &current) {
            (Some(now), Some(before)) => Arc::ptr_eq(now, before),
            (None, None) => true,
            _ => false,
        };
        if !same {
            // Dropped or created meanwhile: start again with what is there now.
            drop(collections);
            drop(sealing);
            return self.drop_collection(name);
        }
        let collection = match collections.get(name) {
            Some(c) => c.clone(),
            None => {
                if self.unavailable.write().remove(name).is_some() {
                    self.meta.remove_collection(name)?;
                    let _ = std::fs::remove_dir_all(self.collection_dir(name));
                    return Ok(());
                }
                validate_collection_name(name)?;
                return Err(EngineError::CollectionNotFound(name.to_string()));
            }
        };
        collection.mark_dropped();
        self.meta.remove_collection(name)?;
        collections.remove(name);
        drop(collections);
        if let Err(e) = std::fs::remove_dir_all(collection.dir()) {
            tracing::warn!(collection = %name, error = %e, "could not remove the collection's files");
        }
        Ok(())
    }

    /// A slot among the writes in progress, or `ResourceExhausted` at once
    /// when all are taken: a client backs off rather than the server growing
    /// an unbounded queue. Held until the write is answered (or the client
    /// goes away and the request's future is dropped).
    fn admit_write(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.write_permits.try_acquire().map_err(|_| {
            EngineError::ResourceExhausted(format!(
                "too many writes in progress (limit {}, --max-pending-writes); retry with backoff",
                self.options.max_pending_writes
            ))
        })
    }

    pub async fn upsert(&self, collection: &str, points: Vec<PointInput>) -> Result<u64> {
        check_count(
            "points",
            points.len(),
            self.options.max_points_per_request,
            "--max-points-per-request",
        )?;
        let collection = self.collection(collection)?;
        let _admitted = self.admit_write()?;
        let (mut prepared, media) = self.prepare_points(&*collection, points)?;
        let model_record = self.embed_media(&*collection, &mut prepared, media).await?;
        collection.store(prepared, model_record).await
    }

    /// Deletes points by id (see [`Database::delete_points`] for filters).
    pub async fn delete(&self, collection: &str, ids: Vec<String>) -> Result<u64> {
        self.delete_points(collection, Selection::Ids(ids)).await
    }

    /// The stored points among `ids` (missing ids are left out).
    pub fn get(
        &self,
        collection: &str,
        ids: &[String],
        with_vector: bool,
    ) -> Result<Vec<StoredPoint>> {
        check_count(
            "ids",
            ids.len(),
            self.options.max_ids_per_request,
            "--max-ids-per-request",
        )?;
        Ok(self.collection(collection)?.get(ids, with_vector))
    }

    /// The thumbnail (JPEG) of point `id`, if the collection keeps them and
    /// the point has one. Reads the metadata store: call off the runtime.
    pub fn thumbnail(&self, collection: &str, id: &str) -> Result<Option<Vec<u8>>> {
        let collection = self.collection(collection)?;
        validate_point_id("id", id)?;
        collection.thumbnail(id)
    }

    /// The limits images must keep to (size, pixels), when a model is loaded.
    pub fn image_limits(&self) -> Option<crate::embed::ImageLimits> {
        self.embedder
            .as_ref()
            .map(|q| q.embedder().preprocessor().limits)
    }

    /// Runs a search off the async runtime.
    pub async fn search(
        &self,
        collection: &str,
        query: Query,
        params: SearchParams,
    ) -> Result<Vec<Hit>> {
        let collection = self.collection(collection)?;
        check_search_params(&params)?;
        let (vector, exclude) = match query {
            Query::Vector(v) => (collection.check_vector("query.vector", v)?, None),
            Query::Id(id) => {
                validate_point_id("query.id", &id)?;
                (collection.stored_vector_of("query.id", &id)?, Some(id))
            }
            Query::Text(text) => {
                let queue = self.embedder_for(&*collection, "query.text")?;
                let v = queue.embed_texts(vec![text]).await?.remove(0);
                (collection.check_vector("query.text", v)?, None)
            }
            Query::Image(image) => {
                let queue = self.embedder_for(&*collection, "query.image")?;
                let v = queue
                    .embed_images(vec![image])
                    .await
                    .map_err(|e| input_error(e, |_| "query.image".to_string()))?
                    .remove(0);
                (collection.check_vector("query.image", v)?, None)
            }
        };
        self.run_search(collection, vector, params, exclude.into_iter().collect())
            .await
    }

    /// Searches `collection` with a validated query vector on the search pool.
    pub(crate) async fn run_search(
        &self,
        collection: Arc<Collection>,
        vector: Vec<f32>,
        params: SearchParams,
        exclude: Vec<String>,
    ) -> Result<Vec<Hit>> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.search_pool.spawn_fifo(move || {
            let started = std::time::Instant::now();
            let hits = collection.search(&vector, &params, &exclude);
            metrics::histogram!("clipdb_search_duration_seconds", "collection" => collection.name().to_string())
                .record(started.elapsed().as_secs_f64());
            let _ = done.send(hits);
        });
        // A search that panicked dropped its sender (the pool logs it).
        result
            .await
            .map_err(|_| EngineError::Internal("search failed (see the server log)".into()))
    }

    /// Makes everything durable; called on shutdown.
    pub fn flush(&self) -> Result<()> {
        Ok(self.meta.flush()?)
    }

    /// Checkpoints every growing graph with at least `min_new_points`
    /// inserted since its last checkpoint (1: every changed one, as at
    /// shutdown), so the next start loads them instead of rebuilding.
    /// Returns the points checkpointed.
    pub fn checkpoint_graphs(&self, min_new_points: usize) -> Result<usize> {
        let collections: Vec<_> = self.collections.read().values().cloned().collect();
        let mut total = 0;
        for c in collections {
            total += c.checkpoint_graphs(min_new_points)?;
        }
        Ok(total)
    }
}

/// A collection's thumbnails from what the client asked: kept by default in
/// CLIP collections (the only ones written with images).
fn thumbnail_config(
    vectorizer: Vectorizer,
    spec: ThumbnailSpec,
) -> Result<Option<ThumbnailConfig>> {
    let asked = spec.max_side != 0 || spec.quality != 0;
    if spec.disabled || vectorizer != Vectorizer::Clip {
        if asked && !spec.disabled {
            return Err(EngineError::invalid(
                "thumbnails",
                "only VECTORIZER_CLIP collections are written with images to make thumbnails of",
            ));
        }
        return Ok(None);
    }
    let default = ThumbnailConfig::default();
    let max_side = if spec.max_side == 0 {
        default.max_side
    } else {
        spec.max_side
    };
    if !(16..=1024).contains(&max_side) {
        return Err(EngineError::invalid(
            "thumbnails.max_side",
            format!("{max_side} is outside 16..=1024"),
        ));
    }
    let quality = if spec.quality == 0 {
        default.quality as u32
    } else {
        spec.quality
    };
    if quality > 100 {
        return Err(EngineError::invalid(
            "thumbnails.quality",
            format!("{quality} is outside 1..=100"),
        ));
    }
    Ok(Some(ThumbnailConfig {
        max_side,
        quality: quality as u8,
    }))
}

/// The pool [`Database::search`] runs on: as many threads as cores.
fn search_pool() -> Result<rayon::ThreadPool> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("clipdb-search-{i}"))
        // rayon aborts the process on a panic without a handler.
        .panic_handler(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "a search panicked");
        })
        .build()
        .map_err(|e| EngineError::Internal(format!("search threads: {e}")))
}

/// A random number from the standard library's per-process hash keys (no
/// random-number crate needed for one draw per collection).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ImageInput, PointData, PointInput, ReplicatedPoint};

    fn spec(name: &str) -> CollectionSpec {
        CollectionSpec {
            name: name.into(),
            dimension: 8,
            metric: crate::engine::Metric::L2,
            vectorizer: crate::engine::Vectorizer::None,
            m: 8,
            ef_construction: 32,
            ef_search: 16,
            fusion: None,
            segment_capacity: 64,
            quantization: Some(crate::engine::Quantization::F32),
            thumbnails: Default::default(),
        }
    }

    fn points(n: usize) -> Vec<PointInput> {
        (0..n)
            .map(|i| PointInput {
                id: format!("p{i}"),
                data: PointData {
                    image: Some(ImageInput::Vector(
                        (0..8).map(|d| ((i * 8 + d) as f32).sin()).collect(),
                    )),
                    caption: None,
                },
                payload: None,
            })
            .collect()
    }

    /// The live bits unfiltered walks test match the record tables after
    /// writes, replacements and deletes, and after a reopen; such a search
    /// returns only live points.
    #[test]
    fn live_bits_follow_the_record_tables() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let check = |db: &Database| {
            let c = db.collection("live").unwrap();
            let mut live = 0;
            for seg in c.segments.read().iter() {
                let points = seg.points.read();
                for (r, p) in points.iter().enumerate() {
                    assert_eq!(seg.is_live(r), p.is_some(), "segment {} record {r}", seg.id);
                    live += p.is_some() as usize;
                }
                assert!(!seg.is_live(points.len()));
            }
            assert_eq!(live, 120);
            for q in 0..20 {
                let query = Query::Vector((0..8).map(|d| ((q * 13 + d) as f32).cos()).collect());
                let params = SearchParams {
                    limit: 30,
                    ef: 64,
                    filter: None,
                    with_payload: false,
                    with_vector: false,
                    fusion: None,
                    offset: 0,
                    score_threshold: None,
                };
                let hits = rt.block_on(db.search("live", query, params)).unwrap();
                assert_eq!(hits.len(), 30);
                for h in hits {
                    let i: usize = h.id[1..].parse().unwrap();
                    assert!(!(20..50).contains(&i), "deleted point {} found", h.id);
                }
            }
        };
        {
            let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
            db.create_collection(spec("live")).unwrap();
            rt.block_on(db.upsert("live", points(150))).unwrap();
            // Replacements move points to new records; deletes empty theirs.
            rt.block_on(db.upsert("live", points(150)[100..140].to_vec()))
                .unwrap();
            let deleted = (20..50).map(|i| format!("p{i}")).collect();
            assert_eq!(rt.block_on(db.delete("live", deleted)).unwrap(), 30);
            check(&db);
        }
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        check(&db);
    }

    /// Cluster mode restores a replica by installing a snapshot; killed
    /// part-way, it must leave no collection of that name (the config is
    /// written last), and a collection created under the name afterwards
    /// (an empty replica, before it restores again) must hold none of the
    /// half-installed records or values, the applied log sequence among
    /// them.
    #[test]
    fn an_install_cut_short_leaves_no_collection_and_nothing_behind() {
        const NAME: &str = "installed-when-cut";
        const KEY: &str = "cluster.applied_sequence";
        let scenario = fail::FailScenario::setup();
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        db.create_collection(spec("source")).unwrap();
        let replicated = points(20)
            .into_iter()
            .map(|p| ReplicatedPoint {
                id: p.id,
                vectors: [
                    match p.data.image {
                        Some(ImageInput::Vector(v)) => Some(v),
                        _ => None,
                    },
                    None,
                ],
                payload: None,
            })
            .collect();
        let marker = (KEY.to_string(), 7u64.to_le_bytes().to_vec());
        rt.block_on(db.apply_replicated(
            "source",
            ReplicatedOp::Upsert(replicated),
            marker.clone(),
        ))
        .unwrap();
        let snapshot = rt.block_on(db.create_snapshot("source")).unwrap();

        fail::cfg(format!("snapshot-install-before-config/{NAME}"), "return").unwrap();
        let cut = db.install_collection_snapshot(NAME, &snapshot.path);
        assert!(cut.is_err(), "{cut:?}");
        fail::remove(format!("snapshot-install-before-config/{NAME}"));
        assert!(db.collection(NAME).is_err());
        drop(db);
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        assert!(!db.has_collection(NAME));
        let mut config = db.collection("source").unwrap().config().clone();
        config.name = NAME.into();
        db.create_collection_with_config(config).unwrap();
        // Also as reopened from the metadata (the node restarts).
        drop(db);
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        assert_eq!(db.collection(NAME).unwrap().info().point_count, 0);
        assert_eq!(db.collection_value(NAME, KEY).unwrap(), None);

        // Installed again, whole: replaces the empty one.
        let info = db
            .install_collection_snapshot(NAME, &snapshot.path)
            .unwrap();
        assert_eq!(info.point_count, 20);
        assert_eq!(
            db.collection_value(NAME, KEY).unwrap(),
            Some(marker.1.clone())
        );
        drop(db);
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        assert_eq!(db.collection(NAME).unwrap().info().point_count, 20);
        assert_eq!(db.collection_value(NAME, KEY).unwrap(), Some(marker.1));
        scenario.teardown();
    }

    /// Found by fuzz/grpc_requests: dropping a collection while one of its
    /// segments was being sealed removed the directory under the sealing
    /// thread, and a late seal could record segment
    /// metadata under a dropped, then re-created, name. A drop now waits.
    ///
    /// Failpoints make the race happen every time: the seal stops past its
    /// `dropped` check, before it writes; the collection is dropped right
    /// then; once the drop waits (or, without the wait, once it is done and
    /// the name has been created again) the seal goes on.
    #[test]
    fn drop_during_sealing_leaves_nothing_behind() {
        use std::sync::{mpsc, Mutex};
        // Only guards against hanging.
        const HANG: std::time::Duration = std::time::Duration::from_secs(120);
        // The failpoints are named after the collection, and no other test
        // uses this name: tests running alongside never stop at them.
        const NAME: &str = "dropped-while-sealing";
        enum DropEvent {
            Waits,
            Done,
        }
        let scenario = fail::FailScenario::setup();
        let (seal_reached, reached) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let released = Mutex::new(released);
        fail::cfg_callback(format!("seal-before-write/{NAME}"), move || {
            let _ = seal_reached.send(());
            // Until released, or until the test ends (the sender goes).
            let _ = released.lock().unwrap().recv();
        })
        .unwrap();
        let (drop_event, drop_events) = mpsc::channel();
        let waits = drop_event.clone();
        fail::cfg_callback(format!("drop-waits-for-seal/{NAME}"), move || {
            let _ = waits.send(DropEvent::Waits);
        })
        .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let collection_dir = dir.path().join("collections").join(NAME);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let db = Arc::new(Database::open(dir.path(), DatabaseOptions::default(), None).unwrap());
        db.create_collection(spec(NAME)).unwrap();
        // A full segment: its seal starts on a background thread at once.
        rt.block_on(db.upsert(NAME, points(64))).unwrap();
        reached
            .recv_timeout(HANG)
            .expect("the full segment's seal never started");
        let old = db.collections.read().get(NAME).cloned().unwrap();

        let dropping = {
            let db = db.clone();
            std::thread::spawn(move || {
                db.drop_collection(NAME).unwrap();
                let _ = drop_event.send(DropEvent::Done);
            })
        };
        let drop_waited = match drop_events.recv_timeout(HANG).expect("the drop hung") {
            DropEvent::Waits => {
                release.send(()).unwrap();
                true
            }
            DropEvent::Done => false,
        };
        dropping.join().unwrap();
        assert!(!collection_dir.exists());
        assert!(db.list_collections().is_empty());

        // The name is taken again; a seal that the drop did not wait for
        // has not written yet.
        db.create_collection(spec(NAME)).unwrap();
        rt.block_on(db.upsert(NAME, points(10))).unwrap();
        let _ = release.send(());
        // The old seal has written all it will once its lock is free.
        drop(old.seal_lock.lock());

        let stored = db.meta.load(NAME).unwrap();
        let sealed: Vec<u32> = stored
            .segments
            .iter()
            .filter(|s| s.sealed)
            .map(|s| s.id)
            .collect();
        assert!(sealed.is_empty(), "stale seals recorded: {sealed:?}");
        assert_eq!(stored.records.len(), 10);
        use crate::engine::segment::{segment_dir, vectors_path, MANIFEST};
        let first_segment = segment_dir(&collection_dir, 1);
        assert!(vectors_path(&first_segment, 0).exists());
        assert!(
            !first_segment.join(MANIFEST).exists(),
            "the dropped segment's seal wrote into the new collection"
        );
        assert!(
            drop_waited,
            "the drop did not wait for the seal in progress"
        );
        scenario.teardown();
    }

    /// Found while writing fuzz/grpc_requests (and confirmed with it): a
    /// 14-byte CreateCollection with segment_capacity 4000000000 made the
    /// server allocate a record table and graph for 4e9 points and abort.
    #[test]
    fn segment_capacity_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path(), DatabaseOptions::default(), None).unwrap();
        for capacity in [4_000_000_000, MAX_SEGMENT_CAPACITY + 1] {
            let err = db
                .create_collection(CollectionSpec {
                    segment_capacity: capacity,
                    ..spec("big")
                })
                .unwrap_err();
            assert!(
                matches!(&err, EngineError::InvalidArgument { field, .. } if field == "segment_capacity"),
                "{err}"
            );
        }
        assert!(db.list_collections().is_empty());
    }
}

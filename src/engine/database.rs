//! The database: collections by name, their lifecycle, and the point
//! operations that need more than one collection's state (validation against
//! the config, embedding).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use super::collection::{Collection, PreparedPoint};
use super::commit::Committer;
use super::types::*;
use super::{EngineError, Result};
use crate::storage::{MetaStore, SledMetaStore, StorageError};

/// Server-wide defaults for collection parameters left at 0.
#[derive(Debug, Clone)]
pub struct DatabaseOptions {
    pub default_m: u32,
    pub default_ef_construction: u32,
    pub default_ef_search: u32,
    pub default_segment_capacity: u32,
}

impl Default for DatabaseOptions {
    fn default() -> Self {
        DatabaseOptions {
            default_m: 16,
            default_ef_construction: 200,
            default_ef_search: 64,
            default_segment_capacity: 100_000,
        }
    }
}

pub const MAX_ID_BYTES: usize = 256;
pub const MAX_DIMENSION: u32 = 65_536;
pub const MAX_LIMIT: usize = 10_000;
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
}

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
    /// Opens (or creates) the database in `dir`, reopening every collection.
    pub fn open(dir: &Path, options: DatabaseOptions) -> Result<Arc<Database>> {
        std::fs::create_dir_all(dir.join("collections")).map_err(|e| StorageError::io(dir, e))?;
        let meta: Arc<dyn MetaStore> = Arc::new(SledMetaStore::open(&dir.join("meta"))?);
        let committer = Committer::start(meta.clone());
        let db = Database {
            dir: dir.to_path_buf(),
            meta: meta.clone(),
            committer,
            options,
            collections: RwLock::new(BTreeMap::new()),
            unavailable: RwLock::new(BTreeMap::new()),
        };
        for (name, raw) in meta.collections()? {
            let started = std::time::Instant::now();
            let opened = serde_json::from_slice::<CollectionConfig>(&raw)
                .map_err(|e| {
                    EngineError::Storage(StorageError::Meta(format!(
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
        Ok(Arc::new(db))
    }

    fn collection_dir(&self, name: &str) -> PathBuf {
        self.dir.join("collections").join(name)
    }

    pub fn options(&self) -> &DatabaseOptions {
        &self.options
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
    pub fn create_collection(
        &self,
        spec: CollectionSpec,
        model_dimension: Option<u32>,
    ) -> Result<CollectionInfo> {
        validate_collection_name(&spec.name)?;
        let dimension = match (spec.vectorizer, spec.dimension) {
            (Vectorizer::None, 0) => return Err(EngineError::invalid("dimension", "required for collections without a vectorizer")),
            (Vectorizer::Clip, d) => match model_dimension {
                None => {
                    return Err(EngineError::FailedPrecondition(
                        "VECTORIZER_CLIP needs an embedding model, and none is loaded (start the server with --model)".into(),
                    ))
                }
                Some(m) if d != 0 && d != m => {
                    return Err(EngineError::invalid("dimension", format!("{d} differs from the model's dimension {m}")))
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
        };
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

        let mut collections = self.collections.write();
        if collections.contains_key(&spec.name) || self.unavailable.read().contains_key(&spec.name)
        {
            return Err(EngineError::CollectionExists(spec.name));
        }
        let collection = Collection::create(
            self.collection_dir(&spec.name),
            config.clone(),
            self.meta.clone(),
            self.committer.clone(),
        )?;
        // The config is written (and flushed) last: a crash before leaves only
        // a directory that the next create of this name clears.
        self.meta.put_collection(
            &spec.name,
            &serde_json::to_vec(&config).expect("config encodes"),
        )?;
        let info = collection.info();
        collections.insert(spec.name, collection);
        Ok(info)
    }

    pub fn list_collections(&self) -> Vec<CollectionInfo> {
        self.collections.read().values().map(|c| c.info()).collect()
    }

    pub fn drop_collection(&self, name: &str) -> Result<()> {
        let mut collections = self.collections.write();
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

    /// Validates points against the collection and turns them into vectors.
    /// Text and image data go through `embed` (None: no model loaded).
    pub(crate) fn prepare_points(
        &self,
        collection: &Collection,
        points: Vec<PointInput>,
    ) -> Result<Vec<PreparedPoint>> {
        let config = collection.config();
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
        for (p, keep) in points.into_iter().zip(keep) {
            if !keep {
                continue;
            }
            let field = format!("point `{}`", p.id);
            let vectors = match p.data {
                PointData::Vector(v) => [Some(collection.check_vector(&field, v)?), None],
                PointData::Embedded([a, b]) => {
                    if config.vectorizer != Vectorizer::Clip && b.is_some() {
                        return Err(EngineError::invalid(
                            &field,
                            "caption vectors need a CLIP collection",
                        ));
                    }
                    let a = a.map(|v| collection.check_vector(&field, v)).transpose()?;
                    let b = b.map(|v| collection.check_vector(&field, v)).transpose()?;
                    if a.is_none() && b.is_none() {
                        return Err(EngineError::invalid(&field, "has no vector, text or image"));
                    }
                    [a, b]
                }
                PointData::Media { .. } => {
                    return Err(EngineError::FailedPrecondition(format!(
                        "{field}: text and image input need an embedding model, and none is loaded"
                    )))
                }
            };
            out.push(PreparedPoint {
                id: p.id,
                vectors,
                payload: p.payload,
            });
        }
        Ok(out)
    }

    pub async fn upsert(&self, collection: &str, points: Vec<PointInput>) -> Result<u64> {
        let collection = self.collection(collection)?;
        let prepared = self.prepare_points(&collection, points)?;
        collection.store(prepared, None).await
    }

    pub async fn delete(&self, collection: &str, ids: Vec<String>) -> Result<u64> {
        let collection = self.collection(collection)?;
        for (i, id) in ids.iter().enumerate() {
            validate_point_id(&format!("ids[{i}]"), id)?;
        }
        collection.delete(ids).await
    }

    /// Runs a search off the async runtime.
    pub async fn search(
        &self,
        collection: &str,
        query: Query,
        params: SearchParams,
    ) -> Result<Vec<Hit>> {
        let collection = self.collection(collection)?;
        if params.limit == 0 || params.limit > MAX_LIMIT {
            return Err(EngineError::invalid(
                "limit",
                format!("{} is outside 1..={MAX_LIMIT}", params.limit),
            ));
        }
        if let Some(f) = &params.fusion {
            f.validate("fusion")?;
        }
        let (vector, exclude) = match query {
            Query::Vector(v) => (collection.check_vector("query.vector", v)?, None),
            Query::Id(id) => {
                validate_point_id("query.id", &id)?;
                (collection.query_vector_of(&id)?, Some(id))
            }
            Query::Text(_) | Query::Image(_) => {
                return Err(EngineError::FailedPrecondition(
                    "text and image queries need an embedding model, and none is loaded".into(),
                ))
            }
        };
        tokio::task::spawn_blocking(move || collection.search(&vector, &params, exclude.as_deref()))
            .await
            .map_err(|e| {
                EngineError::Storage(StorageError::Meta(format!("search task failed: {e}")))
            })
    }

    /// Makes everything durable; called on shutdown.
    pub fn flush(&self) -> Result<()> {
        Ok(self.meta.flush()?)
    }
}

//! Payload indexes of a collection: their definitions (a collection value,
//! changed through the committer), filling them, and the candidates they
//! give a filter.

use std::sync::Arc;

use super::Collection;
use crate::engine::payload::{Filter, Match};
use crate::engine::payload_index::{
    record_key, PayloadIndex, PayloadIndexSpec, PayloadIndexStats, PAYLOAD_INDEXES_KEY,
};
use crate::engine::{EngineError, Result};
use crate::storage::{Loc, StorageError};

impl Collection {
    /// The index definitions recorded for this collection.
    pub(super) fn payload_index_specs(&self) -> Result<Vec<PayloadIndexSpec>> {
        match self.values.read().get(PAYLOAD_INDEXES_KEY) {
            None => Ok(Vec::new()),
            Some(raw) => serde_json::from_slice(raw).map_err(|e| {
                EngineError::Storage(StorageError::CorruptMetadata(format!(
                    "collection {}: payload index definitions are unreadable: {e}",
                    self.config.name
                )))
            }),
        }
    }

    /// Indexes every live record, segment by segment under each record
    /// table's read lock (commits update tables and indexes under the
    /// write lock, so none is missed or undone).
    pub(super) fn fill_index(&self, index: &PayloadIndex) {
        let segments = self.segments.read().clone();
        for seg in segments {
            let points = seg.points.read();
            for (record, entry) in points.iter().enumerate() {
                if let Some(e) = entry {
                    let loc = Loc {
                        segment: seg.id,
                        record: record as u32,
                    };
                    index.insert(loc, e.payload.as_deref());
                }
            }
        }
    }

    /// Records the definitions of `indexes` durably, as one commit.
    async fn record_index_specs(self: &Arc<Self>, indexes: &[Arc<PayloadIndex>]) -> Result<()> {
        let specs: Vec<&PayloadIndexSpec> = indexes.iter().map(|ix| &ix.spec).collect();
        let value = serde_json::to_vec(&specs).expect("index definitions encode");
        self.committer
            .commit(
                self.clone(),
                Vec::new(),
                Vec::new(),
                Some((PAYLOAD_INDEXES_KEY.to_string(), value)),
            )
            .await?;
        Ok(())
    }

    /// Creates a payload index: recorded durably, kept in step with writes
    /// from now on, and filled over the existing points on a background
    /// thread (ready once filled). The same index again is a no-op.
    pub(crate) async fn create_payload_index(
        self: &Arc<Self>,
        spec: PayloadIndexSpec,
    ) -> Result<PayloadIndexStats> {
        let _changing = self.index_changes.lock().await;
        if let Some(existing) = self.payload_index(&spec.key) {
            if existing.spec == spec {
                return Ok(existing.stats());
            }
            return Err(EngineError::PayloadIndexExists {
                key: spec.key,
                existing: format!("{:?}", existing.spec.kind).to_lowercase(),
            });
        }
        let index = Arc::new(PayloadIndex::new(spec));
        let mut all = self.payload_indexes.read().clone();
        all.push(index.clone());
        // Kept in step with commits before its definition is recorded, so
        // no commit in between is missed.
        *self.payload_indexes.write() = all.clone();
        if let Err(e) = self.record_index_specs(&all).await {
            self.payload_indexes
                .write()
                .retain(|ix| !Arc::ptr_eq(ix, &index));
            return Err(e);
        }
        let this = self.clone();
        let filling = index.clone();
        std::thread::Builder::new()
            .name("clipdb-index".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                this.fill_index(&filling);
                filling.mark_ready();
                tracing::info!(
                    collection = %this.config.name,
                    key = %filling.spec.key,
                    points = filling.stats().indexed_points,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "payload index ready"
                );
            })
            .map_err(|e| EngineError::Internal(format!("index thread: {e}")))?;
        Ok(index.stats())
    }

    /// Drops the payload index on `key`.
    pub(crate) async fn drop_payload_index(self: &Arc<Self>, key: &str) -> Result<()> {
        let _changing = self.index_changes.lock().await;
        if self.payload_index(key).is_none() {
            return Err(EngineError::PayloadIndexNotFound {
                collection: self.config.name.clone(),
                key: key.to_string(),
            });
        }
        let kept: Vec<Arc<PayloadIndex>> = self
            .payload_indexes
            .read()
            .iter()
            .filter(|ix| ix.spec.key != key)
            .cloned()
            .collect();
        self.record_index_specs(&kept).await?;
        *self.payload_indexes.write() = kept;
        Ok(())
    }

    fn payload_index(&self, key: &str) -> Option<Arc<PayloadIndex>> {
        self.payload_indexes
            .read()
            .iter()
            .find(|ix| ix.spec.key == key)
            .cloned()
    }

    /// The records that can match `filter`, as one bitset per segment of
    /// `segments` (id and records allocated; bit `r` of word `r / 64` is
    /// record `r`), from the ready indexes and the id map, or None when no
    /// `must` condition can be answered that way; and whether they are
    /// exactly the matching records (every condition answered, no record
    /// whose value does not fit its index). Otherwise a superset, each
    /// candidate to be tested against the whole filter. Bitsets, not a set
    /// of record keys: a filter matching half of 200 000 points costs a
    /// pass over its index entries, not 100 000 hash inserts per search.
    pub(crate) fn filter_candidates(
        &self,
        filter: &Filter,
        segments: &[(u32, usize)],
    ) -> Option<(Vec<Vec<u64>>, bool)> {
        self.filter_candidates_with(filter, segments, &|id| self.ids.get(id))
    }

    /// [`Collection::filter_candidates`], finding `has_id` ids with
    /// `locate` (a caller that holds the id map's read lock passes a
    /// look-up in it: taking the lock again could deadlock behind a
    /// waiting writer).
    pub(crate) fn filter_candidates_with(
        &self,
        filter: &Filter,
        segments: &[(u32, usize)],
        locate: &dyn Fn(&str) -> Option<Loc>,
    ) -> Option<(Vec<Vec<u64>>, bool)> {
        let mut candidates: Option<Vec<Vec<u64>>> = None;
        let mut exact = filter.should.is_empty() && filter.must_not.is_empty();
        for condition in &filter.must {
            let mut bits: Vec<Vec<u64>> = segments
                .iter()
                .map(|&(_, records)| vec![0u64; records.div_ceil(64)])
                .collect();
            let mut set = |key: u64| {
                let (segment, record) = ((key >> 32) as u32, key as u32 as usize);
                // A handful of segments: a linear search is the fastest.
                if let Some(i) = segments.iter().position(|&(id, _)| id == segment) {
                    if let Some(word) = bits[i].get_mut(record / 64) {
                        *word |= 1 << (record % 64);
                    }
                }
            };
            let found_exact = match &condition.matches {
                Match::HasId(ids) => {
                    ids.iter()
                        .filter_map(|id| locate(id))
                        .for_each(|loc| set(record_key(loc)));
                    Some(true)
                }
                Match::Filter(_) => None,
                m => self
                    .payload_index(&condition.key)
                    .filter(|ix| ix.is_ready())
                    .and_then(|ix| ix.visit_candidates(m, &mut set)),
            };
            let Some(found_exact) = found_exact else {
                exact = false;
                continue;
            };
            exact &= found_exact;
            candidates = Some(match candidates {
                None => bits,
                Some(mut c) => {
                    for (a, b) in c.iter_mut().zip(&bits) {
                        a.iter_mut().zip(b).for_each(|(x, y)| *x &= y);
                    }
                    c
                }
            });
        }
        candidates.map(|c| (c, exact))
    }
}

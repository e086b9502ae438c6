//! Offline repair (`clipdb check --repair`): rebuilds what the data
//! directory still holds the information for, and says what it cannot.
//!
//! What can be rebuilt: a sealed segment's graph files and manifest (from its
//! vectors), a vector file's damaged header or lost length (from the
//! collection config and segment capacity). What cannot: vectors whose
//! records fail their checksums, and damaged metadata (sled). The id map is
//! not a file: it is rebuilt from the metadata records at every start.
//! Points whose vectors are lost are reported by id; with
//! `discard_lost_points` their records are removed so the rest of the
//! collection can be served again (restore them from a snapshot).

use std::collections::HashMap;
use std::path::Path;

use super::segment::{segment_dir, vectors_path, Segment};
use super::types::CollectionConfig;
use super::Result;
use crate::storage::{Loc, MetaBatch, MetaStore, RecordMeta, SledMetaStore, VectorFile};

#[derive(Debug, Clone, Copy, Default)]
pub struct RepairOptions {
    /// Remove the records of points whose vectors are lost, so the
    /// collection opens without them.
    pub discard_lost_points: bool,
}

/// What repair did and could not do, per collection.
#[derive(Debug, Default)]
pub struct RepairReport {
    pub collections: Vec<CollectionRepair>,
}

#[derive(Debug, Default)]
pub struct CollectionRepair {
    pub name: String,
    /// Each thing repaired.
    pub repaired: Vec<String>,
    /// Each thing that could not be repaired; the collection stays
    /// unavailable while this is not empty.
    pub not_repaired: Vec<String>,
}

/// Most lost point ids listed by name in one message.
const IDS_SHOWN: usize = 20;

/// Repairs every collection in `data_dir`. The server must not be running
/// (the metadata store's lock refuses a second opener).
pub fn repair(data_dir: &Path, options: RepairOptions) -> Result<RepairReport> {
    let meta = SledMetaStore::open(&data_dir.join("meta"))?;
    let mut report = RepairReport::default();
    for (name, raw) in meta.collections()? {
        let mut out = CollectionRepair {
            name: name.clone(),
            ..Default::default()
        };
        match serde_json::from_slice::<CollectionConfig>(&raw) {
            Ok(config) => {
                let dir = data_dir.join("collections").join(&name);
                if let Err(e) = repair_collection(&meta, &dir, &config, options, &mut out) {
                    out.not_repaired.push(e.to_string());
                }
            }
            Err(e) => out.not_repaired.push(format!(
                "its config in the metadata store is unreadable: {e}"
            )),
        }
        report.collections.push(out);
    }
    meta.flush()?;
    Ok(report)
}

fn repair_collection(
    meta: &SledMetaStore,
    dir: &Path,
    config: &CollectionConfig,
    options: RepairOptions,
    out: &mut CollectionRepair,
) -> Result<()> {
    let stored = meta.load(&config.name)?;
    let dim = config.dimension as usize;

    // 1. Vector files: headers and lengths.
    let mut files: HashMap<(u32, usize), VectorFile> = HashMap::new();
    for seg in &stored.segments {
        for space in 0..config.spaces() {
            let path = vectors_path(&segment_dir(dir, seg.id), space);
            match VectorFile::repair(&path, dim, seg.capacity) {
                Ok(Some(done)) => out.repaired.push(done),
                Ok(None) => {}
                Err(e) => {
                    out.not_repaired.push(e.to_string());
                    continue;
                }
            }
            match VectorFile::open(&path, dim) {
                Ok(f) => {
                    files.insert((seg.id, space), f);
                }
                Err(e) => out.not_repaired.push(e.to_string()),
            }
        }
    }
    if !out.not_repaired.is_empty() {
        return Ok(());
    }

    // 2. Records whose vectors are lost (or whose segment is unknown).
    let mut by_segment: HashMap<u32, Vec<(Loc, RecordMeta)>> = HashMap::new();
    let mut lost: Vec<(Loc, String)> = Vec::new();
    let mut duplicates: HashMap<&str, usize> = HashMap::new();
    for (loc, rec) in &stored.records {
        *duplicates.entry(rec.id.as_str()).or_default() += 1;
        let intact = (0..config.spaces())
            .filter(|s| rec.spaces & (1 << s) != 0)
            .all(|s| {
                files
                    .get(&(loc.segment, s))
                    .is_some_and(|f| f.verify(loc.record))
            });
        if intact {
            by_segment
                .entry(loc.segment)
                .or_default()
                .push((*loc, rec.clone()));
        } else {
            lost.push((*loc, rec.id.clone()));
        }
    }
    let twice: Vec<&str> = duplicates
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    if !twice.is_empty() {
        out.not_repaired.push(format!(
            "{} point ids are recorded more than once ({}); which version is current is unknown",
            twice.len(),
            list(twice.iter().copied())
        ));
    }
    if !lost.is_empty() {
        let ids = list(lost.iter().map(|(_, id)| id.as_str()));
        if options.discard_lost_points {
            let mut batch = MetaBatch::default();
            for (loc, _) in &lost {
                batch.remove_record(*loc);
            }
            meta.apply(&config.name, batch)?;
            meta.flush()?;
            out.repaired.push(format!(
                "discarded {} points whose vectors are lost: {ids}",
                lost.len()
            ));
        } else {
            out.not_repaired.push(format!(
                "{} points have lost vectors (records fail their checksums): {ids}; \
                 restore them from a snapshot, or rerun with --discard-lost-points to serve the rest",
                lost.len()
            ));
        }
    }

    // 3. Sealed segments' graphs: reload, or rebuild from the vectors.
    for seg in stored.segments.iter().filter(|s| s.sealed) {
        let records = || -> Vec<_> {
            by_segment
                .get(&seg.id)
                .map(|rs| {
                    rs.iter()
                        .map(|(loc, rec)| (loc.record, rec.clone(), None))
                        .collect()
                })
                .unwrap_or_default()
        };
        let reason = match Segment::open(dir, seg.id, true, config, records()) {
            Ok(_) => continue,
            Err(e) => e,
        };
        match Segment::open(dir, seg.id, false, config, records())
            .and_then(|rebuilt| rebuilt.write_sealed_files(config))
        {
            Ok(()) => out.repaired.push(format!(
                "rebuilt the graphs of segment {} from its vectors ({reason})",
                seg.id
            )),
            Err(e) => out.not_repaired.push(format!(
                "segment {}: {reason}; rebuilding failed: {e}",
                seg.id
            )),
        }
    }
    Ok(())
}

/// Up to [`IDS_SHOWN`] ids, backquoted, and how many more.
fn list<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let ids: Vec<&str> = ids.collect();
    let mut s = ids
        .iter()
        .take(IDS_SHOWN)
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > IDS_SHOWN {
        s.push_str(&format!(" and {} more", ids.len() - IDS_SHOWN));
    }
    s
}

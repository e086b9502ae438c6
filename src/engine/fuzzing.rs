//! Entry points for the cargo-fuzz targets (`fuzz/`), behind the `fuzzing`
//! feature: they reach crate-internal code the server runs at startup.

use std::path::Path;

use super::segment::Segment;
use super::{CollectionConfig, Result};
use crate::storage::RecordMeta;

/// Opens segment `id` of the collection in `collection_dir` exactly as a
/// collection does at startup, with `records` (record numbers) live in space 0,
/// and returns its live point count.
pub fn open_segment(
    collection_dir: &Path,
    config: &CollectionConfig,
    id: u32,
    sealed: bool,
    records: &[u32],
) -> Result<usize> {
    let records = records
        .iter()
        .map(|&r| {
            let meta = RecordMeta {
                id: format!("p{r}"),
                spaces: 1,
                payload: None,
            };
            (r, meta, None)
        })
        .collect();
    let seg = Segment::open(collection_dir, id, sealed, config, records)?;
    Ok(seg.live_count())
}

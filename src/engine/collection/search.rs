//! Reads and search: points by id, nearest neighbours per segment (graph
//! walks, exact scans, rescoring) and the merge across segments.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rayon::prelude::*;

use super::Collection;
use crate::engine::payload::Filter;
use crate::engine::segment::{PointEntry, Segment};
use crate::engine::types::*;
use crate::engine::{EngineError, Result};
use crate::storage::Loc;

impl Collection {
    pub(super) fn vectors_of(
        &self,
        seg: &Segment,
        record: u32,
        spaces: u8,
    ) -> [Option<Vec<f32>>; 2] {
        let mut out = [None, None];
        for (space, file) in seg.vectors.iter().enumerate() {
            if spaces & (1 << space) != 0 {
                out[space] = Some(file.get(record).to_vec());
            }
        }
        out
    }

    pub fn get(&self, ids: &[String], with_vector: bool) -> Vec<StoredPoint> {
        let map = self.ids.read();
        ids.iter()
            .filter_map(|id| {
                let loc = *map.get(id.as_str())?;
                let seg = self.segment(loc.segment)?;
                let entry = seg.points.read()[loc.record as usize].clone()?;
                Some(StoredPoint {
                    vectors: with_vector.then(|| self.vectors_of(&seg, loc.record, entry.spaces)),
                    id: entry.id,
                    payload: entry.payload,
                })
            })
            .collect()
    }

    /// The thumbnail kept for point `id`; None when the point does not
    /// exist or has none. A point's thumbnail is committed with it, so a
    /// visible point never shows another's.
    pub fn thumbnail(&self, id: &str) -> Result<Option<Vec<u8>>> {
        use crate::engine::thumbnail::{split, vector_tag};
        let Some(loc) = self.ids.read().get(id).copied() else {
            return Ok(None);
        };
        let Some(seg) = self.segment(loc.segment) else {
            return Ok(None);
        };
        let spaces = match &seg.points.read()[loc.record as usize] {
            Some(entry) => entry.spaces,
            None => return Ok(None),
        };
        if spaces & (1 << IMAGE_SPACE) == 0 {
            return Ok(None);
        }
        let Some(stored) = self.meta.thumbnail(&self.config.name, id)? else {
            return Ok(None);
        };
        // Only the thumbnail of the image this record holds: not one left
        // behind by a record `clipdb check --repair` removed, nor (for a
        // moment) a newer one while the point is being replaced.
        let vector = seg.vectors[IMAGE_SPACE].get(loc.record);
        Ok(split(&stored)
            .filter(|(tag, _)| *tag == vector_tag(vector))
            .map(|(_, jpeg)| jpeg.to_vec()))
    }

    /// The thumbnail as stored (its vector tag, then the JPEG).
    pub(crate) fn stored_thumbnail(&self, id: &str) -> Result<Option<Vec<u8>>> {
        if self.ids.read().get(id).is_none() {
            return Ok(None);
        }
        Ok(self.meta.thumbnail(&self.config.name, id)?)
    }

    /// The stored vector of a point, for "more like this" queries and
    /// recommendation examples: its image vector, or its caption vector if
    /// it has no image. `field` names the request field in errors.
    pub fn stored_vector_of(&self, field: &str, id: &str) -> Result<Vec<f32>> {
        let not_found = || {
            EngineError::invalid(
                field,
                format!(
                    "point `{id}` not found in collection `{}`",
                    self.config.name
                ),
            )
        };
        let loc = self.ids.get(id).ok_or_else(not_found)?;
        let seg = self.segment(loc.segment).ok_or_else(not_found)?;
        let entry = seg.points.read()[loc.record as usize]
            .clone()
            .ok_or_else(not_found)?;
        let space = if entry.spaces & 1 != 0 {
            IMAGE_SPACE
        } else {
            TEXT_SPACE
        };
        Ok(seg.vectors[space].get(loc.record).to_vec())
    }

    /// Nearest neighbours of a (validated, normalised) query vector, best
    /// first. Blocking: run off the async runtime.
    /// Every live record: its segment, record number and entry.
    fn for_each_entry(&self, mut f: impl FnMut(&Arc<Segment>, u32, &PointEntry)) {
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        for seg in &segments {
            let points = seg.points.read();
            for (record, entry) in points.iter().enumerate() {
                if let Some(e) = entry {
                    f(seg, record as u32, e);
                }
            }
        }
    }

    /// Calls `f` with every live point matching `filter` among the
    /// candidates ready payload indexes (or `has_id`, found with `locate`)
    /// name, testing payloads only when the indexes do not answer the whole
    /// filter. False, calling nothing, when no `must` condition is answered
    /// that way: the caller must test every point.
    fn for_each_indexed_match(
        &self,
        filter: &Filter,
        locate: &dyn Fn(&str) -> Option<Loc>,
        mut f: impl FnMut(&PointEntry),
    ) -> bool {
        let segments: Vec<Arc<Segment>> = self.segments.read().clone();
        let sizes = allocated_records(&segments);
        let Some((bits, exact)) = self.filter_candidates_with(filter, &sizes, locate) else {
            return false;
        };
        for (seg, words) in segments.iter().zip(&bits) {
            let points = seg.points.read();
            for r in set_bits(words) {
                if let Some(Some(e)) = points.get(r as usize) {
                    if exact || filter.matches(&e.id, e.payload.as_deref()) {
                        f(e);
                    }
                }
            }
        }
        true
    }

    /// Number of live points matching `filter`, exactly: among the payload
    /// indexes' candidates when they answer a `must` condition, otherwise
    /// testing every live point's payload.
    pub fn count_matching(&self, filter: &Filter) -> u64 {
        let mut n = 0;
        if self.for_each_indexed_match(filter, &|id| self.ids.get(id), |_| n += 1) {
            return n;
        }
        self.for_each_entry(|_, _, e| {
            if filter.matches(&e.id, e.payload.as_deref()) {
                n += 1;
            }
        });
        n
    }

    /// The ids of the live points matching `filter`, as of one commit:
    /// read from the id map under its read lock (commits change the map
    /// and the record tables under its write lock), so a point a concurrent
    /// commit moves between records (a replacement, a compaction move) is
    /// neither missed nor seen twice. Cluster replicas rely on this: at the
    /// same log position they select the same points.
    pub fn matching_ids(&self, filter: &Filter) -> Vec<String> {
        let map = self.ids.read();
        let mut ids = Vec::new();
        // The payload indexes change under the id map's write lock too, so
        // under its read lock they agree with it; `has_id` is looked up in
        // the locked map (locking it again could wait behind a writer).
        let locate = |id: &str| map.get(id).copied();
        if self.for_each_indexed_match(filter, &locate, |e| ids.push(e.id.to_string())) {
            return ids;
        }
        for (_, loc) in map.iter() {
            let Some(seg) = self.segment(loc.segment) else {
                continue;
            };
            let points = seg.points.read();
            if let Some(Some(e)) = points.get(loc.record as usize) {
                if filter.matches(&e.id, e.payload.as_deref()) {
                    ids.push(e.id.to_string());
                }
            }
        }
        ids
    }

    /// Up to `limit` points with ids after `after` (byte order), matching
    /// `filter`, in id order. Ids come from the id map under its read lock,
    /// so the page is one consistent view; the next page starts after the
    /// last id returned, so a point that exists throughout is seen exactly
    /// once whatever is written between pages.
    pub fn scroll(
        &self,
        after: Option<&str>,
        limit: usize,
        filter: Option<&Filter>,
        with_vector: bool,
    ) -> ScrollPage {
        let map = self.ids.read();
        let mut candidates: Vec<(&Arc<str>, _)> = map
            .iter()
            .filter(|(id, _)| after.is_none_or(|a| id.as_bytes() > a.as_bytes()))
            .collect();
        candidates.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut points = Vec::new();
        let mut more = false;
        for (_, loc) in candidates {
            let Some(seg) = self.segment(loc.segment) else {
                continue;
            };
            let Some(entry) = seg.points.read()[loc.record as usize].clone() else {
                continue;
            };
            if filter.is_some_and(|f| !f.matches(&entry.id, entry.payload.as_deref())) {
                continue;
            }
            if points.len() == limit {
                more = true;
                break;
            }
            points.push(StoredPoint {
                vectors: with_vector.then(|| self.vectors_of(&seg, loc.record, entry.spaces)),
                id: entry.id,
                payload: entry.payload,
            });
        }
        let last_id = more.then(|| points.last().map(|p| p.id.clone())).flatten();
        ScrollPage { points, last_id }
    }

    pub fn search(&self, query: &[f32], params: &SearchParams, exclude: &[String]) -> Vec<Hit> {
        // A commit that moves points (a replacement, a compaction move)
        // takes each out of its old record before putting it in its new
        // one, and segments are searched one after another or in
        // parallel: a search across such a commit could miss a point that
        // exists before and after it. Such a search runs again, and one
        // that would start mid-move first lets the commit finish. Bounded
        // (under a stream of replacements the last answer stands): a
        // compaction moves a segment in a few chunks, which 4 attempts did
        // not always outlast on a loaded machine (the crash harness saw it
        // once in the full suite).
        let mut hits = Vec::new();
        for _ in 0..MAX_SEARCH_ATTEMPTS {
            let mut before = self.moves.load(Ordering::Acquire);
            for _ in 0..100 {
                if before.is_multiple_of(2) {
                    break;
                }
                std::thread::yield_now();
                before = self.moves.load(Ordering::Acquire);
            }
            hits = self.search_once(query, params, exclude);
            if before.is_multiple_of(2) && self.moves.load(Ordering::Acquire) == before {
                break;
            }
        }
        hits
    }

    fn search_once(&self, query: &[f32], params: &SearchParams, exclude: &[String]) -> Vec<Hit> {
        let spaces = self.config.spaces();
        let weights = if spaces == 1 {
            [1.0, 0.0]
        } else {
            params.fusion.unwrap_or(self.config.fusion).weights()
        };
        let active_mask: u8 = (0..spaces)
            .filter(|&s| weights[s] > 0.0)
            .fold(0, |m, s| m | (1 << s));
        let ef = if params.ef == 0 {
            self.config.ef_search as usize
        } else {
            params.ef
        }
        .max(params.offset + params.limit);
        let filter = params.filter.as_ref().filter(|f| !f.is_empty());
        let segments: Vec<Arc<Segment>> = self
            .segments
            .read()
            .iter()
            .filter(|s| s.allocated.load(Ordering::Acquire) > 0)
            .cloned()
            .collect();
        let candidates = filter
            .and_then(|f| {
                let sizes = allocated_records(&segments);
                let found = self.filter_candidates(f, &sizes)?;
                Some((sizes, found))
            })
            .map(|(sizes, (bits, exact))| IndexedCandidates {
                by_segment: sizes.into_iter().map(|(id, _)| id).zip(bits).collect(),
                exact,
            });
        let ctx = SearchContext {
            metric: self.config.metric,
            query,
            weights,
            active_mask,
            limit: params.offset + params.limit,
            ef,
            filter,
            exclude,
            candidates,
        };
        let search = |seg: &Arc<Segment>| -> Vec<(f32, Arc<Segment>, u32)> {
            ctx.search_segment(seg)
                .into_iter()
                .map(|(s, r)| (s, seg.clone(), r))
                .collect()
        };
        // Segments in parallel only when there are several: handing a lone
        // segment to rayon's pool costs two thread wake-ups per request.
        let mut found: Vec<(f32, Arc<Segment>, u32)> = if segments.len() > 1 {
            segments.par_iter().flat_map_iter(search).collect()
        } else {
            segments.iter().flat_map(search).collect()
        };
        found.sort_by(|a, b| ctx.metric.cmp_scores(a.0, b.0));
        let good_enough = |score: f32| match (params.score_threshold, ctx.metric) {
            (None, _) => true,
            (Some(t), Metric::L2) => score <= t,
            (Some(t), _) => score >= t,
        };
        found
            .into_iter()
            .take_while(|(score, _, _)| good_enough(*score))
            .filter_map(|(score, seg, record)| {
                // None: deleted or moved since it was scored (not a hit,
                // and not a reason to return fewer than `limit`).
                let entry = seg.points.read()[record as usize].clone()?;
                Some(Hit {
                    score,
                    vectors: params
                        .with_vector
                        .then(|| self.vectors_of(&seg, record, entry.spaces)),
                    payload: if params.with_payload {
                        entry.payload
                    } else {
                        None
                    },
                    id: entry.id,
                })
            })
            .skip(params.offset)
            .take(params.limit)
            .collect()
    }
}

struct SearchContext<'a> {
    metric: Metric,
    query: &'a [f32],
    weights: [f32; 2],
    active_mask: u8,
    limit: usize,
    ef: usize,
    filter: Option<&'a Filter>,
    exclude: &'a [String],
    /// Records that can match the filter, by segment, from payload indexes
    /// (see `indexes.rs`); None: test every record's payload.
    candidates: Option<IndexedCandidates>,
}

struct IndexedCandidates {
    /// A bitset per segment id: bit `r % 64` of word `r / 64` is record `r`.
    by_segment: HashMap<u32, Vec<u64>>,
    /// The candidates are exactly the matching records: the filter need
    /// not be evaluated on them.
    exact: bool,
}

/// A filter matching at most this many candidates per `ef` (or a growing
/// segment with at most this many records per `ef`) is answered by an exact
/// scan: scoring that few vectors costs less than a graph walk, and a
/// filtered graph walk loses recall when few nodes pass.
const EXACT_SCAN_FACTOR: usize = 16;

/// Most times a search runs while commits move points under it (see
/// `Collection::search`).
const MAX_SEARCH_ATTEMPTS: usize = 16;

/// A filtered walk keeps walking until `ef` nodes passed: on a segment of
/// `allocated` records of which `matching` pass, it explores about as far
/// as an unfiltered walk with `ef x allocated / matching`, each visit a
/// random read; an exact scan scores `matching` vectors in record order.
/// So the scan is cheaper while `matching^2 <= FILTERED_WALK_COST x ef x
/// allocated`. Measured with `benches/filtered.rs` (docs/benchmarks.md,
/// "Filtered search"): at 100 000 records and ef 64 a walk through 10 %
/// took 0.75x the time of scoring those 10 000 exactly, through 1 % some
/// 50x: the two cost the same near 8 000 matching, hence 10.
const FILTERED_WALK_COST: usize = 10;

/// The records whose bits are set, in increasing order.
/// Each segment's id and records handed out so far (what a candidate
/// bitset covers).
fn allocated_records(segments: &[Arc<Segment>]) -> Vec<(u32, usize)> {
    segments
        .iter()
        .map(|s| {
            let allocated = s.allocated.load(Ordering::Acquire).min(s.capacity);
            (s.id, allocated as usize)
        })
        .collect()
}

fn set_bits(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter().enumerate().flat_map(|(i, &word)| {
        let mut w = word;
        std::iter::from_fn(move || {
            (w != 0).then(|| {
                let bit = w.trailing_zeros();
                w &= w - 1;
                i as u32 * 64 + bit
            })
        })
    })
}

impl SearchContext<'_> {
    /// Whether a point may be a hit, filter aside.
    fn eligible(&self, entry: &PointEntry) -> bool {
        entry.spaces & self.active_mask != 0 && !self.exclude.iter().any(|x| *x == *entry.id)
    }

    fn keep(&self, entry: &PointEntry) -> bool {
        self.eligible(entry)
            && self
                .filter
                .is_none_or(|f| f.matches(&entry.id, entry.payload.as_deref()))
    }

    /// Exact fused score: the weighted mean of per-space scores over the
    /// active spaces the point has.
    fn score(&self, seg: &Segment, record: u32, spaces: u8) -> f32 {
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for (space, file) in seg.vectors.iter().enumerate() {
            if spaces & self.active_mask & (1 << space) != 0 {
                num += self.weights[space] * self.metric.score(self.query, file.get(record));
                den += self.weights[space];
            }
        }
        num / den
    }

    fn top(&self, mut scored: Vec<(f32, u32)>) -> Vec<(f32, u32)> {
        // Ties in record order, as a stable sort of records in order gave.
        let cmp =
            |a: &(f32, u32), b: &(f32, u32)| self.metric.cmp_scores(a.0, b.0).then(a.1.cmp(&b.1));
        // Exact scans score thousands: select the best, sort only those.
        if scored.len() > self.limit {
            scored.select_nth_unstable_by(self.limit, cmp);
            scored.truncate(self.limit);
        }
        scored.sort_by(cmp);
        scored
    }

    fn exact(
        &self,
        seg: &Segment,
        points: &[Option<PointEntry>],
        candidates: impl Iterator<Item = u32>,
    ) -> Vec<(f32, u32)> {
        let scored = candidates
            .filter_map(|r| {
                let e = points[r as usize].as_ref()?;
                Some((self.score(seg, r, e.spaces), r))
            })
            .collect();
        self.top(scored)
    }

    /// Whether scoring `matching` records of a segment of `allocated`
    /// exactly costs less than a graph walk through them.
    fn exact_is_cheaper(&self, matching: usize, allocated: usize) -> bool {
        matching <= self.ef * EXACT_SCAN_FACTOR
            || matching.saturating_mul(matching)
                <= FILTERED_WALK_COST
                    .saturating_mul(self.ef)
                    .saturating_mul(allocated)
    }

    fn search_segment(&self, seg: &Segment) -> Vec<(f32, u32)> {
        let points = seg.points.read();
        let allocated = (seg.allocated.load(Ordering::Acquire).min(seg.capacity)) as usize;
        let keep_record = |r: usize| {
            points
                .get(r)
                .and_then(|p| p.as_ref())
                .is_some_and(|e| self.keep(e))
        };
        let kept_records = || (0..allocated).filter(|&r| keep_record(r)).map(|r| r as u32);
        // A growing segment this small is scanned exactly: it costs about
        // what a walk does, and its answers stay the same across a restart
        // or restore that rebuilds its graph (a parallel build, never the
        // same graph).
        if !seg.sealed.load(Ordering::Acquire) && allocated <= self.ef * EXACT_SCAN_FACTOR {
            return self.exact(seg, &points, kept_records());
        }
        if let Some(indexed) = &self.candidates {
            // The indexes named the candidates: test only those (and not
            // even their payloads when the indexes answered the whole
            // filter), then score them exactly or walk the graph through
            // their bitset.
            let no_candidates = Vec::new();
            let bits = indexed.by_segment.get(&seg.id).unwrap_or(&no_candidates);
            let pass = |r: usize| {
                bits.get(r / 64).is_some_and(|w| w & (1 << (r % 64)) != 0)
                    && points.get(r).and_then(|p| p.as_ref()).is_some_and(|e| {
                        if indexed.exact {
                            self.eligible(e)
                        } else {
                            self.keep(e)
                        }
                    })
            };
            let matching = || set_bits(bits).filter(|&r| pass(r as usize));
            let count: usize = bits.iter().map(|w| w.count_ones() as usize).sum();
            if self.exact_is_cheaper(count, allocated) {
                return self.exact(seg, &points, matching());
            }
            let result = self.walk(seg, &points, &pass);
            if result.len() < self.limit.min(count) {
                let exact = self.exact(seg, &points, matching());
                if exact.len() > result.len() {
                    return exact;
                }
            }
            return result;
        }
        if self.filter.is_some() {
            let matching: Vec<u32> = kept_records().collect();
            if self.exact_is_cheaper(matching.len(), allocated) {
                return self.exact(seg, &points, matching.into_iter());
            }
        }
        // Without a filter or exclusions a node is kept when its record is
        // live: a bit test instead of a look-up in the record table.
        let live = |r: usize| seg.is_live(r);
        let plain = self.filter.is_none() && self.exclude.is_empty();
        let result = if plain {
            self.walk(seg, &points, &live)
        } else {
            self.walk(seg, &points, &keep_record)
        };
        if result.len() < self.limit {
            // The graph walk came back short (many deleted or filtered-out
            // nodes): fall back to an exact scan so matches are never missed.
            let exact = self.exact(seg, &points, kept_records());
            if exact.len() > result.len() {
                return exact;
            }
        }
        result
    }

    /// Walks each active space's graph, keeping nodes `pass` accepts, and
    /// rescores the union of what the walks found exactly.
    fn walk(
        &self,
        seg: &Segment,
        points: &[Option<PointEntry>],
        pass: &(dyn Fn(usize) -> bool + Sync),
    ) -> Vec<(f32, u32)> {
        let mut candidates: Vec<u32> = Vec::new();
        for (space, graph) in seg.graphs.iter().enumerate() {
            if self.active_mask & (1 << space) != 0 {
                candidates.extend(
                    graph
                        .search(self.query, self.ef, self.ef, pass)
                        .into_iter()
                        .map(|r| r as u32),
                );
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        self.exact(seg, points, candidates.into_iter())
    }
}

//! Payload indexes: for one payload key, which records hold which values,
//! so that a filter on the key finds its candidates without reading every
//! payload.
//!
//! An index is derived data: its definition (key and type) is a collection
//! value in the metadata store, written through the committer (durable,
//! atomic, carried by snapshots), and its contents are rebuilt from the
//! payloads, which a collection holds in memory anyway, when the collection
//! opens (a hash insert per point) or when the index is created (on a
//! background thread). Persisting the contents too would add a write per
//! indexed point to every commit and a second copy that could disagree
//! with the payloads after a crash, to save milliseconds at startup.
//!
//! Records are named by one number, `segment << 32 | record`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::payload::{lookup, Match, Payload};
use crate::storage::Loc;

/// Metadata key of a collection's payload index definitions (JSON list).
pub(crate) const PAYLOAD_INDEXES_KEY: &str = "payload_indexes";

/// Largest integer a double holds exactly: integer indexes take whole
/// numbers up to it.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadIndexType {
    Keyword,
    Integer,
    Float,
    Bool,
}

/// What an index is on: stored as the collection's definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadIndexSpec {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: PayloadIndexType,
}

/// An index as `CollectionInfo` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct PayloadIndexStats {
    pub spec: PayloadIndexSpec,
    /// Built over every point (filters use it).
    pub ready: bool,
    /// Points with at least one value in the index.
    pub indexed_points: u64,
    /// Points that have the key with a value of another type.
    pub mismatched_points: u64,
}

pub(crate) fn record_key(loc: Loc) -> u64 {
    (loc.segment as u64) << 32 | loc.record as u64
}

/// A double usable as a map key (the index holds finite numbers only).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Number(f64);
impl Eq for Number {}
#[allow(clippy::derive_ord_xor_partial_ord)]
impl Ord for Number {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Indexed {
    Keyword(String),
    Number(Number),
    Bool(bool),
}

#[derive(Default)]
struct Contents {
    keywords: HashMap<String, HashSet<u64>>,
    numbers: BTreeMap<Number, HashSet<u64>>,
    bools: [HashSet<u64>; 2],
    /// Each indexed record's values, so removal needs no payload.
    records: HashMap<u64, Vec<Indexed>>,
    /// Records whose value at the key has another type.
    mismatched: HashSet<u64>,
}

pub(crate) struct PayloadIndex {
    pub spec: PayloadIndexSpec,
    ready: AtomicBool,
    contents: RwLock<Contents>,
}

impl PayloadIndex {
    pub fn new(spec: PayloadIndexSpec) -> PayloadIndex {
        PayloadIndex {
            spec,
            ready: AtomicBool::new(false),
            contents: RwLock::new(Contents::default()),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn stats(&self) -> PayloadIndexStats {
        let c = self.contents.read();
        PayloadIndexStats {
            spec: self.spec.clone(),
            ready: self.is_ready(),
            indexed_points: c.records.len() as u64,
            mismatched_points: c.mismatched.len() as u64,
        }
    }

    /// The values of `payload` at the key that fit the index, and whether
    /// any value there does not fit.
    fn values_of(&self, payload: Option<&Payload>) -> (Vec<Indexed>, bool) {
        let Some(value) = payload.and_then(|p| lookup(p, &self.spec.key)) else {
            return (Vec::new(), false);
        };
        let items: &[Value] = match value {
            Value::Array(items) => items,
            single => std::slice::from_ref(single),
        };
        let mut fits = Vec::new();
        let mut mismatched = false;
        for item in items {
            let indexed = match (self.spec.kind, item) {
                (_, Value::Null) => continue,
                (PayloadIndexType::Keyword, Value::String(s)) => Some(Indexed::Keyword(s.clone())),
                (PayloadIndexType::Bool, Value::Bool(b)) => Some(Indexed::Bool(*b)),
                (PayloadIndexType::Float, Value::Number(n)) => {
                    n.as_f64().map(|x| Indexed::Number(Number(x)))
                }
                (PayloadIndexType::Integer, Value::Number(n)) => n
                    .as_f64()
                    .filter(|x| x.fract() == 0.0 && x.abs() <= MAX_EXACT_INTEGER)
                    .map(|x| Indexed::Number(Number(x + 0.0))),
                _ => None,
            };
            match indexed {
                Some(v) if !fits.contains(&v) => fits.push(v),
                Some(_) => {}
                None => mismatched = true,
            }
        }
        (fits, mismatched)
    }

    /// Indexes the record `loc` holding `payload` (replacing what it had).
    pub fn insert(&self, loc: Loc, payload: Option<&Payload>) {
        let key = record_key(loc);
        let (values, mismatched) = self.values_of(payload);
        let mut c = self.contents.write();
        c.remove(key);
        if mismatched {
            c.mismatched.insert(key);
        }
        if values.is_empty() {
            return;
        }
        for v in &values {
            match v {
                Indexed::Keyword(s) => c.keywords.entry(s.clone()).or_default().insert(key),
                Indexed::Number(n) => c.numbers.entry(*n).or_default().insert(key),
                Indexed::Bool(b) => c.bools[*b as usize].insert(key),
            };
        }
        c.records.insert(key, values);
    }

    pub fn remove(&self, loc: Loc) {
        self.contents.write().remove(record_key(loc));
    }

    /// The records that may match `m` on this index's key: those whose
    /// indexed values match, plus every record with a mismatched value
    /// (their payloads decide), and whether the set is exact (no such
    /// record). None when the index cannot answer `m`.
    #[cfg(test)]
    pub fn candidates(&self, m: &Match) -> Option<(HashSet<u64>, bool)> {
        let mut out = HashSet::new();
        let exact = self.visit_candidates(m, &mut |key| {
            out.insert(key);
        })?;
        Some((out, exact))
    }

    /// The same records as [`PayloadIndex::candidates`], handed to `f` one
    /// by one (a record may come more than once) without building a set:
    /// a search turns them into bitsets, at a few nanoseconds a record
    /// instead of a hash insert. None (and `f` never called) when the index
    /// cannot answer `m`.
    pub fn visit_candidates(&self, m: &Match, f: &mut dyn FnMut(u64)) -> Option<bool> {
        let numeric = matches!(
            self.spec.kind,
            PayloadIndexType::Integer | PayloadIndexType::Float
        );
        // Check first that every value can be answered, so that None means
        // nothing was visited.
        let answerable = |v: &Value| {
            matches!(v, Value::String(_) | Value::Bool(_))
                || matches!(v, Value::Number(n) if n.as_f64().is_some())
        };
        match m {
            Match::Equals(v) if answerable(v) => {}
            Match::Any(values) if values.iter().all(answerable) => {}
            Match::Range(_) if numeric => {}
            _ => return None,
        }
        let c = self.contents.read();
        let exact = c.mismatched.is_empty();
        c.mismatched.iter().for_each(|&k| f(k));
        let mut add_value = |v: &Value| match (self.spec.kind, v) {
            (PayloadIndexType::Keyword, Value::String(s)) => {
                c.keywords.get(s).into_iter().flatten().for_each(|&k| f(k))
            }
            (PayloadIndexType::Bool, Value::Bool(b)) => {
                c.bools[*b as usize].iter().for_each(|&k| f(k))
            }
            (PayloadIndexType::Integer | PayloadIndexType::Float, Value::Number(n)) => {
                let x = n.as_f64().expect("checked above") + 0.0;
                c.numbers
                    .get(&Number(x))
                    .into_iter()
                    .flatten()
                    .for_each(|&k| f(k))
            }
            // A value of another type matches no indexed value; only
            // mismatched records (already visited) can hold it.
            _ => {}
        };
        match m {
            Match::Equals(v) => add_value(v),
            Match::Any(values) => values.iter().for_each(add_value),
            Match::Range(r) => {
                let lo = r
                    .gte
                    .into_iter()
                    .chain(r.gt)
                    .fold(f64::NEG_INFINITY, f64::max);
                let hi = r.lte.into_iter().chain(r.lt).fold(f64::INFINITY, f64::min);
                if lo <= hi {
                    for (n, keys) in c.numbers.range(Number(lo)..=Number(hi)) {
                        if r.contains(n.0) {
                            keys.iter().for_each(|&k| f(k));
                        }
                    }
                }
            }
            _ => unreachable!("checked above"),
        }
        Some(exact)
    }
}

impl Contents {
    fn remove(&mut self, key: u64) {
        self.mismatched.remove(&key);
        let Some(values) = self.records.remove(&key) else {
            return;
        };
        for v in values {
            match v {
                Indexed::Keyword(s) => {
                    if let Some(set) = self.keywords.get_mut(&s) {
                        set.remove(&key);
                        if set.is_empty() {
                            self.keywords.remove(&s);
                        }
                    }
                }
                Indexed::Number(n) => {
                    if let Some(set) = self.numbers.get_mut(&n) {
                        set.remove(&key);
                        if set.is_empty() {
                            self.numbers.remove(&n);
                        }
                    }
                }
                Indexed::Bool(b) => {
                    self.bools[b as usize].remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::payload::Range;
    use serde_json::json;

    fn loc(record: u32) -> Loc {
        Loc { segment: 1, record }
    }

    fn payload(v: Value) -> Payload {
        v.as_object().unwrap().clone()
    }

    fn index(kind: PayloadIndexType) -> PayloadIndex {
        PayloadIndex::new(PayloadIndexSpec {
            key: "k".into(),
            kind,
        })
    }

    fn sorted(set: HashSet<u64>) -> Vec<u32> {
        let mut v: Vec<u32> = set.into_iter().map(|k| k as u32).collect();
        v.sort();
        v
    }

    #[test]
    fn keyword_index_follows_inserts_replacements_and_removals() {
        let ix = index(PayloadIndexType::Keyword);
        ix.insert(loc(0), Some(&payload(json!({"k": "a"}))));
        ix.insert(loc(1), Some(&payload(json!({"k": ["a", "b"]}))));
        ix.insert(loc(2), Some(&payload(json!({"k": 7}))));
        ix.insert(loc(3), Some(&payload(json!({"other": "a"}))));
        let eq = |v: Value| sorted(ix.candidates(&Match::Equals(v)).unwrap().0);
        // The mismatched record (a number in a keyword index) is always a
        // candidate: its payload decides.
        assert_eq!(eq(json!("a")), vec![0, 1, 2]);
        assert_eq!(eq(json!("b")), vec![1, 2]);
        assert_eq!(
            sorted(
                ix.candidates(&Match::Any(vec![json!("b"), json!("zz")]))
                    .unwrap()
                    .0
            ),
            vec![1, 2]
        );
        let stats = ix.stats();
        assert_eq!((stats.indexed_points, stats.mismatched_points), (2, 1));
        ix.insert(loc(1), Some(&payload(json!({"k": "c"}))));
        assert_eq!(eq(json!("b")), vec![2]);
        ix.remove(loc(0));
        ix.remove(loc(2));
        assert_eq!(eq(json!("a")), Vec::<u32>::new());
        assert_eq!(ix.stats().indexed_points, 1);
        assert!(ix.candidates(&Match::IsEmpty).is_none());
    }

    #[test]
    fn integer_index_answers_ranges_and_takes_whole_numbers_only() {
        let ix = index(PayloadIndexType::Integer);
        for (r, v) in [
            (0, json!(1)),
            (1, json!(5)),
            (2, json!(10.0)),
            (3, json!(2.5)),
        ] {
            ix.insert(loc(r), Some(&payload(json!({ "k": v }))));
        }
        let range = |r: Range| sorted(ix.candidates(&Match::Range(r)).unwrap().0);
        // 2.5 does not fit an integer index: a candidate for every query.
        assert_eq!(
            range(Range {
                gte: Some(5.0),
                ..Default::default()
            }),
            vec![1, 2, 3]
        );
        assert_eq!(
            range(Range {
                gt: Some(1.0),
                lt: Some(10.0),
                ..Default::default()
            }),
            vec![1, 3]
        );
        assert_eq!(ix.stats().mismatched_points, 1);
    }
}

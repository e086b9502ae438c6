//! The committer on its own: an in-memory metadata store that can be told to
//! fail ([`MemMetaStore`]), the smallest [`CommitTarget`] (an id map and a
//! record table) and vector files that count their fsyncs ([`Files`]).
//! Groups are formed by calling `commit_group` directly, except where the
//! test is about the commit thread itself (barriers).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::*;
use crate::storage::meta::{MemFault, MemMetaStore};
use crate::storage::SegmentMeta;

/// One call of [`CommitTarget::apply`]: the store's flush count when it
/// came, and its changes as (id, new location, previous location).
#[derive(Debug, Clone, PartialEq)]
struct Applied {
    flushes: usize,
    changes: Vec<(String, Option<Loc>, Option<Loc>)>,
}

/// A collection reduced to what the committer sees.
struct Target {
    name: String,
    dropped: AtomicBool,
    ids: IdMap,
    /// Record table: which id each live record holds.
    records: Mutex<BTreeMap<Loc, String>>,
    /// The entries behind them (payloads), for payload updates.
    entries: Mutex<HashMap<Loc, PointEntry>>,
    values: Mutex<HashMap<String, Vec<u8>>>,
    store: Arc<MemMetaStore>,
    applied: Mutex<Vec<Applied>>,
}

impl Target {
    fn new(name: &str, store: &Arc<MemMetaStore>) -> Arc<Target> {
        Arc::new(Target {
            name: name.into(),
            dropped: AtomicBool::new(false),
            ids: IdMap::default(),
            records: Mutex::new(BTreeMap::new()),
            entries: Mutex::new(HashMap::new()),
            values: Mutex::new(HashMap::new()),
            store: store.clone(),
            applied: Mutex::new(Vec::new()),
        })
    }

    /// The visible id map, sorted.
    fn visible(&self) -> BTreeMap<String, Loc> {
        self.ids
            .read()
            .iter()
            .map(|(id, loc)| (id.to_string(), *loc))
            .collect()
    }

    fn applied(&self) -> Vec<Applied> {
        self.applied.lock().clone()
    }
}

impl CommitTarget for Target {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Acquire)
    }

    fn ids(&self) -> &IdMap {
        &self.ids
    }

    fn entry(&self, loc: Loc) -> Option<PointEntry> {
        self.entries.lock().get(&loc).cloned()
    }

    fn apply(&self, permit: &CommitPermit, changes: &[Change], value: Option<&(String, Vec<u8>)>) {
        let mut ids = self.ids.write(permit);
        let mut records = self.records.lock();
        for c in changes {
            if let Some(prev) = c.previous {
                records.remove(&prev);
                self.entries.lock().remove(&prev);
            }
            match &c.new {
                Some((loc, entry)) => {
                    records.insert(*loc, entry.id.to_string());
                    self.entries.lock().insert(*loc, entry.clone());
                    ids.insert(c.id.clone(), *loc);
                }
                None => ids.remove(&c.id),
            }
        }
        if let Some((k, v)) = value {
            self.values.lock().insert(k.clone(), v.clone());
        }
        self.applied.lock().push(Applied {
            flushes: self.store.flushes(),
            changes: changes
                .iter()
                .map(|c| (c.id.to_string(), c.new.as_ref().map(|n| n.0), c.previous))
                .collect(),
        });
    }
}

/// Vector files that count their fsyncs and can be told to fail the next.
#[derive(Default)]
struct Files {
    syncs: AtomicUsize,
    fail_next: AtomicBool,
}

impl SyncTarget for Files {
    fn sync(&self) -> std::result::Result<(), StorageError> {
        self.syncs.fetch_add(1, Ordering::AcqRel);
        if self.fail_next.swap(false, Ordering::AcqRel) {
            return Err(StorageError::io(
                Path::new("vectors-0.bin"),
                std::io::Error::from_raw_os_error(5),
            ));
        }
        Ok(())
    }
}

fn loc(segment: u32, record: u32) -> Loc {
    Loc { segment, record }
}

fn upsert(id: &str, at: Loc) -> CommitOp {
    CommitOp::Upsert {
        id: Arc::from(id),
        loc: at,
        spaces: 1,
        payload: None,
        payload_bytes: None,
        only_if_at: None,
        thumbnail: None,
    }
}

fn upsert_with_thumbnail(id: &str, at: Loc, jpeg: &[u8]) -> CommitOp {
    match upsert(id, at) {
        CommitOp::Upsert {
            id,
            loc,
            spaces,
            payload,
            payload_bytes,
            only_if_at,
            ..
        } => CommitOp::Upsert {
            id,
            loc,
            spaces,
            payload,
            payload_bytes,
            only_if_at,
            thumbnail: Some(jpeg.to_vec()),
        },
        _ => unreachable!(),
    }
}

/// A compaction move of `id` from `from` to `to`.
fn moved(id: &str, from: Loc, to: Loc) -> CommitOp {
    CommitOp::Upsert {
        id: Arc::from(id),
        loc: to,
        spaces: 1,
        payload: None,
        payload_bytes: None,
        only_if_at: Some(from),
        thumbnail: None,
    }
}

fn delete(id: &str) -> CommitOp {
    CommitOp::Delete { id: Arc::from(id) }
}

type Reply = oneshot::Receiver<Result<CommitOutcome>>;

fn request(
    target: &Arc<Target>,
    ops: Vec<CommitOp>,
    files: &[&Arc<Files>],
    value: Option<(&str, &[u8])>,
) -> (CommitRequest, Reply) {
    let (reply, rx) = oneshot::channel();
    let req = CommitRequest {
        collection: target.clone(),
        ops,
        segments: files
            .iter()
            .map(|f| (*f).clone() as Arc<dyn SyncTarget>)
            .collect(),
        value: value.map(|(k, v)| (k.to_string(), v.to_vec())),
        reply,
    };
    (req, rx)
}

/// Commits `ops` as a group of one request, and expects success.
fn commit_one(store: &MemMetaStore, target: &Arc<Target>, ops: Vec<CommitOp>) -> CommitOutcome {
    let (req, rx) = request(target, ops, &[], None);
    commit_group(store, vec![req]);
    answer(rx).expect("commits")
}

fn answer(rx: Reply) -> Result<CommitOutcome> {
    rx.blocking_recv().expect("every request is answered")
}

/// The record entries of a collection in the store: location -> id.
fn recorded(meta: crate::storage::CollectionMeta) -> BTreeMap<Loc, String> {
    meta.records.into_iter().map(|(l, r)| (l, r.id)).collect()
}

type StoreState = (
    Vec<(Loc, RecordMeta)>,
    Vec<SegmentMeta>,
    BTreeMap<String, Vec<u8>>,
);

/// Everything the store holds for a collection, comparable.
fn state(store: &MemMetaStore, name: &str) -> StoreState {
    let m = store.load(name).unwrap();
    (m.records, m.segments, m.values.into_iter().collect())
}

fn visible(pairs: &[(&str, Loc)]) -> BTreeMap<String, Loc> {
    pairs.iter().map(|(id, l)| (id.to_string(), *l)).collect()
}

fn records(pairs: &[(Loc, &str)]) -> BTreeMap<Loc, String> {
    pairs.iter().map(|(l, id)| (*l, id.to_string())).collect()
}

fn is_io_error(r: &Result<CommitOutcome>) -> bool {
    matches!(r, Err(EngineError::Storage(StorageError::Io { .. })))
}

#[test]
fn a_group_becomes_visible_only_after_its_flush() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    let files = Arc::new(Files::default());
    // What the flush finds: every batch applied, none durable, none visible.
    let seen = Arc::new(Mutex::new(None));
    {
        let (s, t, seen) = (store.clone(), target.clone(), seen.clone());
        store.before_next_flush(move || {
            *seen.lock() = Some((
                recorded(s.load("c").unwrap()).len(),
                recorded(s.load_durable("c").unwrap()).len(),
                t.visible().len(),
                t.records.lock().len(),
            ));
        });
    }
    let (r1, a1) = request(
        &target,
        vec![upsert("a", loc(1, 0)), upsert("b", loc(1, 1))],
        &[&files],
        Some(("model", &b"m"[..])),
    );
    let (r2, a2) = request(&target, vec![upsert("c", loc(1, 2))], &[&files], None);
    commit_group(store.as_ref(), vec![r1, r2]);

    assert_eq!(*seen.lock(), Some((3, 0, 0, 0)));
    assert_eq!(answer(a1).unwrap().upserted, 2);
    assert_eq!(answer(a2).unwrap().upserted, 1);
    let expected = visible(&[("a", loc(1, 0)), ("b", loc(1, 1)), ("c", loc(1, 2))]);
    assert_eq!(target.visible(), expected);
    assert_eq!(recorded(store.load_durable("c").unwrap()).len(), 3);
    assert_eq!(store.load_durable("c").unwrap().values["model"], b"m");
    assert_eq!(target.values.lock()["model"], b"m");
    // Applied request by request, each after the group's one flush.
    let flushes: Vec<usize> = target.applied().iter().map(|a| a.flushes).collect();
    assert_eq!(flushes, [1, 1]);
    // Files both requests wrote are fsynced once for the group.
    assert_eq!(files.syncs.load(Ordering::Acquire), 1);
}

#[test]
fn replacements_in_a_group_resolve_in_order() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("x", loc(1, 0))]);

    // The same id twice in one request, then again in the next request of
    // the same group: each replaces the one before, none is visible yet.
    let (r1, a1) = request(
        &target,
        vec![upsert("x", loc(1, 1)), upsert("x", loc(1, 2))],
        &[],
        None,
    );
    let (r2, a2) = request(&target, vec![upsert("x", loc(1, 3))], &[], None);
    commit_group(store.as_ref(), vec![r1, r2]);

    assert_eq!(answer(a1).unwrap().upserted, 2);
    assert_eq!(answer(a2).unwrap().upserted, 1);
    let applied = target.applied();
    assert_eq!(
        applied[1].changes,
        [
            ("x".into(), Some(loc(1, 1)), Some(loc(1, 0))),
            ("x".into(), Some(loc(1, 2)), Some(loc(1, 1))),
        ]
    );
    assert_eq!(
        applied[2].changes,
        [("x".into(), Some(loc(1, 3)), Some(loc(1, 2)))]
    );
    assert_eq!(target.visible(), visible(&[("x", loc(1, 3))]));
    assert_eq!(*target.records.lock(), records(&[(loc(1, 3), "x")]));
    assert_eq!(
        recorded(store.load_durable("c").unwrap()),
        records(&[(loc(1, 3), "x")])
    );
}

#[test]
fn deleting_a_missing_id_changes_nothing() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("a", loc(1, 0))]);
    let before = state(&store, "c");

    let outcome = commit_one(&store, &target, vec![delete("missing")]);
    assert_eq!((outcome.upserted, outcome.deleted), (0, 0));
    assert_eq!(state(&store, "c"), before);
    assert_eq!(target.visible(), visible(&[("a", loc(1, 0))]));
    assert!(target.applied().last().unwrap().changes.is_empty());

    // A delete of an id upserted earlier in the same group finds it.
    let (r1, a1) = request(&target, vec![upsert("b", loc(1, 1))], &[], None);
    let (r2, a2) = request(&target, vec![delete("b"), delete("b")], &[], None);
    commit_group(store.as_ref(), vec![r1, r2]);
    assert_eq!(answer(a1).unwrap().upserted, 1);
    assert_eq!(answer(a2).unwrap().deleted, 1);
    assert_eq!(state(&store, "c"), before);
    assert_eq!(target.visible(), visible(&[("a", loc(1, 0))]));
}

#[test]
fn a_compaction_move_loses_to_a_newer_write() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(
        &store,
        &target,
        vec![
            upsert("x", loc(1, 0)),
            upsert("y", loc(1, 1)),
            upsert("z", loc(1, 2)),
        ],
    );

    // Compaction read x, y and z in segment 1; before its moves commit, a
    // client rewrites x and deletes y, earlier in the same group.
    let (w, aw) = request(&target, vec![upsert("x", loc(2, 0))], &[], None);
    let (d, ad) = request(&target, vec![delete("y")], &[], None);
    let (m, am) = request(
        &target,
        vec![
            moved("x", loc(1, 0), loc(3, 0)),
            moved("y", loc(1, 1), loc(3, 1)),
            moved("z", loc(1, 2), loc(3, 2)),
        ],
        &[],
        None,
    );
    commit_group(store.as_ref(), vec![w, d, m]);
    assert_eq!(answer(aw).unwrap().upserted, 1);
    assert_eq!(answer(ad).unwrap().deleted, 1);
    assert_eq!(answer(am).unwrap().upserted, 1, "only z moves");
    let expected = records(&[(loc(2, 0), "x"), (loc(3, 2), "z")]);
    assert_eq!(recorded(store.load_durable("c").unwrap()), expected);
    assert_eq!(*target.records.lock(), expected);
    assert_eq!(
        target.visible(),
        visible(&[("x", loc(2, 0)), ("z", loc(3, 2))])
    );

    // A move read before a write that committed in an earlier group loses too.
    let outcome = commit_one(&store, &target, vec![moved("x", loc(1, 0), loc(3, 3))]);
    assert_eq!(outcome.upserted, 0);
    assert_eq!(recorded(store.load_durable("c").unwrap()), expected);
}

#[test]
fn a_failing_flush_acknowledges_nothing_and_takes_the_group_back() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("a", loc(1, 0))]);
    let before = state(&store, "c");
    let applied_before = target.applied();

    store.fail_next(MemFault::Flush);
    let (r1, a1) = request(
        &target,
        vec![upsert("a", loc(1, 1)), upsert("b", loc(1, 2))],
        &[],
        Some(("model", &b"m"[..])),
    );
    // Depends on r1's not yet durable change: deletes a at 1:1.
    let (r2, a2) = request(&target, vec![delete("a")], &[], None);
    commit_group(store.as_ref(), vec![r1, r2]);

    assert!(is_io_error(&answer(a1)));
    assert!(is_io_error(&answer(a2)));
    assert_eq!(state(&store, "c"), before, "batches taken back");
    assert_eq!(
        state(&store, "c"),
        {
            let m = store.load_durable("c").unwrap();
            (m.records, m.segments, m.values.into_iter().collect())
        },
        "the store matches what was made durable"
    );
    assert_eq!(target.applied(), applied_before, "nothing made visible");
    assert_eq!(target.visible(), visible(&[("a", loc(1, 0))]));
    assert!(target.values.lock().is_empty());

    // Later groups commit, against the state before the failed one.
    let outcome = commit_one(&store, &target, vec![upsert("a", loc(1, 3))]);
    assert_eq!(outcome.upserted, 1);
    assert_eq!(
        target.applied().last().unwrap().changes,
        [("a".into(), Some(loc(1, 3)), Some(loc(1, 0)))]
    );
    assert_eq!(
        recorded(store.load_durable("c").unwrap()),
        records(&[(loc(1, 3), "a")])
    );
}

#[test]
fn a_failing_revert_still_takes_back_the_other_batches() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    store.fail_next(MemFault::Flush);
    // Batches are taken back last first: the revert of r2's fails.
    store.fail_next(MemFault::Revert);
    let (r1, a1) = request(&target, vec![upsert("a", loc(1, 0))], &[], None);
    let (r2, a2) = request(&target, vec![upsert("b", loc(1, 1))], &[], None);
    commit_group(store.as_ref(), vec![r1, r2]);

    assert!(is_io_error(&answer(a1)));
    assert!(is_io_error(&answer(a2)));
    assert_eq!(
        recorded(store.load("c").unwrap()),
        records(&[(loc(1, 1), "b")])
    );
    assert!(target.visible().is_empty());
    assert!(target.applied().is_empty());
}

#[test]
fn a_failing_apply_fails_only_that_request() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("x", loc(1, 0))]);

    store.fail_next(MemFault::Apply);
    let (r1, a1) = request(
        &target,
        vec![upsert("x", loc(1, 1)), upsert("y", loc(1, 2))],
        &[],
        None,
    );
    let (r2, a2) = request(&target, vec![upsert("x", loc(1, 3))], &[], None);
    let (r3, a3) = request(&target, vec![delete("y")], &[], None);
    commit_group(store.as_ref(), vec![r1, r2, r3]);

    assert!(is_io_error(&answer(a1)));
    // The later requests resolve against the state without r1's changes.
    assert_eq!(answer(a2).unwrap().upserted, 1);
    assert_eq!(answer(a3).unwrap().deleted, 0);
    assert_eq!(
        target.applied()[1].changes,
        [("x".into(), Some(loc(1, 3)), Some(loc(1, 0)))]
    );
    assert_eq!(target.visible(), visible(&[("x", loc(1, 3))]));
    assert_eq!(
        recorded(store.load_durable("c").unwrap()),
        records(&[(loc(1, 3), "x")])
    );
}

#[test]
fn a_failing_vector_fsync_records_nothing() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    let (f1, f2) = (Arc::new(Files::default()), Arc::new(Files::default()));
    f2.fail_next.store(true, Ordering::Release);
    let (r1, a1) = request(&target, vec![upsert("a", loc(1, 0))], &[&f1], None);
    let (r2, a2) = request(&target, vec![upsert("b", loc(1, 1))], &[&f2, &f1], None);
    commit_group(store.as_ref(), vec![r1, r2]);

    assert!(is_io_error(&answer(a1)));
    assert!(is_io_error(&answer(a2)));
    // Every file is still tried, each once.
    assert_eq!(f1.syncs.load(Ordering::Acquire), 1);
    assert_eq!(f2.syncs.load(Ordering::Acquire), 1);
    assert!(recorded(store.load("c").unwrap()).is_empty());
    assert_eq!(store.flushes(), 0);
    assert!(target.visible().is_empty());
    assert!(target.applied().is_empty());

    let (r3, a3) = request(&target, vec![upsert("b", loc(1, 2))], &[&f2], None);
    commit_group(store.as_ref(), vec![r3]);
    assert_eq!(answer(a3).unwrap().upserted, 1);
    assert_eq!(target.visible(), visible(&[("b", loc(1, 2))]));
}

#[test]
fn ids_resolve_per_target_and_a_dropped_one_fails_alone() {
    let store = Arc::new(MemMetaStore::new());
    let (one, two) = (Target::new("one", &store), Target::new("two", &store));
    let (r1, a1) = request(&one, vec![upsert("x", loc(1, 0))], &[], None);
    let (r2, a2) = request(&two, vec![upsert("x", loc(1, 5))], &[], None);
    commit_group(store.as_ref(), vec![r1, r2]);
    assert_eq!(answer(a1).unwrap().upserted, 1);
    assert_eq!(answer(a2).unwrap().upserted, 1);
    assert_eq!(two.applied()[0].changes[0].2, None, "not one's x");

    two.dropped.store(true, Ordering::Release);
    let (r1, a1) = request(&one, vec![upsert("x", loc(1, 1))], &[], None);
    let (r2, a2) = request(&two, vec![upsert("x", loc(1, 6))], &[], None);
    commit_group(store.as_ref(), vec![r2, r1]);
    assert!(matches!(
        answer(a2),
        Err(EngineError::CollectionNotFound(name)) if name == "two"
    ));
    assert_eq!(answer(a1).unwrap().upserted, 1);
    assert_eq!(one.visible(), visible(&[("x", loc(1, 1))]));
    assert_eq!(two.visible(), visible(&[("x", loc(1, 5))]));
    assert_eq!(
        recorded(store.load("two").unwrap()),
        records(&[(loc(1, 5), "x")])
    );
}

/// Through the commit thread: a barrier queued between writes runs after
/// the group before it is applied and before any later write.
#[test]
fn barriers_run_between_groups_and_see_exactly_the_committed_writes() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    let committer = Committer::start(store.clone());

    // Hold the commit thread in a barrier while the work queues up.
    let (release, held) = mpsc::channel::<()>();
    let gate = committer
        .send_barrier(move || held.recv().unwrap())
        .unwrap();
    let files = Arc::new(Files::default());
    let segments = || vec![files.clone() as Arc<dyn SyncTarget>];
    let a = committer
        .send_commit(
            target.clone(),
            vec![upsert("a", loc(1, 0))],
            segments(),
            None,
        )
        .unwrap();
    let b = committer
        .send_commit(
            target.clone(),
            vec![upsert("b", loc(1, 1))],
            segments(),
            None,
        )
        .unwrap();
    let cut = {
        let (store, target) = (store.clone(), target.clone());
        committer
            .send_barrier(move || {
                (
                    target.visible(),
                    recorded(store.load_durable("c").unwrap()),
                    store.flushes(),
                )
            })
            .unwrap()
    };
    let c = committer
        .send_commit(
            target.clone(),
            vec![upsert("c", loc(1, 2))],
            segments(),
            None,
        )
        .unwrap();
    release.send(()).unwrap();

    gate.blocking_recv().unwrap();
    let (ids, durable, flushes) = cut.blocking_recv().unwrap();
    assert_eq!(ids, visible(&[("a", loc(1, 0)), ("b", loc(1, 1))]));
    assert_eq!(durable, records(&[(loc(1, 0), "a"), (loc(1, 1), "b")]));
    assert_eq!(flushes, 1, "a and b were one group");
    for reply in [a, b, c] {
        assert_eq!(reply.blocking_recv().unwrap().unwrap().upserted, 1);
    }
    assert_eq!(target.visible().len(), 3);
    assert_eq!(store.flushes(), 2);
    assert_eq!(files.syncs.load(Ordering::Acquire), 2);
}

fn set_payload(id: &str, update: PayloadUpdate) -> CommitOp {
    CommitOp::SetPayload {
        id: Arc::from(id),
        update: Arc::new(update),
    }
}

fn object(v: serde_json::Value) -> Payload {
    v.as_object().unwrap().clone()
}

/// Payload updates resolve against the point's payload as the commits
/// before them left it, in this group too, and keep its record.
#[test]
fn payload_updates_apply_in_commit_order_on_the_same_record() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("a", loc(1, 0))]);
    let merge = |v| set_payload("a", PayloadUpdate::Merge(object(v)));
    let (r1, a1) = request(
        &target,
        vec![
            merge(serde_json::json!({"x": 1, "y": 1})),
            merge(serde_json::json!({"y": 2})),
            set_payload(
                "missing",
                PayloadUpdate::Merge(object(serde_json::json!({"z": 1}))),
            ),
        ],
        &[],
        None,
    );
    let (r2, a2) = request(
        &target,
        vec![set_payload(
            "a",
            PayloadUpdate::DeleteKeys(vec!["x".into()]),
        )],
        &[],
        None,
    );
    commit_group(store.as_ref(), vec![r1, r2]);
    assert_eq!(answer(a1).unwrap().updated, 2, "a missing id is skipped");
    assert_eq!(answer(a2).unwrap().updated, 1);
    assert_eq!(target.visible(), visible(&[("a", loc(1, 0))]));
    let payload = target.entry(loc(1, 0)).unwrap().payload.unwrap();
    assert_eq!(*payload, object(serde_json::json!({"y": 2})));
    let stored = store.load_durable("c").unwrap().records;
    assert_eq!(stored.len(), 1);
    let bytes = stored[0].1.payload.clone().unwrap();
    assert_eq!(serde_json::from_slice::<Payload>(&bytes).unwrap(), *payload);
    // A delete earlier in a group wins over a later update of the same id.
    let (r3, a3) = request(
        &target,
        vec![delete("a"), merge(serde_json::json!({"late": true}))],
        &[],
        None,
    );
    commit_group(store.as_ref(), vec![r3]);
    let outcome = answer(a3).unwrap();
    assert_eq!((outcome.deleted, outcome.updated), (1, 0));
    assert!(target.visible().is_empty());
}

/// A compaction move read a point's payload before a payload update that
/// kept its record: the move must carry the updated payload, not undo it.
#[test]
fn a_compaction_move_keeps_a_payload_update_made_after_it_read_the_point() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(&store, &target, vec![upsert("a", loc(1, 0))]);
    let update = PayloadUpdate::Merge(object(serde_json::json!({"tag": 7})));
    let (r1, a1) = request(&target, vec![set_payload("a", update)], &[], None);
    commit_group(store.as_ref(), vec![r1]);
    assert_eq!(answer(a1).unwrap().updated, 1);
    // The mover read `a` before the update (no payload), and moves it now.
    commit_one(&store, &target, vec![moved("a", loc(1, 0), loc(2, 0))]);
    assert_eq!(target.visible(), visible(&[("a", loc(2, 0))]));
    let payload = target.entry(loc(2, 0)).unwrap().payload.unwrap();
    assert_eq!(*payload, object(serde_json::json!({"tag": 7})));
    let stored = store.load_durable("c").unwrap().records;
    assert_eq!(stored.len(), 1);
    let bytes = stored[0]
        .1
        .payload
        .clone()
        .expect("the update is kept on disk");
    assert_eq!(serde_json::from_slice::<Payload>(&bytes).unwrap(), *payload);
}

/// A thumbnail is committed with its point, stays through a compaction
/// move, and goes with a delete or a replacement that brings none.
#[test]
fn thumbnails_follow_their_points() {
    let store = Arc::new(MemMetaStore::new());
    let target = Target::new("c", &store);
    commit_one(
        &store,
        &target,
        vec![
            upsert_with_thumbnail("a", loc(1, 0), b"A"),
            upsert_with_thumbnail("b", loc(1, 1), b"B"),
        ],
    );
    assert_eq!(store.thumbnail("c", "a").unwrap(), Some(b"A".to_vec()));
    commit_one(&store, &target, vec![moved("a", loc(1, 0), loc(2, 0))]);
    assert_eq!(store.thumbnail("c", "a").unwrap(), Some(b"A".to_vec()));
    commit_one(&store, &target, vec![upsert("b", loc(2, 1))]);
    assert_eq!(store.thumbnail("c", "b").unwrap(), None);
    commit_one(&store, &target, vec![delete("a")]);
    assert_eq!(store.thumbnail("c", "a").unwrap(), None);
    // A failed flush takes the thumbnail back with the record.
    store.fail_next(MemFault::Flush);
    let (req, rx) = request(
        &target,
        vec![upsert_with_thumbnail("d", loc(2, 2), b"D")],
        &[],
        None,
    );
    commit_group(store.as_ref(), vec![req]);
    assert!(answer(rx).is_err());
    assert_eq!(store.thumbnail("c", "d").unwrap(), None);
}

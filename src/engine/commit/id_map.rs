//! The id map: which record holds each point id. Anyone may read it; only
//! the group committer may change it.
//!
//! That rule is enforced by types: the only ways to change a map are
//! [`IdMap::loaded`], which builds it from metadata when a collection is
//! opened (before it takes any commit), and [`IdMap::write`], which needs a
//! [`CommitPermit`]. A permit has a private field, so only the committer
//! (`src/engine/commit.rs`) can make one, and it lends it only to
//! [`CommitTarget::apply`](super::CommitTarget::apply) on its own thread,
//! once a group is durable.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::CommitPermit;
use crate::storage::Loc;

/// Point id to record location, for one collection.
#[derive(Default)]
pub(crate) struct IdMap {
    map: RwLock<HashMap<Arc<str>, Loc>>,
}

impl IdMap {
    /// The map as metadata recorded it, built while a collection is opened,
    /// before it takes any commit. With [`IdMap::default`] (a new, empty
    /// collection), the only way to fill a map without a [`CommitPermit`].
    pub fn loaded(ids: HashMap<Arc<str>, Loc>) -> IdMap {
        IdMap {
            map: RwLock::new(ids),
        }
    }

    /// A consistent view for reading several ids: no commit becomes visible
    /// while it is held (commits take the write lock to apply).
    pub fn read(&self) -> RwLockReadGuard<'_, HashMap<Arc<str>, Loc>> {
        self.map.read()
    }

    pub fn get(&self, id: &str) -> Option<Loc> {
        self.map.read().get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    /// Write access, for the committer's changes: readers wait until the
    /// returned guard is dropped.
    pub fn write(&self, _permit: &CommitPermit) -> IdMapWrite<'_> {
        IdMapWrite(self.map.write())
    }
}

/// The id map, locked for writing under a [`CommitPermit`].
pub(crate) struct IdMapWrite<'a>(RwLockWriteGuard<'a, HashMap<Arc<str>, Loc>>);

impl IdMapWrite<'_> {
    pub fn insert(&mut self, id: Arc<str>, loc: Loc) {
        self.0.insert(id, loc);
    }

    pub fn remove(&mut self, id: &str) {
        self.0.remove(id);
    }
}

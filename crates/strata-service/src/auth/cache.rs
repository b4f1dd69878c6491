//! A small cache of verified credentials (API keys, sessions) by id. An entry is trusted for at most
//! `auth.revocation_poll`, so a revocation made by another instance is seen within that time; revocations made
//! here evict the entry at once. Memory is bounded: past the cap the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// Entries kept at most.
const MAX_ENTRIES: usize = 10_000;

/// Values by id, each with when it was read from the store.
pub(crate) struct FreshCache<V> {
    entries: Mutex<HashMap<Uuid, (Instant, V)>>,
}

impl<V> Default for FreshCache<V> {
    fn default() -> Self {
        FreshCache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> FreshCache<V> {
    /// The value of `id` when it was read less than `ttl` ago.
    pub(crate) fn get(&self, id: &Uuid, ttl: Duration) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(id)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, v)| v.clone())
    }

    /// Remember `value` as read now.
    pub(crate) fn put(&self, id: Uuid, value: V) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(id, (Instant::now(), value));
    }

    /// Change a cached value in place, keeping when it was read.
    pub(crate) fn update(&self, id: &Uuid, change: impl FnOnce(&mut V)) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, value)) = entries.get_mut(id) {
            change(value);
        }
    }

    pub(crate) fn remove(&self, id: &Uuid) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_trusted_only_within_its_ttl() {
        let cache = FreshCache::default();
        let id = Uuid::now_v7();
        cache.put(id, 1);
        assert_eq!(cache.get(&id, Duration::from_secs(60)), Some(1));
        assert_eq!(cache.get(&id, Duration::ZERO), None);
        cache.update(&id, |v| *v = 2);
        assert_eq!(cache.get(&id, Duration::from_secs(60)), Some(2));
        cache.remove(&id);
        assert_eq!(cache.get(&id, Duration::from_secs(60)), None);
    }
}

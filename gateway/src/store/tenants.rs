//! Tenant names mapped to compact, persistent numeric ids used as key prefixes.
//! Ids are assigned on a tenant's first write and never reused.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use rocksdb::{DB, WriteOptions};

use super::StoreError;
use super::keys::TenantId;

const KEY_PREFIX: &[u8] = b"tenant/";

pub(super) struct TenantRegistry {
    ids: RwLock<HashMap<String, TenantId>>,
    /// Serialises registrations so two requests cannot assign the same id.
    registering: Mutex<()>,
}

impl TenantRegistry {
    pub(super) fn load(db: &DB) -> Result<TenantRegistry, StoreError> {
        let mut ids = HashMap::new();
        for item in db.prefix_iterator(KEY_PREFIX) {
            let (key, value) = item?;
            if !key.starts_with(KEY_PREFIX) {
                break;
            }
            let (Ok(name), Ok(id)) = (
                std::str::from_utf8(&key[KEY_PREFIX.len()..]),
                <[u8; 4]>::try_from(value.as_ref()),
            ) else {
                continue;
            };
            ids.insert(name.to_owned(), TenantId(u32::from_be_bytes(id)));
        }
        Ok(TenantRegistry {
            ids: RwLock::new(ids),
            registering: Mutex::new(()),
        })
    }

    pub(super) fn get(&self, name: &str) -> Option<TenantId> {
        self.ids
            .read()
            .expect("tenant lock poisoned")
            .get(name)
            .copied()
    }

    /// The name a tenant id was registered under.
    pub(super) fn name_of(&self, id: TenantId) -> Option<String> {
        self.ids
            .read()
            .expect("tenant lock poisoned")
            .iter()
            .find(|(_, known)| **known == id)
            .map(|(name, _)| name.clone())
    }

    /// Every tenant, with its name, by id.
    pub(super) fn all_named(&self) -> Vec<(TenantId, String)> {
        let mut all: Vec<(TenantId, String)> = self
            .ids
            .read()
            .expect("tenant lock poisoned")
            .iter()
            .map(|(name, id)| (*id, name.clone()))
            .collect();
        all.sort_by_key(|(id, _)| id.0);
        all
    }

    /// Every tenant id, in id order.
    pub(super) fn all(&self) -> Vec<TenantId> {
        self.all_named().into_iter().map(|(id, _)| id).collect()
    }

    /// Every tenant name, sorted.
    pub(super) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.all_named().into_iter().map(|(_, name)| name).collect();
        names.sort_unstable();
        names
    }

    pub(super) fn get_or_create(&self, db: &DB, name: &str) -> Result<TenantId, StoreError> {
        if let Some(id) = self.get(name) {
            return Ok(id);
        }
        let _guard = self.registering.lock().expect("tenant lock poisoned");
        if let Some(id) = self.get(name) {
            return Ok(id);
        }
        let next = {
            let ids = self.ids.read().expect("tenant lock poisoned");
            ids.values()
                .map(|id| id.0)
                .max()
                .map_or(Some(0), |max| max.checked_add(1))
        }
        .ok_or(StoreError::TooManyTenants)?;
        let mut key = KEY_PREFIX.to_vec();
        key.extend_from_slice(name.as_bytes());
        let mut options = WriteOptions::default();
        options.set_sync(true);
        db.put_opt(key, next.to_be_bytes(), &options)?;
        let id = TenantId(next);
        self.ids
            .write()
            .expect("tenant lock poisoned")
            .insert(name.to_owned(), id);
        Ok(id)
    }
}

//! The exporters' durable send queues, in the `outbox` family: a batch bound upstream is
//! put here in the same `WriteBatch` that stores (or, with storage off, only accepts) a
//! request, so it is durable exactly when the client is acknowledged, and it is deleted
//! only once the upstream acknowledged it.
//!
//! Keys: `0x00 ‖ queue:u64 BE` → the queue's label (registry: which exporter and
//! upstream a queue belongs to, read at start-up to find queues whose upstream went
//! away); `0x01 ‖ queue:u64 BE ‖ seq:u64 BE` → a batch. Values are opaque to the store
//! (the `forward` module encodes them). A queue is read from its lowest live `seq`
//! upwards, with an iterator lower bound at that `seq`, so the tombstones of batches
//! already sent are skipped by the seek instead of being stepped over one by one.

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions};

use super::{StoreError, TraceStore};

pub(super) const CF_OUTBOX: &str = "outbox";

const REGISTRY_TAG: u8 = 0x00;
const BATCH_TAG: u8 = 0x01;
const BATCH_KEY_LEN: usize = 17;

/// One send queue (an exporter's upstream), named by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u64);

/// A batch to put into a queue: `seq` orders it within the queue (unique per queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub queue: QueueId,
    pub seq: u64,
    pub value: Vec<u8>,
}

/// The batches a write queues in its own commit; empty when nothing is forwarded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outgoing {
    pub entries: Vec<OutboxEntry>,
}

impl Outgoing {
    pub const NONE: &'static Outgoing = &Outgoing {
        entries: Vec::new(),
    };

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of every batch.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.value.len() as u64).sum()
    }
}

/// A batch read back from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedBatch {
    pub seq: u64,
    pub value: Vec<u8>,
}

fn registry_key(queue: QueueId) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = REGISTRY_TAG;
    key[1..].copy_from_slice(&queue.0.to_be_bytes());
    key
}

fn batch_key(queue: QueueId, seq: u64) -> [u8; BATCH_KEY_LEN] {
    let mut key = [0u8; BATCH_KEY_LEN];
    key[0] = BATCH_TAG;
    key[1..9].copy_from_slice(&queue.0.to_be_bytes());
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of(key: &[u8]) -> Option<u64> {
    (key.len() == BATCH_KEY_LEN)
        .then(|| key[9..].try_into().ok().map(u64::from_be_bytes))
        .flatten()
}

impl TraceStore {
    /// Adds `outgoing` to `batch`.
    pub(super) fn put_outgoing(&self, batch: &mut WriteBatch, outgoing: &Outgoing) {
        if outgoing.is_empty() {
            return;
        }
        let cf = self.cf(CF_OUTBOX);
        for entry in &outgoing.entries {
            batch.put_cf(cf, batch_key(entry.queue, entry.seq), &entry.value);
        }
    }

    /// Queues `outgoing` on its own (batches re-routed or decided later than their write).
    pub fn enqueue(&self, outgoing: &Outgoing) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        self.put_outgoing(&mut batch, outgoing);
        self.space
            .write(|| self.db.write_opt(batch, &self.write_options))
    }

    /// Records which exporter and upstream `queue` belongs to.
    pub fn register_queue(&self, queue: QueueId, label: &str) -> Result<(), StoreError> {
        self.db
            .put_cf_opt(
                self.cf(CF_OUTBOX),
                registry_key(queue),
                label.as_bytes(),
                &self.write_options,
            )
            .map_err(StoreError::from)
    }

    /// Every registered queue with its label.
    pub fn registered_queues(&self) -> Result<Vec<(QueueId, String)>, StoreError> {
        let mut queues = Vec::new();
        let iterator = self.db.iterator_cf(
            self.cf(CF_OUTBOX),
            IteratorMode::From(&[REGISTRY_TAG], Direction::Forward),
        );
        for item in iterator {
            let (key, value) = item?;
            if key.first() != Some(&REGISTRY_TAG) {
                break;
            }
            let id = key
                .get(1..9)
                .and_then(|bytes| bytes.try_into().ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| {
                    StoreError::CorruptRegistry(format!("outbox queue key {}", hex::encode(&key)))
                })?;
            queues.push((QueueId(id), String::from_utf8_lossy(&value).into_owned()));
        }
        Ok(queues)
    }

    /// Forgets an empty queue's registry entry.
    pub fn unregister_queue(&self, queue: QueueId) -> Result<(), StoreError> {
        self.db
            .delete_cf_opt(self.cf(CF_OUTBOX), registry_key(queue), &self.write_options)
            .map_err(StoreError::from)
    }

    /// Every batch of `queue` as `(seq, bytes)`, in `seq` order (a scan; for start-up).
    pub fn queue_contents(&self, queue: QueueId) -> Result<Vec<(u64, u64)>, StoreError> {
        let mut contents = Vec::new();
        let mut iterator = self.queue_iterator(queue, 0);
        iterator.seek(batch_key(queue, 0));
        while iterator.valid() {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            let Some(seq) = seq_of(key) else { break };
            contents.push((seq, value.len() as u64));
            iterator.next();
        }
        iterator.status()?;
        Ok(contents)
    }

    /// One batch of `queue`; `None` once it was dequeued.
    pub fn queued_batch(&self, queue: QueueId, seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_OUTBOX), batch_key(queue, seq))?)
    }

    /// Up to `max` batches of `queue` with `seq >= from`, in `seq` order, stopping
    /// after `max_bytes` (at least one batch is returned when there is one).
    pub fn queued(
        &self,
        queue: QueueId,
        from: u64,
        max: usize,
        max_bytes: usize,
    ) -> Result<Vec<QueuedBatch>, StoreError> {
        let mut batches = Vec::new();
        let mut bytes = 0usize;
        let mut iterator = self.queue_iterator(queue, from);
        iterator.seek(batch_key(queue, from));
        while iterator.valid() && batches.len() < max && (batches.is_empty() || bytes < max_bytes) {
            let (Some(key), Some(value)) = (iterator.key(), iterator.value()) else {
                break;
            };
            let Some(seq) = seq_of(key) else { break };
            bytes += value.len();
            batches.push(QueuedBatch {
                seq,
                value: value.to_vec(),
            });
            iterator.next();
        }
        iterator.status()?;
        Ok(batches)
    }

    /// Deletes sent batches. Never fsynced, even with `storage.fsync: always`: a delete
    /// lost to a power failure only sends a batch again.
    pub fn dequeue(&self, queue: QueueId, seqs: &[u64]) -> Result<(), StoreError> {
        if seqs.is_empty() {
            return Ok(());
        }
        let cf = self.cf(CF_OUTBOX);
        let mut batch = WriteBatch::default();
        for seq in seqs {
            batch.delete_cf(cf, batch_key(queue, *seq));
        }
        self.space
            .write(|| self.db.write_opt(batch, &WriteOptions::default()))
    }

    /// Moves batches in one atomic write: deletes `seqs` of `from` and queues
    /// `outgoing` (their spans routed anew).
    pub fn requeue(
        &self,
        from: QueueId,
        seqs: &[u64],
        outgoing: &Outgoing,
    ) -> Result<(), StoreError> {
        let cf = self.cf(CF_OUTBOX);
        let mut batch = WriteBatch::default();
        for seq in seqs {
            batch.delete_cf(cf, batch_key(from, *seq));
        }
        self.put_outgoing(&mut batch, outgoing);
        self.space
            .write(|| self.db.write_opt(batch, &self.write_options))
    }

    /// An iterator over `queue`'s batches from `seq` on (bounded on both sides, so a
    /// seek neither starts in the tombstones below `from` nor runs into the next queue).
    fn queue_iterator(&self, queue: QueueId, from: u64) -> rocksdb::DBRawIterator<'_> {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(batch_key(queue, from).to_vec());
        let upper = match queue.0.checked_add(1) {
            Some(next) => batch_key(QueueId(next), 0).to_vec(),
            None => vec![BATCH_TAG + 1],
        };
        options.set_iterate_upper_bound(upper);
        self.db.raw_iterator_cf_opt(self.cf(CF_OUTBOX), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StorageConfig;

    fn open(dir: &std::path::Path) -> TraceStore {
        TraceStore::open(&StorageConfig {
            data_dir: dir.to_owned(),
            ..StorageConfig::default()
        })
        .unwrap()
    }

    fn entry(queue: u64, seq: u64, value: &[u8]) -> OutboxEntry {
        OutboxEntry {
            queue: QueueId(queue),
            seq,
            value: value.to_vec(),
        }
    }

    #[test]
    fn queues_are_read_in_order_and_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        store
            .enqueue(&Outgoing {
                entries: vec![
                    entry(7, 3, b"c"),
                    entry(7, 1, b"a"),
                    entry(8, 2, b"other"),
                    entry(7, 2, b"b"),
                ],
            })
            .unwrap();
        let read = store.queued(QueueId(7), 0, 10, usize::MAX).unwrap();
        let values: Vec<&[u8]> = read.iter().map(|b| b.value.as_slice()).collect();
        assert_eq!(values, [b"a", b"b", b"c"]);
        assert_eq!(
            store.queued(QueueId(7), 2, 1, usize::MAX).unwrap()[0].seq,
            2
        );
        assert_eq!(
            store.queue_contents(QueueId(7)).unwrap(),
            [(1, 1), (2, 1), (3, 1)]
        );
        assert_eq!(
            store.queued_batch(QueueId(7), 2).unwrap().as_deref(),
            Some(&b"b"[..])
        );
        store.dequeue(QueueId(7), &[1, 2]).unwrap();
        let left = store.queued(QueueId(7), 0, 10, usize::MAX).unwrap();
        assert_eq!(
            left,
            [QueuedBatch {
                seq: 3,
                value: b"c".to_vec()
            }]
        );
        // The byte bound stops after the batch that crosses it, never before the first.
        assert_eq!(store.queued(QueueId(8), 0, 10, 1).unwrap().len(), 1);
    }

    #[test]
    fn registry_and_requeue_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path());
            store.register_queue(QueueId(1), "tier http://a").unwrap();
            store.register_queue(QueueId(2), "tier http://b").unwrap();
            store
                .enqueue(&Outgoing {
                    entries: vec![entry(1, 10, b"x"), entry(1, 11, b"y")],
                })
                .unwrap();
            store
                .requeue(
                    QueueId(1),
                    &[10, 11],
                    &Outgoing {
                        entries: vec![entry(2, 12, b"xy")],
                    },
                )
                .unwrap();
            store.unregister_queue(QueueId(1)).unwrap();
        }
        let store = open(dir.path());
        assert_eq!(
            store.registered_queues().unwrap(),
            [(QueueId(2), "tier http://b".to_owned())]
        );
        assert!(
            store
                .queued(QueueId(1), 0, 10, usize::MAX)
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.queue_contents(QueueId(2)).unwrap(), [(12, 2)]);
        assert_eq!(store.queued_batch(QueueId(1), 10).unwrap(), None);
    }
}

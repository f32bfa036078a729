//! The memory backend's data: attachments, manifest rows and session states behind one lock, so a
//! store and its manifest change together. Every change happens inside [`Tables::transaction`],
//! which undoes what the body did when it fails: a failed operation leaves the data as it was.
//!
//! Each read or write inside a transaction is one *storage operation*. With feature `testing` a
//! [`crate::testing::faults::FaultInjector`] can fail any of them (SQLite's "fail the Nth I/O").

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::core::error::{AttachmentStoreError, Result};
use crate::core::id::AttachmentId;
use crate::core::manifest_rules::AttachmentManifestEntry;
use crate::core::meta::AttachmentMeta;
use crate::session_state::SessionState;

/// A stored attachment. Bytes are shared (`Arc`) so bytes copied in once are never copied again to
/// be kept, undone or read.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) meta: AttachmentMeta,
    pub(crate) bytes: Arc<Vec<u8>>,
    /// Whether a plain put (outside any session) holds these bytes: then no sweep deletes them.
    pub(crate) plain: bool,
}

// Hash maps, not B-trees: the wasm already carries one map type; ordered answers are sorted where
// they are built. Rows are grouped by attachment: the sweep and discards read them that way.
#[derive(Default, Debug)]
struct Data {
    attachments: HashMap<AttachmentId, Stored>,
    rows: HashMap<AttachmentId, Vec<AttachmentManifestEntry>>,
    states: HashMap<String, SessionState>,
}

/// What a transaction changed, to undo it: each entry is a key and its value before.
enum Undo {
    Attachment(AttachmentId, Option<Stored>),
    Rows(AttachmentId, Option<Vec<AttachmentManifestEntry>>),
    State(String, Option<SessionState>),
}

/// The data of one memory store and its manifest (or of a manifest alone).
#[derive(Debug)]
pub(crate) struct Tables {
    data: Mutex<Data>,
    closed: AtomicBool,
    colocation: String,
    #[cfg(feature = "testing")]
    faults: Option<Arc<crate::testing::faults::FaultInjector>>,
}

impl Default for Tables {
    fn default() -> Self {
        // A counter, not an address: every set of tables is its own colocation, and a store and
        // manifest over the same tables share transactions.
        static TABLES: AtomicU32 = AtomicU32::new(0);
        Self {
            data: Mutex::default(),
            closed: AtomicBool::new(false),
            colocation: format!("memory:{}", TABLES.fetch_add(1, Ordering::Relaxed)),
            #[cfg(feature = "testing")]
            faults: None,
        }
    }
}

impl Tables {
    /// Tables whose storage operations `faults` may fail.
    #[cfg(feature = "testing")]
    pub(crate) fn with_faults(faults: Arc<crate::testing::faults::FaultInjector>) -> Self {
        Self { faults: Some(faults), ..Self::default() }
    }

    /// Names these tables for `colocation()`: a store and a manifest over them share transactions.
    pub(crate) fn colocation(&self) -> &str {
        &self.colocation
    }

    /// Makes every later transaction fail `Closed`.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Runs `body` with the data locked. If it fails, everything it changed is undone.
    pub(crate) fn transaction<T>(&self, body: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(AttachmentStoreError::closed());
        }
        // A panic while holding the lock leaves a transaction half-done but undoes nothing; no
        // body panics on data it reads, so a poisoned lock is still consistent.
        let mut data = self.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx { data: &mut data, undo: Vec::new(), tables: self };
        let outcome = body(&mut tx);
        if outcome.is_err() {
            tx.roll_back();
        }
        outcome
    }
}

/// The data inside one transaction. Every method is one storage operation.
pub(crate) struct Tx<'a> {
    data: &'a mut Data,
    undo: Vec<Undo>,
    tables: &'a Tables,
}

impl Tx<'_> {
    /// Counts a storage operation (and, in tests, fails it when told to).
    fn operation(&self) -> Result<()> {
        #[cfg(feature = "testing")]
        if let Some(faults) = &self.tables.faults {
            return faults.before_operation();
        }
        let _ = self.tables;
        Ok(())
    }

    fn roll_back(&mut self) {
        for undo in self.undo.drain(..).rev() {
            match undo {
                Undo::Attachment(id, before) => restore(&mut self.data.attachments, id, before),
                Undo::Rows(id, before) => restore(&mut self.data.rows, id, before),
                Undo::State(session, before) => restore(&mut self.data.states, session, before),
            }
        }
    }

    pub(crate) fn attachment(&self, id: &AttachmentId) -> Result<Option<&Stored>> {
        self.operation()?;
        Ok(self.data.attachments.get(id))
    }

    /// Every stored attachment's metadata, ordered by id.
    pub(crate) fn metas(&self) -> Result<Vec<AttachmentMeta>> {
        self.operation()?;
        let mut metas: Vec<AttachmentMeta> = self.data.attachments.values().map(|stored| stored.meta.clone()).collect();
        metas.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        Ok(metas)
    }

    pub(crate) fn put_attachment(&mut self, stored: Stored) -> Result<()> {
        self.operation()?;
        let id = stored.meta.id.clone();
        let before = self.data.attachments.insert(id.clone(), stored);
        self.undo.push(Undo::Attachment(id, before));
        Ok(())
    }

    pub(crate) fn delete_attachment(&mut self, id: &AttachmentId) -> Result<()> {
        self.operation()?;
        if let Some(before) = self.data.attachments.remove(id) {
            self.undo.push(Undo::Attachment(id.clone(), Some(before)));
        }
        Ok(())
    }

    /// Every row of `id`, by session.
    pub(crate) fn rows_of(&self, id: &AttachmentId) -> Result<Vec<AttachmentManifestEntry>> {
        self.operation()?;
        let mut rows = self.data.rows.get(id).cloned().unwrap_or_default();
        rows.sort_unstable_by(|a, b| a.session_id.cmp(&b.session_id));
        Ok(rows)
    }

    /// Every row, in no order.
    pub(crate) fn all_rows(&self) -> Result<impl Iterator<Item = &AttachmentManifestEntry>> {
        self.operation()?;
        Ok(self.data.rows.values().flatten())
    }

    /// Every row of `session_id`.
    pub(crate) fn rows_of_session(&self, session_id: &str) -> Result<Vec<AttachmentManifestEntry>> {
        Ok(self.all_rows()?.filter(|row| row.session_id == session_id).cloned().collect())
    }

    /// Inserts or replaces the row of `(row.session_id, row.attachment_id)`.
    pub(crate) fn put_row(&mut self, row: AttachmentManifestEntry) -> Result<()> {
        self.operation()?;
        let rows = self.data.rows.entry(row.attachment_id.clone()).or_default();
        self.undo.push(Undo::Rows(row.attachment_id.clone(), Some(rows.clone()).filter(|rows| !rows.is_empty())));
        rows.retain(|existing| existing.session_id != row.session_id);
        rows.push(row);
        Ok(())
    }

    /// Drops that session's row of `id`, or (`None`) every row of `id`.
    pub(crate) fn delete_rows(&mut self, id: &AttachmentId, session_id: Option<&str>) -> Result<()> {
        self.operation()?;
        let Some(rows) = self.data.rows.get_mut(id) else { return Ok(()) };
        self.undo.push(Undo::Rows(id.clone(), Some(rows.clone())));
        rows.retain(|row| session_id.is_some_and(|only| only != row.session_id));
        if rows.is_empty() {
            self.data.rows.remove(id);
        }
        Ok(())
    }

    pub(crate) fn state(&self, session_id: &str) -> Result<Option<SessionState>> {
        self.operation()?;
        Ok(self.data.states.get(session_id).cloned())
    }

    pub(crate) fn put_state(&mut self, session_id: &str, state: SessionState) -> Result<()> {
        self.operation()?;
        let before = self.data.states.insert(session_id.to_owned(), state);
        self.undo.push(Undo::State(session_id.to_owned(), before));
        Ok(())
    }

    pub(crate) fn delete_state(&mut self, session_id: &str) -> Result<()> {
        self.operation()?;
        if let Some(before) = self.data.states.remove(session_id) {
            self.undo.push(Undo::State(session_id.to_owned(), Some(before)));
        }
        Ok(())
    }
}

fn restore<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, before: Option<V>) {
    match before {
        Some(value) => map.insert(key, value),
        None => map.remove(&key),
    };
}

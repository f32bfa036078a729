//! The life of a session as pure decisions over rows: what a commit stamps (or why it must write
//! nothing), what a release does to a session's rows, and what a discard forgets and deletes.
//!
//! A commit covers the session, not the object that calls it: the ids a view put itself
//! (`pending`) and every uncommitted row the session has, whoever wrote it. It never reports
//! success for an attachment that is gone, so backends read the rows and check the bytes inside
//! the transaction that stamps them, and write nothing when [`CommitPlan::missing`] is not empty.

use super::id::AttachmentId;
use super::manifest_rules::{apply_commit, AttachmentManifestEntry};

/// The ids a commit covers, in order: `pending` (the view's own, in put order), then the
/// session's other uncommitted rows by id. `session_rows` are the session's rows as read now
/// (rows of other sessions are ignored).
pub fn commit_ids(session_id: &str, pending: &[AttachmentId], session_rows: &[AttachmentManifestEntry]) -> Vec<AttachmentId> {
    let mut ids: Vec<AttachmentId> = Vec::with_capacity(pending.len());
    for id in pending {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let mut others: Vec<AttachmentId> = session_rows
        .iter()
        .filter(|row| row.session_id == session_id && !row.is_committed() && !ids.contains(&row.attachment_id))
        .map(|row| row.attachment_id.clone())
        .collect();
    others.sort_unstable();
    others.dedup();
    ids.extend(others);
    ids
}

/// What a commit does, decided from the rows and bytes as they are inside its transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitPlan {
    /// Every id the commit covers ([`commit_ids`]); what it resolves with.
    pub ids: Vec<AttachmentId>,
    /// The rows to write: the covered rows that had no commit, stamped.
    pub stamped: Vec<AttachmentManifestEntry>,
    /// Covered ids whose row or bytes are gone. When not empty the commit writes nothing (no
    /// stamp, no state) and rejects with them.
    pub missing: Vec<AttachmentId>,
}

impl CommitPlan {
    /// Whether the commit may write: nothing it covers is gone.
    pub fn is_whole(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Plans the commit of `ids` (from [`commit_ids`]) for `session_id` at `now`. `session_rows` are
/// the session's rows as read in the transaction; `has_bytes[i]` says whether `ids[i]` still has
/// its bytes (and metadata).
pub fn plan_commit(session_id: &str, ids: Vec<AttachmentId>, session_rows: &[AttachmentManifestEntry], has_bytes: &[bool], now_epoch_ms: i64) -> CommitPlan {
    let mut stamped = Vec::new();
    let mut missing = Vec::new();
    for (index, id) in ids.iter().enumerate() {
        let row = session_rows.iter().find(|row| row.session_id == session_id && &row.attachment_id == id);
        match row {
            Some(row) if has_bytes.get(index).copied().unwrap_or(false) => stamped.extend(apply_commit(row, now_epoch_ms)),
            _ => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        stamped.clear();
    }
    CommitPlan { ids, stamped, missing }
}

/// A released session's row: its commit is dropped and its intent dated `now`, so a sweep
/// reclaims the attachment once the grace period has passed, unless another session holds it.
pub fn apply_release(row: &AttachmentManifestEntry, now_epoch_ms: i64) -> AttachmentManifestEntry {
    AttachmentManifestEntry { intent_at_epoch_ms: now_epoch_ms, committed_at_epoch_ms: None, ..row.clone() }
}

/// What discarding one id of a session does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscardPlan {
    /// Whether to forget the session's row (it has one, and it is not committed).
    pub forget_row: bool,
    /// Whether to delete the bytes and metadata: no row of the attachment is left and no plain
    /// put holds it.
    pub delete_bytes: bool,
}

/// Plans discarding `id` for `session_id`, given every current row of that attachment and
/// whether a plain put holds its bytes. A committed row is kept: a commit is a promise that
/// only [`apply_release`] (or a delete) takes back.
pub fn plan_discard(session_id: &str, id: &AttachmentId, rows: &[AttachmentManifestEntry], held_by_plain_put: bool) -> DiscardPlan {
    let own = rows.iter().find(|row| row.session_id == session_id && &row.attachment_id == id);
    let forget_row = own.is_some_and(|row| !row.is_committed());
    let others_left = rows.iter().any(|row| &row.attachment_id == id && !(forget_row && row.session_id == session_id));
    DiscardPlan { forget_row, delete_bytes: !others_left && !held_by_plain_put }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::content_id;
    use crate::core::manifest_rules::{apply_intent, AttachmentIntent};

    fn row(session: &str, data: &[u8], committed: Option<i64>) -> AttachmentManifestEntry {
        AttachmentManifestEntry { committed_at_epoch_ms: committed, ..apply_intent(None, &AttachmentIntent::new(content_id(data), session, 10)) }
    }

    #[test]
    fn a_commit_covers_the_views_pending_ids_then_the_sessions_other_uncommitted_rows() {
        let [a, b, c, d] = [b"a", b"b", b"c", b"d"].map(|data| content_id(data));
        let rows = [row("s", b"c", None), row("s", b"a", None), row("s", b"d", Some(5)), row("other", b"b", None), row("s", b"b", None)];
        let ids = commit_ids("s", &[b.clone(), a.clone(), b.clone()], &rows);
        let mut tail = vec![c.clone()];
        tail.sort();
        assert_eq!(ids, [vec![b.clone(), a.clone()], tail].concat(), "pending first, once each; committed d is not covered");
        assert!(!ids.contains(&d));
    }

    #[test]
    fn a_commit_stamps_only_when_every_covered_id_has_its_row_and_bytes() {
        let [a, b] = [b"a", b"b"].map(|data| content_id(data));
        let rows = [row("s", b"a", None), row("s", b"b", Some(3))];
        let plan = plan_commit("s", vec![a.clone(), b.clone()], &rows, &[true, true], 99);
        assert!(plan.is_whole());
        assert_eq!(plan.stamped.len(), 1, "b was committed already");
        assert_eq!(plan.stamped[0].committed_at_epoch_ms, Some(99));

        let gone_bytes = plan_commit("s", vec![a.clone(), b.clone()], &rows, &[true, false], 99);
        assert_eq!((gone_bytes.missing, gone_bytes.stamped), (vec![b.clone()], vec![]), "bytes gone: nothing is stamped");
        let gone_row = plan_commit("s", vec![a.clone(), content_id(b"z")], &rows, &[true, true], 99);
        assert_eq!(gone_row.missing, vec![content_id(b"z")], "a row forgotten by a sweep");
        assert!(gone_row.stamped.is_empty());
        let other_session = plan_commit("t", vec![a.clone()], &rows, &[true], 99);
        assert_eq!(other_session.missing, vec![a], "another session's row does not count");
    }

    #[test]
    fn a_release_drops_the_commit_and_dates_the_intent_now() {
        let released = apply_release(&row("s", b"a", Some(20)), 500);
        assert_eq!((released.intent_at_epoch_ms, released.committed_at_epoch_ms), (500, None));
    }

    #[test]
    fn a_discard_forgets_the_uncommitted_row_and_deletes_what_nothing_else_holds() {
        let a = content_id(b"a");
        let alone = [row("s", b"a", None)];
        assert_eq!(plan_discard("s", &a, &alone, false), DiscardPlan { forget_row: true, delete_bytes: true });
        assert_eq!(plan_discard("s", &a, &alone, true), DiscardPlan { forget_row: true, delete_bytes: false }, "a plain put holds it");
        let shared = [row("s", b"a", None), row("t", b"a", None)];
        assert_eq!(plan_discard("s", &a, &shared, false), DiscardPlan { forget_row: true, delete_bytes: false }, "t's row holds it");
        let committed = [row("s", b"a", Some(3))];
        assert_eq!(plan_discard("s", &a, &committed, false), DiscardPlan::default(), "a committed row is kept");
        assert_eq!(plan_discard("s", &a, &[], false), DiscardPlan { forget_row: false, delete_bytes: true }, "bytes no row holds");
        assert_eq!(plan_discard("s", &a, &[row("t", b"a", Some(1))], false), DiscardPlan::default());
    }
}

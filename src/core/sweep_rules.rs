//! What a reclaim sweep may do with one listed row, as a pure decision.
//!
//! The sweep lists candidates first and acts on each later; meanwhile other tabs, workers or
//! sessions may re-intend, commit or forget the same content. So each step is decided from the rows
//! as they are *at the time of the step*: backends that share a database between manifest and bytes
//! read those rows and apply the decision in one transaction.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::id::AttachmentId;
use super::manifest_rules::{is_uncommitted_at, AttachmentManifestEntry};

/// What one sweep step does for a listed candidate: which rows to forget and whether to delete the
/// bytes. An empty plan leaves everything as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepPlan {
    /// `(session_id, attachment_id)` of each row to forget.
    pub forget: Vec<(String, AttachmentId)>,
    /// Whether to delete the attachment's bytes and metadata.
    pub delete_bytes: bool,
}

/// Plans the step for `listed`, given every current row of the same attachment (`current`
/// includes the candidate's own row as it is now, if it still exists) and whether a plain put
/// (`store.put`, outside any session) holds its bytes.
///
/// - The candidate row is left alone if it is gone, committed or refreshed since it was listed.
/// - Bytes are protected by any other row that is committed or newer than the threshold; then only
///   the candidate row is forgotten.
/// - Bytes a plain put holds are managed by no session and never deleted: the aged rows go, the
///   bytes stay.
/// - Otherwise the bytes are deleted, and with them every aged uncommitted row of that content (all
///   of them candidates too), so no row ever outlives its bytes and a late commit cannot stamp a row
///   whose bytes are gone.
pub fn plan_sweep_step(listed: &AttachmentManifestEntry, current: &[AttachmentManifestEntry], older_than_epoch_ms: i64, held_by_plain_put: bool) -> SweepPlan {
    let still_candidate = current.iter().any(|row| row.key() == listed.key() && is_uncommitted_at(row, older_than_epoch_ms));
    if !still_candidate {
        return SweepPlan::default();
    }
    let key_of = |row: &AttachmentManifestEntry| (row.session_id.clone(), row.attachment_id.clone());
    let protected = current.iter().any(|row| !is_uncommitted_at(row, older_than_epoch_ms));
    if protected {
        return SweepPlan { forget: vec![key_of(listed)], delete_bytes: false };
    }
    SweepPlan { forget: current.iter().map(key_of).collect(), delete_bytes: !held_by_plain_put }
}

/// Plans the steps for a batch of listed rows from the rows of their attachments read once,
/// applying each step's effect to `rows_by_id` before planning the next: exactly what planning
/// each step on freshly read rows would give, provided nothing else writes in between (the batch
/// runs inside one transaction). `held_by_plain_put` says which attachments a plain put holds.
/// Returns one plan per listed row, in order.
pub fn plan_sweep_batch(
    listed: &[AttachmentManifestEntry],
    rows_by_id: &mut HashMap<AttachmentId, Vec<AttachmentManifestEntry>>,
    older_than_epoch_ms: i64,
    held_by_plain_put: &dyn Fn(&AttachmentId) -> bool,
) -> Vec<SweepPlan> {
    listed
        .iter()
        .map(|candidate| {
            let rows = rows_by_id.entry(candidate.attachment_id.clone()).or_default();
            let plan = plan_sweep_step(candidate, rows, older_than_epoch_ms, held_by_plain_put(&candidate.attachment_id));
            rows.retain(|row| !plan.forget.iter().any(|(session, id)| row.session_id == *session && row.attachment_id == *id));
            plan
        })
        .collect()
}

/// Whether deleting everything stored in a stretch of ids deletes exactly what deleting each of
/// `doomed` would: every id with something stored in the stretch (`present`) is doomed. Backends
/// that can delete a key range use this to turn a batch of deletes into one.
///
/// `doomed` must be sorted. Doomed ids with nothing stored are fine either way.
pub fn stretch_holds_only(present: &[AttachmentId], doomed: &[AttachmentId]) -> bool {
    present.iter().all(|id| doomed.binary_search(id).is_ok())
}

/// The sessions whose every manifest row in a stretch of ids is forgotten, so that their rows
/// there may be deleted as one key range. `stored` lists every row stored in the stretch as
/// `(session, attachment)`, `None` where a row cannot be read: an unreadable attachment keeps its
/// session to row-by-row deletes, an unreadable session keeps every session to them.
pub fn sessions_wholly_forgotten(stored: &[(Option<String>, Option<AttachmentId>)], forgotten: &[(String, AttachmentId)]) -> Vec<String> {
    if stored.iter().any(|(session, _)| session.is_none()) {
        return Vec::new();
    }
    let mut sessions: Vec<String> = Vec::new();
    for (session, _) in forgotten {
        if !sessions.contains(session) {
            sessions.push(session.clone());
        }
    }
    sessions.retain(|session| {
        stored.iter().filter(|(of, _)| of.as_deref() == Some(session.as_str())).all(|(_, id)| {
            id.as_ref().is_some_and(|id| forgotten.iter().any(|(s, f)| s == session && f == id))
        })
    });
    sessions
}

/// What one sweep step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStepOutcome {
    /// How many rows were forgotten.
    pub reclaimed_rows: u64,
    /// The length of the bytes deleted, when this step deleted an attachment that existed.
    pub deleted_bytes: Option<u64>,
}

/// The totals of a reclaim sweep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentReclamationReport {
    /// Rows examined (every row `list_uncommitted` returned).
    pub scanned_intent_count: u64,
    /// Rows forgotten (with shared content, one step may forget several aged rows at once).
    pub reclaimed_count: u64,
    /// Attachments actually deleted.
    pub deleted_count: u64,
    /// Bytes of the attachments actually deleted.
    pub deleted_bytes: u64,
}

impl AttachmentReclamationReport {
    /// Adds one step's outcome.
    pub fn record(&mut self, outcome: SweepStepOutcome) {
        self.reclaimed_count += outcome.reclaimed_rows;
        if let Some(len) = outcome.deleted_bytes {
            self.deleted_count += 1;
            self.deleted_bytes += len;
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::manifest_rules::{apply_intent, AttachmentIntent};
    use crate::content_id;

    fn row(session: &str, at: i64, committed: Option<i64>) -> AttachmentManifestEntry {
        AttachmentManifestEntry { committed_at_epoch_ms: committed, ..apply_intent(None, &AttachmentIntent::new(content_id(b"x"), session, at)) }
    }

    proptest::proptest! {
        /// Planning a batch from rows read once equals planning each step on re-read rows.
        #[test]
        fn batch_planning_equals_step_by_step(
            rows in proptest::collection::vec((0u8..3, 0u8..3, 0i64..20, proptest::option::of(0i64..5)), 0..20),
            threshold in 0i64..20,
        ) {
            let mut table: Vec<AttachmentManifestEntry> = Vec::new();
            for (session, content, at, committed) in rows {
                let id = content_id(&[content]);
                let session = format!("s{session}");
                table.retain(|row| !(row.session_id == session && row.attachment_id == id));
                table.push(AttachmentManifestEntry { committed_at_epoch_ms: committed, ..apply_intent(None, &AttachmentIntent::new(id, session, at)) });
            }
            let listed = crate::core::manifest_rules::select_uncommitted(&table, threshold);
            let mut by_id: HashMap<AttachmentId, Vec<AttachmentManifestEntry>> = HashMap::new();
            for row in &table {
                by_id.entry(row.attachment_id.clone()).or_default().push(row.clone());
            }
            let plain = |id: &AttachmentId| id == &content_id(&[0]);
            let batch = plan_sweep_batch(&listed, &mut by_id, threshold, &plain);
            let mut live = table.clone();
            for (candidate, batched) in listed.iter().zip(&batch) {
                let current: Vec<_> = live.iter().filter(|row| row.attachment_id == candidate.attachment_id).cloned().collect();
                let stepwise = plan_sweep_step(candidate, &current, threshold, plain(&candidate.attachment_id));
                proptest::prop_assert_eq!(&stepwise, batched);
                live.retain(|row| !stepwise.forget.iter().any(|(s, id)| row.session_id == *s && row.attachment_id == *id));
            }
        }
    }

    #[test]
    fn a_stretch_may_be_deleted_whole_only_if_all_it_holds_is_doomed() {
        let [a, b, c] = [content_id(b"a"), content_id(b"b"), content_id(b"c")];
        let mut doomed = vec![a.clone(), b.clone()];
        doomed.sort();
        assert!(stretch_holds_only(&[], &doomed), "an empty stretch");
        assert!(stretch_holds_only(std::slice::from_ref(&a), &doomed), "doomed ids with nothing stored are fine");
        assert!(stretch_holds_only(&[b.clone(), a.clone()], &doomed));
        assert!(!stretch_holds_only(&[a.clone(), c.clone()], &doomed), "c is stored and not doomed");
        assert!(!stretch_holds_only(&[c], &[]));
    }

    #[test]
    fn a_session_s_rows_may_be_deleted_as_a_range_only_if_all_of_them_are_forgotten() {
        let [a, b] = [content_id(b"a"), content_id(b"b")];
        let row = |s: &str, id: &AttachmentId| (Some(s.to_owned()), Some(id.clone()));
        let forgotten = vec![("s1".to_owned(), a.clone()), ("s1".to_owned(), b.clone()), ("s2".to_owned(), a.clone())];
        let stored = vec![row("s1", &a), row("s1", &b), row("s2", &a), row("s2", &b), row("s3", &a)];
        assert_eq!(sessions_wholly_forgotten(&stored, &forgotten), ["s1"], "s2 keeps b; s3 forgets nothing");
        let unreadable_id = [stored.clone(), vec![(Some("s1".to_owned()), None)]].concat();
        assert!(sessions_wholly_forgotten(&unreadable_id, &forgotten).is_empty(), "s1 has a row that cannot be read");
        let unreadable_session = [stored, vec![(None, Some(a.clone()))]].concat();
        assert!(sessions_wholly_forgotten(&unreadable_session, &forgotten).is_empty());
        assert!(sessions_wholly_forgotten(&[], &[]).is_empty());
    }

    #[test]
    fn plans() {
        let listed = row("a", 10, None);
        let own = || ("a".to_owned(), listed.attachment_id.clone());
        let forget_only = SweepPlan { forget: vec![own()], delete_bytes: false };
        assert_eq!(plan_sweep_step(&listed, std::slice::from_ref(&listed), 10, false), SweepPlan { forget: vec![own()], delete_bytes: true });
        assert_eq!(plan_sweep_step(&listed, std::slice::from_ref(&listed), 10, true), forget_only, "a plain put keeps the bytes");
        assert_eq!(plan_sweep_step(&listed, &[], 10, false), SweepPlan::default(), "row gone");
        assert_eq!(plan_sweep_step(&listed, &[row("a", 10, Some(11))], 10, false), SweepPlan::default(), "committed since");
        assert_eq!(plan_sweep_step(&listed, &[row("a", 11, None)], 10, false), SweepPlan::default(), "refreshed since");
        assert_eq!(plan_sweep_step(&listed, &[listed.clone(), row("b", 1, Some(2))], 10, false), forget_only, "other committed");
        assert_eq!(plan_sweep_step(&listed, &[listed.clone(), row("b", 11, None)], 10, false), forget_only, "other young");
        let both = plan_sweep_step(&listed, &[listed.clone(), row("b", 3, None)], 10, false);
        assert_eq!(both, SweepPlan { forget: vec![own(), ("b".to_owned(), listed.attachment_id.clone())], delete_bytes: true }, "other aged orphan goes too");
    }
}

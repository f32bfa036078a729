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
/// includes the candidate's own row as it is now, if it still exists).
///
/// - The candidate row is left alone if it is gone, committed or refreshed since it was listed.
/// - Bytes are protected by any other row that is committed or newer than the threshold; then only
///   the candidate row is forgotten.
/// - Otherwise the bytes are deleted, and with them every aged uncommitted row of that content (all
///   of them candidates too), so no row ever outlives its bytes and a late commit cannot stamp a row
///   whose bytes are gone.
pub fn plan_sweep_step(listed: &AttachmentManifestEntry, current: &[AttachmentManifestEntry], older_than_epoch_ms: i64) -> SweepPlan {
    let still_candidate = current.iter().any(|row| row.key() == listed.key() && is_uncommitted_at(row, older_than_epoch_ms));
    if !still_candidate {
        return SweepPlan::default();
    }
    let key_of = |row: &AttachmentManifestEntry| (row.session_id.clone(), row.attachment_id.clone());
    let protected = current.iter().any(|row| !is_uncommitted_at(row, older_than_epoch_ms));
    if protected {
        return SweepPlan { forget: vec![key_of(listed)], delete_bytes: false };
    }
    SweepPlan { forget: current.iter().map(key_of).collect(), delete_bytes: true }
}

/// Plans the steps for a batch of listed rows from the rows of their attachments read once,
/// applying each step's effect to `rows_by_id` before planning the next: exactly what planning
/// each step on freshly read rows would give, provided nothing else writes in between (the batch
/// runs inside one transaction). Returns one plan per listed row, in order.
pub fn plan_sweep_batch(
    listed: &[AttachmentManifestEntry],
    rows_by_id: &mut HashMap<AttachmentId, Vec<AttachmentManifestEntry>>,
    older_than_epoch_ms: i64,
) -> Vec<SweepPlan> {
    listed
        .iter()
        .map(|candidate| {
            let rows = rows_by_id.entry(candidate.attachment_id.clone()).or_default();
            let plan = plan_sweep_step(candidate, rows, older_than_epoch_ms);
            rows.retain(|row| !plan.forget.iter().any(|(session, id)| row.session_id == *session && row.attachment_id == *id));
            plan
        })
        .collect()
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
            let batch = plan_sweep_batch(&listed, &mut by_id, threshold);
            let mut live = table.clone();
            for (candidate, batched) in listed.iter().zip(&batch) {
                let current: Vec<_> = live.iter().filter(|row| row.attachment_id == candidate.attachment_id).cloned().collect();
                let stepwise = plan_sweep_step(candidate, &current, threshold);
                proptest::prop_assert_eq!(&stepwise, batched);
                live.retain(|row| !stepwise.forget.iter().any(|(s, id)| row.session_id == *s && row.attachment_id == *id));
            }
        }
    }

    #[test]
    fn plans() {
        let listed = row("a", 10, None);
        let own = || ("a".to_owned(), listed.attachment_id.clone());
        let forget_only = SweepPlan { forget: vec![own()], delete_bytes: false };
        assert_eq!(plan_sweep_step(&listed, &[listed.clone()], 10), SweepPlan { forget: vec![own()], delete_bytes: true });
        assert_eq!(plan_sweep_step(&listed, &[], 10), SweepPlan::default(), "row gone");
        assert_eq!(plan_sweep_step(&listed, &[row("a", 10, Some(11))], 10), SweepPlan::default(), "committed since");
        assert_eq!(plan_sweep_step(&listed, &[row("a", 11, None)], 10), SweepPlan::default(), "refreshed since");
        assert_eq!(plan_sweep_step(&listed, &[listed.clone(), row("b", 1, Some(2))], 10), forget_only, "other committed");
        assert_eq!(plan_sweep_step(&listed, &[listed.clone(), row("b", 11, None)], 10), forget_only, "other young");
        let both = plan_sweep_step(&listed, &[listed.clone(), row("b", 3, None)], 10);
        assert_eq!(both, SweepPlan { forget: vec![own(), ("b".to_owned(), listed.attachment_id.clone())], delete_bytes: true }, "other aged orphan goes too");
    }
}

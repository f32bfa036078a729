//! Damaged data and lost connections (contract section 9) on real IndexedDB. The damage is done by
//! hand, through a plain connection, because no engine damages a record on demand: it is what a
//! failing disk or an engine's bug leaves (bytes that no longer hash to their id, a lost chunk).
//! The lost connection is closed underneath the store, after which the engine itself gives its
//! "connection is closing" error, as after a full disk (Chromium) or a crashed storage process.

use super::*;
use std::cell::RefCell;
use web_attachments::body::Body;
use web_attachments::indexeddb::OpenOptions;
use web_attachments::{verify_attachments, VerifyOptions};

/// Replaces the stored bytes of `id` with `other` bytes of the same length, keeping the record's
/// shape (a metadata row with its bytes for small ones, a bare buffer for larger ones).
async fn damage(db: &IdbDatabase, id: &AttachmentId, other: &[u8]) {
    let record = raw_get(db, "bytes", id.as_str()).await;
    let buffer = Uint8Array::from(other).buffer();
    if record.is_instance_of::<ArrayBuffer>() {
        raw_put(db, "bytes", &buffer, Some(id.as_str())).await;
    } else {
        let old: ArrayBuffer = Reflect::get(&record, &"bytes".into()).unwrap().unchecked_into();
        assert_eq!(old.byte_length() as usize, other.len(), "damage keeps the length");
        Reflect::set(&record, &"bytes".into(), &buffer).unwrap();
        raw_put(db, "bytes", &record, Some(id.as_str())).await;
    }
}

async fn raw_delete(db: &IdbDatabase, store: &str, key: &str) {
    let tx = db.transaction_with_str_and_mode(store, web_sys::IdbTransactionMode::Readwrite).unwrap();
    settle(&tx.object_store(store).unwrap().delete(&key.into()).unwrap()).await.unwrap();
}

/// Every chunk of a body, or the first error.
async fn drain(body: Body) -> Result<Vec<u8>> {
    let Body::Chunks(mut chunks) = body else { panic!("expected chunks") };
    let mut all = Vec::new();
    while let Some(chunk) = chunks.next_chunk().await? {
        all.extend(chunk.to_vec());
    }
    Ok(all)
}

fn flipped(bytes: &[u8]) -> Vec<u8> {
    let mut other = bytes.to_vec();
    other[bytes.len() / 2] ^= 0x5a;
    other
}

#[wasm_bindgen_test]
async fn verify_removes_damaged_bytes_reports_them_and_keeps_their_commits() {
    let name = unique("verify");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let session = store.session("s").unwrap();
    let intact = b"intact".to_vec();
    let small: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let bare: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let ids: Vec<AttachmentId> = [&intact, &small, &bare].into_iter().map(|bytes| content_id(bytes)).collect();
    for bytes in [&intact, &small, &bare] {
        session.put(bytes, meta("application/octet-stream")).await.unwrap();
    }
    session.commit().await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    damage(&db, &ids[1], &flipped(&small)).await;
    damage(&db, &ids[2], &flipped(&bare)).await;
    db.close();

    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    // Without verification the damage goes unnoticed: what `verify` and `verifyReads` are for.
    assert_eq!(store.get(&ids[1]).await.unwrap().bytes, flipped(&small));
    let progress = RefCell::new(Vec::new());
    let mut on_progress = |done: u64, total: u64| progress.borrow_mut().push((done, total));
    let report = verify_attachments(&store, VerifyOptions { on_progress: Some(&mut on_progress), is_aborted: None }).await.unwrap();
    let mut corrupt = vec![ids[1].clone(), ids[2].clone()];
    corrupt.sort();
    assert_eq!((report.checked_count, report.checked_bytes, report.corrupt), (3, intact.len() as u64, corrupt));
    assert_eq!(progress.into_inner(), vec![(0, 3), (1, 3), (2, 3), (3, 3)]);
    for id in &ids[1..] {
        assert_eq!(store.get(id).await.unwrap_err().code(), ErrorCode::NotFound, "damaged bytes are removed");
        let rows = store.manifest().entries_for(id).await.unwrap();
        assert!(rows.len() == 1 && rows[0].committed_at_epoch_ms.is_some(), "its commit stays: {rows:?}");
    }
    assert_eq!(store.get(&ids[0]).await.unwrap().bytes, intact);
    // A re-put of the same content heals it, under the session's commit.
    store.put(&small, meta("application/octet-stream")).await.unwrap();
    assert_eq!(store.get(&ids[1]).await.unwrap().bytes, small);
    let again = verify_attachments(&store, VerifyOptions::default()).await.unwrap();
    assert_eq!((again.checked_count, again.corrupt.len()), (2, 0));
    // An aborted verification reads nothing and says so.
    let aborted = verify_attachments(&store, VerifyOptions { on_progress: None, is_aborted: Some(&|| true) }).await.unwrap_err();
    assert_eq!((aborted.code(), aborted.message()), (ErrorCode::Backend, VerifyOptions::ABORTED));
    assert!(store.data_loss().is_none(), "an ordinary open reports no data loss");
}

#[wasm_bindgen_test]
async fn verified_reads_refuse_damaged_bytes_and_remove_them() {
    let name = unique("verify-reads");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let contents: Vec<Vec<u8>> = [500usize, 70_000, 80_000].iter().map(|&len| (0..len).map(|i| (i * 7 % 256) as u8).collect()).collect();
    let ids: Vec<AttachmentId> = contents.iter().map(|bytes| content_id(bytes)).collect();
    for bytes in &contents {
        store.put(bytes, meta("application/octet-stream")).await.unwrap();
    }
    let fine = store.put(b"fine", meta("text/plain")).await.unwrap();
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    for (id, bytes) in ids.iter().zip(&contents) {
        damage(&db, id, &flipped(bytes)).await;
    }
    db.close();

    let store = IndexedDbAttachmentStore::open_with(&name, OpenOptions { verify_reads: true, ..OpenOptions::default() }).await.unwrap();
    assert!(store.verifies_reads());
    let error = store.get(&ids[0]).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Corrupt, "{error}");
    assert!(error.message().contains(ids[0].as_str()), "the message names it: {error}");
    assert_eq!(store.get(&ids[0]).await.unwrap_err().code(), ErrorCode::NotFound, "and it is gone");
    // A whole read streams and errors at its end; a range is checked before it is handed out.
    let (_, body) = store.read_body(&ids[1], 0, None).await.unwrap();
    assert_eq!(drain(body).await.unwrap_err().code(), ErrorCode::Corrupt);
    assert_eq!(store.head(&ids[1]).await.unwrap(), None);
    assert_eq!(store.read_body(&ids[2], 10, Some(20)).await.err().map(|error| error.code()), Some(ErrorCode::Corrupt));
    assert_eq!(store.head(&ids[2]).await.unwrap(), None);
    // Intact bytes read as ever, and the store works on.
    assert_eq!(store.get(&fine.id).await.unwrap().bytes, b"fine");
    let (_, body) = store.read_body(&fine.id, 0, None).await.unwrap();
    assert_eq!(drain(body).await.unwrap(), b"fine");
    store.put(&contents[0], meta("application/octet-stream")).await.unwrap();
    assert_eq!(store.get(&ids[0]).await.unwrap().bytes, contents[0], "a re-put heals");
}

#[wasm_bindgen_test]
async fn a_lost_chunk_is_corrupt_and_verify_removes_the_rest() {
    let name = unique("lost-chunk");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let bytes: Vec<u8> = (0..(32u32 << 20) + 10).map(|i| (i % 249) as u8).collect();
    let id = store.put(&bytes, meta("application/octet-stream")).await.unwrap().id;
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    raw_delete(&db, "bytes", &format!("{id}#000001")).await;
    db.close();

    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let error = store.get(&id).await.unwrap_err();
    assert_eq!(error.code(), ErrorCode::Corrupt, "{error}");
    let (_, body) = store.read_body(&id, 0, None).await.unwrap();
    assert_eq!(drain(body).await.unwrap_err().code(), ErrorCode::Corrupt);
    let report = verify_attachments(&store, VerifyOptions::default()).await.unwrap();
    assert_eq!(report.corrupt, vec![id.clone()]);
    store.close();
    let db = raw_open(&name, SCHEMA_VERSION).await;
    assert_eq!((count(&db, "bytes").await, count(&db, "meta").await), (0.0, 0.0), "no chunk left behind");
    db.close();
}

#[wasm_bindgen_test]
async fn a_connection_the_engine_closes_is_reopened_and_the_call_retried() {
    let name = unique("reopen");
    let store = IndexedDbAttachmentStore::open(&name).await.unwrap();
    let before = store.put(b"before", meta("text/plain")).await.unwrap();
    let session = store.session("s").unwrap();
    for step in 0..4 {
        store.sever_connection();
        match step {
            0 => assert_eq!(store.get(&before.id).await.unwrap().bytes, b"before"),
            1 => drop(session.put(b"during", meta("text/plain")).await.unwrap()),
            2 => assert_eq!(session.commit().await.unwrap(), vec![content_id(b"during")]),
            _ => assert_eq!(store.manifest().entries_for(&content_id(b"during")).await.unwrap().len(), 1),
        }
    }
    // A clone shares the reopened connection; `close()` still means closed.
    assert_eq!(store.clone().list().await.unwrap().len(), 2);
    store.close();
    assert_eq!(store.get(&before.id).await.unwrap_err().code(), ErrorCode::Closed);
}

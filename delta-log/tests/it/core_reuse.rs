//! The generic commit core carries a format that is not Delta: a tiny
//! key-value log whose versions are `<version>.kv` text files.

use std::sync::Arc;

use bytes::Bytes;
use delta_log::LogError;
use delta_log::core::CommitLog;
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

/// A toy format: each commit sets one key; the state is the fold of all commits.
struct KvLog {
    log: CommitLog,
}

impl KvLog {
    fn new(store: Arc<dyn ObjectStore>) -> Self {
        KvLog {
            log: CommitLog::new(store, Path::from("kv/_log"), "kv"),
        }
    }

    async fn set(&self, key: &str, value: &str) -> Result<u64, LogError> {
        let next = self.log.latest_version().await?.map_or(0, |v| v + 1);
        self.log
            .put_commit(next, Bytes::from(format!("{key}={value}")))
            .await?;
        Ok(next)
    }

    async fn state(&self) -> Result<Vec<(String, String)>, LogError> {
        let mut state = std::collections::BTreeMap::new();
        for f in self.log.list_from(0).await? {
            if self.log.is_commit(&f) {
                let text = String::from_utf8(self.log.read(&f.location).await?.to_vec()).unwrap();
                let (k, v) = text.split_once('=').unwrap();
                state.insert(k.to_string(), v.to_string());
            }
        }
        Ok(state.into_iter().collect())
    }
}

#[tokio::test]
async fn a_second_format_on_the_same_core() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let kv = KvLog::new(Arc::clone(&store));
    assert_eq!(kv.set("a", "1").await.unwrap(), 0);
    assert_eq!(kv.set("b", "2").await.unwrap(), 1);
    assert_eq!(kv.set("a", "3").await.unwrap(), 2);
    assert_eq!(
        kv.state().await.unwrap(),
        vec![("a".into(), "3".into()), ("b".into(), "2".into())]
    );
    // pointer files are outside the versioned namespace
    kv.log
        .write_pointer("_head", Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert_eq!(
        kv.log.read_pointer("_head").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );
    assert_eq!(kv.log.read_pointer("_missing").await.unwrap(), None);
    assert_eq!(kv.log.list_from(1).await.unwrap().len(), 2);
}

#[tokio::test]
async fn only_one_writer_wins_a_version() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let log = CommitLog::new(store, Path::from("race"), "kv");
    let attempts = (0..8).map(|i| {
        let log = log.clone();
        async move { log.put_commit(0, Bytes::from(format!("writer={i}"))).await }
    });
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1);
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(r, Err(LogError::VersionExists { version: 0, .. })));
    }
}

#[tokio::test]
async fn put_if_absent_holds_on_the_local_file_system() {
    let dir = std::env::temp_dir().join(format!("delta-log-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(object_store::local::LocalFileSystem::new());
    let log = CommitLog::new(store, Path::from_absolute_path(&dir).unwrap(), "kv");
    log.put_commit(0, Bytes::from_static(b"first"))
        .await
        .unwrap();
    let err = log
        .put_commit(0, Bytes::from_static(b"second"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::VersionExists { version: 0, .. }),
        "{err}"
    );
    assert_eq!(&log.read_commit(0).await.unwrap()[..], b"first");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! An object store that runs something of the test's right before the
//! first commit file is put: another writer commits in between a
//! transaction's reads and its commit, deterministically.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Delegates to `inner`; the first put of a commit file (`_delta_log/N.json`,
/// create-only) first awaits the interposed work.
pub struct InterposingStore {
    inner: Arc<dyn ObjectStore>,
    before_commit: Mutex<Option<BoxFuture<'static, ()>>>,
}

impl InterposingStore {
    /// Wraps `inner`; `before_commit` runs once, before the first commit.
    pub fn new(inner: Arc<dyn ObjectStore>, before_commit: BoxFuture<'static, ()>) -> Self {
        InterposingStore {
            inner,
            before_commit: Mutex::new(Some(before_commit)),
        }
    }

    /// Whether the interposed work has run.
    pub fn interposed(&self) -> bool {
        self.before_commit
            .lock()
            .map_or(true, |pending| pending.is_none())
    }
}

impl fmt::Debug for InterposingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InterposingStore({})", self.inner)
    }
}

impl fmt::Display for InterposingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InterposingStore({})", self.inner)
    }
}

fn is_commit(location: &Path, opts: &PutOptions) -> bool {
    let path = location.as_ref();
    matches!(opts.mode, PutMode::Create)
        && path.contains("_delta_log/")
        && path.ends_with(".json")
        && !path.contains(".tmp")
}

#[async_trait]
impl ObjectStore for InterposingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        if is_commit(location, &opts) {
            let work = self
                .before_commit
                .lock()
                .ok()
                .and_then(|mut pending| pending.take());
            if let Some(work) = work {
                work.await;
            }
        }
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

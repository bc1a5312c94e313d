//! Fault injection: an object store that "crashes" at a chosen write.
//!
//! Every mutating call (put, each multipart part and completion, delete,
//! copy) is counted. At the `k`-th one the process is deemed to die: that call
//! fails (after taking effect when `lands` is set, as when a reply is lost),
//! and every later call of any kind fails too. The inner store then holds what
//! a real crash at that point would have left.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
};

/// Shared crash state of one store and its uploads.
#[derive(Debug)]
struct Crash {
    writes: AtomicUsize,
    at: usize,
    lands: bool,
    dead: AtomicBool,
}

/// What a counted write should do.
enum Step {
    /// Perform it normally.
    Go,
    /// Perform it, then fail (the crash happens after it took effect).
    GoThenDie,
    /// Fail without performing it.
    Die,
}

impl Crash {
    fn write(&self) -> Step {
        if self.dead.load(Ordering::SeqCst) {
            return Step::Die;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if n < self.at {
            return Step::Go;
        }
        self.dead.store(true, Ordering::SeqCst);
        if self.lands {
            Step::GoThenDie
        } else {
            Step::Die
        }
    }

    fn check_alive(&self) -> Result<()> {
        if self.dead.load(Ordering::SeqCst) {
            Err(crashed())
        } else {
            Ok(())
        }
    }
}

fn crashed() -> object_store::Error {
    object_store::Error::Generic {
        store: "FailingStore",
        source: "injected crash".into(),
    }
}

/// An object store that crashes at its `at`-th write (0-based).
#[derive(Debug, Clone)]
pub struct FailingStore {
    inner: Arc<dyn ObjectStore>,
    crash: Arc<Crash>,
}

impl FailingStore {
    /// Wraps `inner`; crashes at write number `at` (0-based), which takes
    /// effect first when `lands` is true.
    pub fn new(inner: Arc<dyn ObjectStore>, at: usize, lands: bool) -> Self {
        FailingStore {
            inner,
            crash: Arc::new(Crash {
                writes: AtomicUsize::new(0),
                at,
                lands,
                dead: AtomicBool::new(false),
            }),
        }
    }

    /// Whether the crash happened.
    pub fn crashed(&self) -> bool {
        self.crash.dead.load(Ordering::SeqCst)
    }

    /// Writes counted so far.
    pub fn writes(&self) -> usize {
        self.crash.writes.load(Ordering::SeqCst)
    }
}

impl fmt::Display for FailingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FailingStore({})", self.inner)
    }
}

async fn counted<T>(crash: &Crash, op: impl Future<Output = Result<T>>) -> Result<T> {
    match crash.write() {
        Step::Go => op.await,
        Step::GoThenDie => {
            op.await?;
            Err(crashed())
        }
        Step::Die => Err(crashed()),
    }
}

#[async_trait]
impl ObjectStore for FailingStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        counted(&self.crash, self.inner.put_opts(location, payload, opts)).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.crash.check_alive()?;
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(FailingUpload {
            inner: upload,
            crash: Arc::clone(&self.crash),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.crash.check_alive()?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.crash.check_alive()?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let crash = Arc::clone(&self.crash);
        let inner = Arc::clone(&self.inner);
        locations
            .then(move |location| {
                let crash = Arc::clone(&crash);
                let inner = Arc::clone(&inner);
                async move {
                    let location = location?;
                    let one = futures::stream::once(futures::future::ready(Ok(location))).boxed();
                    counted(&crash, async {
                        let mut deleted = inner.delete_stream(one);
                        match deleted.next().await {
                            Some(result) => result,
                            None => Err(crashed()),
                        }
                    })
                    .await
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        if let Err(e) = self.crash.check_alive() {
            return futures::stream::once(futures::future::ready(Err(e))).boxed();
        }
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        if let Err(e) = self.crash.check_alive() {
            return futures::stream::once(futures::future::ready(Err(e))).boxed();
        }
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.crash.check_alive()?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        counted(&self.crash, self.inner.copy_opts(from, to, options)).await
    }
}

/// A multipart upload whose parts and completion are counted writes.
#[derive(Debug)]
struct FailingUpload {
    inner: Box<dyn MultipartUpload>,
    crash: Arc<Crash>,
}

#[async_trait]
impl MultipartUpload for FailingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let step = self.crash.write();
        let part = self.inner.put_part(data);
        Box::pin(async move {
            match step {
                Step::Go => part.await,
                Step::GoThenDie => {
                    part.await?;
                    Err(crashed())
                }
                Step::Die => Err(crashed()),
            }
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        counted(&self.crash, self.inner.complete()).await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

//! Fault injection: an object store that "crashes" at a chosen write, or
//! loses the response of one.
//!
//! Every mutating call (put, each multipart part and completion, delete,
//! copy) is counted. In crash mode ([`FailingStore::new`]), at the `k`-th one
//! the process is deemed to die: that call fails (after taking effect when
//! `lands` is set, as when a reply is lost), and every later call of any kind
//! fails too. The inner store then holds what a real crash at that point
//! would have left. In lost-response mode ([`FailingStore::lose_response`]),
//! the `k`-th write takes effect but its caller gets an error, and the store
//! goes on working: what a client sees when a reply is lost on the network,
//! or when its HTTP layer retries a request that had landed (a conditional
//! put then answers "already exists").

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
    /// Lost-response mode: `Some(retried)`; the store does not die.
    lose: Option<bool>,
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
    /// Perform it and answer with an error, staying alive (a lost response).
    GoThenLose,
    /// Perform it twice and answer what the second attempt got (a lost
    /// response retried by the client's HTTP layer).
    GoTwice,
}

impl Crash {
    fn write(&self) -> Step {
        if self.dead.load(Ordering::SeqCst) {
            return Step::Die;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        match self.lose {
            Some(_) if n != self.at => return Step::Go,
            Some(true) => return Step::GoTwice,
            Some(false) => return Step::GoThenLose,
            None if n < self.at => return Step::Go,
            None => {}
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

fn lost() -> object_store::Error {
    object_store::Error::Generic {
        store: "FailingStore",
        source: "injected lost response (the write took effect)".into(),
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
    /// Answers puts that must create a new file with "not implemented", as
    /// a store without conditional puts does.
    no_conditional_put: bool,
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
                lose: None,
                dead: AtomicBool::new(false),
            }),
            no_conditional_put: false,
        }
    }

    /// Wraps `inner`; write number `at` (0-based) takes effect but answers
    /// an error: with `retried`, the write is sent a second time and its
    /// caller gets that answer (for a put-if-absent: "already exists"),
    /// else a generic error. Every other call works.
    pub fn lose_response(inner: Arc<dyn ObjectStore>, at: usize, retried: bool) -> Self {
        FailingStore {
            inner,
            crash: Arc::new(Crash {
                writes: AtomicUsize::new(0),
                at,
                lands: true,
                lose: Some(retried),
                dead: AtomicBool::new(false),
            }),
            no_conditional_put: false,
        }
    }

    /// Wraps `inner` as a store without conditional puts: a put that must
    /// create a new file fails with `NotImplemented`; nothing else fails.
    pub fn without_conditional_put(inner: Arc<dyn ObjectStore>) -> Self {
        FailingStore {
            no_conditional_put: true,
            ..FailingStore::new(inner, usize::MAX, false)
        }
    }

    /// Whether the lost response happened (lost-response mode).
    pub fn lost(&self) -> bool {
        self.crash.lose.is_some() && self.writes() > self.crash.at
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
    run(crash.write(), op).await
}

async fn run<T>(step: Step, op: impl Future<Output = Result<T>>) -> Result<T> {
    match step {
        Step::Go => op.await,
        Step::GoThenDie => {
            op.await?;
            Err(crashed())
        }
        Step::Die => Err(crashed()),
        Step::GoThenLose | Step::GoTwice => {
            op.await?;
            Err(lost())
        }
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
        if self.no_conditional_put && matches!(opts.mode, object_store::PutMode::Create) {
            return Err(object_store::Error::NotImplemented {
                operation: "put_opts with PutMode::Create".to_string(),
                implementer: "FailingStore (no conditional put)".to_string(),
            });
        }
        match self.crash.write() {
            Step::GoTwice => {
                self.inner
                    .put_opts(location, payload.clone(), opts.clone())
                    .await?;
                self.inner.put_opts(location, payload, opts).await
            }
            step => run(step, self.inner.put_opts(location, payload, opts)).await,
        }
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
        Box::pin(run(step, part))
    }

    async fn complete(&mut self) -> Result<PutResult> {
        counted(&self.crash, self.inner.complete()).await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

/// A copy, in a new in-memory store, of everything in `from`: the state a
/// crash test starts from again for each crash point.
pub async fn copy_store(from: &Arc<dyn ObjectStore>) -> Result<Arc<dyn ObjectStore>> {
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    let to: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let metas: Vec<ObjectMeta> = from.list(None).try_collect().await?;
    for meta in metas {
        let bytes = from.get(&meta.location).await?.bytes().await?;
        to.put(&meta.location, bytes.into()).await?;
    }
    Ok(to)
}

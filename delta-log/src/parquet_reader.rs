//! An `AsyncFileReader` over an object store, so Parquet files (checkpoints
//! here, data files in `delta-io`) are read with ranged requests: the footer,
//! then only the column chunks a projection needs.
//!
//! The footer request fetches the last [`FOOTER_PREFETCH`] bytes of the file,
//! which hold the metadata of most files in one request; the reader keeps them,
//! so a file no larger than that is read whole with that one request.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataFetch, MetadataSuffixFetch};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

/// Bytes fetched from the end of a file for its footer.
pub const FOOTER_PREFETCH: u64 = 64 * 1024;

/// Reads one Parquet file of an object store.
#[derive(Debug, Clone)]
pub struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: Option<u64>,
    /// The end of the file, fetched with the footer.
    tail: Option<Tail>,
}

/// Bytes of a file from `start` on.
#[derive(Debug, Clone)]
struct Tail {
    start: u64,
    bytes: Bytes,
}

impl Tail {
    /// The bytes of `range` when they are all here.
    fn slice(&self, range: &Range<u64>) -> Option<Bytes> {
        let from = usize::try_from(range.start.checked_sub(self.start)?).ok()?;
        let to = usize::try_from(range.end.checked_sub(self.start)?).ok()?;
        (from <= to && to <= self.bytes.len()).then(|| self.bytes.slice(from..to))
    }
}

impl ObjectReader {
    /// A reader of `path`; `size` (when known) lets the footer be fetched with
    /// a plain ranged request.
    pub fn new(store: Arc<dyn ObjectStore>, path: Path, size: Option<u64>) -> Self {
        ObjectReader {
            store,
            path,
            size,
            tail: None,
        }
    }

    fn cached(&self, range: &Range<u64>) -> Option<Bytes> {
        self.tail.as_ref()?.slice(range)
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            if let Some(bytes) = self.cached(&range) {
                return Ok(bytes);
            }
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let missing: Vec<Range<u64>> = ranges
                .iter()
                .filter(|r| self.cached(r).is_none())
                .cloned()
                .collect();
            let mut fetched = if missing.is_empty() {
                Vec::new()
            } else {
                self.store
                    .get_ranges(&self.path, &missing)
                    .await
                    .map_err(external)?
            }
            .into_iter();
            ranges
                .iter()
                .map(|r| match self.cached(r) {
                    Some(bytes) => Ok(bytes),
                    None => fetched.next().ok_or_else(|| {
                        ParquetError::General(format!(
                            "the store returned fewer ranges than asked of '{}'",
                            self.path
                        ))
                    }),
                })
                .collect()
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let prefetch = usize::try_from(FOOTER_PREFETCH).ok();
            let reader = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(prefetch);
            let metadata = match self.size {
                Some(size) => {
                    if self.tail.is_none() {
                        let start = size.saturating_sub(FOOTER_PREFETCH);
                        let bytes = self
                            .store
                            .get_range(&self.path, start..size)
                            .await
                            .map_err(external)?;
                        self.tail = Some(Tail { start, bytes });
                    }
                    reader.load_and_finish(self, size).await?
                }
                // the suffix request keeps the tail and learns the size
                None => reader.load_via_suffix_and_finish(self).await?,
            };
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ObjectReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let options = GetOptions {
                range: Some(GetRange::Suffix(suffix as u64)),
                ..Default::default()
            };
            let result = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(external)?;
            let (start, size) = (result.range.start, result.meta.size);
            let bytes = result.bytes().await.map_err(external)?;
            self.size = Some(size);
            self.tail = Some(Tail {
                start,
                bytes: bytes.clone(),
            });
            Ok(bytes)
        }
        .boxed()
    }
}

// `MetadataSuffixFetch` requires `MetadataFetch`, which parquet provides for
// `&mut T` where `T: AsyncFileReader`.
const _: fn() = || {
    fn assert_fetch<T: MetadataFetch>() {}
    assert_fetch::<&mut ObjectReader>();
};

/// The Arrow view of a file's Parquet metadata, read with `options`, where
/// a damaged Arrow schema in the footer (the `ARROW:schema` key) is an
/// error rather than a panic: arrow-ipc panics on some malformed schemas,
/// so it is decoded apart, and a panic there becomes
/// [`ParquetError::General`]. Load the metadata with
/// `with_skip_arrow_metadata(true)` first, then call this.
pub fn arrow_metadata_guarded(
    metadata: Arc<ParquetMetaData>,
    options: ArrowReaderOptions,
) -> Result<parquet::arrow::arrow_reader::ArrowReaderMetadata, ParquetError> {
    use parquet::arrow::arrow_reader::ArrowReaderMetadata;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ArrowReaderMetadata::try_new(metadata, options)
    }))
    .unwrap_or_else(|_| {
        Err(ParquetError::General(
            "the Arrow schema in the file's footer (ARROW:schema) is damaged".to_string(),
        ))
    })
}

/// `batches` (a Parquet decoder's stream), where a panic of the decoder
/// (it panics on some damaged pages) ends the stream with
/// [`ParquetError::General`] instead of unwinding through the caller.
pub fn panic_safe<T, S>(batches: S) -> impl futures::Stream<Item = Result<T, ParquetError>> + Send
where
    S: futures::Stream<Item = Result<T, ParquetError>> + Send,
{
    use futures::StreamExt;
    std::panic::AssertUnwindSafe(batches)
        .catch_unwind()
        .map(|item| match item {
            Ok(item) => item,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string());
                Err(ParquetError::General(format!(
                    "the data is damaged (the Parquet decoder failed: {what})"
                )))
            }
        })
}

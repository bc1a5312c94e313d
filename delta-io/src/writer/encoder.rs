//! The Parquet encoding of one data file, its columns encoded on several
//! cores at once.
//!
//! The leaf columns are split into groups of about equal input size (by the
//! file's first batch); the calling thread encodes the first group and a
//! worker thread of the file each other group, all at once, batch by batch.
//! The file is byte for byte what a single-threaded writer makes of the same
//! row groups. Files whose first batch is small are encoded on the calling
//! thread alone. Row groups
//! close at the row and byte limits of the writer properties, as arrow-rs's
//! `ArrowWriter` closes them.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

use super::upload::Chunks;

/// A file whose first batch has fewer rows is encoded on the calling thread alone.
const PARALLEL_MIN_ROWS: usize = 4096;

/// Why [`Encoder::write`] failed: encoding, or what ran alongside it.
#[derive(Debug)]
pub(crate) enum Written<E> {
    /// The Parquet encoder failed.
    Parquet(ParquetError),
    /// The work given to run alongside failed.
    Alongside(E),
}

/// A worker thread's share of a row group's columns: it owns their
/// writers while the row group is open.
enum Job {
    /// The writers of a new row group: (leaf index, writer).
    Start(Vec<(usize, ArrowColumnWriter)>),
    /// Leaves to encode, in the order of the writers.
    Encode(Vec<ArrowLeafColumn>),
    /// Close the writers and send their chunks back.
    Close,
}

/// What a worker answers.
enum Reply {
    /// Encoded; the estimated encoded bytes of its writers.
    Encoded(Result<usize>),
    /// The closed chunks: (leaf index, chunk).
    Closed(Result<Vec<(usize, ArrowColumnChunk)>>),
}

/// A thread encoding some of the columns.
struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
    replies: std::sync::mpsc::Receiver<Reply>,
    /// Its leaf indices, in order.
    leaves: Vec<usize>,
    /// Estimated encoded bytes after its last batch.
    bytes: usize,
}

impl Worker {
    fn spawn(leaves: Vec<usize>) -> std::io::Result<Worker> {
        let (jobs, job_rx) = std::sync::mpsc::channel::<Job>();
        let (reply_tx, replies) = std::sync::mpsc::channel::<Reply>();
        std::thread::Builder::new()
            .name("delta-parquet-encoder".into())
            .spawn(move || {
                let mut writers: Vec<(usize, ArrowColumnWriter)> = Vec::new();
                for job in job_rx {
                    let reply = match job {
                        Job::Start(w) => {
                            writers = w;
                            continue;
                        }
                        Job::Encode(leaves) => Reply::Encoded(
                            writers
                                .iter_mut()
                                .zip(&leaves)
                                .try_for_each(|((_, w), leaf)| w.write(leaf))
                                .map(|()| {
                                    writers
                                        .iter()
                                        .map(|(_, w)| w.get_estimated_total_bytes())
                                        .sum()
                                }),
                        ),
                        Job::Close => Reply::Closed(
                            std::mem::take(&mut writers)
                                .into_iter()
                                .map(|(i, w)| w.close().map(|c| (i, c)))
                                .collect(),
                        ),
                    };
                    if reply_tx.send(reply).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Worker {
            jobs,
            replies,
            leaves,
            bytes: 0,
        })
    }

    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| ParquetError::General("a column encoder thread stopped".into()))
    }

    fn reply(&self) -> Result<Reply> {
        self.replies
            .recv()
            .map_err(|_| ParquetError::General("a column encoder thread stopped".into()))
    }
}

/// The row group being encoded.
struct RowGroup {
    /// The writers of the leaf columns this thread encodes: (leaf index, writer).
    writers: Vec<(usize, ArrowColumnWriter)>,
    rows: usize,
}

/// One file's encoder; its output collects in [`Chunks`].
pub(crate) struct Encoder {
    file: SerializedFileWriter<Chunks>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    max_rows: usize,
    max_bytes: usize,
    /// How many threads encode a batch's columns.
    threads: usize,
    /// The threads that encode the other columns, started by the first batch.
    workers: Option<Vec<Worker>>,
    current: Option<RowGroup>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("threads", &self.threads)
            .field("bytes_written", &self.file.bytes_written())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder of batches of `schema` with these properties, on up to
    /// `threads` threads.
    pub(crate) fn try_new(
        schema: SchemaRef,
        properties: WriterProperties,
        threads: usize,
    ) -> Result<Encoder> {
        let max_rows = properties
            .max_row_group_row_count()
            .unwrap_or(usize::MAX)
            .max(1);
        let max_bytes = properties
            .max_row_group_bytes()
            .unwrap_or(usize::MAX)
            .max(1);
        let writer = ArrowWriter::try_new(Chunks::default(), schema.clone(), Some(properties))?;
        let (file, factory) = writer.into_serialized_writer()?;
        Ok(Encoder {
            file,
            factory,
            schema,
            max_rows,
            max_bytes,
            threads: threads.max(1),
            workers: None,
            current: None,
        })
    }

    /// Estimated encoded bytes of the row group in progress.
    fn row_group_bytes(&self) -> usize {
        let mine: usize = self.current.as_ref().map_or(0, |rg| {
            rg.writers
                .iter()
                .map(|(_, w)| w.get_estimated_total_bytes())
                .sum()
        });
        let theirs: usize = self.workers.iter().flatten().map(|w| w.bytes).sum();
        mine + theirs
    }

    /// Bytes of the file so far: written row groups and an estimate of the
    /// one in progress.
    pub(crate) fn size(&self) -> usize {
        self.file.bytes_written() + self.row_group_bytes()
    }

    /// The encoded bytes in full blocks, taken out.
    pub(crate) fn take_full(&mut self) -> Vec<Bytes> {
        self.file.inner_mut().take_full()
    }

    /// Encodes a batch, closing row groups at the limits, and returns how
    /// many of its rows it took: all of them, unless the file reached
    /// `target` bytes at a row-group boundary (the file has a row group, and
    /// one more like its last would pass the target), so that files end
    /// with whole row groups. `alongside` runs on the calling thread once,
    /// while the workers encode their columns.
    pub(crate) fn write<E>(
        &mut self,
        batch: &RecordBatch,
        target: usize,
        alongside: impl FnOnce() -> std::result::Result<(), E>,
    ) -> std::result::Result<usize, Written<E>> {
        let mut alongside = Some(alongside);
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            if self.full(target) {
                break;
            }
            let rows = self.current.as_ref().map_or(0, |rg| rg.rows);
            let mut take = rest.num_rows().min(self.max_rows - rows);
            // the byte limit, from the average encoded row so far
            let bytes = self.row_group_bytes();
            if let Some(per_row) = bytes.checked_div(rows) {
                if bytes >= self.max_bytes {
                    self.close_row_group().map_err(Written::Parquet)?;
                    continue;
                }
                take = take.min(((self.max_bytes - bytes) / per_row.max(1)).max(1));
            }
            let part = rest.slice(0, take);
            rest = rest.slice(take, rest.num_rows() - take);
            let mut side = Ok(());
            self.encode(&part, || {
                if let Some(f) = alongside.take() {
                    side = f();
                }
            })
            .map_err(Written::Parquet)?;
            side.map_err(Written::Alongside)?;
            let rows = self.current.as_ref().map_or(0, |rg| rg.rows);
            if rows >= self.max_rows || self.row_group_bytes() >= self.max_bytes {
                self.close_row_group().map_err(Written::Parquet)?;
            }
        }
        if let Some(f) = alongside {
            f().map_err(Written::Alongside)?;
        }
        Ok(batch.num_rows() - rest.num_rows())
    }

    /// Whether the file should end inside its first row group: it has no
    /// whole row group yet and its bytes (with the estimate of the one in
    /// progress) reach `target`. (A file with whole row groups ends between
    /// them, see [`Encoder::write`].)
    pub(crate) fn past(&self, target: usize) -> bool {
        self.file.flushed_row_groups().is_empty() && self.size() >= target
    }

    /// Whether the file is between row groups and one more like its last
    /// would take it past `target` bytes.
    fn full(&self, target: usize) -> bool {
        self.current.is_none()
            && self.file.flushed_row_groups().last().is_some_and(|last| {
                let last = usize::try_from(last.compressed_size()).unwrap_or(usize::MAX);
                self.file.bytes_written().saturating_add(last) > target
            })
    }

    /// Writes the last row group and the footer; returns the file's size and
    /// its remaining bytes.
    pub(crate) fn finish(&mut self) -> Result<(usize, Vec<Bytes>)> {
        self.close_row_group()?;
        self.file.finish()?;
        Ok((self.file.bytes_written(), self.file.inner_mut().take_all()))
    }

    /// Starts the workers for the other columns, the first time: only for
    /// files whose first batch is large enough to be worth it.
    fn start_workers(&mut self, batch: &RecordBatch, leaves: usize) {
        self.workers.get_or_insert_with(|| {
            if self.threads < 2 || leaves < 2 || batch.num_rows() < PARALLEL_MIN_ROWS {
                return Vec::new();
            }
            let groups = balance(&leaves_weights(batch), self.threads);
            (1..self.threads)
                .filter_map(|g| {
                    let mine: Vec<usize> = (0..leaves).filter(|&i| groups[i] == g).collect();
                    // a thread that cannot start leaves its columns here
                    (!mine.is_empty())
                        .then(|| Worker::spawn(mine).ok())
                        .flatten()
                })
                .collect()
        });
    }

    fn encode(&mut self, batch: &RecordBatch, alongside: impl FnOnce()) -> Result<()> {
        let mut leaves: Vec<Option<ArrowLeafColumn>> = Vec::new();
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column)?.into_iter().map(Some));
        }
        self.start_workers(batch, leaves.len());
        let workers = self.workers.as_deref().unwrap_or_default();
        if self.current.is_none() {
            let index = self.file.flushed_row_groups().len();
            let mut writers: Vec<Option<ArrowColumnWriter>> = self
                .factory
                .create_column_writers(index)?
                .into_iter()
                .map(Some)
                .collect();
            for worker in workers {
                let theirs = worker
                    .leaves
                    .iter()
                    .filter_map(|&i| writers.get_mut(i)?.take().map(|w| (i, w)))
                    .collect();
                worker.send(Job::Start(theirs))?;
            }
            let mine = writers
                .into_iter()
                .enumerate()
                .filter_map(|(i, w)| w.map(|w| (i, w)))
                .collect();
            self.current = Some(RowGroup {
                writers: mine,
                rows: 0,
            });
        }
        for worker in workers {
            let theirs = worker
                .leaves
                .iter()
                .filter_map(|&i| leaves.get_mut(i)?.take())
                .collect();
            worker.send(Job::Encode(theirs))?;
        }
        alongside();
        let Some(rg) = self.current.as_mut() else {
            return Err(ParquetError::General("no row group in progress".into()));
        };
        rg.rows += batch.num_rows();
        let mut result = Ok(());
        for (i, writer) in rg.writers.iter_mut() {
            if let Some(leaf) = leaves.get(*i).and_then(Option::as_ref) {
                result = result.and_then(|()| writer.write(leaf));
            }
        }
        // every worker answers, even after an error here
        for worker in self.workers.iter_mut().flatten() {
            match worker.reply()? {
                Reply::Encoded(Ok(bytes)) => worker.bytes = bytes,
                Reply::Encoded(Err(e)) => result = result.and(Err(e)),
                Reply::Closed(_) => {
                    result = result.and(Err(ParquetError::General(
                        "a column encoder answered out of turn".into(),
                    )));
                }
            }
        }
        result
    }

    fn close_row_group(&mut self) -> Result<()> {
        let Some(rg) = self.current.take() else {
            return Ok(());
        };
        let workers = self.workers.as_deref().unwrap_or_default();
        for worker in workers {
            worker.send(Job::Close)?;
        }
        let mut chunks: Vec<(usize, ArrowColumnChunk)> = rg
            .writers
            .into_iter()
            .map(|(i, w)| w.close().map(|c| (i, c)))
            .collect::<Result<_>>()?;
        for worker in self.workers.iter_mut().flatten() {
            worker.bytes = 0;
            match worker.reply()? {
                Reply::Closed(closed) => chunks.extend(closed?),
                Reply::Encoded(_) => {
                    return Err(ParquetError::General(
                        "a column encoder answered out of turn".into(),
                    ));
                }
            }
        }
        chunks.sort_by_key(|(i, _)| *i);
        let mut row_group = self.file.next_row_group()?;
        for (_, chunk) in chunks {
            chunk.append_to_row_group(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }
}

/// The input size of each leaf column of a batch (a nested column's size
/// is split evenly between its leaves).
fn leaves_weights(batch: &RecordBatch) -> Vec<usize> {
    let mut weights = Vec::new();
    for column in batch.columns() {
        let leaves = leaf_count(column.data_type());
        let size = column.get_array_memory_size();
        weights.extend(std::iter::repeat_n(size / leaves.max(1), leaves));
    }
    weights
}

/// Number of Parquet leaf columns of an Arrow type.
fn leaf_count(data_type: &arrow::datatypes::DataType) -> usize {
    use arrow::datatypes::DataType;
    match data_type {
        DataType::Struct(fields) => fields.iter().map(|f| leaf_count(f.data_type())).sum(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaf_count(f.data_type()),
        DataType::Dictionary(_, value) => leaf_count(value),
        _ => 1,
    }
}

/// Assigns weighted items to `groups` groups, heaviest first to the
/// lightest group: the group of each item, in item order.
fn balance(weights: &[usize], groups: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weights[i]));
    let mut load = vec![0usize; groups.max(1)];
    let mut group = vec![0; weights.len()];
    for i in order {
        let lightest = (0..load.len()).min_by_key(|&g| load[g]).unwrap_or(0);
        load[lightest] += weights[i];
        group[i] = lightest;
    }
    group
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn batch(from: i64, rows: usize) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows as i64));
        let names: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..rows).map(|i| format!("name-{}", i % 97)),
        ));
        let inner = StructArray::from(vec![
            (
                Arc::new(Field::new("a", DataType::Int64, true)),
                Arc::clone(&ids),
            ),
            (
                Arc::new(Field::new("b", DataType::Utf8, true)),
                Arc::clone(&names),
            ),
        ]);
        RecordBatch::try_from_iter([
            ("id", ids),
            ("name", names),
            ("s", Arc::new(inner) as ArrayRef),
        ])
        .unwrap()
    }

    fn encode(threads: usize, batches: &[RecordBatch], props: WriterProperties) -> Bytes {
        let mut encoder = Encoder::try_new(batches[0].schema(), props, threads).unwrap();
        let mut out: Vec<Bytes> = Vec::new();
        for b in batches {
            let took = encoder.write(b, usize::MAX, || Ok::<(), ()>(())).unwrap();
            assert_eq!(took, b.num_rows());
            out.extend(encoder.take_full());
        }
        let (size, rest) = encoder.finish().unwrap();
        out.extend(rest);
        let bytes: Vec<u8> = out.iter().flat_map(|b| b.to_vec()).collect();
        assert_eq!(bytes.len(), size);
        Bytes::from(bytes)
    }

    #[test]
    fn threads_change_nothing_in_the_file() {
        let batches: Vec<RecordBatch> = (0..5).map(|i| batch(i * 5000, 5000)).collect();
        let props = || {
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(7000))
                .build()
        };
        let one = encode(1, &batches, props());
        let three = encode(3, &batches, props());
        assert!(one == three, "the same bytes on one thread and three");
        // and the rows read back, in row groups of at most 7000 rows
        let reader = ParquetRecordBatchReaderBuilder::try_new(three).unwrap();
        let groups: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| rg.num_rows())
            .collect();
        assert_eq!(groups, [7000, 7000, 7000, 4000]);
        let back: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let schema = Arc::new(Schema::clone(&batches[0].schema()));
        let all = arrow::compute::concat_batches(&schema, &batches).unwrap();
        let read = arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
        assert_eq!(read.columns(), all.columns());
    }

    #[test]
    fn row_groups_close_at_the_byte_limit() {
        let batches: Vec<RecordBatch> = (0..4).map(|i| batch(i * 20_000, 20_000)).collect();
        let props = WriterProperties::builder()
            .set_max_row_group_bytes(Some(100_000))
            .build();
        let file = encode(2, &batches, props);
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let groups = reader.metadata().row_groups();
        assert!(groups.len() > 2, "{} row groups", groups.len());
        let rows: i64 = groups.iter().map(|rg| rg.num_rows()).sum();
        assert_eq!(rows, 80_000);
    }

    #[test]
    fn a_full_file_stops_at_a_row_group_boundary() {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(3000))
            .build();
        let mut encoder = Encoder::try_new(batch(0, 1).schema(), props, 2).unwrap();
        // the first row group closes at 3000 rows; a second like it would
        // pass a target just above the first one's size
        let took = encoder
            .write(&batch(0, 3000), usize::MAX, || Ok::<(), ()>(()))
            .unwrap();
        assert_eq!(took, 3000);
        let target = encoder.size() + 100;
        let mut ran = false;
        let took = encoder
            .write(&batch(3000, 5000), target, || {
                ran = true;
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(took, 0);
        assert!(ran, "the work alongside runs even when no row is taken");
        // without a target the rows go in
        let took = encoder
            .write(&batch(3000, 5000), usize::MAX, || Ok::<(), ()>(()))
            .unwrap();
        assert_eq!(took, 5000);
    }

    #[test]
    fn heavy_columns_are_spread() {
        assert_eq!(balance(&[10, 1, 9, 1], 2), [0, 1, 1, 0]);
        assert_eq!(balance(&[5], 3), [0]);
        assert_eq!(leaf_count(batch(0, 1).column(2).data_type()), 2);
    }
}

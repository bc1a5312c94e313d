//! The source rows of a MERGE: kept in memory when they fit the memory
//! budget; otherwise spilled to local Arrow IPC files, split by a hash of
//! their join keys into [`PARTITIONS`] partitions, and joined in passes that
//! each hold only the partitions that fit the budget together. A target row
//! takes part in the pass that holds its key's partition, so every pair of
//! rows with equal keys meets in exactly one pass.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::FileWriter;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::MergeError;

/// How many partitions a spilled source is split into.
pub const PARTITIONS: usize = 64;

/// The memory budget of a MERGE's source side when none is given: 1 GiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 1 << 30;

/// Where a MERGE's rows come from.
pub enum MergeSource {
    /// Batches already in memory.
    Batches(Vec<RecordBatch>),
    /// Batches read as the merge goes (a file, another table's scan...).
    Stream(BoxStream<'static, Result<RecordBatch, MergeError>>),
}

impl std::fmt::Debug for MergeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeSource::Batches(b) => write!(f, "Batches({} batches)", b.len()),
            MergeSource::Stream(_) => write!(f, "Stream"),
        }
    }
}

/// The source after reading it: all in memory, or spilled in partitions.
pub(crate) enum Gathered {
    InMemory(Vec<RecordBatch>),
    Spilled(Spill),
}

impl Gathered {
    /// The passes of the join: for each, the partitions it holds (`None`:
    /// everything, in one pass).
    pub fn passes(&self) -> Vec<Option<Vec<usize>>> {
        match self {
            Gathered::InMemory(_) => vec![None],
            Gathered::Spilled(spill) => spill.passes.iter().cloned().map(Some).collect(),
        }
    }

    /// The source rows of one pass.
    pub fn rows(&self, pass: Option<&[usize]>) -> Result<Vec<RecordBatch>, MergeError> {
        match (self, pass) {
            (Gathered::InMemory(batches), _) => Ok(batches.clone()),
            (Gathered::Spilled(spill), Some(parts)) => spill.load(parts),
            (Gathered::Spilled(spill), None) => spill.load(&(0..PARTITIONS).collect::<Vec<_>>()),
        }
    }
}

/// Partitions of the source in files of a private directory, removed when
/// this is dropped.
pub(crate) struct Spill {
    dir: PathBuf,
    files: Vec<PathBuf>,
    /// Partitions per pass, each pass within the budget (a partition larger
    /// than the budget is a pass of its own).
    passes: Vec<Vec<usize>>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Spill {
    fn load(&self, parts: &[usize]) -> Result<Vec<RecordBatch>, MergeError> {
        let mut out = Vec::new();
        for &p in parts {
            let path = &self.files[p];
            if !path.exists() {
                continue;
            }
            let file = File::open(path).map_err(|e| spill_error(path, e))?;
            for batch in FileReader::try_new(file, None)? {
                out.push(batch?);
            }
        }
        Ok(out)
    }
}

fn spill_error(path: &Path, error: impl std::fmt::Display) -> MergeError {
    MergeError::Spill {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// Reads the source, showing every batch to `observe` once; once what is
/// held passes `budget` bytes, everything goes to partition files under
/// `spill_dir` instead, each row to the partition `partitions` gives it.
pub(crate) async fn gather(
    source: MergeSource,
    schema: &SchemaRef,
    budget: usize,
    spill_dir: &Path,
    mut observe: impl FnMut(&RecordBatch) -> Result<(), MergeError>,
    partitions: impl Fn(&RecordBatch) -> Result<Vec<u8>, MergeError>,
) -> Result<Gathered, MergeError> {
    let mut stream = match source {
        MergeSource::Batches(batches) => futures::stream::iter(batches.into_iter().map(Ok)).boxed(),
        MergeSource::Stream(stream) => stream,
    };
    let mut held = Vec::new();
    let mut held_bytes = 0usize;
    let mut spill: Option<Spilling> = None;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        // every batch in the source's schema (as concatenating needs)
        let fits = batch.num_columns() == schema.fields().len()
            && batch
                .columns()
                .iter()
                .zip(schema.fields())
                .all(|(c, f)| c.data_type() == f.data_type());
        if !fits {
            return Err(MergeError::Invalid {
                operation: "MERGE",
                reason: format!(
                    "a source batch has the schema {:?}, not the source schema {:?}",
                    batch.schema(),
                    schema
                ),
            });
        }
        observe(&batch)?;
        match &mut spill {
            Some(s) => s.write(&batch, &partitions(&batch)?)?,
            None => {
                held_bytes += batch.get_array_memory_size();
                held.push(batch);
                if held_bytes > budget {
                    let mut s = Spilling::new(spill_dir, schema)?;
                    for b in held.drain(..) {
                        s.write(&b, &partitions(&b)?)?;
                    }
                    spill = Some(s);
                }
            }
        }
    }
    match spill {
        None => Ok(Gathered::InMemory(held)),
        Some(s) => Ok(Gathered::Spilled(s.finish(budget)?)),
    }
}

/// A spill being written.
struct Spilling {
    spill: Spill,
    schema: SchemaRef,
    writers: Vec<Option<FileWriter<File>>>,
    bytes: Vec<usize>,
}

impl Spilling {
    fn new(spill_dir: &Path, schema: &SchemaRef) -> Result<Spilling, MergeError> {
        let dir = spill_dir.join(format!("delta-merge-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| spill_error(&dir, e))?;
        let files = (0..PARTITIONS)
            .map(|p| dir.join(format!("part-{p}.arrow")))
            .collect();
        Ok(Spilling {
            spill: Spill {
                dir,
                files,
                passes: Vec::new(),
            },
            schema: schema.clone(),
            writers: (0..PARTITIONS).map(|_| None).collect(),
            bytes: vec![0; PARTITIONS],
        })
    }

    fn write(&mut self, batch: &RecordBatch, partitions: &[u8]) -> Result<(), MergeError> {
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); PARTITIONS];
        for (i, p) in partitions.iter().enumerate() {
            rows[usize::from(*p)].push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        for (p, indices) in rows.into_iter().enumerate() {
            if indices.is_empty() {
                continue;
            }
            let indices = UInt32Array::from(indices);
            let columns = batch
                .columns()
                .iter()
                .map(|c| take(c, &indices, None))
                .collect::<Result<Vec<_>, _>>()?;
            let part = RecordBatch::try_new(self.schema.clone(), columns)?;
            self.bytes[p] += part.get_array_memory_size();
            let path = &self.spill.files[p];
            let writer = match &mut self.writers[p] {
                Some(w) => w,
                slot => {
                    let file = File::create(path).map_err(|e| spill_error(path, e))?;
                    slot.insert(FileWriter::try_new(file, &self.schema)?)
                }
            };
            writer.write(&part)?;
        }
        Ok(())
    }

    fn finish(mut self, budget: usize) -> Result<Spill, MergeError> {
        for w in self.writers.iter_mut().flatten() {
            w.finish()?;
        }
        // consecutive partitions into passes of at most `budget` bytes;
        // every partition is in a pass, also those without source rows
        // (their target rows meet the NOT MATCHED BY SOURCE clauses)
        let mut passes: Vec<Vec<usize>> = Vec::new();
        let mut current = 0usize;
        for (p, &bytes) in self.bytes.iter().enumerate() {
            match passes.last_mut() {
                Some(pass) if bytes == 0 || current + bytes <= budget => {
                    pass.push(p);
                    current += bytes;
                }
                _ => {
                    passes.push(vec![p]);
                    current = bytes;
                }
            }
        }
        self.spill.passes = passes;
        Ok(self.spill)
    }
}

//! The active files of a table state, kept lean: a table of a million files
//! holds a million of them in memory, so each is a few fixed-size fields,
//! its path and statistics as text in shared chunks, and an index into the
//! table's distinct partition values. Fields most files lack (deletion
//! vector, tags, row tracking, clustering) are boxed apart.
//!
//! [`ActiveFiles`] is filled from [`Add`] actions and read through
//! [`ActiveFile`] views; [`ActiveFile::to_add`] rebuilds the action.

use std::collections::HashMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use crate::actions::{Add, DeletionVectorDescriptor, FileKey, PartitionValues, Remove};

/// Bytes per text chunk. Chunks are never reallocated, so a growing file
/// list does not hold an old and a new copy of its texts at once.
const CHUNK_BYTES: usize = 1 << 20;

/// Where one text is: chunk, start and length in bytes.
#[derive(Debug, Clone, Copy)]
struct Span {
    chunk: u32,
    start: u32,
    len: u32,
}

/// Texts stored end to end in chunks. Full chunks are shared between clones.
#[derive(Debug, Clone, Default)]
struct Texts {
    full: Vec<Arc<String>>,
    open: String,
}

impl Texts {
    fn push(&mut self, text: &str) -> Span {
        if self.open.len() + text.len() > self.open.capacity() {
            if !self.open.is_empty() {
                let full = std::mem::take(&mut self.open);
                self.full.push(Arc::new(full));
            }
            self.open = String::with_capacity(CHUNK_BYTES.max(text.len()));
        }
        let start = self.open.len();
        self.open.push_str(text);
        // a chunk holds at most max(CHUNK_BYTES, one text) bytes, and a text
        // is a path or JSON statistics: both far below 4 GiB
        Span {
            chunk: u32::try_from(self.full.len()).unwrap_or(u32::MAX),
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(text.len()).unwrap_or(u32::MAX),
        }
    }

    fn get(&self, span: Span) -> &str {
        let chunk = match self.full.get(span.chunk as usize) {
            Some(full) => full.as_str(),
            None => self.open.as_str(),
        };
        &chunk[span.start as usize..(span.start + span.len) as usize]
    }

    /// Bytes held, live or not.
    fn stored(&self) -> usize {
        self.full.iter().map(|c| c.len()).sum::<usize>() + self.open.len()
    }
}

/// The fields of an `add` that most files do not have.
#[derive(Debug, Clone, PartialEq)]
struct Rare {
    tags: Option<HashMap<String, Option<String>>>,
    deletion_vector: Option<DeletionVectorDescriptor>,
    base_row_id: Option<i64>,
    default_row_commit_version: Option<i64>,
    clustering_provider: Option<String>,
}

impl Rare {
    fn of(add: &Add) -> Option<Box<Rare>> {
        let rare = Rare {
            tags: add.tags.clone(),
            deletion_vector: add.deletion_vector.clone(),
            base_row_id: add.base_row_id,
            default_row_commit_version: add.default_row_commit_version,
            clustering_provider: add.clustering_provider.clone(),
        };
        (rare != Rare::NONE).then(|| Box::new(rare))
    }

    const NONE: Rare = Rare {
        tags: None,
        deletion_vector: None,
        base_row_id: None,
        default_row_commit_version: None,
        clustering_provider: None,
    };
}

/// One file's fixed-size part.
#[derive(Debug, Clone)]
struct Entry {
    path: Span,
    stats: Option<Span>,
    size: i64,
    modification_time: i64,
    partition: u32,
    data_change: bool,
    rare: Option<Box<Rare>>,
}

/// The distinct partition-value maps of a file list, each stored once.
#[derive(Debug, Clone, Default)]
struct PartitionSets {
    sets: Vec<Arc<PartitionValues>>,
    /// Index of a set by the hash of its sorted entries.
    by_hash: HashMap<u64, u32>,
}

impl PartitionSets {
    fn intern(&mut self, values: &PartitionValues) -> u32 {
        let mut entries: Vec<_> = values.iter().collect();
        entries.sort_unstable();
        let mut hasher = DefaultHasher::new();
        entries.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some(&i) = self.by_hash.get(&hash)
            && *self.sets[i as usize] == *values
        {
            return i;
        }
        // a hash collision only costs a second copy of the set
        let i = u32::try_from(self.sets.len()).unwrap_or(u32::MAX);
        self.sets.push(Arc::new(values.clone()));
        self.by_hash.entry(hash).or_insert(i);
        i
    }
}

/// The active files of a table at one version, in replay order.
#[derive(Clone, Default)]
pub struct ActiveFiles {
    entries: Vec<Entry>,
    texts: Texts,
    partitions: PartitionSets,
}

impl ActiveFiles {
    /// No files.
    pub fn new() -> Self {
        ActiveFiles::default()
    }

    /// Number of files.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no files.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the file of an `add` action.
    pub fn push(&mut self, add: &Add) {
        let path = self.texts.push(&add.path);
        let stats = add.stats.as_deref().map(|s| self.texts.push(s));
        let partition = self.partitions.intern(&add.partition_values);
        self.entries.push(Entry {
            path,
            stats,
            size: add.size,
            modification_time: add.modification_time,
            partition,
            data_change: add.data_change,
            rare: Rare::of(add),
        });
    }

    /// The file at `index`.
    pub fn get(&self, index: usize) -> Option<ActiveFile<'_>> {
        self.entries
            .get(index)
            .map(|entry| ActiveFile { files: self, entry })
    }

    /// The files in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = ActiveFile<'_>> + '_ {
        self.entries
            .iter()
            .map(|entry| ActiveFile { files: self, entry })
    }

    /// Keeps the files for which `keep` is true. The texts of dropped files
    /// are let go once they are most of what is stored.
    pub fn retain(&mut self, mut keep: impl FnMut(ActiveFile<'_>) -> bool) {
        let keep: Vec<bool> = self.iter().map(&mut keep).collect();
        let mut flags = keep.iter();
        self.entries
            .retain(|_| flags.next().copied().unwrap_or(true));
        let live: usize = self
            .entries
            .iter()
            .map(|e| (e.path.len + e.stats.map_or(0, |s| s.len)) as usize)
            .sum();
        if live < self.texts.stored() / 2 {
            *self = self.iter().map(|f| f.to_add()).collect();
        }
    }
}

impl Extend<Add> for ActiveFiles {
    fn extend<T: IntoIterator<Item = Add>>(&mut self, adds: T) {
        for add in adds {
            self.push(&add);
        }
    }
}

impl FromIterator<Add> for ActiveFiles {
    fn from_iter<T: IntoIterator<Item = Add>>(adds: T) -> Self {
        let mut files = ActiveFiles::new();
        files.extend(adds);
        files
    }
}

impl<'a> IntoIterator for &'a ActiveFiles {
    type Item = ActiveFile<'a>;
    type IntoIter = Box<dyn ExactSizeIterator<Item = ActiveFile<'a>> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl fmt::Debug for ActiveFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One active file: a view into [`ActiveFiles`].
#[derive(Clone, Copy)]
pub struct ActiveFile<'a> {
    files: &'a ActiveFiles,
    entry: &'a Entry,
}

impl<'a> ActiveFile<'a> {
    /// URL-encoded path, relative to the table root or absolute.
    pub fn path(&self) -> &'a str {
        self.files.texts.get(self.entry.path)
    }

    /// Size in bytes.
    pub fn size(&self) -> i64 {
        self.entry.size
    }

    /// Modification time in milliseconds since the epoch.
    pub fn modification_time(&self) -> i64 {
        self.entry.modification_time
    }

    /// `dataChange` of the action that added the file.
    pub fn data_change(&self) -> bool {
        self.entry.data_change
    }

    /// Statistics as JSON text.
    pub fn stats(&self) -> Option<&'a str> {
        self.entry.stats.map(|s| self.files.texts.get(s))
    }

    /// Partition values.
    pub fn partition_values(&self) -> &'a PartitionValues {
        &self.files.partitions.sets[self.entry.partition as usize]
    }

    fn rare(&self) -> &'a Rare {
        self.entry.rare.as_deref().unwrap_or(&Rare::NONE)
    }

    /// The file's deletion vector.
    pub fn deletion_vector(&self) -> Option<&'a DeletionVectorDescriptor> {
        self.rare().deletion_vector.as_ref()
    }

    /// Free-form tags.
    pub fn tags(&self) -> Option<&'a HashMap<String, Option<String>>> {
        self.rare().tags.as_ref()
    }

    /// Row tracking: id of the file's first row.
    pub fn base_row_id(&self) -> Option<i64> {
        self.rare().base_row_id
    }

    /// Row tracking: commit version of rows without one.
    pub fn default_row_commit_version(&self) -> Option<i64> {
        self.rare().default_row_commit_version
    }

    /// Clustering implementation that wrote the file.
    pub fn clustering_provider(&self) -> Option<&'a str> {
        self.rare().clustering_provider.as_deref()
    }

    /// The key that reconciliation uses: path and deletion-vector id.
    pub fn file_key(&self) -> FileKey {
        FileKey::new(self.path(), self.deletion_vector())
    }

    /// `numRecords` from the stats (see [`Add::num_records`]).
    pub fn num_records(&self) -> Option<u64> {
        crate::actions::num_records(self.stats()?)
    }

    /// Rows that are live (see [`Add::live_records`]).
    pub fn live_records(&self) -> Option<u64> {
        crate::actions::live_records(self.num_records()?, self.deletion_vector())
    }

    /// The `remove` action that takes the file out of the table at
    /// `deletion_timestamp` (ms since the epoch), with `dataChange` and the
    /// extended file metadata (partition values, size), without statistics.
    pub fn to_remove(&self, deletion_timestamp: i64) -> Remove {
        let rare = self.rare();
        Remove {
            path: self.path().to_string(),
            deletion_timestamp: Some(deletion_timestamp),
            data_change: true,
            extended_file_metadata: Some(true),
            partition_values: Some(self.partition_values().clone()),
            size: Some(self.size()),
            stats: None,
            tags: rare.tags.clone(),
            deletion_vector: rare.deletion_vector.clone(),
            base_row_id: rare.base_row_id,
            default_row_commit_version: rare.default_row_commit_version,
        }
    }

    /// The `add` action of the file.
    pub fn to_add(&self) -> Add {
        let rare = self.rare();
        Add {
            path: self.path().to_string(),
            partition_values: self.partition_values().clone(),
            size: self.size(),
            modification_time: self.modification_time(),
            data_change: self.data_change(),
            stats: self.stats().map(str::to_string),
            tags: rare.tags.clone(),
            deletion_vector: rare.deletion_vector.clone(),
            base_row_id: rare.base_row_id,
            default_row_commit_version: rare.default_row_commit_version,
            clustering_provider: rare.clustering_provider.clone(),
        }
    }
}

impl fmt::Debug for ActiveFile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_add(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(i: usize, part: &str) -> Add {
        Add {
            path: format!("part={part}/f{i}.parquet"),
            partition_values: [("part".to_string(), Some(part.to_string()))].into(),
            size: i as i64,
            modification_time: 7,
            data_change: i.is_multiple_of(2),
            stats: (!i.is_multiple_of(3)).then(|| format!(r#"{{"numRecords":{i}}}"#)),
            tags: None,
            deletion_vector: i.is_multiple_of(5).then(|| DeletionVectorDescriptor {
                storage_type: "u".into(),
                path_or_inline_dv: format!("dv{i}"),
                offset: Some(1),
                size_in_bytes: 10,
                cardinality: 1,
            }),
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    #[test]
    fn every_add_comes_back_whole() {
        let adds: Vec<Add> = (0..5000).map(|i| add(i, &(i % 7).to_string())).collect();
        let files: ActiveFiles = adds.iter().cloned().collect();
        assert_eq!(files.len(), adds.len());
        let back: Vec<Add> = files.iter().map(|f| f.to_add()).collect();
        assert_eq!(back, adds);
        // seven distinct partition maps, stored once each
        assert_eq!(files.partitions.sets.len(), 7);
        let f = files.get(10).unwrap();
        assert_eq!(f.live_records(), Some(9));
        assert_eq!(f.file_key(), adds[10].file_key());
    }

    #[test]
    fn texts_longer_than_a_chunk_and_many_chunks() {
        let mut long = add(1, "x");
        long.stats = Some("y".repeat(CHUNK_BYTES + 3));
        let mut adds: Vec<Add> = (0..40_000).map(|i| add(i, "a")).collect();
        adds.insert(20_000, long);
        let files: ActiveFiles = adds.iter().cloned().collect();
        assert!(files.texts.full.len() > 1);
        assert!(files.iter().map(|f| f.to_add()).eq(adds.iter().cloned()));
    }

    #[test]
    fn retain_keeps_order_and_lets_dropped_texts_go() {
        let adds: Vec<Add> = (0..30_000).map(|i| add(i, "a")).collect();
        let mut files: ActiveFiles = adds.iter().cloned().collect();
        let clone = files.clone();
        files.retain(|f| f.size() % 10 == 0);
        let kept: Vec<Add> = adds.iter().filter(|a| a.size % 10 == 0).cloned().collect();
        assert!(files.iter().map(|f| f.to_add()).eq(kept.iter().cloned()));
        let live: usize = kept
            .iter()
            .map(|a| a.path.len() + a.stats.as_ref().map_or(0, String::len))
            .sum();
        assert!(files.texts.stored() <= 2 * live);
        // the clone is untouched
        assert!(clone.iter().map(|f| f.to_add()).eq(adds.iter().cloned()));
    }
}

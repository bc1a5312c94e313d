//! One data file on its way to the store, as the Parquet encoder produces it.
//!
//! The encoder writes into [`Chunks`]: 1 MiB blocks that are never
//! reallocated, each written once from the encoder's pages. Full blocks go
//! to an [`Upload`] without further copies. The upload sends a small file
//! with one `put`; once a whole part has gathered, it starts a multipart
//! upload and sends parts as they fill, a bounded number at a time.
//!
//! Blocks of 1 MiB also keep local writes at the size the file system takes
//! fastest: a store writes each block of a part with its own write call.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

/// Size of one block of encoded bytes.
const BLOCK_BYTES: usize = 1 << 20;

/// The encoder's output: full blocks waiting to be sent, and the block
/// being filled.
#[derive(Debug, Default)]
pub(crate) struct Chunks {
    full: Vec<Bytes>,
    current: Vec<u8>,
}

impl Chunks {
    /// The full blocks, taken out.
    pub(crate) fn take_full(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.full)
    }

    /// Every block, the one being filled too, taken out.
    pub(crate) fn take_all(&mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            let last = std::mem::take(&mut self.current);
            self.full.push(Bytes::from(last));
        }
        self.take_full()
    }
}

impl Write for Chunks {
    fn write(&mut self, mut buf: &[u8]) -> std::io::Result<usize> {
        let written = buf.len();
        while !buf.is_empty() {
            if self.current.capacity() == 0 {
                self.current = Vec::with_capacity(BLOCK_BYTES);
            }
            let n = (BLOCK_BYTES - self.current.len()).min(buf.len());
            self.current.extend_from_slice(&buf[..n]);
            buf = &buf[n..];
            if self.current.len() == BLOCK_BYTES {
                let block = std::mem::take(&mut self.current);
                self.full.push(Bytes::from(block));
            }
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sending one file's blocks to the store.
pub(crate) struct Upload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    /// Blocks not handed to a multipart upload yet.
    held: Vec<Bytes>,
    held_bytes: usize,
    multipart: Option<WriteMultipart>,
    part_bytes: usize,
    concurrency: usize,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("path", &self.path)
            .field("held_bytes", &self.held_bytes)
            .field("multipart", &self.multipart.is_some())
            .finish_non_exhaustive()
    }
}

impl Upload {
    /// An upload to `path` in parts of `part_bytes`, at most `concurrency`
    /// parts in flight. Nothing is sent until a part is full or the file
    /// is finished.
    pub(crate) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        part_bytes: usize,
        concurrency: usize,
    ) -> Upload {
        Upload {
            store,
            path,
            held: Vec::new(),
            held_bytes: 0,
            multipart: None,
            part_bytes: part_bytes.max(1),
            concurrency: concurrency.max(1),
        }
    }

    /// Sends these blocks on, once a part's worth is held.
    pub(crate) async fn send(&mut self, blocks: Vec<Bytes>) -> object_store::Result<()> {
        self.held_bytes += blocks.iter().map(Bytes::len).sum::<usize>();
        self.held.extend(blocks);
        if self.held_bytes < self.part_bytes {
            return Ok(());
        }
        let multipart = match &mut self.multipart {
            Some(m) => m,
            None => {
                let upload = self.store.put_multipart(&self.path).await?;
                self.multipart
                    .insert(WriteMultipart::new_with_chunk_size(upload, self.part_bytes))
            }
        };
        multipart.wait_for_capacity(self.concurrency).await?;
        for block in self.held.drain(..) {
            multipart.put(block);
        }
        self.held_bytes = 0;
        Ok(())
    }

    /// Sends the last blocks and completes the file: one `put` when no part
    /// was sent yet.
    pub(crate) async fn finish(mut self, last: Vec<Bytes>) -> object_store::Result<()> {
        self.held.extend(last);
        match self.multipart.take() {
            None => {
                let payload: PutPayload = self.held.into_iter().collect();
                self.store.put(&self.path, payload).await?;
            }
            Some(mut multipart) => {
                for block in self.held {
                    multipart.put(block);
                }
                multipart.finish().await?;
            }
        }
        Ok(())
    }

    /// Gives up the file: a multipart upload is aborted (best effort; an
    /// incomplete upload is never visible, and stores expire them).
    pub(crate) async fn abort(mut self) {
        if let Some(multipart) = self.multipart.take() {
            let _ = multipart.abort().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn chunks_keep_every_byte_in_blocks() {
        let data = bytes(3 * BLOCK_BYTES + 17);
        let mut chunks = Chunks::default();
        for piece in data.chunks(7000) {
            chunks.write_all(piece).unwrap();
        }
        let full = chunks.take_full();
        assert_eq!(full.len(), 3);
        assert!(full.iter().all(|b| b.len() == BLOCK_BYTES));
        let rest = chunks.take_all();
        assert_eq!(rest.len(), 1);
        let joined: Vec<u8> = full.iter().chain(&rest).flat_map(|b| b.to_vec()).collect();
        assert_eq!(joined, data);
        assert!(chunks.take_all().is_empty());
    }

    async fn upload(total: usize, part: usize) -> (Vec<u8>, Vec<u8>) {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("f.parquet");
        let data = bytes(total);
        let mut chunks = Chunks::default();
        let mut upload = Upload::new(Arc::clone(&store), path.clone(), part, 2);
        for piece in data.chunks(300_000) {
            chunks.write_all(piece).unwrap();
            upload.send(chunks.take_full()).await.unwrap();
        }
        upload.finish(chunks.take_all()).await.unwrap();
        let back = store.get(&path).await.unwrap().bytes().await.unwrap();
        (back.to_vec(), data)
    }

    #[tokio::test]
    async fn small_files_are_one_put_and_large_ones_multipart() {
        for (total, part) in [
            (0, 5 << 20),
            (10, 5 << 20),
            (3 * BLOCK_BYTES, 5 << 20),
            (12 * BLOCK_BYTES + 5, 5 << 20),
            (7 * BLOCK_BYTES, BLOCK_BYTES),
        ] {
            let (back, data) = upload(total, part).await;
            assert_eq!(back.len(), data.len(), "{total} bytes in parts of {part}");
            assert!(back == data);
        }
    }

    #[tokio::test]
    async fn an_aborted_upload_leaves_no_file() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("f.parquet");
        let mut upload = Upload::new(Arc::clone(&store), path.clone(), BLOCK_BYTES, 2);
        upload
            .send(vec![Bytes::from(bytes(2 * BLOCK_BYTES))])
            .await
            .unwrap();
        upload.abort().await;
        assert!(store.head(&path).await.is_err());
    }
}

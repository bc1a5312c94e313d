//! A [`DataWriter`] on a task of its own: whoever produces the rows (a
//! scan, a join, a filter) goes on with the next batch while the previous
//! ones are encoded and uploaded, so that both use a core.
//!
//! Batches go through a channel of [`IN_FLIGHT`] batches, so memory stays
//! bounded; they are written in the order given. On a runtime other than a
//! multi-threaded tokio runtime the rows are written in place, as by the
//! [`DataWriter`] itself. An error of the task is returned by the next call
//! (and the writer is unusable after it); dropping the writer without
//! [`BackgroundWriter::finish`] aborts the files still open.

use arrow::array::RecordBatch;
use delta_log::Add;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use delta_io::IoError;
use delta_io::writer::DataWriter;

/// How many batches may wait for the writer task.
pub const IN_FLIGHT: usize = 2;

/// A [`DataWriter`] that writes on a task of its own.
pub struct BackgroundWriter {
    state: State,
}

enum State {
    /// No multi-threaded runtime: written in place.
    InPlace(Box<DataWriter>),
    /// Written by a task.
    Spawned {
        batches: mpsc::Sender<Message>,
        task: JoinHandle<Result<Vec<Add>, IoError>>,
    },
    /// The task failed with this error.
    Failed(String),
}

enum Message {
    Batch(RecordBatch),
    Finish,
}

impl std::fmt::Debug for BackgroundWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::InPlace(_) => "in place",
            State::Spawned { .. } => "spawned",
            State::Failed(_) => "failed",
        };
        f.debug_struct("BackgroundWriter")
            .field("state", &state)
            .finish()
    }
}

impl BackgroundWriter {
    /// Runs `writer` on a task of its own (in place without a
    /// multi-threaded tokio runtime).
    pub fn new(writer: DataWriter) -> BackgroundWriter {
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if !multi_threaded {
            return BackgroundWriter {
                state: State::InPlace(Box::new(writer)),
            };
        }
        let (batches, mut received) = mpsc::channel::<Message>(IN_FLIGHT);
        let task = tokio::spawn(async move {
            let mut writer = writer;
            while let Some(message) = received.recv().await {
                match message {
                    // a failed write has aborted the open files already
                    Message::Batch(batch) => writer.write(&batch).await?,
                    Message::Finish => return writer.finish().await,
                }
            }
            // dropped without finishing
            writer.abort().await;
            Err(IoError::WriterFailed {
                reason: "the writer was dropped before it finished".to_string(),
            })
        });
        BackgroundWriter {
            state: State::Spawned { batches, task },
        }
    }

    /// Writes one batch (see [`DataWriter::write`]); an error may be that
    /// of an earlier batch.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<(), IoError> {
        match &mut self.state {
            State::InPlace(writer) => writer.write(batch).await,
            State::Spawned { batches, .. } => {
                if batches.send(Message::Batch(batch.clone())).await.is_ok() {
                    return Ok(());
                }
                // the task stopped: its error
                let error = match std::mem::replace(&mut self.state, State::Failed(String::new())) {
                    State::Spawned { task, .. } => outcome(task).await.err(),
                    _ => None,
                };
                let error = error.unwrap_or_else(|| IoError::WriterFailed {
                    reason: "the writer task stopped".to_string(),
                });
                self.state = State::Failed(error.to_string());
                Err(error)
            }
            State::Failed(reason) => Err(IoError::WriterFailed {
                reason: reason.clone(),
            }),
        }
    }

    /// Closes every file and returns their `add` actions (see
    /// [`DataWriter::finish`]).
    pub async fn finish(self) -> Result<Vec<Add>, IoError> {
        match self.state {
            State::InPlace(writer) => writer.finish().await,
            State::Spawned { batches, task } => {
                // a task that already stopped answers with its error
                let _ = batches.send(Message::Finish).await;
                outcome(task).await
            }
            State::Failed(reason) => Err(IoError::WriterFailed { reason }),
        }
    }

    /// Gives up (see [`DataWriter::abort`]).
    pub async fn abort(self) {
        match self.state {
            State::InPlace(writer) => writer.abort().await,
            State::Spawned { batches, task } => {
                drop(batches);
                let _ = outcome(task).await;
            }
            State::Failed(_) => {}
        }
    }
}

async fn outcome(task: JoinHandle<Result<Vec<Add>, IoError>>) -> Result<Vec<Add>, IoError> {
    task.await.unwrap_or_else(|e| {
        Err(IoError::WriterFailed {
            reason: format!("the writer task failed: {e}"),
        })
    })
}

//! Compression on a thread of its own, fed in chunks: while one thread reads the root tar,
//! writes tar headers and hashes the uncompressed stream, the other compresses, hashes the
//! blob and writes it. `tar | gzip` gets the same overlap from two processes; without it
//! the layer writer would be the slower of the two by the cost of reading and hashing.
//!
//! The compressor always gets whole chunks of [`CHUNK`] bytes (the last one shorter),
//! whatever sizes the tar writer wrote in: deflate's output through flate2 depends on how its
//! input was cut, so fixed cuts make a blob's digest depend only on the uncompressed bytes
//! (and the compression libraries' versions, pinned by `Cargo.lock`), not on how the `tar`
//! crate happens to buffer.

use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// The size of the chunks handed over: large enough that the hand-over costs nothing, small
/// enough that a few in flight are little memory.
const CHUNK: usize = 1 << 20;
/// Chunks that may wait for the compressor before the writer blocks.
const IN_FLIGHT: usize = 4;

/// A writer whose bytes are written to `W` on another thread; [`finish`] returns `W` (or the
/// first error the other thread met).
///
/// [`finish`]: PipeWriter::finish
pub(crate) struct PipeWriter<W> {
    buffer: Vec<u8>,
    sender: Option<SyncSender<Vec<u8>>>,
    worker: Option<JoinHandle<io::Result<W>>>,
}

impl<W: Write + Send + 'static> PipeWriter<W> {
    pub(crate) fn new(mut inner: W) -> Self {
        let (sender, receiver): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(IN_FLIGHT);
        let worker = std::thread::spawn(move || {
            for chunk in receiver {
                inner.write_all(&chunk)?;
            }
            Ok(inner)
        });
        Self {
            buffer: Vec::with_capacity(CHUNK),
            sender: Some(sender),
            worker: Some(worker),
        }
    }

    /// Sends what is buffered, waits for the other thread and returns its writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let sent = self.send();
        self.sender = None;
        let result = self.join();
        // The worker's error explains a failed send better than "channel closed".
        let inner = result?;
        sent?;
        Ok(inner)
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        match &self.sender {
            Some(sender) if sender.send(chunk).is_ok() => Ok(()),
            // The worker stopped: its error comes out of `finish`.
            _ => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the compressing thread stopped",
            )),
        }
    }

    fn join(&mut self) -> io::Result<W> {
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Err(io::Error::other(
                "the compressing thread was already joined",
            )),
        }
    }
}

impl<W> Write for PipeWriter<W>
where
    W: Write + Send + 'static,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buffer.len();
        let taken = room.min(buf.len());
        self.buffer.extend_from_slice(&buf[..taken]);
        if self.buffer.len() == CHUNK {
            self.send()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Ordering only: bytes reach `W` in order; durability is `finish`'s caller's job.
        Ok(())
    }
}

impl<W> Drop for PipeWriter<W> {
    fn drop(&mut self) {
        // Dropped without `finish` (an error on the writing side): stop the worker and wait
        // for it, so the temporary blob it owns is removed before the caller goes on.
        self.sender = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records the length of every write it gets.
    struct Cuts(Vec<usize>);

    impl Write for Cuts {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.push(buf.len());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_inner_writer_gets_whole_chunks_whatever_the_writes() {
        let total = 3 * CHUNK + 123;
        let data = vec![7u8; total];
        let mut cuts_seen = Vec::new();
        for piece in [1, 511, 8192, CHUNK + 1, total] {
            let mut pipe = PipeWriter::new(Cuts(Vec::new()));
            for part in data.chunks(piece) {
                pipe.write_all(part).unwrap();
            }
            cuts_seen.push(pipe.finish().unwrap().0);
        }
        for cuts in &cuts_seen {
            assert_eq!(cuts, &[CHUNK, CHUNK, CHUNK, 123]);
        }
    }

    #[test]
    fn bytes_arrive_in_order() {
        let mut pipe = PipeWriter::new(Vec::new());
        let mut expected = Vec::new();
        for i in 0..5000u32 {
            let piece = i.to_le_bytes().repeat((i % 700) as usize);
            pipe.write_all(&piece).unwrap();
            expected.extend_from_slice(&piece);
        }
        assert_eq!(pipe.finish().unwrap(), expected);
    }

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_workers_error_comes_out() {
        let mut pipe = PipeWriter::new(Failing);
        let chunk = vec![0u8; CHUNK];
        // The worker fails on the first chunk; later writes fail or are buffered.
        for _ in 0..(IN_FLIGHT + 3) {
            if pipe.write_all(&chunk).is_err() {
                break;
            }
        }
        let error = pipe.finish().err().unwrap();
        assert_eq!(error.to_string(), "disk full");
    }
}

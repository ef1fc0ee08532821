//! Where log lines go: standard error, in batches. A busy gateway logs a line per call, and a
//! `write` per line cost a refused call about 4 % of its CPU; so lines wait in memory and leave
//! together, as nginx's `access_log ... buffer= flush=` does. A line at warn or above goes out
//! at once, with every line before it, so what explains a failure is never held back, and the
//! lines on standard error keep the order they were logged in. `GATEWAY_LOG_FLUSH_MS` bounds
//! how long an info line may wait (0: every line at once); a SIGKILL loses at most that much
//! of the log, never an event.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Lines waiting past this many bytes are written without waiting for the interval.
const CAPACITY: usize = 64 * 1024;

/// How long an info line may wait by default.
pub const DEFAULT_FLUSH_MS: u64 = 100;

/// The lines waiting and where they go.
pub struct Sink {
    pending: Mutex<Vec<u8>>,
    /// Told when a line lands in an empty `pending`: the flusher thread sleeps on it while
    /// there is nothing to write, so an idle gateway is not woken ten times a second.
    arrived: Condvar,
    /// The output, and a spare buffer to swap with `pending`: one lock orders the batches
    /// while `pending` stays free for the loggers during the write.
    out: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
    write_through: AtomicBool,
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A logger must keep logging after a panic elsewhere; the bytes are still whole lines.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sink {
    /// `write_through` writes every line at once; otherwise nothing flushes but a warning, a
    /// full batch or [`Sink::flush`] ([`Sink::start`] adds the interval).
    pub fn new(out: Box<dyn Write + Send>, write_through: bool) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(Vec::with_capacity(CAPACITY)),
            arrived: Condvar::new(),
            out: Mutex::new((out, Vec::with_capacity(CAPACITY))),
            write_through: AtomicBool::new(write_through),
        })
    }

    /// A sink flushed every `flush_ms` by a thread of its own, for the life of the process;
    /// without that thread, every line is written at once.
    pub fn start(out: Box<dyn Write + Send>, flush_ms: u64) -> Arc<Self> {
        let sink = Self::new(out, flush_ms == 0);
        if flush_ms > 0 {
            let every = Duration::from_millis(flush_ms);
            let flusher = Arc::clone(&sink);
            let spawned =
                std::thread::Builder::new()
                    .name("log-flush".into())
                    .spawn(move || loop {
                        flusher.wait_for_a_line();
                        std::thread::sleep(every);
                        flusher.flush();
                    });
            if spawned.is_err() {
                sink.write_through.store(true, Ordering::Relaxed);
            }
        }
        sink
    }

    /// Until some line is waiting to be written.
    fn wait_for_a_line(&self) {
        let mut pending = lock(&self.pending);
        while pending.is_empty() {
            pending = self
                .arrived
                .wait(pending)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Adds one record's bytes; true when they should leave now.
    fn append(&self, bytes: &[u8]) -> bool {
        let mut pending = lock(&self.pending);
        let write_through = self.write_through.load(Ordering::Relaxed);
        // Only a flusher waits (none writes through), and a notify is a system call.
        if pending.is_empty() && !write_through {
            self.arrived.notify_one();
        }
        pending.extend_from_slice(bytes);
        pending.len() >= CAPACITY || write_through
    }

    /// Adds one whole line; `urgent` takes the batch out with it.
    pub fn write_line(&self, line: &[u8], urgent: bool) {
        if self.append(line) || urgent {
            self.flush();
        }
    }

    /// Writes every waiting line. An output that fails loses the batch: logging never stops
    /// the gateway, and there is nowhere else to say so.
    pub fn flush(&self) {
        let mut out = lock(&self.out);
        let (writer, batch) = &mut *out;
        std::mem::swap(&mut *lock(&self.pending), batch);
        if !batch.is_empty() {
            let _ = writer.write_all(batch).and_then(|()| writer.flush());
            batch.clear();
        }
    }

    /// The writer env_logger is given: it writes each record and then flushes it.
    pub fn writer(self: &Arc<Self>) -> Box<dyn Write + Send> {
        Box::new(RecordWriter {
            sink: Arc::clone(self),
            leave: false,
        })
    }
}

struct RecordWriter {
    sink: Arc<Sink>,
    leave: bool,
}

impl Write for RecordWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.leave |= self.sink.append(buf);
        Ok(buf.len())
    }

    /// env_logger calls this after each record: the batch leaves only when it is due.
    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.leave) {
            self.sink.flush();
        }
        Ok(())
    }
}

/// env_logger's logger with the sink behind it: a record at warn or above takes the batch
/// out with it.
pub struct Batched {
    pub inner: env_logger::Logger,
    pub sink: Arc<Sink>,
}

impl log::Log for Batched {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if self.inner.matches(record) {
            self.inner.log(record);
            if record.level() <= log::Level::Warn {
                self.sink.flush();
            }
        }
    }

    fn flush(&self) {
        self.sink.flush();
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use log::Log;

    /// An output the test can read back.
    #[derive(Clone, Default)]
    pub struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        pub fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).unwrap()
        }
    }

    fn batched(write_through: bool) -> (Batched, Shared) {
        let out = Shared::default();
        let sink = Sink::new(Box::new(out.clone()), write_through);
        let inner = env_logger::Builder::new()
            .filter_level(log::LevelFilter::Info)
            .format(|buf, record| writeln!(buf, "{} {}", record.level(), record.args()))
            .target(env_logger::Target::Pipe(sink.writer()))
            .build();
        (Batched { inner, sink }, out)
    }

    fn log(logger: &Batched, level: log::Level, text: &str) {
        logger.log(
            &log::Record::builder()
                .args(format_args!("{text}"))
                .level(level)
                .target("access")
                .build(),
        );
    }

    #[test]
    fn info_lines_wait_and_a_warning_takes_them_out_in_order() {
        let (logger, out) = batched(false);
        log(&logger, log::Level::Info, "one");
        log(&logger, log::Level::Info, "two");
        assert_eq!(out.text(), "", "info lines wait for the interval");
        log(&logger, log::Level::Warn, "three");
        assert_eq!(out.text(), "INFO one\nINFO two\nWARN three\n");
        log(&logger, log::Level::Debug, "filtered");
        log(&logger, log::Level::Info, "four");
        logger.flush();
        assert_eq!(out.text(), "INFO one\nINFO two\nWARN three\nINFO four\n");
    }

    #[test]
    fn a_full_batch_leaves_without_waiting() {
        let (logger, out) = batched(false);
        let line = "x".repeat(1000);
        for _ in 0..CAPACITY / 1000 {
            log(&logger, log::Level::Info, &line);
        }
        assert_eq!(out.text(), "");
        log(&logger, log::Level::Info, &line);
        assert_eq!(out.text().lines().count(), CAPACITY / 1000 + 1);
    }

    #[test]
    fn a_whole_line_waits_unless_urgent() {
        let (logger, out) = batched(false);
        log(&logger, log::Level::Info, "one");
        logger.sink.write_line(b"two\n", false);
        assert_eq!(out.text(), "");
        logger.sink.write_line(b"three\n", true);
        assert_eq!(out.text(), "INFO one\ntwo\nthree\n");
    }

    #[test]
    fn the_flusher_sleeps_until_a_line_comes_and_then_writes_it() {
        let out = Shared::default();
        let sink = Sink::start(Box::new(out.clone()), 1);
        for line in ["one\n", "two\n"] {
            sink.write_line(line.as_bytes(), false);
            // The flusher's own interval, not a guess: wait for the line it must write.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !out.text().contains(line) {
                assert!(std::time::Instant::now() < deadline, "{line} never left");
                std::thread::yield_now();
            }
        }
        assert_eq!(out.text(), "one\ntwo\n");
    }

    #[test]
    fn zero_writes_every_line_at_once() {
        let (logger, out) = batched(true);
        log(&logger, log::Level::Info, "one");
        assert_eq!(out.text(), "INFO one\n");
    }
}

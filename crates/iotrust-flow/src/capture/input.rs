//! A buffered byte stream that knows its offset and tells a clean end from a cut one.

use std::io::{self, BufRead, BufReader, Read};

/// How much of a requested read was satisfied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fill {
    /// All bytes were read.
    Full,
    /// The stream ended before the first byte: a clean end.
    Eof,
    /// The stream ended after this many bytes: a cut input.
    Short(usize),
}

pub(crate) struct Input<R> {
    inner: BufReader<R>,
    offset: u64,
}

const BUFFER: usize = 64 * 1024;

impl<R: Read> Input<R> {
    pub(crate) fn new(r: R) -> Self {
        Input {
            inner: BufReader::with_capacity(BUFFER, r),
            offset: 0,
        }
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads exactly `buf.len()` bytes unless the stream ends first.
    #[inline]
    pub(crate) fn fill(&mut self, buf: &mut [u8]) -> io::Result<Fill> {
        // the usual case: the bytes are already buffered
        if let Some(src) = self.inner.buffer().get(..buf.len()) {
            buf.copy_from_slice(src);
            self.inner.consume(buf.len());
            self.offset += buf.len() as u64;
            return Ok(Fill::Full);
        }
        self.fill_slow(buf)
    }

    /// [`Input::fill`] into `v`, replacing its contents with `n` bytes (fewer if the stream
    /// ends first: then `v` is `n` long and holds what was read at its start).
    #[inline]
    pub(crate) fn fill_vec(&mut self, v: &mut Vec<u8>, n: usize) -> io::Result<Fill> {
        v.clear();
        if let Some(src) = self.inner.buffer().get(..n) {
            v.extend_from_slice(src);
            self.inner.consume(n);
            self.offset += n as u64;
            return Ok(Fill::Full);
        }
        v.resize(n, 0);
        self.fill_slow(v)
    }

    fn fill_slow(&mut self, buf: &mut [u8]) -> io::Result<Fill> {
        let mut got = 0usize;
        while got < buf.len() {
            let Some(dst) = buf.get_mut(got..) else { break };
            match self.inner.read(dst) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.offset += got as u64;
                    return Err(e);
                }
            }
        }
        self.offset += got as u64;
        Ok(if got == buf.len() {
            Fill::Full
        } else if got == 0 {
            Fill::Eof
        } else {
            Fill::Short(got)
        })
    }

    /// Discards up to `n` bytes; returns how many were there.
    pub(crate) fn skip(&mut self, n: u64) -> io::Result<u64> {
        let mut got = 0u64;
        while got < n {
            let avail = match self.inner.fill_buf() {
                Ok([]) => break,
                Ok(b) => b.len(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.offset += got;
                    return Err(e);
                }
            };
            let take = usize::try_from(n - got).map_or(avail, |left| left.min(avail));
            self.inner.consume(take);
            got += take as u64;
        }
        self.offset += got;
        Ok(got)
    }
}

//! Streaming helpers for the CSV reader: a transcoder from UTF-16 to UTF-8, a byte limit
//! that stops a runaway row, and per-field decoding.
//!
//! Policy: memory stays bounded whatever the file holds. UTF-16 files are transcoded to
//! UTF-8 in fixed-size chunks (invalid sequences become U+FFFD, as every decoder does).
//! UTF-8 and Windows-1252 files are parsed as bytes, whose delimiters, quotes and line
//! breaks are the same ASCII bytes in both, and each field is decoded on its own: a field
//! that is not valid UTF-8 in a file sniffed as UTF-8 is read as Windows-1252 and the row
//! gets an `invalid_utf8` warning, so one bad byte after the sniffed sample never loses data.

use std::io::{self, Read};

use encoding_rs::{CoderResult, Decoder, Encoding};

const IN_CHUNK: usize = 8 * 1024;
const OUT_CHUNK: usize = 32 * 1024;

/// Reads `inner` in encoding `E` and yields UTF-8 bytes, without a byte-order mark.
pub(crate) struct DecodeReader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    in_start: usize,
    in_end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    finished: bool,
}

impl<R: Read> DecodeReader<R> {
    /// Transcode `inner` from `encoding` to UTF-8 (a leading BOM is removed).
    pub(crate) fn new(inner: R, encoding: &'static Encoding) -> Self {
        Self {
            inner,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; IN_CHUNK],
            in_start: 0,
            in_end: 0,
            output: vec![0; OUT_CHUNK],
            out_start: 0,
            out_end: 0,
            eof: false,
            finished: false,
        }
    }
}

impl<R: Read> Read for DecodeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.out_end {
                let pending = self.output.get(self.out_start..self.out_end).unwrap_or_default();
                let n = pending.len().min(buf.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), pending.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.out_start += n;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            if self.in_start >= self.in_end && !self.eof {
                let n = read_retrying(&mut self.inner, &mut self.input)?;
                self.in_start = 0;
                self.in_end = n;
                self.eof = n == 0;
            }
            let src = self.input.get(self.in_start..self.in_end).unwrap_or_default();
            let (result, read, written, _) = self.decoder.decode_to_utf8(src, &mut self.output, self.eof);
            self.in_start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Read until `buf` is full or the input ends; returns the number of bytes read.
pub(crate) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        let n = read_retrying(r, rest)?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// Passes reads through until `limit` bytes have been read in all, then fails with an I/O
/// error and sets `tripped`. The CSV reader moves the limit forward before each row.
pub(crate) struct Limited<R> {
    inner: R,
    /// Bytes read so far.
    pub(crate) read: u64,
    /// Total bytes that may be read.
    pub(crate) limit: u64,
    /// Set once a read was refused.
    pub(crate) tripped: bool,
}

impl<R> Limited<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            read: 0,
            limit: u64::MAX,
            tripped: false,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let allowed = self.limit.saturating_sub(self.read);
        if allowed == 0 && !buf.is_empty() {
            self.tripped = true;
            return Err(io::Error::other("row size limit reached"));
        }
        let max = usize::try_from(allowed).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(buf.get_mut(..max).unwrap_or_default())?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Decode one field. `utf8` says the byte stream is UTF-8 (sniffed so, or transcoded);
/// otherwise it is Windows-1252. Returns the text and whether a UTF-8 field had to be read
/// as Windows-1252.
pub(crate) fn decode_field(bytes: &[u8], utf8: bool) -> (String, bool) {
    if utf8 {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return (s.to_string(), false);
        }
    }
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    (text.into_owned(), utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte at a time, to exercise chunk boundaries.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((b, rest)), Some(slot)) => {
                    *slot = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn transcodes_utf16_in_small_steps() {
        let text = "naïve,£5,日本\r\n".repeat(3000);
        let bytes: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let mut out = String::new();
        DecodeReader::new(Trickle(&bytes), encoding_rs::UTF_16LE)
            .read_to_string(&mut out)
            .ok();
        assert_eq!(out, text);
        let mut small = Vec::new();
        let mut reader = DecodeReader::new(&bytes[..], encoding_rs::UTF_16LE);
        let mut buf = [0u8; 1];
        while let Ok(1) = reader.read(&mut buf) {
            small.push(buf[0]);
        }
        assert_eq!(String::from_utf8(small).ok().as_deref(), Some(text.as_str()));
    }

    #[test]
    fn odd_trailing_byte_is_replaced_not_fatal() {
        let mut out = String::new();
        let r = DecodeReader::new(&b"\xFF\xFEa\0b"[..], encoding_rs::UTF_16LE).read_to_string(&mut out);
        assert!(r.is_ok());
        assert_eq!(out, "a\u{FFFD}");
    }

    #[test]
    fn limit_trips() {
        let mut l = Limited::new(&b"abcdef"[..]);
        l.limit = 4;
        let mut buf = [0u8; 10];
        assert_eq!(l.read(&mut buf).ok(), Some(4));
        assert!(l.read(&mut buf).is_err());
        assert!(l.tripped);
    }

    #[test]
    fn fields() {
        assert_eq!(decode_field("Zoë".as_bytes(), true), ("Zoë".to_string(), false));
        assert_eq!(decode_field(b"Caf\xE9 \xA35", true), ("Café £5".to_string(), true));
        assert_eq!(decode_field(b"Caf\xE9 \x80", false), ("Café €".to_string(), false));
        let mut buf = [0u8; 4];
        assert_eq!(read_up_to(&mut Trickle(b"abcdef"), &mut buf).ok(), Some(4));
        assert_eq!(read_up_to(&mut Trickle(b"ab"), &mut buf).ok(), Some(2));
    }
}

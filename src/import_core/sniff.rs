//! Recognising what an uploaded file is: its kind (CSV or .xlsx), its text encoding and its
//! delimiter, from the first [`SNIFF_BYTES`] bytes.
//!
//! Policy: decide by content, never by file name alone. A ZIP container is an .xlsx
//! workbook (unless the name says it is another ZIP-based format); well-known binary formats
//! (images, PDF, archives, old .xls / encrypted Office files) and anything with NUL bytes or
//! many control characters are rejected as binary. Text is UTF-8 (with or without BOM) when
//! it decodes as UTF-8, UTF-16 when it starts with a UTF-16 BOM, and otherwise
//! Windows-1252 (which covers Latin-1 / ISO-8859-1). UTF-16 without a BOM and UTF-32 are
//! rejected with a clear error. The delimiter is the one of `,` `;` tab `|` that splits the
//! sample's rows into the most consistent number of fields (ties go to more fields, then to
//! that order); a file with one column gets `,`. Excel's `sep=;` first line, when present,
//! names the delimiter.

use serde::Serialize;

use super::FileError;

/// How many leading bytes the sniffers look at (64 KiB).
pub const SNIFF_BYTES: usize = 64 * 1024;

/// What kind of file an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileKind {
    /// Delimited text.
    Csv,
    /// An Excel 2007+ workbook.
    Xlsx,
}

/// What [`sniff_csv`] found out about a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Sniffed {
    /// `"utf-8"`, `"windows-1252"`, `"utf-16le"` or `"utf-16be"`.
    pub encoding: &'static str,
    /// The field delimiter: `b','`, `b';'`, `b'\t'` or `b'|'`.
    pub delimiter: u8,
    /// Whether the file starts with a byte-order mark (which is skipped).
    pub has_bom: bool,
    /// Whether the first line is Excel's `sep=;` delimiter hint (which is skipped).
    pub sep_line: bool,
}

impl Sniffed {
    /// The `encoding_rs` encoding named by [`Sniffed::encoding`].
    pub(crate) fn encoding_rs(&self) -> &'static encoding_rs::Encoding {
        match self.encoding {
            "windows-1252" => encoding_rs::WINDOWS_1252,
            "utf-16le" => encoding_rs::UTF_16LE,
            "utf-16be" => encoding_rs::UTF_16BE,
            _ => encoding_rs::UTF_8,
        }
    }

    /// Length of the byte-order mark at the start of the file.
    pub(crate) fn bom_len(&self) -> usize {
        match (self.has_bom, self.encoding) {
            (false, _) => 0,
            (true, "utf-8") => 3,
            (true, _) => 2,
        }
    }
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Leading bytes of binary formats people upload by mistake.
const MAGIC: &[(&[u8], &str)] = &[
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"\xFF\xD8\xFF", "a JPEG image"),
    (
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        "an old-style Excel 97-2003 (.xls) workbook or a password-protected Office file",
    ),
    (
        b"PK\x03\x04",
        "a ZIP archive (an .xlsx workbook must be read as a workbook, not as CSV)",
    ),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1F\x8B", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xBC\xAF\x27\x1C", "a 7-Zip archive"),
    (b"{\\rtf", "a Rich Text (RTF) document"),
    (b"\x7FELF", "a program"),
];

/// ZIP-based formats that are not .xlsx, by file extension.
const OTHER_ZIPS: &[(&str, &str)] = &[
    ("ods", "an OpenDocument (.ods) spreadsheet"),
    ("numbers", "an Apple Numbers spreadsheet"),
    ("docx", "a Word document"),
    ("pptx", "a PowerPoint presentation"),
    ("odt", "an OpenDocument text document"),
    ("zip", "a ZIP archive"),
];

/// Decide whether an upload is CSV or .xlsx from its first bytes (pass at least the first
/// few KiB; [`SNIFF_BYTES`] is best). `file_name` is only used to name ZIP-based formats
/// that are not .xlsx (e.g. `.ods`, `.docx`) in the error.
///
/// Errors: [`FileError::Empty`], [`FileError::Binary`], [`FileError::UnsupportedEncoding`].
pub fn detect_kind(first_bytes: &[u8], file_name: Option<&str>) -> Result<FileKind, FileError> {
    if first_bytes.starts_with(b"PK\x03\x04") {
        let ext = file_name
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.trim().to_ascii_lowercase());
        if let Some((_, what)) = OTHER_ZIPS.iter().find(|(e, _)| Some(*e) == ext.as_deref()) {
            return Err(FileError::Binary { what });
        }
        return Ok(FileKind::Xlsx);
    }
    sniff_csv(first_bytes).map(|_| FileKind::Csv)
}

/// Find the encoding and delimiter of a CSV file from its first bytes (up to
/// [`SNIFF_BYTES`]; more is ignored).
///
/// Errors: [`FileError::Empty`] (nothing but a BOM and whitespace), [`FileError::Binary`],
/// [`FileError::UnsupportedEncoding`].
pub fn sniff_csv(sample: &[u8]) -> Result<Sniffed, FileError> {
    let sample = sample.get(..SNIFF_BYTES).unwrap_or(sample);
    let (encoding, has_bom) = detect_encoding(sample)?;
    let mut sniffed = Sniffed {
        encoding,
        delimiter: b',',
        has_bom,
        sep_line: false,
    };
    let body = sample.get(sniffed.bom_len()..).unwrap_or_default();
    let text: Vec<u8> = match encoding {
        "utf-16le" | "utf-16be" => {
            let (decoded, _) = sniffed.encoding_rs().decode_without_bom_handling(body);
            if looks_binary(decoded.chars()) {
                return Err(FileError::Binary { what: "binary data" });
            }
            decoded.into_owned().into_bytes()
        }
        _ => body.to_vec(),
    };
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    match text.as_slice() {
        [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', d, rest @ ..]
            if matches!(rest.first(), None | Some(b'\r' | b'\n')) =>
        {
            sniffed.delimiter = *d;
            sniffed.sep_line = true;
        }
        _ => sniffed.delimiter = sniff_delimiter(&text),
    }
    Ok(sniffed)
}

/// The encoding name and whether there is a BOM.
fn detect_encoding(sample: &[u8]) -> Result<(&'static str, bool), FileError> {
    if sample.is_empty() {
        return Err(FileError::Empty);
    }
    if sample.starts_with(b"\xFF\xFE\x00\x00") || sample.starts_with(b"\x00\x00\xFE\xFF") {
        return Err(FileError::UnsupportedEncoding { what: "UTF-32" });
    }
    if let Some(rest) = sample.strip_prefix(b"\xEF\xBB\xBF") {
        check_bytes(rest)?;
        return Ok(("utf-8", true));
    }
    if sample.starts_with(b"\xFF\xFE") {
        return Ok(("utf-16le", true));
    }
    if sample.starts_with(b"\xFE\xFF") {
        return Ok(("utf-16be", true));
    }
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| sample.starts_with(magic)) {
        return Err(FileError::Binary { what });
    }
    check_bytes(sample)?;
    let utf8 = match std::str::from_utf8(sample) {
        Ok(_) => true,
        // A multi-byte character cut off by the end of the sample is still UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    Ok((if utf8 { "utf-8" } else { "windows-1252" }, false))
}

/// Reject NUL bytes (binary, or UTF-16 without a BOM) and text full of control characters.
fn check_bytes(sample: &[u8]) -> Result<(), FileError> {
    if sample.contains(&0) {
        let nul_at = |parity: usize| sample.iter().skip(parity).step_by(2).filter(|b| **b == 0).count();
        let half = sample.len() / 2;
        let (even, odd) = (nul_at(0), nul_at(1));
        let utf16 =
            half >= 8 && ((odd * 10 >= half * 3 && even * 20 < half) || (even * 10 >= half * 3 && odd * 20 < half));
        return Err(if utf16 {
            FileError::UnsupportedEncoding {
                what: "UTF-16 without a byte-order mark",
            }
        } else {
            FileError::Binary { what: "binary data" }
        });
    }
    if looks_binary(sample.iter().map(|b| char::from(*b))) {
        return Err(FileError::Binary { what: "binary data" });
    }
    Ok(())
}

/// More than 1% (and at least 8) control characters other than tab, CR, LF, form feed and
/// the DOS end-of-file mark.
fn looks_binary(chars: impl Iterator<Item = char>) -> bool {
    let (mut total, mut controls) = (0usize, 0usize);
    for c in chars {
        total += 1;
        if (c.is_ascii_control() && !matches!(c, '\t' | '\r' | '\n' | '\x0C' | '\x1A')) || c == '\0' {
            controls += 1;
        }
    }
    controls >= 8 && controls * 100 > total
}

/// The delimiter that gives the most consistent field count over the sample's rows.
fn sniff_delimiter(text: &[u8]) -> u8 {
    let complete = text.ends_with(b"\n") || text.ends_with(b"\r");
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text);
        let mut counts: Vec<usize> = reader
            .byte_records()
            .take(200)
            .map_while(Result::ok)
            .map(|r| r.len())
            .collect();
        if !complete && counts.len() > 1 {
            counts.pop();
        }
        let Some(mode) = mode(&counts) else { continue };
        if mode < 2 {
            continue;
        }
        let agreeing = counts.iter().filter(|c| **c == mode).count();
        let consistency = agreeing * 1000 / counts.len();
        if best.is_none_or(|(c, m, _)| (consistency, mode) > (c, m)) {
            best = Some((consistency, mode, delimiter));
        }
    }
    best.map_or(b',', |(_, _, d)| d)
}

/// The most common value (the larger one on a tie).
fn mode(counts: &[usize]) -> Option<usize> {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(usize, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        let (value, len) = (run.first().copied().unwrap_or_default(), run.len());
        if best.is_none_or(|(_, l)| len >= l) {
            best = Some((value, len));
        }
    }
    best.map(|(v, _)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delim(s: &str) -> u8 {
        sniff_csv(s.as_bytes()).map(|s| s.delimiter).unwrap_or(0)
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(delim("a,b,c\n1,2,3\n"), b',');
        assert_eq!(delim("a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(delim("a\tb\tc\n1\t2, x\t3\n"), b'\t');
        assert_eq!(delim("a|b|c\n1|2|3"), b'|');
        assert_eq!(delim("Name;Town\n\"Smith, J\";Paris\nJones;Rome\n"), b';');
        assert_eq!(delim("Email\na@example.com\n"), b',');
        assert_eq!(delim("\"a,b\";c;d\n1;2;3\n"), b';');
        assert_eq!(delim("sep=|\r\na,b|c\n1,2|3\n"), b'|');
        assert_eq!(sniff_csv(b"SEP=;\na;b").map(|s| s.sep_line), Ok(true));
        assert_eq!(sniff_csv(b"sep=;x\na;b").map(|s| s.sep_line), Ok(false));
        // Mostly consistent beats a delimiter that only appears in a few rows.
        assert_eq!(delim("a,b,c\n1,2,3\n4,5;x,6\n7,8,9,10\n"), b',');
    }

    #[test]
    fn encodings() {
        let s = |b: &[u8]| sniff_csv(b).map(|s| (s.encoding, s.has_bom));
        assert_eq!(s(b"name\nZo\xC3\xAB\n"), Ok(("utf-8", false)));
        assert_eq!(s(b"\xEF\xBB\xBFname\nx\n"), Ok(("utf-8", true)));
        assert_eq!(s(b"name,price\nCaf\xE9,\xA35\n"), Ok(("windows-1252", false)));
        // A character cut off at the end of the sample is not a reason to give up on UTF-8.
        assert_eq!(s(b"name\nZo\xC3"), Ok(("utf-8", false)));
        let utf16: Vec<u8> = b"\xFF\xFE"
            .iter()
            .copied()
            .chain("a;b\n1;2\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            sniff_csv(&utf16).map(|s| (s.encoding, s.delimiter)),
            Ok(("utf-16le", b';'))
        );
        let be: Vec<u8> = b"\xFE\xFF"
            .iter()
            .copied()
            .chain("a\tb\n".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(
            sniff_csv(&be).map(|s| (s.encoding, s.delimiter)),
            Ok(("utf-16be", b'\t'))
        );
    }

    #[test]
    fn rejects() {
        let code = |b: &[u8]| sniff_csv(b).map_err(|e| e.code());
        assert_eq!(code(b""), Err("empty_file"));
        assert_eq!(code(b"\xEF\xBB\xBF \r\n\n"), Err("empty_file"));
        assert_eq!(code(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Err("binary_file"));
        assert_eq!(code(b"%PDF-1.7\n"), Err("binary_file"));
        assert_eq!(code(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), Err("binary_file"));
        assert_eq!(code(b"abc\0def"), Err("binary_file"));
        let bomless: Vec<u8> = "name,email\nJo,j@x.io\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(code(&bomless), Err("unsupported_encoding"));
        assert_eq!(code(b"\xFF\xFE\0\0a\0\0\0"), Err("unsupported_encoding"));
        let controls: Vec<u8> = (0..200u8).map(|i| if i % 5 == 0 { 1 } else { b'a' }).collect();
        assert_eq!(code(&controls), Err("binary_file"));
        // A stray control character is not enough.
        assert!(sniff_csv(b"a,b\n1,\x1b2\n").is_ok());
    }

    #[test]
    fn kinds() {
        assert_eq!(detect_kind(b"PK\x03\x04rest", Some("people.csv")), Ok(FileKind::Xlsx));
        assert_eq!(detect_kind(b"PK\x03\x04rest", None), Ok(FileKind::Xlsx));
        assert_eq!(
            detect_kind(b"PK\x03\x04rest", Some("people.ODS")).map_err(|e| e.code()),
            Err("binary_file")
        );
        assert_eq!(detect_kind(b"a,b\n", Some("x.xlsx")), Ok(FileKind::Csv));
        assert_eq!(
            detect_kind(b"\xFF\xD8\xFF\xE0", Some("x.csv")).map_err(|e| e.code()),
            Err("binary_file")
        );
        assert_eq!(detect_kind(b"", None), Err(FileError::Empty));
    }
}

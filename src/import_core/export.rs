//! Writing CSV for people to open in a spreadsheet (the import error report).
//!
//! Policy: RFC 4180 output — comma-separated, CRLF line ends, a field quoted (with inner
//! quotes doubled) when it contains a comma, quote, CR or LF — plus formula neutralisation
//! against CSV injection: a value starting with `=`, `+`, `-`, `@`, tab, CR or NUL gets a
//! leading `'`, so spreadsheets show it as text instead of running it. (Negative numbers
//! such as `-5` are therefore shown as `'-5`.) Every value from an uploaded file must go
//! through [`csv_cell`] or [`write_csv_row`] before it is offered for download.

use std::io::{self, Write};

/// Whether a value would be taken as a formula by a spreadsheet.
fn is_formula_like(value: &str) -> bool {
    matches!(value.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\0'))
}

/// One CSV field: formula-neutralised, then quoted when needed.
pub fn csv_cell(value: &str) -> String {
    let text = if is_formula_like(value) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Write one CSV record (each cell through [`csv_cell`]) ending in CRLF. A record of one
/// empty cell is written as `""` so that readers do not skip it as a blank line.
pub fn write_csv_row(out: &mut impl Write, cells: &[&str]) -> io::Result<()> {
    let line = match cells {
        [""] => "\"\"".to_string(),
        _ => cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","),
    };
    out.write_all(line.as_bytes())?;
    out.write_all(b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cells() {
        for (input, want) in [
            ("plain", "plain"),
            ("", ""),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
            (
                "=HYPERLINK(\"http://x\",\"a\")",
                "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"",
            ),
            ("+44 20", "'+44 20"),
            ("-5", "'-5"),
            ("@cmd", "'@cmd"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("\0x", "'\0x"),
            ("a=b", "a=b"),
            (" =x", " =x"),
        ] {
            assert_eq!(csv_cell(input), want, "{input:?}");
        }
    }

    #[test]
    fn rows() {
        let mut out = Vec::new();
        assert!(write_csv_row(&mut out, &["Row", "2", "=1+1"]).is_ok());
        assert!(write_csv_row(&mut out, &[""]).is_ok());
        assert!(write_csv_row(&mut out, &["a,b", ""]).is_ok());
        assert_eq!(String::from_utf8_lossy(&out), "Row,2,'=1+1\r\n\"\"\r\n\"a,b\",\r\n");
    }

    fn read_back(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.map(|r| r.iter().map(String::from).collect()).unwrap_or_default())
            .collect()
    }

    proptest! {
        #[test]
        fn formula_prefix(rest in any::<String>(), lead in prop::sample::select(vec!['=', '+', '-', '@', '\t', '\r', '\0'])) {
            let value = format!("{lead}{rest}");
            let cell = csv_cell(&value);
            let unquoted = cell.strip_prefix('"').unwrap_or(&cell);
            prop_assert!(unquoted.starts_with('\''), "{:?}", cell);
            let mut out = Vec::new();
            prop_assert!(write_csv_row(&mut out, &[&value]).is_ok());
            prop_assert_eq!(read_back(&out), vec![vec![format!("'{value}")]]);
        }

        #[test]
        fn round_trips(cells in prop::collection::vec(any::<String>(), 1..6)) {
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            let mut out = Vec::new();
            prop_assert!(write_csv_row(&mut out, &refs).is_ok());
            let expected: Vec<String> = cells
                .iter()
                .map(|c| if is_formula_like(c) { format!("'{c}") } else { c.clone() })
                .collect();
            prop_assert_eq!(read_back(&out), vec![expected]);
        }
    }
}

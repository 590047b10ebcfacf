//! The MIME structure a bounce report is read through: header fields (folded, case-insensitive),
//! content types and their parameters, multipart boundaries, and lenient base64 and
//! quoted-printable decoding. Pure and total: malformed input yields less, never a panic.

/// A header field: name as written, value unfolded and trimmed.
pub(super) type Field = (String, String);

pub(super) fn split_lines(text: &str) -> Vec<&str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect()
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// A header field name: printable ASCII without spaces or colons.
pub(super) fn field_start(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once(':')?;
    let valid = !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b));
    valid.then_some((name, value))
}

/// Splits an entity into its header fields and body. Lenient: a line that is neither a field nor a
/// continuation ends the header (and starts the body); with no field at all, everything is body.
/// A leading mbox `From ` line is skipped.
pub(super) fn split_headers<'a, 'b>(lines: &'b [&'a str]) -> (Vec<Field>, &'b [&'a str]) {
    let mut fields: Vec<Field> = Vec::new();
    let mut i = 0;
    if lines.first().is_some_and(|l| l.starts_with("From ")) {
        i = 1;
    }
    while let Some(line) = lines.get(i) {
        if is_blank(line) {
            return (finish(fields), &lines[i + 1..]);
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push_str(line);
                i += 1;
                continue;
            }
        }
        match field_start(line) {
            Some((name, value)) => fields.push((name.to_string(), value.to_string())),
            None => break,
        }
        i += 1;
    }
    if fields.is_empty() {
        (fields, lines)
    } else {
        (finish(fields), &lines[i.min(lines.len())..])
    }
}

pub(super) fn finish(mut fields: Vec<Field>) -> Vec<Field> {
    for f in &mut fields {
        f.1 = f.1.trim().to_string();
    }
    fields
}

/// Header groups separated by blank lines (a delivery-status body); junk lines are skipped.
pub(super) fn field_groups(lines: &[&str]) -> Vec<Vec<Field>> {
    let mut groups = Vec::new();
    let mut current: Vec<Field> = Vec::new();
    for line in lines {
        if is_blank(line) {
            if !current.is_empty() {
                groups.push(finish(std::mem::take(&mut current)));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some(last) = current.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = field_start(line) {
            current.push((name.to_string(), value.to_string()));
        }
    }
    if !current.is_empty() {
        groups.push(finish(current));
    }
    groups
}

pub(super) fn header<'a>(fields: &'a [Field], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `type/subtype` (lowercase) and parameters (names lowercase, values unquoted).
pub(super) struct ContentType {
    pub(super) media: String,
    pub(super) params: Vec<(String, String)>,
}

impl ContentType {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

pub(super) fn parse_content_type(value: &str) -> ContentType {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut in_quotes = false;
    let mut escaped = false;
    for c in value.chars() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            current.push(c);
        } else if c == ';' {
            segments.push(std::mem::take(&mut current));
        } else {
            in_quotes = c == '"';
            current.push(c);
        }
    }
    segments.push(current);
    let media = segments
        .first()
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let params = segments
        .iter()
        .skip(1)
        .filter_map(|seg| {
            let (name, value) = seg.split_once('=')?;
            Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
        })
        .collect();
    ContentType { media, params }
}

pub(super) fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"') else {
        return value.to_string();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

/// A MIME part's headers: unlike a top-level message, a part whose first line is blank has none.
pub(super) fn split_headers_part<'a, 'b>(part: &'b [&'a str]) -> (Vec<Field>, &'b [&'a str]) {
    match part.first() {
        Some(first) if is_blank(first) => (Vec::new(), &part[1..]),
        _ => split_headers(part),
    }
}

/// The body parts between `--boundary` lines, up to `--boundary--` (or the end, if truncated).
pub(super) fn split_multipart<'a, 'b>(lines: &'b [&'a str], boundary: &str) -> Vec<&'b [&'a str]> {
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("--").and_then(|l| l.strip_prefix(boundary)) else {
            continue;
        };
        let closing = match rest.trim_end() {
            "" => false,
            "--" => true,
            _ => continue,
        };
        if let Some(s) = start {
            parts.push(&lines[s..i]);
        }
        if closing {
            return parts;
        }
        start = Some(i + 1);
    }
    if let Some(s) = start {
        parts.push(&lines[s.min(lines.len())..]);
    }
    parts
}

/// Lenient base64: skips anything outside the alphabet, stops at `=`.
pub(super) fn decode_base64(lines: &[&str]) -> String {
    let mut bytes = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0u32;
    'outer: for line in lines {
        for c in line.bytes() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' | b'-' => 62,
                b'/' | b'_' => 63,
                b'=' => break 'outer,
                _ => continue,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                bytes.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Lenient quoted-printable: `=XX` escapes and soft line breaks; anything else is kept as is.
pub(super) fn decode_quoted_printable(lines: &[&str]) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut bytes = Vec::new();
    for line in lines {
        let line = line.trim_end_matches([' ', '\t']);
        let (content, soft) = match line.strip_suffix('=') {
            Some(c) => (c, true),
            None => (line, false),
        };
        let b = content.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' {
                if let (Some(hi), Some(lo)) = (b.get(i + 1).and_then(|&x| hex(x)), b.get(i + 2).and_then(|&x| hex(x))) {
                    bytes.push((hi * 16 + lo) as u8);
                    i += 3;
                    continue;
                }
            }
            bytes.push(b[i]);
            i += 1;
        }
        if !soft {
            bytes.push(b'\n');
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

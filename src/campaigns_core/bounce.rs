//! Bounce (non-delivery report) parsing: pure, total, and bounded.
//!
//! [`parse_bounces`] reads one raw message from the bounce mailbox and returns one [`Bounce`]
//! per failed or delayed recipient.
//!
//! - **RFC 3464 reports** (`multipart/report; report-type=delivery-status`, and the RFC 6533
//!   `message/global-delivery-status`): every per-recipient block with `Final-Recipient` (or,
//!   failing that, `Original-Recipient`) and an `Action` of `failed` or `delayed` gives a bounce.
//!   Blocks with `delivered`, `relayed` or `expanded` are success notices and give none.
//! - **Kind**: `delayed` is always [`BounceKind::Soft`]; otherwise the status class decides,
//!   `5.x.x` hard and `4.x.x` soft; a failure with no usable status is hard.
//! - **Status**: from `Status`, else the first enhanced code in `Diagnostic-Code`, else `5.0.0`
//!   (hard) or `4.0.0` (soft).
//! - **Diagnostic**: the `Diagnostic-Code` text after its type (`smtp;`), whitespace collapsed.
//! - **Campaign reference**: the `X-Lighthouse-Message` header of the original message, read from
//!   a `text/rfc822-headers` or `message/rfc822` part (or their RFC 6533 `global` forms); failing
//!   that, from a line `X-Lighthouse-Message: …` in a text part (a quoted original). The
//!   report's own top-level headers are never used: they are not the original's.
//! - **MIME**: nested multiparts (depth ≤ 8), quoted or unquoted boundaries, case-insensitive
//!   header names and parameters, folded header lines, CRLF or LF line ends, and base64 or
//!   quoted-printable parts.
//! - **Fallback** for reports without a delivery-status part: text lines carrying an SMTP error
//!   (`550 5.1.1 <user@example.com>: user unknown`). An enhanced code (`5.1.1`) takes its address
//!   from the same line or one of the six lines before it; a bare reply code (`550`) needs the
//!   address on the same line. Addresses named in a top-level `X-Failed-Recipients` header and not
//!   found this way are reported with the first unaddressed error seen (or `5.0.0`, hard).
//!
//! Input past [`MAX_INPUT`] bytes is ignored. Recipients are returned as written (trimmed, angle
//! brackets removed), once each (compared case-insensitively), in report order.

use super::mime::*;

/// Bytes of input read; the rest is ignored.
pub const MAX_INPUT: usize = 1 << 20;

/// Nesting depth of MIME parts followed.
const MAX_DEPTH: usize = 8;
/// Lines searched above an enhanced status code for its address, in the fallback.
const ADDRESS_WINDOW: usize = 6;
/// The header that carries the campaign message reference on every outgoing email.
const REF_HEADER: &str = "X-Lighthouse-Message";

/// Whether a bounce is permanent or temporary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BounceKind {
    /// Permanent failure (`5.x.x`): the address should not be mailed again as is.
    Hard,
    /// Temporary failure or delay (`4.x.x`, or `Action: delayed`).
    Soft,
}

impl BounceKind {
    /// `"hard"` or `"soft"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
        }
    }
}

/// One recipient's failure, as read from a bounce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The address that failed, as the report gives it (trimmed, without angle brackets).
    pub recipient: String,
    /// Permanent or temporary.
    pub kind: BounceKind,
    /// The enhanced status code, such as `5.1.1`.
    pub status: String,
    /// The remote server's explanation, when the report has one.
    pub diagnostic: Option<String>,
    /// The `X-Lighthouse-Message` value of the original message, when the report includes it.
    pub campaign_ref: Option<String>,
}

/// The first bounce in `raw` (see [`parse_bounces`]), or `None` if it is not a bounce.
pub fn parse_bounce(raw: &str) -> Option<Bounce> {
    parse_bounces(raw).into_iter().next()
}

/// Every failed or delayed recipient reported in the raw message `raw` (empty if none); see the
/// module documentation for the rules.
pub fn parse_bounces(raw: &str) -> Vec<Bounce> {
    let raw = cap(raw);
    let lines = split_lines(raw);
    let mut scan = Scan::default();
    let (headers, body) = match split_headers(&lines) {
        (headers, body) if looks_like_message(&headers) => (headers, body),
        _ => (Vec::new(), &lines[..]),
    };
    scan.failed_recipients = header(&headers, "X-Failed-Recipients")
        .map(|v| v.split(',').filter_map(find_address).collect())
        .unwrap_or_default();
    walk(&headers, body, 0, &mut scan);

    let campaign_ref = scan
        .campaign_ref
        .clone()
        .or_else(|| scan.texts.iter().find_map(|t| ref_from_text(&split_lines(t))));
    let mut bounces = if scan.saw_recipient_block {
        std::mem::take(&mut scan.dsn)
    } else {
        fallback(&scan)
    };
    let mut seen = std::collections::HashSet::new();
    bounces.retain(|b| seen.insert(b.recipient.to_lowercase()));
    for b in &mut bounces {
        b.campaign_ref.clone_from(&campaign_ref);
    }
    bounces
}

/// What a walk over the MIME tree collects.
#[derive(Default)]
struct Scan {
    /// Bounces from delivery-status parts (without campaign reference yet).
    dsn: Vec<Bounce>,
    /// Whether any delivery-status part had a per-recipient block (even a successful one).
    saw_recipient_block: bool,
    /// From the original message's headers.
    campaign_ref: Option<String>,
    /// Decoded text parts, for the fallback.
    texts: Vec<String>,
    /// From the top-level `X-Failed-Recipients`.
    failed_recipients: Vec<String>,
}

/// Whether parsed top-level fields are a message header rather than a first line of text that
/// happens to contain a colon (`Note: 550 5.1.1 …`).
fn looks_like_message(fields: &[Field]) -> bool {
    const KNOWN: [&str; 12] = [
        "From",
        "To",
        "Subject",
        "Date",
        "Received",
        "Return-Path",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Delivered-To",
        "X-Failed-Recipients",
        "Auto-Submitted",
    ];
    fields
        .iter()
        .any(|(name, _)| KNOWN.iter().any(|k| k.eq_ignore_ascii_case(name)))
}

fn cap(raw: &str) -> &str {
    if raw.len() <= MAX_INPUT {
        return raw;
    }
    let mut end = MAX_INPUT;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    &raw[..end]
}

/// Visits one entity's body according to its headers.
fn walk(headers: &[Field], body: &[&str], depth: usize, scan: &mut Scan) {
    let ct = parse_content_type(header(headers, "Content-Type").unwrap_or("text/plain"));
    if ct.media.starts_with("multipart/") {
        if let Some(boundary) = ct.param("boundary").filter(|b| !b.is_empty()) {
            if depth < MAX_DEPTH {
                for part in split_multipart(body, boundary) {
                    let (part_headers, part_body) = split_headers_part(part);
                    walk(&part_headers, part_body, depth + 1, scan);
                }
            }
            return;
        }
    }
    let encoding = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("")
        .to_ascii_lowercase();
    let decoded: String;
    let decoded_lines: Vec<&str>;
    let body: &[&str] = match encoding.as_str() {
        "base64" => {
            decoded = decode_base64(body);
            decoded_lines = split_lines(&decoded);
            &decoded_lines
        }
        "quoted-printable" => {
            decoded = decode_quoted_printable(body);
            decoded_lines = split_lines(&decoded);
            &decoded_lines
        }
        _ => body,
    };
    match ct.media.as_str() {
        "message/delivery-status" | "message/global-delivery-status" => read_delivery_status(body, scan),
        "text/rfc822-headers" | "message/global-headers" | "message/rfc822" | "message/global" => {
            read_original_headers(body, scan)
        }
        media if media.starts_with("text/") || media.is_empty() => scan.texts.push(body.join("\n")),
        _ => {}
    }
}

/// The original message's header (a `text/rfc822-headers` or `message/rfc822` body): the first
/// campaign reference found wins.
fn read_original_headers(body: &[&str], scan: &mut Scan) {
    if scan.campaign_ref.is_some() {
        return;
    }
    let first = body.iter().position(|l| !is_blank(l)).unwrap_or(body.len());
    let (original, _) = split_headers(&body[first..]);
    scan.campaign_ref = header(&original, REF_HEADER)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
}

fn read_delivery_status(body: &[&str], scan: &mut Scan) {
    for group in field_groups(body) {
        let recipient = header(&group, "Final-Recipient")
            .or_else(|| header(&group, "Original-Recipient"))
            .and_then(address_field);
        let Some(recipient) = recipient else { continue };
        scan.saw_recipient_block = true;
        let action = header(&group, "Action")
            .and_then(|a| a.split_whitespace().next())
            .unwrap_or("")
            .to_ascii_lowercase();
        let diagnostic_field = header(&group, "Diagnostic-Code").unwrap_or("");
        let status = header(&group, "Status")
            .and_then(find_status)
            .or_else(|| find_status(diagnostic_field));
        let class = status.and_then(|s| s.bytes().next());
        let kind = match (action.as_str(), class) {
            ("delivered" | "relayed" | "expanded", _) => continue,
            ("delayed", _) => BounceKind::Soft,
            ("failed", Some(b'4')) => BounceKind::Soft,
            ("failed", _) => BounceKind::Hard,
            (_, Some(b'5')) => BounceKind::Hard,
            (_, Some(b'4')) => BounceKind::Soft,
            _ => continue,
        };
        scan.dsn.push(Bounce {
            recipient,
            kind,
            status: status_or_default(status, kind),
            diagnostic: diagnostic_text(diagnostic_field),
            campaign_ref: None,
        });
    }
}

fn status_or_default(status: Option<&str>, kind: BounceKind) -> String {
    match (status, kind) {
        (Some(s), _) if !s.starts_with('2') => s.to_string(),
        (_, BounceKind::Hard) => "5.0.0".to_string(),
        (_, BounceKind::Soft) => "4.0.0".to_string(),
    }
}

/// `rfc822; user@example.com` → `user@example.com` (the type is optional).
fn address_field(value: &str) -> Option<String> {
    let address = value.split_once(';').map_or(value, |(_, a)| a).trim();
    let address = address.strip_prefix('<').unwrap_or(address);
    let address = address.strip_suffix('>').unwrap_or(address).trim();
    let plausible = !address.is_empty() && !address.contains(char::is_whitespace);
    plausible.then(|| address.to_string())
}

/// `smtp; 550 5.1.1   user unknown` → `550 5.1.1 user unknown`.
fn diagnostic_text(value: &str) -> Option<String> {
    let text = match value.split_once(';') {
        Some((kind, rest)) if !kind.trim().is_empty() && !kind.contains(char::is_whitespace) => rest,
        _ => value,
    };
    let text = collapse_whitespace(text);
    (!text.is_empty()).then_some(text)
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first enhanced status code (`class.subject.detail`, class 2, 4 or 5, one to three digits
/// each) standing alone in `text`: not part of a longer number or dotted sequence.
fn find_status(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let digits = |from: usize| {
        bytes[from.min(bytes.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    for i in 0..bytes.len() {
        if !matches!(bytes[i], b'2' | b'4' | b'5') {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.') {
            continue;
        }
        if bytes.get(i + 1) != Some(&b'.') {
            continue;
        }
        let subject = digits(i + 2);
        if !(1..=3).contains(&subject) || bytes.get(i + 2 + subject) != Some(&b'.') {
            continue;
        }
        let detail_start = i + 3 + subject;
        let detail = digits(detail_start);
        let end = detail_start + detail;
        if !(1..=3).contains(&detail) {
            continue;
        }
        let continues = bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if !continues && !bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            return text.get(i..end);
        }
    }
    None
}

/// A bare SMTP reply code (`4xx`/`5xx`, second digit 0–5) standing alone as a word in `line`.
fn find_reply_code(line: &str) -> Option<u8> {
    line.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ':' | '#' | '<' | '>' | '"' | ','))
        .find_map(|word| {
            let b = word.as_bytes();
            let ok =
                b.len() == 3 && matches!(b[0], b'4' | b'5') && (b'0'..=b'5').contains(&b[1]) && b[2].is_ascii_digit();
            ok.then(|| b[0])
        })
}

/// The first plausible email address in `text`: `<…@…>` first, else a bare word.
fn find_address(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let inner = after[..close].trim();
        let inner = inner.strip_prefix("mailto:").unwrap_or(inner);
        if is_address(inner) {
            return Some(inner.to_string());
        }
        rest = &after[close + 1..];
    }
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '"' | '\'' | ',' | ';'))
        .map(|w| w.trim_end_matches(['.', ':']))
        .map(|w| w.strip_prefix("mailto:").unwrap_or(w))
        .find(|w| is_address(w))
        .map(str::to_string)
}

fn is_address(word: &str) -> bool {
    let Some((local, domain)) = word.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && !local
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>'))
        && domain.contains('.')
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// An SMTP error on a line: (status, kind, strong). Strong means an enhanced status code.
fn line_status(line: &str) -> Option<(String, BounceKind, bool)> {
    if let Some(status) = find_status(line).filter(|s| !s.starts_with('2')) {
        let kind = if status.starts_with('5') {
            BounceKind::Hard
        } else {
            BounceKind::Soft
        };
        return Some((status.to_string(), kind, true));
    }
    match find_reply_code(line)? {
        b'5' => Some(("5.0.0".to_string(), BounceKind::Hard, false)),
        _ => Some(("4.0.0".to_string(), BounceKind::Soft, false)),
    }
}

fn fallback(scan: &Scan) -> Vec<Bounce> {
    let mut bounces: Vec<Bounce> = Vec::new();
    let mut unaddressed: Option<(String, BounceKind, String)> = None;
    for text in &scan.texts {
        let lines = split_lines(text);
        for (i, line) in lines.iter().enumerate() {
            let Some((status, kind, strong)) = line_status(line) else {
                continue;
            };
            let diagnostic = collapse_whitespace(line);
            let address = find_address(line).or_else(|| {
                let above = &lines[i.saturating_sub(ADDRESS_WINDOW)..i];
                strong
                    .then(|| above.iter().rev().find_map(|l| find_address(l)))
                    .flatten()
            });
            match address {
                Some(recipient) => bounces.push(Bounce {
                    recipient,
                    kind,
                    status,
                    diagnostic: Some(diagnostic),
                    campaign_ref: None,
                }),
                None => {
                    if unaddressed.is_none() {
                        unaddressed = Some((status, kind, diagnostic));
                    }
                }
            }
        }
    }
    let found: std::collections::HashSet<String> = bounces.iter().map(|b| b.recipient.to_lowercase()).collect();
    for recipient in &scan.failed_recipients {
        if found.contains(&recipient.to_lowercase()) {
            continue;
        }
        let (status, kind, diagnostic) = match &unaddressed {
            Some((s, k, d)) => (s.clone(), *k, Some(d.clone())),
            None => ("5.0.0".to_string(), BounceKind::Hard, None),
        };
        bounces.push(Bounce {
            recipient: recipient.clone(),
            kind,
            status,
            diagnostic,
            campaign_ref: None,
        });
    }
    bounces
}

/// A quoted original's `X-Lighthouse-Message:` line (with folded continuations) in a text part.
fn ref_from_text(lines: &[&str]) -> Option<String> {
    let start = lines
        .iter()
        .position(|l| field_start(l).is_some_and(|(name, _)| name.eq_ignore_ascii_case(REF_HEADER)))?;
    let (_, first) = field_start(lines[start])?;
    let mut value = first.to_string();
    for line in &lines[start + 1..] {
        if !line.starts_with([' ', '\t']) || is_blank(line) {
            break;
        }
        value.push_str(line);
    }
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

#[cfg(test)]
#[path = "bounce_tests.rs"]
mod tests;

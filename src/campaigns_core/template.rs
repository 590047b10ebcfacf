//! Sandboxed email template engine for campaign emails.
//!
//! **Policy.** A template is data, never code: there are no loops, includes, partials, function
//! calls or filters other than `default`, and a template sees nothing beyond the values that the
//! caller hands to [`Template::render`] for the variable names that the caller whitelisted in
//! [`parse`]. The engine is pure (no I/O, no environment, no clock), bounded (source ≤
//! [`MAX_SOURCE_BYTES`], output ≤ [`MAX_OUTPUT_BYTES`], nesting ≤ [`MAX_NESTING`]) and never
//! panics. Values are **escaped by default** in [`Mode::Html`]; there is no raw-insert syntax.
//!
//! **Syntax** (whitespace inside the braces is optional):
//! - `{{ name }}` inserts a variable; missing or blank (empty or whitespace-only) inserts nothing.
//! - `{{ name | default: "text" }}` inserts `text` when the variable is missing or blank. In the
//!   literal, `\"` is a quote and `\\` a backslash; it cannot contain `}}` or `{{`.
//! - `{{#if name}} … {{else}} … {{/if}}`: the first branch when the variable is present and not
//!   blank; `{{else}}` is optional; blocks nest up to [`MAX_NESTING`] deep.
//! - Anything else in braces (`{{{`, `{{#each}}`, `{{> x}}`, `{{! x}}`, other filters, unknown or
//!   malformed names, unclosed `{{` or `{{#if}}`) is a parse error. Names are ASCII letters,
//!   digits, `_` and `.`, starting with a letter or `_`, case-sensitive; `else` is a keyword.
//!   Text outside tags is emitted unchanged (a stray `}}` is text; a literal `{{` cannot be written).
//!
//! Errors carry the 1-based line and column (in characters) of the offending tag's `{{`.

use std::collections::BTreeSet;

/// Largest accepted template source, in bytes (256 KiB).
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;
/// Rendering stops appending once the output would exceed this many bytes (1 MiB).
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Deepest allowed nesting of `{{#if}}` blocks.
pub const MAX_NESTING: usize = 8;
/// Longest output of [`Mode::Header`], in bytes (the RFC 5322 line limit).
pub const MAX_HEADER_BYTES: usize = 998;
/// Parsing stops after this many errors (one more error says so).
pub const MAX_ERRORS: usize = 100;

/// One parse error, located at the `{{` of the offending tag (1-based line and column; columns
/// count characters, lines are separated by `\n`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    /// 1-based line of the tag.
    pub line: usize,
    /// 1-based column (in characters) of the tag.
    pub column: usize,
    /// What is wrong, in plain English.
    pub message: String,
}

/// How [`Template::render`] treats inserted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTML body: values and default literals are HTML-escaped; template text is unchanged.
    Html,
    /// Plain-text body: values are inserted verbatim.
    Text,
    /// A header such as the subject: control characters (CR, LF, tab, …) and U+2028/U+2029 in the
    /// whole output become spaces, then the output is trimmed and cut to [`MAX_HEADER_BYTES`] bytes
    /// on a character boundary.
    Header,
}

/// A parsed piece: literal text, `Var(name, default)` or `If(name, then, otherwise)`.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Var(String, Option<String>),
    If(String, Vec<Node>, Vec<Node>),
}

/// A parsed, validated template; only obtainable from [`parse`]. Render it with
/// [`Template::render`] as often as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
    vars: BTreeSet<String>,
}

impl Template {
    /// The distinct variable names the template uses (inserted or tested), sorted.
    pub fn variables(&self) -> Vec<String> {
        self.vars.iter().cloned().collect()
    }

    /// Whether the template uses `name` anywhere (e.g. to require `unsubscribe_url`).
    pub fn uses(&self, name: &str) -> bool {
        self.vars.contains(name)
    }

    /// Renders the template. `vars` looks a variable up by name (`None` when missing); it is only
    /// called with names from [`Template::variables`]. For a map:
    /// `t.render(&|k| map.get(k).cloned(), Mode::Html)`. Output is capped at [`MAX_OUTPUT_BYTES`].
    pub fn render(&self, vars: &dyn Fn(&str) -> Option<String>, mode: Mode) -> String {
        let mut out = Out::new(mode == Mode::Html, MAX_OUTPUT_BYTES);
        render_nodes(&self.nodes, vars, &mut out);
        match mode {
            Mode::Header => finish_header(&out.buf),
            Mode::Html | Mode::Text => out.buf,
        }
    }
}

/// Escapes `&`, `<`, `>`, `"` and `'` as HTML entities (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`).
pub fn escape_html(s: &str) -> String {
    let mut out = Out::new(true, usize::MAX);
    out.value(s);
    out.buf
}

fn is_blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// Output under construction: appends until `cap` bytes, then stops for good.
struct Out {
    buf: String,
    cap: usize,
    full: bool,
    html: bool,
}

impl Out {
    fn new(html: bool, cap: usize) -> Out {
        Out {
            buf: String::new(),
            cap,
            full: false,
            html,
        }
    }

    /// Appends `s`, or as much of it as fits on a character boundary.
    fn push(&mut self, s: &str) {
        if self.full {
            return;
        }
        let mut end = s.len().min(self.cap.saturating_sub(self.buf.len()));
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.full = end < s.len();
        self.buf.push_str(&s[..end]);
    }

    /// Appends an inserted value, escaped in HTML mode; an entity is never cut in half.
    fn value(&mut self, s: &str) {
        let (mut last, html) = (0, self.html);
        for (i, b) in s.bytes().enumerate().filter(|_| html) {
            let entity = match b {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                b'\'' => "&#39;",
                _ => continue,
            };
            self.push(&s[last..i]);
            self.full |= self.cap.saturating_sub(self.buf.len()) < entity.len();
            self.push(entity);
            last = i + 1;
        }
        self.push(&s[last..]);
    }
}

fn render_nodes(nodes: &[Node], vars: &dyn Fn(&str) -> Option<String>, out: &mut Out) {
    for node in nodes {
        if out.full {
            return;
        }
        match node {
            Node::Text(text) => out.push(text),
            Node::Var(name, default) => match vars(name).filter(|v| !is_blank(v)) {
                Some(value) => out.value(&value),
                None => out.value(default.as_deref().unwrap_or("")),
            },
            Node::If(name, then, otherwise) => {
                let truthy = vars(name).is_some_and(|v| !is_blank(&v));
                render_nodes(if truthy { then } else { otherwise }, vars, out);
            }
        }
    }
}

fn finish_header(raw: &str) -> String {
    let cleaned = raw.replace(|c: char| c.is_control() || c == '\u{2028}' || c == '\u{2029}', " ");
    let trimmed = cleaned.trim();
    let mut end = trimmed.len().min(MAX_HEADER_BYTES);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].trim_end().to_string()
}

/// A position: 1-based (line, column).
type Pos = (usize, usize);

/// Parses `source`, accepting only the variable names in `allowed` (case-sensitive). Returns every
/// error found (up to [`MAX_ERRORS`]), sorted by position; a source over [`MAX_SOURCE_BYTES`] is a
/// single error at line 1, column 1.
pub fn parse(source: &str, allowed: &[&str]) -> Result<Template, Vec<TemplateError>> {
    let mut p = Parser {
        allowed,
        stack: vec![Frame::default()],
        ..Parser::default()
    };
    if source.len() > MAX_SOURCE_BYTES {
        p.error((1, 1), format!("template is over the {MAX_SOURCE_BYTES}-byte limit"));
        return Err(p.errors);
    }
    let (mut pos, mut loc) = (0, Locator(0, (1, 1)));
    while let Some(off) = source[pos..].find("{{") {
        let start = pos + off;
        p.text(&source[pos..start]);
        let at = loc.at(source, start);
        let after = start + 2;
        if source[after..].starts_with('{') {
            p.error(at, "`{{{` is not supported: values are always escaped");
            pos = match next_pair(&source[after + 1..]) {
                Some((i, true)) => after + 1 + i,
                Some((i, false)) => after + 3 + i + usize::from(source[after + 3 + i..].starts_with('}')),
                None => source.len(),
            };
        } else {
            pos = match next_pair(&source[after..]) {
                Some((i, false)) => {
                    p.tag(&source[after..after + i], at);
                    after + i + 2
                }
                other => {
                    p.error(at, "unclosed tag: `{{` without a matching `}}`");
                    other.map_or(source.len(), |(i, _)| after + i)
                }
            };
        }
        if p.errors.len() >= MAX_ERRORS {
            p.errors.sort_by_key(|e| (e.line, e.column));
            p.error(at, format!("too many errors; stopped after {MAX_ERRORS}"));
            return Err(p.errors);
        }
    }
    p.text(&source[pos..]);
    while p.stack.len() > 1 {
        if let Some(f) = p.stack.pop() {
            let message = format!("`{{{{#if {}}}}}` is never closed by `{{{{/if}}}}`", f.name);
            p.error(f.at, message);
        }
    }
    if !p.errors.is_empty() {
        p.errors.sort_by_key(|e| (e.line, e.column));
        return Err(p.errors);
    }
    let nodes = p.stack.pop().map(|root| root.then).unwrap_or_default();
    Ok(Template { nodes, vars: p.vars })
}

/// First `{{` (true) or `}}` (false) in `s`, by byte offset.
fn next_pair(s: &str) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = b[i..].iter().position(|&c| c == b'{' || c == b'}') {
        let j = i + off;
        if b.get(j + 1) == b.get(j) {
            return Some((j, b[j] == b'{'));
        }
        i = j + 1;
    }
    None
}

/// Turns byte offsets into positions, moving forward only (tags are visited in order): the byte
/// offset reached and its position.
struct Locator(usize, Pos);

impl Locator {
    fn at(&mut self, src: &str, target: usize) -> Pos {
        let Locator(pos, (line, column)) = self;
        for &b in src.as_bytes().get(*pos..target).unwrap_or(&[]) {
            if b == b'\n' {
                (*line, *column) = (*line + 1, 1);
            } else if b & 0xC0 != 0x80 {
                *column += 1;
            }
        }
        *pos = target.max(*pos);
        (*line, *column)
    }
}

/// An open `{{#if}}` block (or, at the bottom of the stack, the whole template).
#[derive(Default)]
struct Frame {
    name: String,
    at: Pos,
    then: Vec<Node>,
    otherwise: Option<Vec<Node>>,
    /// True for a block nested too deep (and inside it): its content is dropped, keeping the tree shallow.
    dead: bool,
}

#[derive(Default)]
struct Parser<'a> {
    allowed: &'a [&'a str],
    errors: Vec<TemplateError>,
    /// Open blocks; never empty (the root frame stays at the bottom).
    stack: Vec<Frame>,
    vars: BTreeSet<String>,
}

impl Parser<'_> {
    fn error(&mut self, (line, column): Pos, message: impl Into<String>) {
        self.errors.push(TemplateError {
            line,
            column,
            message: message.into(),
        });
    }

    fn push(&mut self, node: Node) {
        if let Some(top) = self.stack.last_mut().filter(|f| !f.dead) {
            top.otherwise.as_mut().unwrap_or(&mut top.then).push(node);
        }
    }

    fn text(&mut self, s: &str) {
        if !s.is_empty() && self.errors.is_empty() {
            self.push(Node::Text(s.to_string()));
        }
    }

    /// Checks a variable name; records it and returns true when valid and allowed.
    fn name(&mut self, name: &str, at: Pos) -> bool {
        let mut chars = name.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        if !valid {
            self.error(at, format!("unknown tag or invalid variable name `{}`", snippet(name)));
        } else if !self.allowed.contains(&name) {
            self.error(at, format!("unknown variable `{name}`"));
        } else {
            self.vars.insert(name.to_string());
            return true;
        }
        false
    }

    fn tag(&mut self, body: &str, at: Pos) {
        let t = body.trim();
        let open = self.stack.len() > 1;
        if t.is_empty() {
            self.error(at, "empty tag `{{}}`");
        } else if t == "else" {
            match self.stack.last_mut().filter(|_| open) {
                None => self.error(at, "`{{else}}` outside `{{#if}}`"),
                Some(top) if top.otherwise.is_none() => top.otherwise = Some(Vec::new()),
                Some(_) => self.error(at, "second `{{else}}` in one `{{#if}}`"),
            }
        } else if let Some(rest) = t
            .strip_prefix("#if")
            .filter(|r| r.is_empty() || r.starts_with(char::is_whitespace))
        {
            let name = rest.trim();
            if name.is_empty() {
                self.error(at, "`{{#if}}` needs a variable name");
            } else if name.contains('|') {
                self.error(at, "`{{#if}}` takes a variable name only, no filter");
            } else {
                self.name(name, at);
            }
            let too_deep = self.stack.len() > MAX_NESTING;
            if too_deep {
                self.error(at, format!("`{{{{#if}}}}` nested deeper than {MAX_NESTING}"));
            }
            let dead = too_deep || self.stack.last().is_some_and(|f| f.dead);
            self.stack.push(Frame {
                name: snippet(name),
                at,
                dead,
                ..Frame::default()
            });
        } else if let Some(rest) = t.strip_prefix('/') {
            if rest.trim() != "if" {
                self.error(
                    at,
                    format!("unknown closing tag `{}`; only `{{{{/if}}}}` exists", snippet(t)),
                );
            } else if !open {
                self.error(at, "`{{/if}}` without `{{#if}}`");
            } else if let Some(f) = self.stack.pop().filter(|f| !f.dead) {
                self.push(Node::If(f.name, f.then, f.otherwise.unwrap_or_default()));
            }
        } else if t.starts_with(['#', '>', '!', '&', '^', '~', '*', '@', '$', '%', '=']) {
            self.error(at, format!("unknown tag `{}`", snippet(t)));
        } else {
            let (name, filter) = t.split_once('|').map_or((t, None), |(n, f)| (n.trim(), Some(f.trim())));
            let ok = self.name(name, at);
            match filter.map(parse_default).transpose() {
                Err(message) => self.error(at, message),
                Ok(default) if ok => self.push(Node::Var(name.to_string(), default)),
                Ok(_) => {}
            }
        }
    }
}

/// Parses `default: "text"` (already trimmed) into `text`.
fn parse_default(f: &str) -> Result<String, String> {
    let Some(rest) = f.strip_prefix("default") else {
        return Err(format!("unknown filter `{}`; only `default` exists", snippet(f)));
    };
    let Some(rest) = rest.trim_start().strip_prefix(':') else {
        return Err("expected `:` after `default`".into());
    };
    let Some(lit) = rest.trim_start().strip_prefix('"') else {
        return Err("expected a double-quoted text after `default:`".into());
    };
    let mut text = String::new();
    let mut chars = lit.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.as_str().is_empty() => return Ok(text),
            '"' => return Err("unexpected text after the default literal".into()),
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\')) => text.push(e),
                _ => return Err("invalid escape in default literal (only `\\\"` and `\\\\`)".into()),
            },
            _ => text.push(c),
        }
    }
    Err("unterminated default literal: missing closing `\"`".into())
}

/// At most 40 characters of `s`, control characters as spaces, for error messages.
fn snippet(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect::<String>().replace(char::is_control, " ");
    if s.chars().nth(40).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;

//! An SMTP sink for integration tests and benchmarks: a real SMTP server on `127.0.0.1` that
//! accepts (or, on request, refuses) mail and keeps every accepted message in memory.
//!
//! Standard library only: one accept thread and one thread per connection, buffered reads and
//! writes, replies flushed once per pipelined batch (when no complete command is waiting), so a
//! pooled or pipelining client can send many thousands of small messages a second through it.
//!
//! It speaks enough ESMTP for a real client: a `220` greeting; `EHLO` (advertising `PIPELINING`,
//! `8BITMIME`, `SMTPUTF8`, `SIZE` and `AUTH PLAIN LOGIN`) and `HELO`; `AUTH PLAIN` and
//! `AUTH LOGIN`, which accept any credentials and record the user name; `MAIL FROM`, `RCPT TO`,
//! `DATA` (dot-unstuffed, up to the advertised size), `RSET`, `NOOP` and `QUIT`. Anything else
//! gets `500`. There is no TLS: point the client at it with TLS off.
//!
//! [`SinkMode`] makes it refuse mail for failure tests. [`SmtpSink::stop`] takes it down ("the
//! mail server is down"): the port is closed and open connections are cut. A sink does not
//! restart; start another with [`SmtpSink::start`] (a new port) or [`SmtpSink::start_on`] with
//! the old port when the client's configuration cannot change.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The message size advertised with `SIZE`, in bytes; larger messages are refused with `552`.
pub const MAX_MESSAGE_SIZE: usize = 32 * 1024 * 1024;

/// The longest command line read at once; longer commands are refused.
const MAX_LINE: u64 = 64 * 1024;

/// How the sink answers mail, from the next command on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkMode {
    /// Accept every message (the default).
    Accept,
    /// Answer `451` (temporary failure) to every `RCPT TO` and `DATA`.
    TempFail,
    /// Answer `550` (unknown user) to `RCPT TO` for this address (case-insensitive, with or
    /// without angle brackets); other recipients are accepted.
    PermFail(String),
}

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`), without angle brackets; empty for the null sender `<>`.
    pub mail_from: String,
    /// The accepted envelope recipients (`RCPT TO`), in order, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The raw message as sent after `DATA`: dot-unstuffed, line ends as received (CRLF), ending
    /// with the last line's CRLF (the terminating `.` line excluded). Invalid UTF-8 is replaced.
    pub data: String,
    /// The user name given with `AUTH` on this connection, if the client authenticated.
    pub auth_user: Option<String>,
}

impl Received {
    /// The first header field called `name` (case-insensitive), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header field in order, as (name, value) with the value unfolded and trimmed.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in self.header_section().lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = fields.last_mut() {
                    value.push_str(line);
                }
            } else if let Some((name, value)) = line.split_once(':') {
                fields.push((name.trim().to_string(), value.to_string()));
            }
        }
        for (_, value) in &mut fields {
            *value = value.trim().to_string();
        }
        fields
    }

    /// The message body: everything after the blank line that ends the header ("" if none).
    pub fn body(&self) -> String {
        self.split()
            .map_or_else(String::new, |(_, start)| self.data[start..].to_string())
    }

    fn header_section(&self) -> &str {
        let end = self.split().map_or(self.data.len(), |(end, _)| end);
        &self.data[..end]
    }

    /// Where the header section ends and the body starts (the blank line between, CRLF or LF).
    fn split(&self) -> Option<(usize, usize)> {
        let data = self.data.as_str();
        if data.starts_with("\r\n") {
            return Some((0, 2));
        }
        if data.starts_with('\n') {
            return Some((0, 1));
        }
        let crlf = data.find("\r\n\r\n").map(|i| (i, i + 4));
        let lf = data.find("\n\n").map(|i| (i, i + 2));
        match (crlf, lf) {
            (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// A running SMTP sink. Cheap to query from any thread; dropping it stops it.
pub struct SmtpSink {
    shared: Arc<Shared>,
    port: u16,
    accept: Mutex<Option<JoinHandle<()>>>,
}

/// State shared by the handle, the accept thread and the connection threads.
struct Shared {
    messages: Mutex<Vec<Received>>,
    arrived: Condvar,
    mode: Mutex<SinkMode>,
    stopping: AtomicBool,
    connections: Mutex<HashMap<u64, TcpStream>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SmtpSink {
    /// Starts a sink on `127.0.0.1` on a free port (see [`SmtpSink::port`]).
    ///
    /// Panics if no local port can be bound, which only a broken test machine does.
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(0).unwrap_or_else(|e| panic!("SMTP sink: cannot listen on 127.0.0.1: {e}"))
    }

    /// Starts a sink on `127.0.0.1:port` (`0` for a free one): for "the server comes back" tests,
    /// pass the port of a stopped sink. Fails if the port is taken.
    pub fn start_on(port: u16) -> io::Result<SmtpSink> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            mode: Mutex::new(SinkMode::Accept),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
        });
        let for_thread = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name(format!("smtp-sink-{port}"))
            .spawn(move || accept_loop(listener, for_thread))?;
        Ok(SmtpSink {
            shared,
            port,
            accept: Mutex::new(Some(accept)),
        })
    }

    /// The port the sink listens on (on `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A copy of every message accepted so far, in the order they were accepted.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.messages).clone()
    }

    /// How many messages have been accepted so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.messages).len()
    }

    /// Waits until at least `n` messages have been accepted, or `timeout` has passed; true if they
    /// have. Messages keep counting across mode changes and after [`SmtpSink::stop`].
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let messages = lock(&self.shared.messages);
        let (messages, _) = self
            .shared
            .arrived
            .wait_timeout_while(messages, timeout, |m| m.len() < n)
            .unwrap_or_else(PoisonError::into_inner);
        messages.len() >= n
    }

    /// Changes how the sink answers, from each connection's next command on.
    pub fn set_mode(&self, mode: SinkMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Stops the sink: the port is closed (new connections are refused) and open connections are
    /// cut, mid-message or not; a message stored before the stop was acknowledged, one completed
    /// after it is not stored. Accepted messages stay readable. Idempotent; the sink cannot be
    /// restarted (start a new one, see the module documentation).
    pub fn stop(&self) {
        // Under the message lock, so that a message is either stored and acknowledged before
        // the stop or not stored at all.
        let already = {
            let _messages = lock(&self.shared.messages);
            self.shared.stopping.swap(true, Ordering::SeqCst)
        };
        if already {
            return;
        }
        // Wake the accept thread, which sees `stopping` and closes the listener.
        let woken = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok();
        cut_all(&self.shared);
        if let Some(handle) = lock(&self.accept).take() {
            if woken {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn cut_all(shared: &Shared) {
    for stream in lock(&shared.connections).values() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // Out of descriptors or similar: back off instead of spinning.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        workers.retain(|w| !w.is_finished());
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        let id = next_id;
        next_id += 1;
        lock(&shared.connections).insert(id, registered);
        let for_thread = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("smtp-sink-conn-{id}"))
            .spawn(move || {
                let _ = serve(stream, &for_thread);
                lock(&for_thread.connections).remove(&id);
            });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(_) => {
                lock(&shared.connections).remove(&id);
            }
        }
    }
    drop(listener);
    cut_all(&shared);
    for worker in workers {
        let _ = worker.join();
    }
}

/// Where a connection is in the dialogue: what its next line means.
enum Phase {
    Command,
    AuthPlain,
    AuthLoginUser,
    AuthLoginPassword,
    Data,
}

/// One connection's state.
struct Session {
    phase: Phase,
    auth_user: Option<String>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    data_at_line_start: bool,
}

impl Session {
    fn reset(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
        self.data.clear();
    }
}

/// What to do after a line.
enum Next {
    Continue,
    Quit,
}

fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nodelay(true)?;
    // A reply written under the message lock must not wait for ever on a client that stopped reading.
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    let mut writer = BufWriter::with_capacity(16 * 1024, stream);
    let mut session = Session {
        phase: Phase::Command,
        auth_user: None,
        mail_from: None,
        rcpt_to: Vec::new(),
        data: Vec::new(),
        data_at_line_start: true,
    };
    writer.write_all(b"220 localhost ESMTP Data Lighthouse test sink\r\n")?;
    let mut line = Vec::with_capacity(1024);
    loop {
        // Pipelining: answer a whole batch at once, but never wait for input with replies unsent.
        if !reader.buffer().contains(&b'\n') {
            writer.flush()?;
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return Ok(());
        }
        line.clear();
        if (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if let Next::Quit = handle_line(&line, &mut session, shared, &mut writer)? {
            writer.flush()?;
            let _ = writer.get_ref().shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

fn handle_line(line: &[u8], session: &mut Session, shared: &Shared, out: &mut impl Write) -> io::Result<Next> {
    if let Phase::Data = session.phase {
        receive_data_line(line, session, shared, out)?;
        return Ok(Next::Continue);
    }
    if !line.ends_with(b"\n") {
        // Longer than MAX_LINE: the rest of it is read as further (refused) lines.
        out.write_all(b"500 5.5.6 Line too long\r\n")?;
        return Ok(Next::Continue);
    }
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\r', '\n']);
    match session.phase {
        Phase::Command => command(text, session, shared, out),
        Phase::AuthPlain => {
            session.phase = Phase::Command;
            if text == "*" {
                out.write_all(b"501 5.0.0 Authentication cancelled\r\n")?;
            } else {
                finish_auth_plain(text, session, out)?;
            }
            Ok(Next::Continue)
        }
        Phase::AuthLoginUser => {
            match decode_base64(text) {
                Some(user) if text != "*" => {
                    session.auth_user = Some(String::from_utf8_lossy(&user).into_owned());
                    session.phase = Phase::AuthLoginPassword;
                    out.write_all(b"334 UGFzc3dvcmQ6\r\n")?;
                }
                _ => {
                    session.auth_user = None;
                    session.phase = Phase::Command;
                    out.write_all(b"501 5.5.2 Cannot decode response\r\n")?;
                }
            }
            Ok(Next::Continue)
        }
        Phase::AuthLoginPassword => {
            session.phase = Phase::Command;
            if text == "*" || decode_base64(text).is_none() {
                session.auth_user = None;
                out.write_all(b"501 5.5.2 Cannot decode response\r\n")?;
            } else {
                out.write_all(b"235 2.7.0 Authentication successful\r\n")?;
            }
            Ok(Next::Continue)
        }
        Phase::Data => Ok(Next::Continue), // handled above
    }
}

fn command(text: &str, session: &mut Session, shared: &Shared, out: &mut impl Write) -> io::Result<Next> {
    let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
    let arg = arg.trim();
    match verb.to_ascii_uppercase().as_str() {
        "EHLO" => {
            session.reset();
            write!(
                out,
                "250-localhost greets {arg}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
                 250-SIZE {MAX_MESSAGE_SIZE}\r\n250 AUTH PLAIN LOGIN\r\n"
            )?;
        }
        "HELO" => {
            session.reset();
            out.write_all(b"250 localhost\r\n")?;
        }
        "AUTH" => auth(arg, session, out)?,
        "MAIL" => match strip_keyword(arg, "FROM:").and_then(path) {
            _ if session.mail_from.is_some() => out.write_all(b"503 5.5.1 Nested MAIL command\r\n")?,
            Some(from) => {
                session.mail_from = Some(from);
                out.write_all(b"250 2.1.0 Sender OK\r\n")?;
            }
            None => out.write_all(b"501 5.5.4 Syntax: MAIL FROM:<address>\r\n")?,
        },
        "RCPT" => match strip_keyword(arg, "TO:").and_then(path) {
            _ if session.mail_from.is_none() => out.write_all(b"503 5.5.1 Need MAIL before RCPT\r\n")?,
            Some(to) if !to.is_empty() => {
                let mode = lock(&shared.mode).clone();
                match mode {
                    SinkMode::TempFail => out.write_all(b"451 4.3.0 Temporary failure, try again later\r\n")?,
                    SinkMode::PermFail(bad) if same_address(&bad, &to) => {
                        out.write_all(b"550 5.1.1 No such user here\r\n")?
                    }
                    _ => {
                        session.rcpt_to.push(to);
                        out.write_all(b"250 2.1.5 Recipient OK\r\n")?;
                    }
                }
            }
            _ => out.write_all(b"501 5.5.4 Syntax: RCPT TO:<address>\r\n")?,
        },
        "DATA" => {
            if session.mail_from.is_none() {
                out.write_all(b"503 5.5.1 Need MAIL before DATA\r\n")?;
            } else if session.rcpt_to.is_empty() {
                session.reset();
                out.write_all(b"554 5.5.1 No valid recipients\r\n")?;
            } else if *lock(&shared.mode) == SinkMode::TempFail {
                session.reset();
                out.write_all(b"451 4.3.0 Temporary failure, try again later\r\n")?;
            } else {
                session.data.clear();
                session.data_at_line_start = true;
                session.phase = Phase::Data;
                out.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            }
        }
        "RSET" => {
            session.reset();
            out.write_all(b"250 2.0.0 OK\r\n")?;
        }
        "NOOP" => out.write_all(b"250 2.0.0 OK\r\n")?,
        "QUIT" => {
            out.write_all(b"221 2.0.0 Bye\r\n")?;
            return Ok(Next::Quit);
        }
        _ => out.write_all(b"500 5.5.2 Command not recognised\r\n")?,
    }
    Ok(Next::Continue)
}

fn auth(arg: &str, session: &mut Session, out: &mut impl Write) -> io::Result<()> {
    if session.auth_user.is_some() {
        return out.write_all(b"503 5.5.1 Already authenticated\r\n");
    }
    let (mechanism, initial) = arg.split_once(' ').unwrap_or((arg, ""));
    let initial = initial.trim();
    match (mechanism.to_ascii_uppercase().as_str(), initial) {
        ("PLAIN", "") => {
            session.phase = Phase::AuthPlain;
            out.write_all(b"334 \r\n")
        }
        ("PLAIN", response) => finish_auth_plain(response, session, out),
        ("LOGIN", "") => {
            session.phase = Phase::AuthLoginUser;
            out.write_all(b"334 VXNlcm5hbWU6\r\n")
        }
        ("LOGIN", user) => match decode_base64(user) {
            Some(user) => {
                session.auth_user = Some(String::from_utf8_lossy(&user).into_owned());
                session.phase = Phase::AuthLoginPassword;
                out.write_all(b"334 UGFzc3dvcmQ6\r\n")
            }
            None => out.write_all(b"501 5.5.2 Cannot decode response\r\n"),
        },
        _ => out.write_all(b"504 5.5.4 Unrecognised authentication mechanism\r\n"),
    }
}

/// `[authzid] NUL authcid NUL password`, base64 (`=` alone is an empty response).
fn finish_auth_plain(response: &str, session: &mut Session, out: &mut impl Write) -> io::Result<()> {
    let decoded = if response == "=" {
        Some(Vec::new())
    } else {
        decode_base64(response)
    };
    let user = decoded.and_then(|bytes| {
        let parts: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
        (parts.len() == 3).then(|| String::from_utf8_lossy(parts[1]).into_owned())
    });
    match user {
        Some(user) => {
            session.auth_user = Some(user);
            out.write_all(b"235 2.7.0 Authentication successful\r\n")
        }
        None => out.write_all(b"501 5.5.2 Cannot decode response\r\n"),
    }
}

fn receive_data_line(line: &[u8], session: &mut Session, shared: &Shared, out: &mut impl Write) -> io::Result<()> {
    let at_start = session.data_at_line_start;
    session.data_at_line_start = line.ends_with(b"\n");
    if at_start && (line == b".\r\n" || line == b".\n") {
        session.phase = Phase::Command;
        let data = std::mem::take(&mut session.data);
        let too_big = data.len() > MAX_MESSAGE_SIZE;
        let mail_from = session.mail_from.take().unwrap_or_default();
        let rcpt_to = std::mem::take(&mut session.rcpt_to);
        if too_big {
            return out.write_all(b"552 5.3.4 Message too big\r\n");
        }
        let data = String::from_utf8(data).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let received = Received {
            mail_from,
            rcpt_to,
            data,
            auth_user: session.auth_user.clone(),
        };
        // Storing a message and acknowledging it are one step with respect to `stop`: a stopped
        // sink stores nothing more, and every message it stored had its 250 sent (a server that
        // stops, not one that loses replies it owes; see `SmtpSink::stop`).
        let mut messages = lock(&shared.messages);
        if shared.stopping.load(Ordering::SeqCst) {
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the sink has stopped"));
        }
        messages.push(received);
        write!(out, "250 2.0.0 OK queued as {}\r\n", messages.len())?;
        out.flush()?;
        drop(messages);
        shared.arrived.notify_all();
        return Ok(());
    }
    let content = if at_start && line.starts_with(b".") {
        &line[1..]
    } else {
        line
    };
    if session.data.len() <= MAX_MESSAGE_SIZE {
        session.data.extend_from_slice(content);
    }
    Ok(())
}

/// `FROM:<a@b> SIZE=1` → `FROM:` removed, case-insensitively, with spaces after the colon allowed.
fn strip_keyword<'a>(arg: &'a str, keyword: &str) -> Option<&'a str> {
    let head = arg.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| arg[keyword.len()..].trim_start())
}

/// `<a@b> PARAMS` → `a@b`; `<>` → ``; a bare address is accepted too.
fn path(arg: &str) -> Option<String> {
    match arg.strip_prefix('<') {
        Some(rest) => rest.split_once('>').map(|(inner, _)| inner.trim().to_string()),
        None => arg.split_whitespace().next().map(str::to_string),
    }
}

fn same_address(configured: &str, given: &str) -> bool {
    let configured = configured.trim();
    let configured = configured.strip_prefix('<').unwrap_or(configured);
    let configured = configured.strip_suffix('>').unwrap_or(configured);
    configured.eq_ignore_ascii_case(given)
}

/// Standard base64 with optional padding; `None` on any other character.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

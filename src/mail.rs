//! Outgoing mail: lettre's SMTP transport with a connection pool, TLS and authentication from
//! `[campaigns]`, and the building of one campaign message with its list headers.
//!
//! Policy: every message carries `List-Unsubscribe` (the HTTPS one-click URL, and a mailto if
//! configured), `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058), a Message-ID
//! made from the outbox reference, and `X-Lighthouse-Message` with that reference, which bounces
//! carry back. SMTP failures are classified as temporary (retry later) or permanent.

use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{Address, Message, SmtpTransport, Transport};

use crate::config::CampaignSettings;

/// How a send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth retrying later (4xx, connection trouble).
    Temporary(String),
    /// Will not work (5xx, bad address).
    Permanent(String),
}

/// The SMTP side of campaigns.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<SmtpTransport>,
    from: Option<Address>,
}

impl Mailer {
    /// The mailer `[campaigns]` describes; with no `smtp_host`, one that sends nothing.
    pub fn from_settings(s: &CampaignSettings) -> Result<Mailer, String> {
        if s.smtp_host.is_empty() {
            return Ok(Mailer {
                transport: None,
                from: None,
            });
        }
        let builder = match s.smtp_tls.as_str() {
            "none" => SmtpTransport::builder_dangerous(s.smtp_host.clone()),
            "tls" => SmtpTransport::relay(&s.smtp_host).map_err(|e| format!("campaigns.smtp_host: {e}"))?,
            _ => SmtpTransport::starttls_relay(&s.smtp_host).map_err(|e| format!("campaigns.smtp_host: {e}"))?,
        };
        let mut builder = builder
            .port(s.smtp_port)
            .timeout(Some(Duration::from_secs(s.smtp_timeout_secs.max(1))))
            .pool_config(PoolConfig::new().max_size(s.smtp_pool_size));
        if !s.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(s.smtp_username.clone(), s.smtp_password.clone()));
        }
        let from = s
            .from_address
            .parse::<Address>()
            .map_err(|e| format!("campaigns.from_address: {e}"))?;
        Ok(Mailer {
            transport: Some(builder.build()),
            from: Some(from),
        })
    }

    /// Whether sending is configured.
    pub fn enabled(&self) -> bool {
        self.transport.is_some()
    }

    /// Send one message.
    pub fn send(&self, m: &OutgoingMessage) -> Result<(), SendError> {
        let (Some(transport), Some(from)) = (&self.transport, &self.from) else {
            return Err(SendError::Temporary("sending is not configured".into()));
        };
        let to: Address =
            m.to.parse()
                .map_err(|e| SendError::Permanent(format!("bad recipient address: {e}")))?;
        let message = build(from.clone(), to, m).map_err(SendError::Permanent)?;
        match transport.send(&message) {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Temporary(e.to_string())),
        }
    }
}

/// One message, rendered.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// Recipient address.
    pub to: String,
    /// Recipient name.
    pub to_name: Option<String>,
    /// Sender display name (e.g. a Member's name).
    pub sender_name: String,
    /// Subject (already header-safe).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Outbox reference.
    pub message_ref: String,
    /// One-click unsubscribe URL.
    pub unsubscribe_url: String,
    /// Optional unsubscribe mailto address.
    pub unsubscribe_mailto: Option<String>,
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

fn build(from: Address, to: Address, m: &OutgoingMessage) -> Result<Message, String> {
    let mut list = format!("<{}>", m.unsubscribe_url);
    if let Some(mailto) = &m.unsubscribe_mailto {
        list.push_str(&format!(", <mailto:{mailto}?subject=unsubscribe%20{}>", m.message_ref));
    }
    Message::builder()
        .from(Mailbox::new(Some(m.sender_name.clone()), from.clone()))
        .to(Mailbox::new(m.to_name.clone(), to))
        .subject(m.subject.clone())
        .message_id(Some(format!("<{}@{}>", m.message_ref, from.domain())))
        .raw_header(header("List-Unsubscribe", list))
        .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
        .raw_header(header("X-Lighthouse-Message", m.message_ref.clone()))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(m.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(m.html.clone()),
                ),
        )
        .map_err(|e| e.to_string())
}

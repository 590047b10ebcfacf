//! Sending: workers claim due outbox rows, decide again whether each person may be contacted,
//! render, send through SMTP, and settle the row.
//!
//! Policy:
//! - The consent decision ([`crate::service::consent::may_contact`], which includes the
//!   suppression list, restriction and erasure) is taken **just before each message**; a "no"
//!   settles the row as `skipped` with the decision's reason.
//! - A row is sent at most once per campaign and person: it is claimed before sending and settled
//!   right after, each in its own transaction; only a worker that dies between the SMTP server's
//!   acceptance and that settlement (milliseconds) can leave a row to be sent again when its
//!   claim expires — receivers can drop that copy by its Message-ID, which is the same. So can
//!   a server that stores a message but loses the connection before its reply reaches us
//!   (RFC 1047): no SMTP client can tell that from a message that never arrived, so it is
//!   retried.
//! - Temporary SMTP failures are retried after `retry_base_secs`, doubling, up to
//!   `max_attempts`; permanent ones fail the row at once.
//! - Each message sent is logged as an engagement (`communication`/`sent`, source `campaign`,
//!   idempotent by the outbox reference), so it shows in the timeline and the subject access
//!   export.
//! - `rate_per_second` paces every worker thread of the instance together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{parse_template, Parsed, TestSendRequest};
use crate::campaigns_core::token::{self, UnsubscribeClaims};
use crate::config::CampaignSettings;
use crate::db::campaigns::{Campaign, OutboxRow, Settle};
use crate::db::consent::Purpose;
use crate::db::{self, write_tx, DbConn, DbPool};
use crate::error::{AppError, AppResult};
use crate::mail::{Mailer, OutgoingMessage, SendError};
use crate::service::consent::may_contact;
use crate::service::consent::types::Channel;
use crate::service::privacy::keys::PointHasher;
use crate::service::{new_public_id, Ctx};

/// The recipient's own fields a template may use, by variable name.
pub fn person_fields(conn: &mut DbConn, p: &db::people::Person) -> AppResult<HashMap<&'static str, String>> {
    let person_id = p.id;
    let mut f = HashMap::new();
    let mut put = |k: &'static str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            f.insert(k, v);
        }
    };
    let full = [p.given_name.as_deref(), p.family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    put("full_name", Some(full));
    put("title", p.title.clone());
    put("given_name", p.given_name.clone());
    put("family_name", p.family_name.clone());
    put("preferred_name", p.preferred_name.clone());
    put("organisation", p.organisation.clone());
    put(
        "email",
        db::people::emails_of(conn, &[person_id])?
            .into_iter()
            .next()
            .map(|e| e.address),
    );
    put(
        "postcode",
        db::people::addresses_of(conn, &[person_id])?
            .into_iter()
            .next()
            .and_then(|a| a.postcode),
    );
    Ok(f)
}

/// Paces sends across threads: at most `rate` per second (0 = no limit).
#[derive(Clone)]
pub struct Pacer {
    every: Option<Duration>,
    next: Arc<Mutex<Instant>>,
}

impl Pacer {
    /// A pacer for `rate` messages per second.
    pub fn new(rate: u32) -> Pacer {
        Pacer {
            every: (rate > 0).then(|| Duration::from_secs(1) / rate),
            next: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Wait for the next slot.
    pub fn wait(&self) {
        let Some(every) = self.every else { return };
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + every;
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

/// A sending worker of this instance.
#[derive(Clone)]
pub struct Sender {
    /// Connections.
    pub pool: DbPool,
    /// SMTP.
    pub mailer: Mailer,
    /// Settings.
    pub settings: CampaignSettings,
    /// Keys (unsubscribe tokens are signed with a key derived from the contact-point key).
    pub points: PointHasher,
    /// Shared pacing.
    pub pacer: Pacer,
    /// This worker's name (claims carry it).
    pub name: String,
}

/// The key unsubscribe tokens are signed with.
pub fn token_key(points: &PointHasher) -> Vec<u8> {
    points.subkey("unsubscribe-token")
}

struct CampaignCache {
    campaign: Campaign,
    purpose: Purpose,
    template: AppResult<Parsed>,
}

impl CampaignCache {
    /// A campaign with its purpose and parsed template.
    fn load(conn: &mut DbConn, campaign: Campaign) -> AppResult<CampaignCache> {
        let purpose = db::consent::purpose(conn, campaign.purpose_id)?;
        let t = db::campaigns::template(conn, campaign.template_id)?;
        Ok(CampaignCache {
            template: parse_template(&t.subject, &t.html_body, &t.text_body),
            campaign,
            purpose,
        })
    }
}

impl Sender {
    /// Claim and process one batch; returns how many rows were processed.
    pub fn run_once(&self) -> AppResult<usize> {
        let mut conn = self.pool.get()?;
        let conn = &mut *conn;
        let now = db::now();
        let until = now + chrono::Duration::seconds(self.settings.claim_secs);
        let rows = write_tx(conn, |c| {
            db::campaigns::claim(c, &self.name, now, until, self.settings.batch_size)
        })
        .map_err(AppError::from)?;
        let mut cache: HashMap<i64, CampaignCache> = HashMap::new();
        for row in &rows {
            if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(row.campaign_id) {
                let campaign = db::campaigns::campaign(conn, row.campaign_id)?;
                slot.insert(CampaignCache::load(conn, campaign)?);
            }
            if let Some(entry) = cache.get(&row.campaign_id) {
                self.process(conn, entry, row)?;
            }
        }
        // Only a short claim can mean a campaign has run out of messages; checking after every
        // round would count the whole queue again each time.
        let draining = (rows.len() as i64) < self.settings.batch_size;
        for id in if draining {
            db::campaigns::finished_campaigns(conn)?
        } else {
            Vec::new()
        } {
            write_tx(conn, |c| {
                db::campaigns::set_campaign_status(c, id, "sent", None, None, db::now())
            })?;
        }
        Ok(rows.len())
    }

    fn settle(&self, conn: &mut DbConn, row: &OutboxRow, s: Settle) -> AppResult<bool> {
        Ok(write_tx(conn, |c| {
            db::campaigns::settle(c, row.id, &self.name, &s, db::now())
        })?)
    }

    fn process(&self, conn: &mut DbConn, cc: &CampaignCache, row: &OutboxRow) -> AppResult<()> {
        let skip = |reason: &'static str| Settle {
            status: "skipped",
            skip_reason: Some(reason),
            error: None,
            next_attempt_at: None,
            attempted: false,
        };
        if cc.campaign.status == "cancelled" {
            self.settle(
                conn,
                row,
                Settle {
                    status: "cancelled",
                    ..skip("cancelled")
                },
            )?;
            return Ok(());
        }
        let Ok(template) = &cc.template else {
            self.settle(
                conn,
                row,
                Settle {
                    status: "failed",
                    ..skip("template_invalid")
                },
            )?;
            return Ok(());
        };
        let now = db::now();
        let decision = may_contact(
            conn,
            &self.points,
            row.person_id,
            &cc.purpose,
            Channel::Email,
            None,
            now,
        )?;
        if !decision.allowed {
            self.settle(conn, row, skip(decision.reason))?;
            return Ok(());
        }
        let person = db::people::find(conn, row.person_id)?;
        let fields = person_fields(conn, &person)?;
        let Some(to) = fields.get("email").cloned() else {
            self.settle(conn, row, skip("no_address"))?;
            return Ok(());
        };
        let message = render(
            &self.settings,
            &self.points,
            (&cc.campaign, &cc.purpose),
            template,
            &fields,
            &person.public_id,
            &row.message_ref,
            &to,
            now,
        );
        self.pacer.wait();
        match self.mailer.send(&message) {
            Ok(()) => {
                write_tx(conn, |c| -> AppResult<()> {
                    let sent = Settle {
                        status: "sent",
                        skip_reason: None,
                        error: None,
                        next_attempt_at: None,
                        attempted: true,
                    };
                    if db::campaigns::settle(c, row.id, &self.name, &sent, now)? {
                        log_sent(c, cc, row, now)?;
                    }
                    Ok(())
                })?;
            }
            Err(SendError::Temporary(e)) if row.attempts + 1 < self.settings.max_attempts => {
                let delay = self
                    .settings
                    .retry_base_secs
                    .saturating_mul(1 << row.attempts.clamp(0, 16));
                self.settle(
                    conn,
                    row,
                    Settle {
                        status: "queued",
                        skip_reason: None,
                        error: Some(e),
                        next_attempt_at: Some(now + chrono::Duration::seconds(delay)),
                        attempted: true,
                    },
                )?;
            }
            Err(SendError::Temporary(e) | SendError::Permanent(e)) => {
                self.settle(
                    conn,
                    row,
                    Settle {
                        status: "failed",
                        skip_reason: None,
                        error: Some(e),
                        next_attempt_at: None,
                        attempted: true,
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Run `threads` workers until the process ends.
    pub fn spawn(self, threads: usize) {
        for n in 0..threads {
            let mut me = self.clone();
            me.name = format!("{}-{n}", self.name);
            let spawned = std::thread::Builder::new()
                .name(format!("sender-{n}"))
                .spawn(move || loop {
                    match me.run_once() {
                        Ok(0) => std::thread::sleep(Duration::from_millis(500)),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "sending round failed");
                            std::thread::sleep(Duration::from_secs(2));
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a sending thread");
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn render(
    settings: &CampaignSettings,
    points: &PointHasher,
    (campaign, purpose): (&Campaign, &Purpose),
    template: &Parsed,
    fields: &HashMap<&'static str, String>,
    person_public_id: &str,
    message_ref: &str,
    to: &str,
    now: NaiveDateTime,
) -> OutgoingMessage {
    let token = token::sign(
        &token_key(points),
        &UnsubscribeClaims {
            person: person_public_id.to_string(),
            purpose: purpose.code.clone(),
            campaign: campaign.public_id.clone(),
            issued: now.and_utc().timestamp(),
        },
    );
    let url = format!("{}/u/{token}", settings.public_base_url.trim_end_matches('/'));
    let rendered = template.render(&|k| match k {
        "sender_name" => Some(campaign.sender_name.clone()),
        "campaign_name" => Some(campaign.name.clone()),
        "unsubscribe_url" => Some(url.clone()),
        _ => fields.get(k).cloned(),
    });
    OutgoingMessage {
        to: to.to_string(),
        to_name: fields.get("full_name").cloned(),
        sender_name: campaign.sender_name.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        message_ref: message_ref.to_string(),
        unsubscribe_url: url,
        unsubscribe_mailto: Some(settings.unsubscribe_mailto.clone()).filter(|m| !m.is_empty()),
    }
}

fn log_sent(conn: &mut DbConn, cc: &CampaignCache, row: &OutboxRow, now: NaiveDateTime) -> AppResult<()> {
    db::engagement::insert_events(
        conn,
        &[db::engagement::Engagement {
            id: 0,
            public_id: new_public_id(),
            person_id: row.person_id,
            activity_id: None,
            shift_id: None,
            kind: "communication".into(),
            action: "sent".into(),
            occurred_at: now,
            department_id: cc.campaign.department_id,
            source: "campaign".into(),
            external_ref: Some(row.message_ref.clone()),
            hours: None,
            response_ref: None,
            detail: Some(format!("campaign {}: {}", cc.campaign.public_id, cc.campaign.name)),
            recorded_at: now,
            recorded_by: None,
        }],
    )?;
    Ok(())
}

/// Send one test message of a campaign to the signed-in user (or a given address) now.
pub fn test_send(
    conn: &mut DbConn,
    ctx: &Ctx,
    sender: &Sender,
    public_id: &str,
    req: &TestSendRequest,
) -> AppResult<()> {
    crate::service::limits::hourly(conn, ctx, "campaign.test_send", sender.settings.test_sends_per_hour)?;
    let campaign = db::campaigns::find_campaign(conn, public_id)?.ok_or(AppError::NotFound)?;
    let CampaignCache {
        campaign,
        purpose,
        template,
    } = CampaignCache::load(conn, campaign)?;
    let template = template?;
    let own: String = crate::db::schema::users::table
        .find(ctx.principal.user_id)
        .select(crate::db::schema::users::email)
        .first::<String>(conn)?;
    // A test rendered with a real person's details goes only to the sender's own address: it
    // must not become a way to mail someone's record elsewhere.
    if req.person.is_some() && req.to.as_ref().is_some_and(|a| !a.trim().eq_ignore_ascii_case(&own)) {
        return Err(AppError::field(
            "to",
            "own_address_only",
            "A test with a person's details goes only to your own address.",
        ));
    }
    let to = req.to.clone().unwrap_or(own);
    let (fields, person_id) = match &req.person {
        Some(p) => {
            let person = crate::service::people::find_visible(conn, &ctx.principal, p)?;
            (person_fields(conn, &person)?, person.public_id)
        }
        None => (
            HashMap::from([
                ("given_name", "Test".to_string()),
                ("full_name", "Test Recipient".to_string()),
            ]),
            "test".into(),
        ),
    };
    let mut message = render(
        &sender.settings,
        &sender.points,
        (&campaign, &purpose),
        &template,
        &fields,
        &person_id,
        &format!("test-{}", new_public_id()),
        &to,
        ctx.meta.now,
    );
    message.subject = format!("[TEST] {}", message.subject);
    if !sender.mailer.enabled() {
        return Err(AppError::Upstream {
            code: "sending_not_configured",
            detail: "This service has no mail server set up (campaigns.smtp_host), so nothing can be sent; ask an administrator."
                .into(),
        });
    }
    sender.mailer.send(&message).map_err(|e| match e {
        SendError::Permanent(m) => AppError::field("to", "rejected", m),
        SendError::Temporary(m) => {
            tracing::warn!(error = %m, "a test message could not be handed to the mail server");
            AppError::Upstream {
                code: "mail_server_unavailable",
                detail: "The mail server did not take the message just now; try again shortly.".into(),
            }
        }
    })?;
    // About the person whose details it carried, when there was one (their audit trail lists it).
    let target = match &req.person {
        Some(_) => ("person", person_id.as_str()),
        None => ("campaign", public_id),
    };
    crate::service::audit::record(
        conn,
        crate::service::audit::event(
            &ctx.meta,
            Some(&ctx.principal),
            "campaign.test_send",
            Some(target),
            "success",
            Some(serde_json::json!({"campaign": public_id})),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::Pacer;
    use std::time::{Duration, Instant};

    #[test]
    fn the_pacer_spaces_sends_across_threads() {
        let pacer = Pacer::new(50);
        let t = Instant::now();
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let p = pacer.clone();
                std::thread::spawn(move || (0..7).for_each(|_| p.wait()))
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        // 21 sends at 50/s: the first goes at once, the last 20 slots (400 ms) later.
        assert!(t.elapsed() >= Duration::from_millis(380), "{:?}", t.elapsed());
        let unlimited = Pacer::new(0);
        let t = Instant::now();
        (0..1000).for_each(|_| unlimited.wait());
        assert!(t.elapsed() < Duration::from_millis(100));
    }
}

//! The suppression list through the API: staff record an objection or a complaint; only the keyed
//! hash is stored.

use serde::{Deserialize, Serialize};

use super::keys::PointHasher;
use crate::db::{self, write_tx, DbConn};
use crate::error::{AppError, AppResult};
use crate::service::consent::types::Channel;
use crate::service::consent::{normalise_point, point_hash};
use crate::service::{audit, Ctx};

/// Suppress a contact point.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressRequest {
    /// `email`, `sms` or `phone`.
    pub channel: Channel,
    /// The address or number.
    pub address: String,
    /// `objection`, `complaint` or `staff`.
    pub reason: String,
}

/// Counts by reason.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SuppressionSummary {
    /// Entries per reason.
    pub by_reason: std::collections::BTreeMap<String, i64>,
}

/// Add a contact point to the suppression list.
pub fn suppress(conn: &mut DbConn, ctx: &Ctx, points: &PointHasher, req: &SuppressRequest) -> AppResult<()> {
    if !matches!(req.reason.as_str(), "objection" | "complaint" | "staff") {
        return Err(AppError::field(
            "reason",
            "invalid_reason",
            "Use objection, complaint or staff.",
        ));
    }
    let point =
        normalise_point(req.channel, &req.address).map_err(|(code, msg)| AppError::field("address", code, msg))?;
    let hash = point_hash(points, req.channel, &point).ok_or_else(|| {
        AppError::field(
            "channel",
            "not_applicable",
            "Post cannot be suppressed by address here.",
        )
    })?;
    let kind = if req.channel == Channel::Email {
        "email"
    } else {
        "phone"
    };
    write_tx(conn, |c| {
        db::consent::suppress(c, &hash, kind, &req.reason, ctx.meta.now)?;
        let detail = serde_json::json!({"kind": kind, "reason": req.reason});
        audit::record(
            c,
            audit::event(
                &ctx.meta,
                Some(&ctx.principal),
                "suppression.add",
                None,
                "success",
                Some(detail),
            ),
        )
    })
}

/// How many entries there are, by reason.
pub fn summary(conn: &mut DbConn) -> AppResult<SuppressionSummary> {
    Ok(SuppressionSummary {
        by_reason: db::consent::suppression_counts(conn)?.into_iter().collect(),
    })
}

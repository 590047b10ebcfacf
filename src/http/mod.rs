//! The HTTP interface: the whole route table in one place.
//!
//! Policy: every route is one [`Endpoint`] row naming its method, path, the permission it needs,
//! and its request and response types. The same table registers the routes, wraps each one in
//! the authorisation middleware, produces the OpenAPI document, and is what the role × endpoint
//! test walks, so a route cannot exist without a permission and a documented shape.

pub mod audit;
pub mod auth;
pub mod campaigns;
pub mod client;
pub mod consent;
pub mod departments;
pub mod engagement;
pub mod extract;
pub mod identity;
pub mod imports;
pub mod journeys;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod people;
pub mod privacy;
pub mod rights_requests;
pub mod users;

use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use crate::error::AppError;
use crate::service::Permission;

/// What a route requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, health, the OpenAPI document).
    Public,
    /// Any signed-in user.
    SignedIn,
    /// A signed-in user whose roles grant this permission.
    Needs(Permission),
}

/// A schema generator for one type, used by the OpenAPI document.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// One route.
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Full path, e.g. `/api/v1/people/{id}`.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
    /// OpenAPI tag.
    pub tag: &'static str,
    /// Success status.
    pub status: u16,
    /// JSON request body type.
    pub request: Option<SchemaFn>,
    /// JSON response body type.
    pub response: Option<SchemaFn>,
    /// Query parameters type.
    pub query: Option<SchemaFn>,
    /// Response media type when not JSON.
    pub media: Option<&'static str>,
    /// A larger JSON body limit for this route (batches), in bytes.
    pub body_limit: Option<usize>,
    mount: fn(Resource) -> Resource,
}

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

macro_rules! ep {
    ($m:ident $path:literal, $access:expr, $handler:path, $tag:literal, $summary:literal
     $(, status = $status:literal)? $(, req = $req:ty)? $(, res = $res:ty)? $(, query = $q:ty)? $(, media = $media:literal)? $(, limit = $limit:expr)?) => {
        Endpoint {
            method: Method::$m,
            path: $path,
            access: $access,
            summary: $summary,
            tag: $tag,
            status: { #[allow(unused_variables)] let s = 200; $(let s = $status;)? s },
            request: { #[allow(unused_variables)] let r: Option<SchemaFn> = None; $(let r: Option<SchemaFn> = Some(schema::<$req>);)? r },
            response: { #[allow(unused_variables)] let r: Option<SchemaFn> = None; $(let r: Option<SchemaFn> = Some(schema::<$res>);)? r },
            query: { #[allow(unused_variables)] let r: Option<SchemaFn> = None; $(let r: Option<SchemaFn> = Some(schema::<$q>);)? r },
            media: { #[allow(unused_variables)] let r: Option<&'static str> = None; $(let r = Some($media);)? r },
            body_limit: { #[allow(unused_variables)] let r: Option<usize> = None; $(let r = Some($limit);)? r },
            mount: |r| r.route(web::route().to($handler)),
        }
    };
}

/// Every route of the service.
pub fn endpoints() -> Vec<Endpoint> {
    use crate::journeys_core as jc;
    use crate::service::auth::{ChangePasswordRequest, LoginRequest, LoginResponse, NewTokenRequest, TokenView};
    use crate::service::campaigns::{self as cmp, segments};
    use crate::service::consent::decide::ContactDecision;
    use crate::service::consent::purposes::{NewPurposeRequest, NewWordingRequest, PurposeView, UpdatePurposeRequest};
    use crate::service::consent::{ConsentEventView, ConsentsView, ContactCheckRequest, RecordConsentRequest};
    use crate::service::departments::{DepartmentView, NewDepartmentRequest, UpdateDepartmentRequest};
    use crate::service::engagement::activities::{
        ActivityKind, ActivityPage, ActivityQuery, ActivityView, NewActivityRequest, UpdateActivityRequest,
    };
    use crate::service::engagement::events::{
        BatchResult, EngagementBatch, EngagementInput, TimelinePage, TimelineQuery,
    };
    use crate::service::identity::dedupe_job;
    use crate::service::identity::{review, MergeRequest, MergeResult, UnmergeRequest, UnmergeResult};
    use crate::service::imports::{DryRunRequest, ImportPage, ImportView, RowPage, RowQuery, UploadQuery};
    use crate::service::journeys::{JourneyQuery, JourneyResult};
    use crate::service::people::input::{NewPersonRequest, UpdatePersonRequest};
    use crate::service::people::view::PersonView;
    use crate::service::people::{ListQuery, PeopleParams, PersonPage, SearchRequest, SearchResults};
    use crate::service::privacy::erase::ErasureReport;
    use crate::service::privacy::export::SubjectAccessExport;
    use crate::service::privacy::requests::{
        CloseRequest, ExtendRequest, NewRightsRequest, RestartClockRequest, RightsRequestPage, RightsRequestQuery,
        RightsRequestView, StopClockRequest, UpdateRightsRequest,
    };
    use crate::service::privacy::suppression::{SuppressRequest, SuppressionSummary};
    use crate::service::privacy::ReasonRequest;
    use crate::service::users::{NewUserRequest, UpdateUserRequest, UserView};
    use Access::*;
    use Permission::*;
    vec![
        ep!(GET "/healthz", Public, ops::healthz, "operations", "The process is up", res = ops::Health),
        ep!(GET "/readyz", Public, ops::readyz, "operations", "The database is reachable", res = ops::Health),
        ep!(GET "/metrics", Public, ops::metrics, "operations", "Prometheus metrics", media = "text/plain; version=0.0.4"),
        ep!(GET "/api/v1/openapi.json", Public, openapi::document, "operations", "This OpenAPI 3.1 document"),
        ep!(POST "/api/v1/auth/login", Public, auth::login, "auth", "Sign in: returns a token and sets the session cookie", req = LoginRequest, res = LoginResponse),
        ep!(POST "/api/v1/auth/invitation", Public, auth::accept_invitation, "auth", "Accept an invitation: choose the account's password (the link works once; 410 when used, replaced or expired)", status = 204, req = crate::service::auth::invitation::AcceptInvitationRequest),
        ep!(POST "/api/v1/auth/logout", SignedIn, auth::logout, "auth", "End this session", status = 204),
        ep!(GET "/api/v1/auth/me", SignedIn, auth::me, "auth", "The signed-in user and the permissions their roles grant", res = crate::service::users::MeView),
        ep!(POST "/api/v1/auth/password", SignedIn, auth::change_password, "auth", "Change your password (ends your other sessions)", status = 204, req = ChangePasswordRequest),
        ep!(POST "/api/v1/auth/totp", SignedIn, auth::totp_start, "auth", "Start enrolling a second factor (TOTP): a new secret, shown once", status = 201, req = crate::service::auth::StartTotpRequest, res = crate::service::auth::TotpEnrolment),
        ep!(POST "/api/v1/auth/totp/confirm", SignedIn, auth::totp_confirm, "auth", "Confirm the new secret with a code: every session ends and a new one starts", req = crate::service::auth::ConfirmTotpRequest, res = LoginResponse),
        ep!(POST "/api/v1/auth/totp/disable", SignedIn, auth::totp_disable, "auth", "Turn the second factor off (password and a current code)", status = 204, req = crate::service::auth::DisableTotpRequest),
        ep!(GET "/api/v1/auth/tokens", SignedIn, auth::list_tokens, "auth", "Your API tokens", res = Vec<TokenView>),
        ep!(POST "/api/v1/auth/tokens", SignedIn, auth::create_token, "auth", "Create an API token (shown once)", status = 201, req = NewTokenRequest, res = TokenView),
        ep!(DELETE "/api/v1/auth/tokens/{id}", SignedIn, auth::revoke_token, "auth", "Revoke an API token", status = 204),
        ep!(GET "/api/v1/people", Needs(PeopleRead), people::list, "people", "List people by tag, department or status (personal filters: POST /api/v1/people/list)", res = PersonPage, query = PeopleParams),
        ep!(POST "/api/v1/people/list", Needs(PeopleRead), people::list_by_body, "people", "List people with filters, name, email, phone and postcode included, sent as a JSON body", req = ListQuery, res = PersonPage),
        ep!(POST "/api/v1/people", Needs(PeopleWrite), people::create, "people", "Create a person", status = 201, req = NewPersonRequest, res = PersonView),
        ep!(POST "/api/v1/people/search", Needs(PeopleRead), people::search, "people", "Find people by email, phone, postcode or name prefix", req = SearchRequest, res = SearchResults),
        ep!(GET "/api/v1/people/{id}", Needs(PeopleRead), people::get, "people", "One person, with provenance", res = PersonView),
        ep!(PATCH "/api/v1/people/{id}", Needs(PeopleWrite), people::update, "people", "Change a person (optimistic: send version or If-Match)", req = UpdatePersonRequest, res = PersonView),
        ep!(GET "/api/v1/people/{id}/consents", Needs(PeopleRead), consent::list, "consent", "Consent state per purpose × channel, and the full history", res = ConsentsView),
        ep!(POST "/api/v1/people/{id}/consents", Needs(ConsentWrite), consent::record, "consent", "Append a consent event (granted, withdrawn, refused)", status = 201, req = RecordConsentRequest, res = ConsentEventView),
        ep!(POST "/api/v1/people/{id}/contact-check", Needs(PeopleRead), consent::check, "consent", "May we contact this person for a purpose on a channel now?", req = ContactCheckRequest, res = ContactDecision),
        ep!(GET "/api/v1/people/{id}/export", Needs(SubjectAccess), privacy::export, "data protection", "Subject access export (JSON, or CSV with format=csv)", res = SubjectAccessExport, query = privacy::ExportQuery),
        ep!(POST "/api/v1/people/{id}/erase", Needs(Erase), privacy::erase, "data protection", "Erase every personal value; the id then answers 410", req = ReasonRequest, res = ErasureReport),
        ep!(POST "/api/v1/people/{id}/restrict", Needs(Restrict), privacy::restrict, "data protection", "Restrict processing", req = ReasonRequest, res = PersonView),
        ep!(POST "/api/v1/people/{id}/unrestrict", Needs(Restrict), privacy::unrestrict, "data protection", "Lift a restriction", req = ReasonRequest, res = PersonView),
        ep!(GET "/api/v1/rights-requests", Needs(RightsRequests), rights_requests::list, "data protection", "Data-protection requests: open ones by due date (overdue and due-soon counts)", res = RightsRequestPage, query = RightsRequestQuery),
        ep!(POST "/api/v1/rights-requests", Needs(RightsRequests), rights_requests::create, "data protection", "Register a request (access, erasure, …) and start its statutory clock", status = 201, req = NewRightsRequest, res = RightsRequestView),
        ep!(GET "/api/v1/rights-requests/{id}", Needs(RightsRequests), rights_requests::get, "data protection", "One request, with its due date", res = RightsRequestView),
        ep!(PATCH "/api/v1/rights-requests/{id}", Needs(RightsRequests), rights_requests::update, "data protection", "Link a request to a person, or change its notes", req = UpdateRightsRequest, res = RightsRequestView),
        ep!(POST "/api/v1/rights-requests/{id}/stop-clock", Needs(RightsRequests), rights_requests::stop_clock, "data protection", "Stop the clock (awaiting identity or clarification)", req = StopClockRequest, res = RightsRequestView),
        ep!(POST "/api/v1/rights-requests/{id}/restart-clock", Needs(RightsRequests), rights_requests::restart_clock, "data protection", "Restart the clock", req = RestartClockRequest, res = RightsRequestView),
        ep!(POST "/api/v1/rights-requests/{id}/extend", Needs(RightsRequests), rights_requests::extend, "data protection", "Extend the time to respond (1 or 2 months, within the first month)", req = ExtendRequest, res = RightsRequestView),
        ep!(POST "/api/v1/rights-requests/{id}/close", Needs(RightsRequests), rights_requests::close, "data protection", "Close a request: completed, refused or withdrawn", req = CloseRequest, res = RightsRequestView),
        ep!(GET "/api/v1/suppressions", Needs(SuppressionsManage), privacy::suppressions, "data protection", "Suppression list counts by reason", res = SuppressionSummary),
        ep!(POST "/api/v1/suppressions", Needs(SuppressionsManage), privacy::suppress, "data protection", "Never contact this address again", status = 204, req = SuppressRequest),
        ep!(GET "/api/v1/purposes", Needs(PurposesRead), consent::purposes, "consent", "Purposes with their wording versions", res = Vec<PurposeView>),
        ep!(POST "/api/v1/purposes", Needs(PurposesManage), consent::create_purpose, "consent", "Create a purpose", status = 201, req = NewPurposeRequest, res = PurposeView),
        ep!(PATCH "/api/v1/purposes/{code}", Needs(PurposesManage), consent::update_purpose, "consent", "Change a purpose", req = UpdatePurposeRequest, res = PurposeView),
        ep!(POST "/api/v1/purposes/{code}/wordings", Needs(PurposesManage), consent::add_wording, "consent", "Add a wording version", status = 201, req = NewWordingRequest, res = PurposeView),
        ep!(POST "/api/v1/people/{id}/merge", Needs(PeopleMerge), identity::merge, "identity", "Merge people into this one (survivorship per field; reversible)", req = MergeRequest, res = MergeResult),
        ep!(GET "/api/v1/people/{id}/merges", Needs(PeopleMerge), identity::merges, "identity", "The merges into this person, newest first, undone ones included", res = Vec<crate::service::identity::MergeEntry>),
        ep!(POST "/api/v1/people/{id}/unmerge", Needs(PeopleMerge), identity::unmerge, "identity", "Undo a merge exactly", req = UnmergeRequest, res = UnmergeResult),
        ep!(POST "/api/v1/imports", Needs(ImportsRun), imports::upload, "imports", "Upload a CSV or .xlsx file (the body; streamed) for a department: checks it, suggests a mapping", status = 201, res = ImportView, query = UploadQuery),
        ep!(GET "/api/v1/imports", Needs(ImportsRun), imports::list, "imports", "Imports of your departments, newest first", res = ImportPage),
        ep!(GET "/api/v1/import-templates", Needs(ImportsRun), imports::templates, "imports", "A department's saved mapping templates (column choices and consent columns)", res = Vec<crate::service::imports::templates::TemplateView>, query = crate::service::imports::templates::TemplateQuery),
        ep!(GET "/api/v1/imports/{id}", Needs(ImportsRun), imports::get, "imports", "An import: status, mapping, counts and progress (rows done, rate, time left)", res = ImportView),
        ep!(POST "/api/v1/imports/{id}/dry-run", Needs(ImportsRun), imports::dry_run, "imports", "Set the mapping and consent columns and predict every row's outcome (changes no one)", status = 202, req = DryRunRequest, res = ImportView),
        ep!(POST "/api/v1/imports/{id}/commit", Needs(ImportsRun), imports::commit, "imports", "Apply what the dry run predicted, in resumable chunks", status = 202, res = ImportView),
        ep!(POST "/api/v1/imports/{id}/rollback", Needs(ImportsRun), imports::rollback, "imports", "Undo a committed import (what later changes depend on is reported, not clobbered)", status = 202, res = ImportView),
        ep!(GET "/api/v1/imports/{id}/rows", Needs(ImportsRun), imports::rows, "imports", "Every row's outcome, in file order", res = RowPage, query = RowQuery),
        ep!(GET "/api/v1/imports/{id}/errors", Needs(ImportsRun), imports::errors, "imports", "Rejected and warned rows as CSV (formulas neutralised)", media = "text/csv"),
        ep!(GET "/api/v1/matches", Needs(PeopleMerge), identity::matches, "identity", "Review queue of possible duplicates, with per-field explanations", res = review::MatchPage, query = review::MatchQuery),
        ep!(POST "/api/v1/matches/{id}/accept", Needs(PeopleMerge), identity::accept, "identity", "Accept a proposal: merge the two people", req = review::AcceptRequest, res = MergeResult),
        ep!(POST "/api/v1/matches/{id}/reject", Needs(PeopleMerge), identity::reject, "identity", "Reject a proposal: not the same person, never proposed again", req = review::RejectRequest, res = review::RejectResult),
        ep!(POST "/api/v1/dedupe", Needs(DedupeRun), identity::start_dedupe, "identity", "Start a whole-database dedupe pass in the background (one at a time)", status = 202, req = dedupe_job::DedupeRequest, res = dedupe_job::JobView),
        ep!(GET "/api/v1/dedupe/{id}", Needs(DedupeRun), identity::dedupe_status, "identity", "A dedupe job: phase, progress, and its report when done", res = dedupe_job::JobView),
        ep!(GET "/api/v1/people/{id}/timeline", Needs(PeopleRead), engagement::timeline, "engagement", "The person's engagements across departments, newest first", res = TimelinePage, query = TimelineQuery),
        ep!(GET "/api/v1/activity-kinds", Needs(ActivitiesRead), engagement::kinds, "engagement", "Kinds of activity", res = Vec<ActivityKind>),
        ep!(POST "/api/v1/activity-kinds", Needs(KindsManage), engagement::add_kind, "engagement", "Add a kind of activity", status = 201, req = ActivityKind, res = ActivityKind),
        ep!(GET "/api/v1/activities", Needs(ActivitiesRead), engagement::list, "engagement", "Activities in your departments", res = ActivityPage, query = ActivityQuery),
        ep!(POST "/api/v1/activities", Needs(ActivitiesWrite), engagement::create, "engagement", "Create an activity (with shifts for volunteering)", status = 201, req = NewActivityRequest, res = ActivityView),
        ep!(GET "/api/v1/activities/{id}", Needs(ActivitiesRead), engagement::get, "engagement", "One activity", res = ActivityView),
        ep!(PATCH "/api/v1/activities/{id}", Needs(ActivitiesWrite), engagement::update, "engagement", "Change an activity", req = UpdateActivityRequest, res = ActivityView),
        ep!(POST "/api/v1/engagements", Needs(EngagementWrite), engagement::log_one, "engagement", "Log one engagement (idempotent by source and external_ref)", status = 201, req = EngagementInput, res = BatchResult),
        ep!(POST "/api/v1/engagements/batch", Needs(EngagementWrite), engagement::log_batch, "engagement", "Log up to 10,000 engagements at once, all or nothing", req = EngagementBatch, res = BatchResult, limit = 16 << 20),
        ep!(GET "/api/v1/journeys/transitions", Needs(JourneysRead), journeys::transitions, "journeys", "From each kind of engagement, what people did next and how soon (json, csv or svg)", res = JourneyResult<jc::TransitionMatrix>, query = JourneyQuery),
        ep!(GET "/api/v1/journeys/funnel", Needs(JourneysRead), journeys::funnel, "journeys", "Invited → registered → attended → came back, for an activity or a kind (json, csv or svg)", res = JourneyResult<jc::Funnel>, query = JourneyQuery),
        ep!(GET "/api/v1/journeys/cohorts", Needs(JourneysRead), journeys::cohorts, "journeys", "People by month of first engagement, re-engaging in later months (json, csv or svg)", res = JourneyResult<jc::CohortTable>, query = JourneyQuery),
        ep!(GET "/api/v1/journeys/paths", Needs(JourneysRead), journeys::paths, "journeys", "The most frequent sequences of engagement kinds (json, csv or svg)", res = JourneyResult<jc::PathList>, query = JourneyQuery),
        ep!(GET "/api/v1/journeys/reach", Needs(JourneysRead), journeys::reach, "journeys", "People engaged per department and across departments (json, csv or svg)", res = JourneyResult<jc::Reach>, query = JourneyQuery),
        ep!(GET "/api/v1/people/{id}/scores", Needs(PeopleRead), journeys::scores, "journeys", "The person's recency, frequency and breadth scores (json, csv or svg)", res = jc::PersonScores, query = journeys::ScoresQuery),
        ep!(GET "/api/v1/segments", Needs(CampaignsManage), campaigns::list_segments, "campaigns", "Saved segments", res = Vec<segments::SegmentView>),
        ep!(POST "/api/v1/segments", Needs(CampaignsManage), campaigns::create_segment, "campaigns", "Save a segment (a JSON filter; faults are 422 with their path)", status = 201, req = segments::NewSegmentRequest, res = segments::SegmentView),
        ep!(POST "/api/v1/segments/preview", Needs(CampaignsManage), campaigns::preview_filter, "campaigns", "Count and sample a filter without saving it", req = segments::PreviewRequest, res = segments::SegmentPreview),
        ep!(GET "/api/v1/segments/{id}", Needs(CampaignsManage), campaigns::get_segment, "campaigns", "One segment", res = segments::SegmentView),
        ep!(PATCH "/api/v1/segments/{id}", Needs(CampaignsManage), campaigns::update_segment, "campaigns", "Change a segment while only draft campaigns use it (409 in_use after; optimistic: If-Match)", req = segments::UpdateSegmentRequest, res = segments::SegmentView),
        ep!(POST "/api/v1/segments/{id}/preview", Needs(CampaignsManage), campaigns::preview_segment, "campaigns", "Count and sample a saved segment now", req = segments::PreviewRequest, res = segments::SegmentPreview),
        ep!(GET "/api/v1/templates", Needs(CampaignsManage), campaigns::list_templates, "campaigns", "Message templates", res = Vec<cmp::TemplateView>),
        ep!(POST "/api/v1/templates", Needs(CampaignsManage), campaigns::create_template, "campaigns", "Save a template (sandboxed; HTML escaped; unsubscribe link required)", status = 201, req = cmp::NewTemplateRequest, res = cmp::TemplateView),
        ep!(GET "/api/v1/templates/{id}", Needs(CampaignsManage), campaigns::get_template, "campaigns", "One template", res = cmp::TemplateView),
        ep!(PATCH "/api/v1/templates/{id}", Needs(CampaignsManage), campaigns::update_template, "campaigns", "Change a template while only draft campaigns use it (409 in_use after; optimistic: If-Match)", req = cmp::UpdateTemplateRequest, res = cmp::TemplateView),
        ep!(POST "/api/v1/templates/{id}/preview", Needs(CampaignsManage), campaigns::preview_template, "campaigns", "Render a template for one person", req = cmp::TemplatePreviewRequest, res = cmp::RenderedMessage),
        ep!(GET "/api/v1/campaigns", Needs(CampaignsManage), campaigns::list, "campaigns", "Campaigns with their numbers, newest first", res = Vec<cmp::CampaignView>),
        ep!(POST "/api/v1/campaigns", Needs(CampaignsManage), campaigns::create, "campaigns", "Draft a campaign", status = 201, req = cmp::NewCampaignRequest, res = cmp::CampaignView),
        ep!(GET "/api/v1/campaigns/{id}", Needs(CampaignsManage), campaigns::get, "campaigns", "One campaign: status and numbers (sent, skipped by reason, failed, bounced, unsubscribed)", res = cmp::CampaignView),
        ep!(POST "/api/v1/campaigns/{id}/approve", Needs(CampaignsManage), campaigns::approve, "campaigns", "Approve a draft (someone else above the approval threshold)", res = cmp::CampaignView),
        ep!(POST "/api/v1/campaigns/{id}/start", Needs(CampaignsManage), campaigns::start, "campaigns", "Start: fix the audience in the outbox; workers send", status = 202, res = cmp::CampaignView),
        ep!(POST "/api/v1/campaigns/{id}/cancel", Needs(CampaignsManage), campaigns::cancel, "campaigns", "Cancel: nothing more is sent", res = cmp::CampaignView),
        ep!(POST "/api/v1/campaigns/{id}/test-send", Needs(CampaignsManage), campaigns::test_send, "campaigns", "Send one test message (to yourself by default)", status = 204, req = cmp::TestSendRequest),
        ep!(POST "/api/v1/bounces", Needs(CampaignsManage), campaigns::bounces, "campaigns", "Feed a bounce notice (DSN or plain text) as the body", res = cmp::unsubscribe::BounceReport),
        ep!(GET "/u/{token}", Public, campaigns::unsubscribe_page, "campaigns", "Unsubscribe page with a confirm button (changes nothing)", media = "text/html"),
        ep!(POST "/u/{token}", Public, campaigns::unsubscribe_post, "campaigns", "One-click unsubscribe (RFC 8058)", res = cmp::unsubscribe::Unsubscribed),
        ep!(GET "/api/v1/departments", Needs(DepartmentsRead), departments::list, "departments", "Every department", res = Vec<DepartmentView>),
        ep!(POST "/api/v1/departments", Needs(DepartmentsManage), departments::create, "departments", "Create a department", status = 201, req = NewDepartmentRequest, res = DepartmentView),
        ep!(PATCH "/api/v1/departments/{code}", Needs(DepartmentsManage), departments::update, "departments", "Rename a department", req = UpdateDepartmentRequest, res = DepartmentView),
        ep!(GET "/api/v1/users", Needs(UsersManage), users::list, "users", "Staff accounts", res = users::UserPage, query = users::PageQuery),
        ep!(POST "/api/v1/users", Needs(UsersManage), users::create, "users", "Create a staff account", status = 201, req = NewUserRequest, res = UserView),
        ep!(GET "/api/v1/users/{id}", Needs(UsersManage), users::get, "users", "One staff account", res = UserView),
        ep!(PATCH "/api/v1/users/{id}", Needs(UsersManage), users::update, "users", "Change roles, departments, name or status", req = UpdateUserRequest, res = UserView),
        ep!(POST "/api/v1/users/{id}/invitation", Needs(UsersManage), users::invite, "users", "A new single-use invitation link for an account (the old one stops working)", status = 201, res = crate::service::auth::invitation::InvitationView),
        ep!(POST "/api/v1/users/{id}/totp/reset", Needs(UsersManage), users::reset_totp, "users", "Clear a user's second factor (a lost device) and end their sessions", status = 204),
        ep!(DELETE "/api/v1/users/{id}/sessions", Needs(UsersManage), users::end_sessions, "users", "End every session of a user", status = 204),
        ep!(GET "/api/v1/audit", Needs(AuditRead), audit::list, "audit", "Audit events, newest first", res = audit::AuditPage, query = audit::AuditQuery),
        ep!(GET "/api/v1/audit/verification", Needs(AuditRead), audit::verify, "audit", "Verify the audit log's hash chain against the events as they are now", res = crate::service::audit_chain::Verification, query = audit::VerifyQuery),
        ep!(POST "/api/v1/audit/seals", Needs(AuditRead), audit::seal, "audit", "Seal the audit events not yet in the hash chain", res = crate::service::audit_chain::SealReport),
    ]
}

/// Register every endpoint, each behind its authorisation middleware.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for ep in endpoints() {
        let access = ep.access;
        let mut resource = web::resource(ep.path).guard(guard::Method(ep.method.clone()));
        if let Some(limit) = ep.body_limit {
            resource = resource.app_data(extract::BodyLimit(limit));
        }
        let resource = (ep.mount)(resource);
        cfg.service(resource.wrap(actix_web::middleware::from_fn(move |req, next| {
            middleware::authorize(access, req, next)
        })));
    }
    client::configure(cfg);
    cfg.default_service(web::to(not_found));
}

/// 405 when the path exists with other methods, else 404; both as problem+json.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let path = req.path();
    let known = endpoints().iter().any(|e| ResourceDef::new(e.path).is_match(path));
    Err(if known {
        AppError::MethodNotAllowed
    } else {
        AppError::NotFound
    })
}

/// A JSON response with a status.
pub fn json<T: Serialize>(status: u16, body: &T) -> Result<HttpResponse, AppError> {
    let status = actix_web::http::StatusCode::from_u16(status).map_err(|e| AppError::Internal(e.to_string()))?;
    let text = serde_json::to_string(body).map_err(|e| AppError::Internal(format!("serialise: {e}")))?;
    Ok(HttpResponse::build(status).content_type("application/json").body(text))
}

/// [`json`] with the record's version as its `ETag` (`"v3"`), for a later `If-Match`.
pub fn json_versioned<T: Serialize>(status: u16, body: &T, version: i64) -> Result<HttpResponse, AppError> {
    let mut resp = json(status, body)?;
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!("\"v{version}\"")) {
        resp.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    Ok(resp)
}

//! The web client: static files compiled into the binary and served at `/` and `/assets/…`.
//!
//! Policy: the client is plain HTML, CSS and JavaScript modules (no build step, nothing fetched
//! from elsewhere at run time). Every screen talks to the public JSON API with the session
//! cookie and the CSRF header. Pages get a strict Content-Security-Policy: scripts, styles and
//! connections only from this origin, no inline script or style, images from this origin (the
//! journeys API's SVG charts) only.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use crate::error::AppError;
use crate::state::AppState;

/// The Content-Security-Policy of the web client's pages and files.
pub const CLIENT_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

struct Asset {
    path: &'static str,
    media: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $media:expr) => {
        Asset {
            path: $path,
            media: $media,
            body: include_bytes!(concat!("../../web/", $path)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/core.js", JS),
    asset!("js/people.js", JS),
    asset!("js/imports.js", JS),
    asset!("js/review.js", JS),
    asset!("js/journeys.js", JS),
    asset!("js/campaigns.js", JS),
    asset!("js/privacy.js", JS),
    asset!("js/requests.js", JS),
    asset!("js/account.js", JS),
    asset!("js/admin.js", JS),
];

/// A weak validator for a file: its length and a 64-bit FNV-1a of its bytes.
fn etag(body: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{:x}-{h:016x}\"", body.len())
}

fn gzip(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 3), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

/// The built-in files, gzipped once on first use.
fn gzipped(index: usize) -> &'static [u8] {
    static GZ: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    &GZ.get_or_init(|| ASSETS.iter().map(|a| gzip(a.body)).collect())[index]
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let mut parts = t.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
                coding.eq_ignore_ascii_case("gzip") && !refused
            })
        })
}

fn serve(req: &HttpRequest, path: &str) -> HttpResponse {
    // Only the files listed above are served, from the binary or (in development) the
    // configured folder: no other path can be reached.
    let Some((index, asset)) = ASSETS.iter().enumerate().find(|(_, a)| a.path == path) else {
        return AppError::NotFound.error_response();
    };
    let dir = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.server.web_dir.clone())
        .unwrap_or_default();
    let body: std::borrow::Cow<'static, [u8]> = if dir.is_empty() {
        asset.body.into()
    } else {
        match std::fs::read(std::path::Path::new(&dir).join(asset.path)) {
            Ok(b) => b.into(),
            Err(e) => return AppError::Internal(format!("web_dir {dir}: {e}")).error_response(),
        }
    };
    let compress = accepts_gzip(req);
    let mut tag = etag(&body);
    if compress {
        tag.insert_str(tag.len() - 1, "-gz");
    }
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CONTENT_SECURITY_POLICY, CLIENT_CSP))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, tag))
        .insert_header((header::VARY, "Accept-Encoding"));
    if fresh {
        return res.finish();
    }
    res.content_type(asset.media);
    if compress {
        res.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    // The built-in files are served from the binary without a copy.
    match (body, compress) {
        (std::borrow::Cow::Borrowed(b), false) => res.body(b),
        (std::borrow::Cow::Borrowed(_), true) => res.body(gzipped(index)),
        (std::borrow::Cow::Owned(b), false) => res.body(b),
        (std::borrow::Cow::Owned(b), true) => res.body(gzip(&b)),
    }
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, "index.html")
}

async fn file(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    if path == "index.html" {
        return AppError::NotFound.error_response();
    }
    serve(&req, &path)
}

async fn favicon(req: HttpRequest) -> HttpResponse {
    serve(&req, "favicon.svg")
}

/// Register the client's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/favicon.ico", web::get().to(favicon))
        .route("/assets/{path:.*}", web::get().to(file));
}

//! Targeted communications: the pure parts, free of the database and of HTTP.
//!
//! - [`segment`]: the segment filter language (a closed JSON grammar) and its set algebra;
//! - [`template`]: the sandboxed template engine (escape by default, no code, no data beyond
//!   what the caller passes);
//! - [`token`]: signed, unguessable one-click unsubscribe tokens;
//! - [`bounce`]: delivery status notifications (RFC 3464) and plain-text bounces.

pub mod bounce;
mod mime;
pub mod segment;
pub mod template;
pub mod token;

//! Normalisation and validation of untrusted, human-entered values.
//!
//! Policy: every function here accepts arbitrary input and never panics.
//! Values are either returned in one canonical form (so that normalising an
//! already-normalised value changes nothing) or rejected with a
//! [`NormalizeError`] carrying a stable machine code and a plain-English
//! message that can be shown to staff. Nothing is silently guessed or dropped.

pub mod bounded_time;
pub mod email;
pub mod phone;
pub mod postcode;
pub mod text;

use std::fmt;

/// Why a value was rejected: a stable machine code (snake_case, e.g.
/// `"invalid_email"`, `"invalid_phone"`, `"phone_extension"`,
/// `"invalid_postcode"`, `"too_long"`, `"control_characters"`, `"empty"`)
/// and a plain-English message for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalizeError {
    /// Stable machine-readable reason, in snake_case. Safe to match on.
    pub code: &'static str,
    /// Plain-English explanation suitable for showing to staff.
    pub message: String,
}

impl NormalizeError {
    /// Build an error from a code and a message.
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for NormalizeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_message_and_code() {
        let e = NormalizeError::new("empty", "Enter a value.");
        assert_eq!(e.to_string(), "Enter a value. (empty)");
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().contains("empty"));
    }
}

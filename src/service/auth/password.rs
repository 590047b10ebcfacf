//! Passwords: the policy (12–128 characters, not a common password), argon2id hashing with the
//! OWASP parameters, verification, and whether a stored hash needs redoing. At most
//! `auth.max_concurrent_hashes` hashes run at once ([`HashLimiter`]).

use std::sync::{Condvar, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{AppError, AppResult, FieldError};

const COMMON_PASSWORDS: &str = include_str!("../../auth_data/common_passwords.txt");
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Bounds concurrent argon2 work (19 MiB and tens of milliseconds each).
pub struct HashLimiter {
    free: Mutex<usize>,
    cv: Condvar,
}

impl HashLimiter {
    /// How many hashes may run at once for a setting of `n` (0 = number of CPUs).
    pub fn threads(n: usize) -> usize {
        if n == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
        } else {
            n
        }
    }

    /// A limiter allowing `n` concurrent hashes (0 = number of CPUs).
    pub fn new(n: usize) -> Self {
        let n = Self::threads(n);
        HashLimiter {
            free: Mutex::new(n),
            cv: Condvar::new(),
        }
    }

    fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.cv.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
        }
        let out = f();
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_one();
        out
    }
}

fn argon2() -> Argon2<'static> {
    // Params::default() is m=19456 KiB, t=2, p=1: the OWASP floor.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Check a new password against the policy; the error names the field `field`.
pub fn check_password_policy(password: &str, field: &str) -> AppResult<()> {
    let n = password.chars().count();
    let problem = if n < MIN_PASSWORD_CHARS {
        Some(("too_short", format!("Use at least {MIN_PASSWORD_CHARS} characters.")))
    } else if n > MAX_PASSWORD_CHARS {
        Some(("too_long", format!("Use at most {MAX_PASSWORD_CHARS} characters.")))
    } else if is_common_password(password) {
        Some((
            "common_password",
            "This password is too common; choose another.".to_string(),
        ))
    } else {
        None
    };
    match problem {
        Some((code, message)) => Err(AppError::Validation(vec![FieldError::new(field, code, message)])),
        None => Ok(()),
    }
}

fn is_common_password(password: &str) -> bool {
    static LIST: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let list = LIST.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    });
    list.contains(password.to_lowercase().as_str())
}

/// Hash a password with argon2id.
pub fn hash_password(limiter: &HashLimiter, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    limiter
        .run(|| {
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

/// Verify a password; an unparsable stored hash never verifies.
pub(super) fn verify_password(limiter: &HashLimiter, password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    limiter.run(|| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

pub(super) fn dummy_hash(limiter: &HashLimiter) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(limiter, "an unguessable dummy password for timing").unwrap_or_default())
}

pub(super) fn needs_rehash(stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return true;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return true;
    };
    let want = Params::default();
    parsed.algorithm.as_str() != "argon2id" || params.m_cost() < want.m_cost() || params.t_cost() < want.t_cost()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short", "p").is_err());
        assert!(check_password_policy(&"a".repeat(129), "p").is_err());
        assert!(check_password_policy("password1234", "p").is_err());
        assert!(check_password_policy("correct horse battery", "p").is_ok());
        assert!(check_password_policy(&"b".repeat(128), "p").is_ok());
    }

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let limiter = HashLimiter::new(1);
        let h = hash_password(&limiter, "correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(&limiter, "correct horse battery", &h));
        assert!(!verify_password(&limiter, "Correct horse battery", &h));
        assert!(!needs_rehash(&h));
        assert_ne!(h, hash_password(&limiter, "correct horse battery").unwrap());
    }
}

//! The matching index: blocking keys stored in the database (filled in with the matching engine).

use crate::db::DbConn;
use crate::error::AppResult;

/// Recompute the blocking keys of these people.
pub fn refresh(_conn: &mut DbConn, _ids: &[i64]) -> AppResult<()> {
    Ok(())
}

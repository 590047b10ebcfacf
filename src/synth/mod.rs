//! Synthetic data for demos and benchmarks (placeholder; filled in by the generator work).

/// Arguments of `lighthouse generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// How many people to generate.
    #[arg(long, default_value_t = 1000)]
    pub people: u64,
}

/// Run `lighthouse generate`.
pub fn run(_pool: &crate::db::DbPool, _args: &GenerateArgs) -> Result<(), String> {
    Err("not yet available".into())
}

DROP INDEX jobs_one_active_dedupe;

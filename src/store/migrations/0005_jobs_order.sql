-- The scheduler claims the due job whose due instant (order_at) is oldest,
-- not the one whose run_at is: a job put back to wait for a rate bucket
-- keeps its place instead of queueing behind every job that never waited
-- (docs/scheduling.md, "Fairness"). This index walks that order.
CREATE INDEX jobs_ready ON jobs(state, order_at, id);

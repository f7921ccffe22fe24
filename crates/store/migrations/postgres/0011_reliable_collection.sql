-- A pull in progress holds its source until this time (a lease): the scheduler of any
-- process and a person's "run now" both claim it first, so a source runs once at a time
-- and a manual run cannot race a scheduled one (and move the watermark back). A process
-- that stops gracefully gives its claims up; one that dies loses them when they lapse.
ALTER TABLE sources ADD COLUMN claimed_until TIMESTAMPTZ;

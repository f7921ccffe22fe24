-- No query reads the access log by department alone (usage and quotas go by entry), and
-- every data call pays for each index of the log. Keep in step with ../postgres/0008.
DROP INDEX access_log_department;

-- Rows shipped from a server's local access journal (访问日志的本地日志段): which journal
-- (a random number per journal directory) and where in it. Dense from 1 in each journal, so a record removed before it was shipped
-- shows as a gap; unique, so a shipment repeated is stored once.
ALTER TABLE access_log ADD COLUMN journal BIGINT;
ALTER TABLE access_log ADD COLUMN journal_seq BIGINT;
CREATE UNIQUE INDEX access_log_journal ON access_log (journal, journal_seq) WHERE journal IS NOT NULL;

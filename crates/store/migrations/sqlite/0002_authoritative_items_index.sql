-- 一数一源 checks look up authoritative items by name. A partial index keeps that lookup
-- proportional to the few authoritative items, not to every item in the catalogue.
CREATE INDEX resource_items_authoritative ON resource_items (name) WHERE authoritative;
DROP INDEX resource_items_name;

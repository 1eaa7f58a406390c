-- Every write a person made through a system's door: recorded before the write runs (status
-- NULL), completed with the answer after, so no person's write goes unrecorded.
CREATE TABLE audit_entries (
    id          TEXT PRIMARY KEY,
    -- When the door admitted it, milliseconds since the Unix epoch.
    at          BIGINT NOT NULL,
    -- The operator account, and the role it acted in.
    person      TEXT NOT NULL,
    role        TEXT NOT NULL,
    -- The system written to, the method and the request's path (with its query).
    system      TEXT NOT NULL,
    method      TEXT NOT NULL,
    target      TEXT NOT NULL,
    -- The HTTP status it was answered with; NULL while running, or if the process died first.
    status      INTEGER
);
CREATE INDEX audit_entries_by_time ON audit_entries (at, id);
CREATE INDEX audit_entries_by_person ON audit_entries (person, at);

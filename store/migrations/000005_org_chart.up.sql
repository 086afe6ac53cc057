-- The org chart: units and staff. Escalations are addressed from it when they fire.
CREATE TABLE units (
    unit_id    text PRIMARY KEY,
    name       text        NOT NULL,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff (
    staff_id   text PRIMARY KEY,
    name       text        NOT NULL,
    email      text,
    unit_id    text        NOT NULL REFERENCES units,
    role       text        NOT NULL CHECK (role IN ('guide', 'team_lead', 'unit_manager', 'case_worker')),
    reports_to text        REFERENCES staff,
    active     boolean     NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_unit_role_idx ON staff (unit_id, role) WHERE active;

-- Whose inbox a notification is in, resolved when it was written; null when the org
-- chart named nobody for the role (the unit's inbox for that role has it then).
ALTER TABLE notifications ADD COLUMN resolved_from text;
CREATE INDEX notifications_inbox_idx ON notifications (recipient_id, read_at, created_at);

-- A number to name a notification in URLs (its id holds slashes).
ALTER TABLE notifications ADD COLUMN number bigserial UNIQUE;

-- The calendar follows eligibility and the world (issue 10): per-discipline evaluations, the
-- child's MTP status and stated disciplines, sessions waiting after losing their slot, release
-- scope and expiry, conference disciplines and proposals, IEP meeting requests.

ALTER TABLE children
    ADD COLUMN status            text NOT NULL DEFAULT 'NEVER_DECIDED', -- policy.h status name
    ADD COLUMN appeal_continues  boolean NOT NULL DEFAULT false,
    ADD COLUMN eval_disciplines  integer NOT NULL DEFAULT 0,  -- stated PT/OT bits; 0 = not stated
    ADD COLUMN school_noticed    boolean NOT NULL DEFAULT false,
    ADD COLUMN conference_months integer NOT NULL DEFAULT 0;

-- One live evaluation per child and discipline (a child may need PT and OT).
DROP INDEX appointments_one_evaluation;
CREATE UNIQUE INDEX appointments_one_evaluation ON appointments (case_id, discipline)
    WHERE kind = 'evaluation' AND status = 'booked';
CREATE INDEX appointments_case_day ON appointments (case_id, day) WHERE status = 'booked';

ALTER TABLE waitlist DROP CONSTRAINT waitlist_kind_check;
ALTER TABLE waitlist ADD CONSTRAINT waitlist_kind_check CHECK (kind IN ('evaluation', 'series', 'session'));
ALTER TABLE waitlist ADD COLUMN appointment_id uuid;  -- 'session': the session that lost its slot
DROP INDEX waitlist_one_evaluation;
CREATE UNIQUE INDEX waitlist_one_evaluation ON waitlist (case_id, discipline)
    WHERE kind = 'evaluation' AND status = 'waiting';

ALTER TABLE releases
    ADD COLUMN scopes      integer NOT NULL DEFAULT 1, -- policy.h CCS_SCHED_SHARE_* bits
    ADD COLUMN expiry_date date;

ALTER TABLE conferences
    ADD COLUMN disciplines integer NOT NULL DEFAULT 3,
    ADD COLUMN proposed    boolean NOT NULL DEFAULT false;
CREATE INDEX conferences_case ON conferences (case_id, day);

CREATE TABLE iep_meetings (
    meeting_id   text NOT NULL,
    case_id      uuid NOT NULL,
    meeting_date date NOT NULL,
    staff        text,            -- staff ids assigned, comma-separated; NULL: none available
    event_id     text NOT NULL,
    PRIMARY KEY (meeting_id, case_id)
);

-- Time-driven work (the conference-due timer) records its input too.
ALTER TABLE inputs DROP CONSTRAINT inputs_source_check;
ALTER TABLE inputs ADD CONSTRAINT inputs_source_check CHECK (source IN ('eligibility', 'request', 'timer'));

-- schedulingd's own schema (database ccs_scheduling). No names, birth dates or diagnoses: the
-- child is a case id plus the few facts scheduling needs (county, priority facts, release).
--
-- Times are MTU local (America/Los_Angeles wall clock) as in the contract: a date plus minutes
-- after midnight. The EXCLUDE constraints below work on tsrange built from them, half-open, so
-- back-to-back appointments touch without overlapping.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The MTU directory: seeded from the operator's file at start; an MtuCalendar request replaces
-- the therapists, rooms and closures (calendar_source = 'request'), after which restarts no
-- longer overwrite them from the file.
CREATE TABLE mtus (
    mtu_id          text PRIMARY KEY,
    county          text NOT NULL,
    school          text NOT NULL DEFAULT '',
    disciplines     integer NOT NULL,
    open_hours      integer[] NOT NULL CHECK (cardinality(open_hours) = 14), -- [start,end] x Mon..Sun
    file_order      integer NOT NULL,
    calendar_source text NOT NULL DEFAULT 'directory' CHECK (calendar_source IN ('directory', 'request')),
    calendar_event  text
);
CREATE INDEX mtus_county ON mtus (lower(county), file_order);

CREATE TABLE mtu_districts (
    mtu_id   text NOT NULL REFERENCES mtus ON DELETE CASCADE,
    district text NOT NULL,
    PRIMARY KEY (mtu_id, district)
);

CREATE TABLE therapists (
    mtu_id       text NOT NULL REFERENCES mtus ON DELETE CASCADE,
    therapist_id text NOT NULL,
    discipline   integer NOT NULL CHECK (discipline IN (1, 2)),
    hours        integer[] NOT NULL CHECK (cardinality(hours) = 14),
    PRIMARY KEY (mtu_id, therapist_id)
);

CREATE TABLE rooms (
    mtu_id  text NOT NULL REFERENCES mtus ON DELETE CASCADE,
    room_id text NOT NULL,
    uses    integer NOT NULL DEFAULT 0, -- CCS_SCHED_PT | OT | CONFERENCE bits; 0 = any
    PRIMARY KEY (mtu_id, room_id)
);

CREATE TABLE closures (
    mtu_id    text NOT NULL REFERENCES mtus ON DELETE CASCADE,
    first_day date NOT NULL,
    last_day  date NOT NULL,
    reason    text NOT NULL DEFAULT '',
    CHECK (last_day >= first_day)
);
CREATE INDEX closures_mtu ON closures (mtu_id);

-- A child known to scheduling: the latest eligibility facts that matter here.
CREATE TABLE children (
    case_id          uuid PRIMARY KEY,
    county           text NOT NULL,
    school_district  text,
    mtu_id           text,
    eligibility      text NOT NULL,       -- overall outcome name of the latest decision
    mtp_eligible     boolean NOT NULL,
    at_risk          boolean NOT NULL DEFAULT false,
    age_out_on       date,
    eligible_on      date,
    lea_referred     boolean NOT NULL DEFAULT false, -- a REFER_LEA_EDUCATIONAL notice went out
    last_decision_id text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Release of information to the school district (one current state per case).
CREATE TABLE releases (
    case_id         uuid PRIMARY KEY,
    release_id      text NOT NULL,
    status          text NOT NULL CHECK (status IN ('on_file', 'revoked')),
    effective_date  date,
    school_district text,
    student_id      text,
    event_id        text NOT NULL
);

-- The child's IEP service blocks (the latest IepScheduleBlocks replaces earlier ones).
CREATE TABLE iep_blocks (
    case_id        uuid NOT NULL,
    school_id      text NOT NULL,
    weekday        integer NOT NULL CHECK (weekday BETWEEN 0 AND 6), -- 0 = Monday
    start_min      integer NOT NULL,
    end_min        integer NOT NULL,
    service        text NOT NULL DEFAULT '',
    effective_date date,           -- first day it applies (NULL: always)
    until_date     date,           -- last day it applies (NULL: open), set when replaced
    CHECK (start_min >= 0 AND end_min <= 1440 AND start_min < end_min)
);
CREATE INDEX iep_blocks_case ON iep_blocks (case_id);

-- Appointments. A conference books one row per therapist (the PT's row carries the child and
-- the room). Cancelled rows stay for the audit trail and leave the constraints.
CREATE TABLE appointments (
    appointment_id  uuid PRIMARY KEY,
    case_id         uuid,
    mtu_id          text NOT NULL,
    therapist_id    text NOT NULL,
    room_id         text,
    discipline      integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('evaluation', 'therapy', 'conference')),
    prescription_id text,
    conference_id   text,
    day             date NOT NULL,
    start_min       integer NOT NULL,
    end_min         integer NOT NULL,
    status          text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'cancelled')),
    cancel_reason   text,
    event_id        text NOT NULL,   -- the input that booked it
    cancel_event_id text,
    CHECK (start_min >= 0 AND end_min <= 1440 AND start_min < end_min),
    -- The database, not only the engine, guarantees nobody is double-booked.
    CONSTRAINT appointments_therapist_free EXCLUDE USING gist (
        therapist_id WITH =,
        tsrange(day + start_min * interval '1 minute', day + end_min * interval '1 minute') WITH &&)
        WHERE (status = 'booked'),
    CONSTRAINT appointments_room_free EXCLUDE USING gist (
        mtu_id WITH =, room_id WITH =,
        tsrange(day + start_min * interval '1 minute', day + end_min * interval '1 minute') WITH &&)
        WHERE (status = 'booked' AND room_id IS NOT NULL),
    CONSTRAINT appointments_child_free EXCLUDE USING gist (
        case_id WITH =,
        tsrange(day + start_min * interval '1 minute', day + end_min * interval '1 minute') WITH &&)
        WHERE (status = 'booked' AND case_id IS NOT NULL)
);
CREATE INDEX appointments_mtu_day ON appointments (mtu_id, day) WHERE status = 'booked';
CREATE INDEX appointments_case ON appointments (case_id);
-- One live evaluation per child.
CREATE UNIQUE INDEX appointments_one_evaluation ON appointments (case_id)
    WHERE kind = 'evaluation' AND status = 'booked';

-- Medical Therapy Conferences: the physician is not an MTU therapist, so their time is guarded here.
CREATE TABLE conferences (
    conference_id text PRIMARY KEY,
    case_id       uuid NOT NULL,
    mtu_id        text NOT NULL,
    physician_id  text NOT NULL,
    day           date NOT NULL,
    start_min     integer NOT NULL,
    end_min       integer NOT NULL,
    event_id      text NOT NULL,
    CONSTRAINT conferences_physician_free EXCLUDE USING gist (
        physician_id WITH =,
        tsrange(day + start_min * interval '1 minute', day + end_min * interval '1 minute') WITH &&)
);

-- Prescriptions received (the series they became is in appointments).
CREATE TABLE prescriptions (
    prescription_id   text PRIMARY KEY,
    case_id           uuid NOT NULL,
    mtu_id            text,
    discipline        integer NOT NULL,
    sessions_per_week integer NOT NULL,
    weeks             integer NOT NULL,
    minutes           integer NOT NULL,
    start_date        date NOT NULL,
    post_surgical     boolean NOT NULL,
    status            text NOT NULL CHECK (status IN ('booked', 'waitlisted', 'superseded')),
    event_id          text NOT NULL
);
CREATE INDEX prescriptions_case ON prescriptions (case_id);

-- Waiting children, per MTU and discipline (mtu_id NULL: the county has no MTU in the directory).
-- waitlisted_ms comes from the input's time, so the order is the same on a replay.
CREATE TABLE waitlist (
    entry_id        uuid PRIMARY KEY,
    case_id         uuid NOT NULL,
    mtu_id          text,
    county          text NOT NULL,
    discipline      integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('evaluation', 'series')),
    prescription_id text,
    minutes         integer NOT NULL,
    flags           integer NOT NULL DEFAULT 0,
    age_out_on      date,
    not_before      date,
    waitlisted_ms   bigint NOT NULL,
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'booked', 'removed')),
    event_id        text NOT NULL,
    resolved_event  text
);
CREATE UNIQUE INDEX waitlist_one_evaluation ON waitlist (case_id) WHERE kind = 'evaluation' AND status = 'waiting';
CREATE INDEX waitlist_waiting ON waitlist (mtu_id, discipline) WHERE status = 'waiting';

-- IEP coordination notices sent (the decision carries them; this is the audit copy).
CREATE TABLE notices (
    decision_id     uuid PRIMARY KEY,
    case_id         uuid NOT NULL,
    kind            text NOT NULL,
    release_on_file boolean NOT NULL,
    effective_date  date,
    event_id        text NOT NULL
);

-- Exactly one row per input event: what it did and the decisions it produced.
CREATE TABLE inputs (
    event_id     text PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('eligibility', 'request')),
    request_kind text NOT NULL,
    case_id      text,
    outcome      text NOT NULL,
    decision_ids uuid[] NOT NULL DEFAULT '{}',
    processed_at timestamptz NOT NULL DEFAULT now()
);

-- eligibilityd's own schema (database ccs_eligibility). The birth date lives here and in
-- referrald's database, nowhere else; decisions carry no names or diagnoses.
--
-- Facts are never stored as a mutable row: they are rebuilt from `cases` + `evidence` (see
-- eligibility_fold.h), so evidence arriving twice or out of order gives the same facts.

-- One row per case, from the accepted referral that opened it.
CREATE TABLE cases (
    case_id           uuid PRIMARY KEY,
    case_number       text NOT NULL,
    county            text NOT NULL,
    county_model      text NOT NULL,
    reviewing_office  text NOT NULL,
    birth_date        date NOT NULL,
    referral_date     date NOT NULL,
    opened_on         date NOT NULL,          -- the referral decision's date: first as-of
    requested_program text NOT NULL,
    requested_lines   integer NOT NULL CHECK (requested_lines > 0 AND requested_lines & ~30 = 0),
    referred_codes    text[] NOT NULL DEFAULT '{}',  -- as referred, not confirmed
    coverage          text NOT NULL,
    opened_by_event   text NOT NULL UNIQUE,   -- the ReferralDecision event
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (birth_date <= referral_date)
);

-- Every ReferralDecision consumed: accepted ones opened (or re-announced) a case; linked and
-- rejected ones are recorded and counted, no eligibility decision follows.
CREATE TABLE referral_decisions (
    event_id            text PRIMARY KEY,
    referral_decision_id text NOT NULL,
    referral_id         text NOT NULL,
    outcome             text NOT NULL CHECK (outcome IN ('accepted', 'linked', 'rejected')),
    case_id             uuid,
    opened_case         boolean NOT NULL,     -- false: the case existed already (no decision)
    received_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (opened_case = false OR outcome = 'accepted'),
    CHECK ((outcome = 'rejected') = (case_id IS NULL))
);

-- The evidence log: every evidence event applied, by event id, as received (protobuf).
-- case_id is deliberately not a foreign key: evidence may arrive before its case (the
-- referral decision travels on another topic) and waits here until the case is opened.
CREATE TABLE evidence (
    event_id     text PRIMARY KEY,
    evidence_id  text NOT NULL UNIQUE,       -- the submitter's id: a resubmission has no effect
    case_id      uuid NOT NULL,
    kind         text NOT NULL,
    received_on  date NOT NULL,              -- the fold orders by (received_on, event_id)
    received_at  text NOT NULL,
    body         bytea NOT NULL,
    case_known   boolean NOT NULL,           -- false: held until the case arrives
    stored_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_case ON evidence (case_id, received_on, event_id);

-- First-level appeals (22 CCR 42160), kept current from the appeal evidence.
CREATE TABLE appeals (
    appeal_id            text PRIMARY KEY,
    case_id              uuid NOT NULL,
    appealed_decision_id text,
    filed_date           date,
    postmarked_date      date,
    response_due         date,
    decided_date         date,
    result               text CHECK (result IN ('UPHELD', 'OVERTURNED')),
    fair_hearing_closes  date,
    filed_event_id       text,
    decided_event_id     text,
    CHECK ((result IS NULL) = (decided_date IS NULL))
);
CREATE INDEX appeals_case ON appeals (case_id);

-- Every decision issued. (trigger_event_id, kind) determines decision_id = UUIDv5.
CREATE TABLE decisions (
    decision_id      uuid PRIMARY KEY,
    case_id          uuid NOT NULL REFERENCES cases (case_id),
    kind             text NOT NULL,
    trigger          text NOT NULL CHECK (trigger IN ('REFERRAL', 'EVIDENCE', 'APPEAL', 'TIMER', 'REDETERMINATION')),
    trigger_event_id text NOT NULL,
    timer_kind       text,
    outcome          text NOT NULL,
    reasons          text[] NOT NULL,
    lines            text NOT NULL,             -- "MTP_THERAPY=ELIGIBLE,CCS_TREATMENT=PENDING"
    noa_required     boolean NOT NULL,
    noa_due          date,
    rule_set_version text NOT NULL,
    as_of            date NOT NULL,
    decided_at       text NOT NULL,
    signature        text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (trigger_event_id, kind),
    CHECK ((trigger IN ('TIMER', 'REDETERMINATION')) = (timer_kind IS NOT NULL))
);
CREATE INDEX decisions_case ON decisions (case_id, as_of);

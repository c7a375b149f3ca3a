-- referrald's own schema (database ccs_referral). PHI lives here and nowhere else.

-- One row per case: the child referred, once, however many referrals arrive for them.
CREATE TABLE cases (
    case_id                uuid PRIMARY KEY,
    case_number            text NOT NULL UNIQUE,
    status                 text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    county                 text NOT NULL,
    county_model           text NOT NULL,
    reviewing_office       text NOT NULL,
    medi_cal_cin           text CHECK (medi_cal_cin ~ '^[0-9]{8}[A-Z]$'),
    match_key              text NOT NULL,
    first_name             text NOT NULL,
    last_name              text NOT NULL,
    birth_date             date NOT NULL,
    referral_date          date NOT NULL,
    application_send_due   date NOT NULL,
    application_return_due date NOT NULL,
    opened_by_referral     uuid NOT NULL,
    opened_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (application_send_due = referral_date + 5),
    CHECK (application_return_due = application_send_due + 20)
);
-- At most one open case per Medi-Cal CIN.
CREATE UNIQUE INDEX cases_open_cin ON cases (medi_cal_cin) WHERE status = 'open' AND medi_cal_cin IS NOT NULL;
CREATE INDEX cases_open_match_key ON cases (match_key) WHERE status = 'open';

-- One row per referral received: its outcome and the decision published for it.
-- A referral_id is the submitter's idempotency key: a valid referral resubmitted under a new
-- event id has no second effect. Rejected referrals may lack a usable id, so they are kept
-- by event id only.
CREATE TABLE referrals (
    event_id     text PRIMARY KEY,
    referral_id  text NOT NULL,
    decision_id  uuid NOT NULL UNIQUE,
    outcome      text NOT NULL CHECK (outcome IN ('accepted', 'linked', 'rejected')),
    case_id      uuid REFERENCES cases (case_id),
    match_rule   text,
    source       text NOT NULL,
    referral_date date,
    reasons      text[],
    submitted    bytea NOT NULL,       -- the referral as received (protobuf), for audit
    received_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((outcome = 'rejected') = (case_id IS NULL))
);
CREATE INDEX referrals_case ON referrals (case_id);
CREATE UNIQUE INDEX referrals_valid_id ON referrals (referral_id) WHERE outcome <> 'rejected';

-- Issue 9: what a linked referral adds, the school district, and the office worklists.

-- A linked referral's requested lines, referred codes and school district reach the case:
-- the case's lines are requested_lines OR every linked referral's lines (order-independent:
-- a link that arrives before its case still counts once the case opens).
ALTER TABLE referral_decisions ADD COLUMN lines integer NOT NULL DEFAULT 0;
ALTER TABLE referral_decisions ADD COLUMN referred_codes text[] NOT NULL DEFAULT '{}';
ALTER TABLE referral_decisions ADD COLUMN school_district text NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN school_district text NOT NULL DEFAULT '';

-- Work an office owes on a case, kept current by every decision:
--   PHYSICIAN_REVIEW   a case awaits the medical consultant (service target: due_date)
--   NOA_DUE            a Notice of Action is required and not yet mailed (22 CCR 42132)
--   GOOD_CAUSE_REVIEW  a late appeal waits for a good-cause review
-- state turns 'overdue' when the due-work reminder fires and the item is still open.
CREATE TABLE worklist (
    case_id          uuid NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('PHYSICIAN_REVIEW', 'NOA_DUE', 'GOOD_CAUSE_REVIEW')),
    reviewing_office text NOT NULL,
    county           text NOT NULL,
    since            date NOT NULL,
    due_date         date,
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'overdue')),
    decision_id      uuid NOT NULL,
    PRIMARY KEY (case_id, kind)
);
CREATE INDEX worklist_office ON worklist (reviewing_office, kind, state);

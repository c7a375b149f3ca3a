-- The application clock counts both dates from the referral date (22 CCR 41514: a signed
-- application returned within 20 days of the referral keeps the referral date), and both
-- periods are settings (application.send_days, application.return_days). 0001 pinned
-- send = referral + 5 and return = send + 20 (day 25, which disagreed with eligibility's
-- day 20) in CHECK constraints; they give way to what holds whatever the settings.
-- Rows decided before this migration keep the dates their decisions published.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'cases'::regclass AND contype = 'c'
               AND pg_get_constraintdef(oid) ~ 'application_(send|return)_due'
    LOOP
        EXECUTE format('ALTER TABLE cases DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
ALTER TABLE cases ADD CONSTRAINT cases_application_clock
    CHECK (application_send_due >= referral_date AND application_return_due >= application_send_due);

-- The school district the child attends (DHCS 4488 carries the school): the latest referral
-- that names one wins. Scheduling picks the MTU serving the district. NULL when never given.
ALTER TABLE cases ADD COLUMN school_district text;

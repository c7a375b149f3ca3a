-- Every case load reads the case's linked referrals (requested lines, school district): without
-- an index that was a sequential scan of referral_decisions per input (found by the benchmark).
CREATE INDEX referral_decisions_case ON referral_decisions (case_id, received_at) WHERE outcome = 'linked';

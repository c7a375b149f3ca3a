-- Indexes the booking path can rely on (issue 8: the snapshot of an MTU read every booked
-- appointment of every MTU, 748 index entries per scan, and a child's waiting entries were
-- found by walking the whole waitlist).
--
-- The snapshot reads an MTU's booked appointments of a window three ways: the MTU's own, its
-- therapists' at other MTUs, the children's at other MTUs. Each gets an index whose leading
-- columns the query binds. They are not partial: the planner knows a plain index's size from
-- the table's, while a partial index (WHERE status = 'booked') built on an empty table looks
-- empty until the table is analyzed (a database with autovacuum off never is) and was taken for
-- a free full scan. The snapshot query says status <> 'cancelled', which no partial index here
-- can serve, so only these are candidates; cancelled rows in them are few.
DROP INDEX appointments_mtu_day;
DROP INDEX appointments_case_day;
DROP INDEX appointments_case;  -- every lookup by child is by (case_id, day) or the evaluation index
CREATE INDEX appointments_mtu_day ON appointments (mtu_id, day);
CREATE INDEX appointments_case_day ON appointments (case_id, day);
-- (therapist, mtu) first: "this therapist at any other MTU" is two ranges of it, not a filter
-- over the therapist's rows at this MTU, which the MTU's own scan already read.
CREATE INDEX appointments_therapist_mtu_day ON appointments (therapist_id, mtu_id, day);
-- A conference's rows are cancelled together (the other rows leave this index out).
CREATE INDEX appointments_conference ON appointments (conference_id) WHERE conference_id IS NOT NULL;

-- A child's waiting entries (removed when eligibility ends, by discipline or kind).
CREATE INDEX waitlist_case ON waitlist (case_id) WHERE status = 'waiting';

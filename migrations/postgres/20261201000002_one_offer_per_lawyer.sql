-- A lawyer holds at most one offer at a time (issue 15): a claim while they hold one returns it
-- (the queue's claim script keeps it in the lawyer's `holder:` key), and this index makes SQL
-- refuse a second `offered` row, so two claims at the same moment record one offer. Offers
-- doubled before (such claims) would stop the index from being built: the newest of each
-- lawyer's offers stays, the others end as lapsed, as the queue lets an offer lapse. Keep in
-- step with the other backend.

UPDATE assignments
SET state = 'lapsed',
    ended_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    updated_at = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
WHERE state = 'offered'
  AND EXISTS (
    SELECT 1 FROM assignments newer
    WHERE newer.lawyer_id = assignments.lawyer_id
      AND newer.state = 'offered'
      AND (newer.offered_at > assignments.offered_at
           OR (newer.offered_at = assignments.offered_at AND newer.id > assignments.id))
  );

CREATE UNIQUE INDEX assignments_one_offer_per_lawyer ON assignments (lawyer_id) WHERE state = 'offered';

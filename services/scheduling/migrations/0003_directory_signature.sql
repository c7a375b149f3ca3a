-- A signature of each MTU's calendar as the directory file gives it (hours, therapists, rooms,
-- closures): a restart whose file changed the calendar schedules a calendar.recheck for that
-- MTU; an unchanged file schedules nothing.
ALTER TABLE mtus ADD COLUMN directory_sig text;

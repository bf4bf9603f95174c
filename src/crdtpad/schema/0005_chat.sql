-- A pad's chat can be turned off by its owners (and folder admins); on by default, as on Etherpad.
ALTER TABLE pads ADD COLUMN chat_enabled INTEGER NOT NULL DEFAULT 1 CHECK (chat_enabled IN (0, 1));

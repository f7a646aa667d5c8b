-- 0023: the directory and the channels edited in the console (issue 15). The plan file stays as
-- written; each row is an edit laid over it at every load, in the plan's (or the config's) own
-- keys: a person (name, unit, phone numbers; a new person when the id is not in the file), a
-- rotation's people, a notification channel. An admin makes them; each is audited.
CREATE TABLE directory_edits (
    kind       TEXT NOT NULL,   -- person | rotation | channel
    key        TEXT NOT NULL,   -- the person's, rotation's or channel's id
    body       TEXT NOT NULL,   -- JSON, the keys of the plan's person / rotation, the config's channel
    secret     TEXT,            -- channel: its key or password, never shown again
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    seq        INTEGER NOT NULL, -- edits apply in the order they were last made
    PRIMARY KEY (kind, key)
);

-- Shift swaps (换班), recorded by the people involved: the one whose shift it is asks, the one who
-- takes it answers. An accepted swap is an override of the roster for that shift (and, when the
-- requester takes one of the taker's shifts in return, for that one too).
CREATE TABLE shift_swaps (
    id           INTEGER PRIMARY KEY,
    rotation     TEXT NOT NULL,
    date         TEXT NOT NULL,  -- the requester's shift, by the local date it starts on
    requester    TEXT NOT NULL,  -- plan person
    taker        TEXT NOT NULL,  -- plan person
    back_date    TEXT,           -- the taker's shift the requester takes in return, or NULL
    reason       TEXT,
    status       TEXT NOT NULL DEFAULT 'proposed', -- proposed accepted declined withdrawn
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,  -- the account that recorded it
    on_behalf    TEXT,           -- 代录: why an admin recorded it for the requester
    answered_at  INTEGER,
    answered_by  TEXT,
    answer_on_behalf TEXT
);
CREATE INDEX shift_swaps_status ON shift_swaps (status, date);

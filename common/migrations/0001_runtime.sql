-- The runtime's tables, shared by every daemon (each in its own database).

-- Event ids already applied: a duplicate delivery at another offset is skipped.
CREATE TABLE inbox (
    event_id    text PRIMARY KEY,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_received_at ON inbox (received_at);

-- Decisions and dead letters waiting to be published; deleted once Kafka acknowledged them.
-- headers is a length-prefixed blob (u16 name length, name, u32 value length, value) so that
-- arbitrary header bytes from a poison message survive.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        bytea,
    payload    bytea NOT NULL,
    headers    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The source of truth for consumer positions; owner_epoch fences a stalled instance.
CREATE TABLE consumer_offsets (
    group_id    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    owner_epoch bigint NOT NULL DEFAULT 1,
    owner       text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition),
    CHECK (next_offset >= -2)
);

-- Time-driven work: fired by the loop timer through the same transaction-plus-outbox path.
CREATE TABLE due_work (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    subject         text NOT NULL,
    due_date        date NOT NULL,
    payload         text,
    source_event_id text NOT NULL,
    correlation_id  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, subject, due_date)
);
CREATE INDEX due_work_due ON due_work (due_date, id);

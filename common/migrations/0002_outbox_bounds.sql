-- No single outbox row may block the relay (see common/svc/README.md, "Bounded records").

-- A dead letter larger than dlq.max.bytes is published without its payload; the original
-- bytes are kept here, referenced from the published record's dlq_original_ref header.
CREATE TABLE dead_letter_originals (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    "offset"    bigint NOT NULL,
    key         bytea,
    payload     bytea NOT NULL,
    headers     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, partition, "offset")
);

-- Outbox rows that Kafka refused for good (too large for the topic, invalid record): moved
-- here with the reason so that the rows behind them flow; counted by outbox_parked_total.
CREATE TABLE outbox_parked (
    id         bigint PRIMARY KEY,
    topic      text NOT NULL,
    key        bytea,
    payload    bytea NOT NULL,
    headers    bytea NOT NULL,
    created_at timestamptz NOT NULL,
    parked_at  timestamptz NOT NULL DEFAULT now(),
    reason     text NOT NULL
);

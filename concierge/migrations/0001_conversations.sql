-- Conversations with the Concierge: who, with which model and prompts, and every message.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    role TEXT NOT NULL,
    customer_id TEXT,
    cart_id TEXT,
    provider TEXT NOT NULL,
    prompts_hash TEXT NOT NULL,
    tokens_used BIGINT NOT NULL DEFAULT 0,
    escalation TEXT,
    ticket_id TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversation_messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq BIGINT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);

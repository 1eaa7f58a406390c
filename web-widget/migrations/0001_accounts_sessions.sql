-- Who may sign in to the storefront and the CRM dashboard, and the browser sessions.
CREATE TABLE accounts (
    email TEXT PRIMARY KEY,
    subject TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    customer_id TEXT,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- A session is known by the SHA-256 of its cookie, so a copy of this table opens no session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    cart_id TEXT NOT NULL,
    currency TEXT NOT NULL,
    subject TEXT REFERENCES accounts (subject),
    conversation_id TEXT,
    conversation_customer TEXT,
    created_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);

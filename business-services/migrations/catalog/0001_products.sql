-- Products, their categories and pictures. Portable SQL: runs unchanged on SQLite and PostgreSQL.
CREATE TABLE products (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    -- JSON array of category slugs, department first: read back as written.
    categories    TEXT NOT NULL,
    price_minor   BIGINT NOT NULL CHECK (price_minor >= 0),
    currency      TEXT NOT NULL,
    stock_class   TEXT NOT NULL CHECK (stock_class IN ('standard', 'oversized')),
    weight_grams  BIGINT NOT NULL CHECK (weight_grams > 0),
    length_mm     BIGINT NOT NULL CHECK (length_mm > 0),
    width_mm      BIGINT NOT NULL CHECK (width_mm > 0),
    height_mm     BIGINT NOT NULL CHECK (height_mm > 0),
    -- Lowercased name, description and categories, for keyword search.
    search_text   TEXT NOT NULL
);

-- One row per (product, category), for filtering by category.
CREATE TABLE product_categories (
    product_id  TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category    TEXT NOT NULL,
    PRIMARY KEY (product_id, category)
);
CREATE INDEX product_categories_by_category ON product_categories (category, product_id);

CREATE TABLE product_pictures (
    product_id  TEXT PRIMARY KEY REFERENCES products (id) ON DELETE CASCADE,
    media_type  TEXT NOT NULL,
    body        TEXT NOT NULL
);

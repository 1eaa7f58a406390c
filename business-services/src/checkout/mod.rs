//! Checkout: the order saga across cart, catalog, currency, inventory, CRM, payment, furniture and fraud.

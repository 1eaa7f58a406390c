//! CRM: customers, addresses, loyalty tiers and points, account standing, notes and tickets.

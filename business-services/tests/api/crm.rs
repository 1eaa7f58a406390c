//! The crm system over HTTP.

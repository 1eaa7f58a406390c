//! The inventory system over HTTP.

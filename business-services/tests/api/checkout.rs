//! The checkout system over HTTP.

//! The furniture system over HTTP.

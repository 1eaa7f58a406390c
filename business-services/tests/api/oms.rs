//! The oms system over HTTP.

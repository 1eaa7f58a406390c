//! The event broker backends over their conformance suite.

//! The Back-Office Investigator: an agent isolated from the user that takes a typed
//! investigation request (a topic from a closed set and the ids involved, never the user's raw
//! words), reads data only through the MCP server's tools, and answers with a typed,
//! schema-validated investigation report. Built in the agents issue.

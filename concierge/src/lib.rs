//! The Concierge: the user-facing customer-service agent in the storefront widget and the CRM
//! dashboard. It holds no credentials and never reads raw back-office data: it delegates to the
//! Investigator with a runtime-minted capability token. Providers (Vertex AI Gemini,
//! OpenAI-compatible, local GGUF, offline, scripted) sit behind one interface. Built in the
//! agents issue.

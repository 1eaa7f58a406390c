//! `boutique credential`: the `Authorization` value a call to one of the store's systems needs,
//! for tools that call them directly (curl, the fuzzer): a service token signed with the store's
//! keys in the data folder, or the operator's admin token on operator routes.

use anyhow::{Context, bail};
use business_services::platform::identity::access::Access;
use business_services::platform::identity::operators::PERSON_PREFIX;

use crate::config::Config;
use crate::registry::System;

/// The credential for calling `system` as `caller`, or as a caller its table admits on `route`
/// (`"POST /v1/customers/{id}/notes"`): a service token when a system may call the route, else
/// the configured admin token.
pub fn credential(
    config: &Config,
    system: System,
    caller: Option<&str>,
    route: Option<&str>,
) -> anyhow::Result<String> {
    let descriptor = system.get().descriptor();
    let caller = match (caller, route) {
        (Some(caller), _) => caller.to_owned(),
        (None, Some(route)) => {
            if descriptor.access == Access::Own {
                bail!(
                    "{} authenticates its own callers (sessions, capability tokens): it takes no service token",
                    system.name()
                );
            }
            let (method, path) =
                route.split_once(' ').context("a route is 'METHOD /path', e.g. 'GET /v1/orders/{id}'")?;
            let method = if method == "HEAD" { "GET" } else { method };
            let grant = descriptor
                .access
                .grant(&method.to_uppercase(), path)
                .with_context(|| format!("{} has no route '{route}' in its table (docs/SECURITY.md)", system.name()))?;
            match grant.callers.iter().find(|caller| !caller.starts_with(PERSON_PREFIX)) {
                Some(caller) => (*caller).to_owned(),
                None => {
                    let token = config.admin_token.as_ref().with_context(|| {
                        format!(
                            "{} {path} is for people ({}): set BOUTIQUE_ADMIN_TOKEN (or admin_token) to the store's \
                             admin token, or send your operator account's token yourself",
                            method.to_uppercase(),
                            grant.callers.join(", ")
                        )
                    })?;
                    return Ok(format!("Bearer {}", token.expose()));
                }
            }
        }
        (None, None) => bail!("say whom to call as (--as checkout) or which route (--route 'GET /v1/orders/{{id}}')"),
    };
    let token = config.trust()?.credentials(&caller).token_for(system.name());
    Ok(format!("Bearer {token}"))
}

//! Identities from a service mesh's mutual TLS. In a mesh such as Istio, the caller's sidecar
//! and the callee's sidecar (Envoy) authenticate each other with certificates the mesh issues;
//! the callee's sidecar then hands the request on over loopback, with the caller's SPIFFE id
//! (`spiffe://<trust domain>/ns/<namespace>/sa/<service account>`) in the
//! `X-Forwarded-Client-Cert` header. The header is worth what its sender is: the door believes it
//! only from the sidecar's addresses ([`MeshSettings::proxies`], loopback by default), and the
//! sidecar must be set to replace whatever header a client sent (Envoy's
//! `forward_client_cert_details: SANITIZE_SET`, Istio's default for inbound traffic).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::{Identity, Rejection};

/// The header the sidecar passes the caller's certificate details in.
pub const CLIENT_CERT_HEADER: &str = "x-forwarded-client-cert";

/// How the mesh vouches for callers (`[mesh]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshSettings {
    /// The addresses the sidecar connects from; only their requests may carry the header.
    #[serde(default = "loopback")]
    pub proxies: Vec<IpAddr>,
    /// SPIFFE id → system name, e.g. `"spiffe://cluster.local/ns/shop/sa/checkout" = "checkout"`.
    pub callers: BTreeMap<String, String>,
}

fn loopback() -> Vec<IpAddr> {
    vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
}

/// What a request shows of its caller besides a bearer token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connection<'a> {
    /// The address the request came from.
    pub peer: Option<IpAddr>,
    /// Its `X-Forwarded-Client-Cert` header.
    pub client_cert: Option<&'a str>,
}

/// The mesh a system trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mesh {
    settings: MeshSettings,
}

impl Mesh {
    /// The mesh `settings` describe.
    pub fn new(settings: MeshSettings) -> Mesh {
        Mesh { settings }
    }

    /// The system the sidecar vouches for on `connection`.
    pub fn identify(&self, connection: Connection<'_>) -> Result<Identity, Rejection> {
        let header = connection.client_cert.ok_or(Rejection::Missing)?;
        match connection.peer {
            Some(peer) if self.settings.proxies.contains(&peer) => {}
            peer => {
                return Err(Rejection::UntrustedProxy(
                    peer.map_or_else(|| "an unknown address".into(), |p| p.to_string()),
                ));
            }
        }
        let spiffe_id = caller_uri(header).ok_or(Rejection::NoClientIdentity)?;
        let caller =
            self.settings.callers.get(&spiffe_id).ok_or_else(|| Rejection::UnknownSubject(spiffe_id.clone()))?;
        Ok(Identity { caller: caller.clone(), issuer: format!("mesh ({spiffe_id})") })
    }
}

/// The SPIFFE id of the certificate the nearest proxy saw: the `URI` of the header's last
/// element (each proxy on the way appends one).
fn caller_uri(header: &str) -> Option<String> {
    let element = split_unquoted(header, ',').pop()?;
    split_unquoted(&element, ';').into_iter().find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        let value = unquote(value.trim());
        (key.trim().eq_ignore_ascii_case("uri") && value.starts_with("spiffe://")).then_some(value)
    })
}

/// `text` split at each `separator` outside double quotes (where `\"` is a quote).
fn split_unquoted(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        parts.last_mut().expect("one part at least").push(c);
    }
    parts
}

/// A header value without its surrounding quotes and escapes.
fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|inner| inner.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\""),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKOUT: &str = "spiffe://cluster.local/ns/shop/sa/checkout";

    fn mesh() -> Mesh {
        Mesh::new(MeshSettings { proxies: loopback(), callers: BTreeMap::from([(CHECKOUT.into(), "checkout".into())]) })
    }

    fn from(peer: &str, header: &str) -> Result<Identity, Rejection> {
        mesh().identify(Connection { peer: Some(peer.parse().unwrap()), client_cert: Some(header) })
    }

    #[test]
    fn the_sidecar_vouches_for_the_caller_of_the_last_hop() {
        let envoy = format!(
            "By=spiffe://cluster.local/ns/shop/sa/payment;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject=\"\";URI={CHECKOUT}"
        );
        assert_eq!(from("127.0.0.1", &envoy).unwrap().caller, "checkout");
        let relayed = format!("By=spiffe://a;URI=spiffe://cluster.local/ns/shop/sa/web,By=spiffe://b;URI={CHECKOUT}");
        assert_eq!(from("::1", &relayed).unwrap().caller, "checkout", "the nearest proxy's element counts");
        let quoted = format!("Subject=\"CN=checkout, O=shop; unit=\\\"x\\\"\";URI=\"{CHECKOUT}\"");
        assert_eq!(from("127.0.0.1", &quoted).unwrap().caller, "checkout", "separators inside quotes are text");
    }

    #[test]
    fn the_header_counts_only_from_the_sidecar_and_for_known_callers() {
        let header = format!("URI={CHECKOUT}");
        assert!(matches!(from("10.1.2.3", &header), Err(Rejection::UntrustedProxy(peer)) if peer == "10.1.2.3"));
        let stranger = "URI=spiffe://cluster.local/ns/other/sa/checkout";
        assert!(matches!(from("127.0.0.1", stranger), Err(Rejection::UnknownSubject(_))));
        assert!(matches!(from("127.0.0.1", "Hash=abc;DNS=checkout.shop"), Err(Rejection::NoClientIdentity)));
        let unknown_peer = mesh().identify(Connection { peer: None, client_cert: Some(&header) });
        assert!(matches!(unknown_peer, Err(Rejection::UntrustedProxy(_))));
        assert!(matches!(mesh().identify(Connection::default()), Err(Rejection::Missing)));
    }
}

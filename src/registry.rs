//! The systems this binary can run: the business systems and those composed here. Adding one
//! is its folder and one line: in `business_services::SYSTEMS`, or in [`APPS`] below.

use std::fmt;
use std::sync::OnceLock;

use business_services::platform::system;

use crate::apps;

/// The systems composed in this binary besides the business systems: one line each.
const APPS: &[&dyn system::System] = &[&apps::Mcp, &apps::Concierge, &apps::Web];

/// A system this binary runs: a handle on its descriptor, compared by name.
#[derive(Clone, Copy)]
pub struct System(&'static dyn system::System);

impl System {
    /// Every system, in start order: the business systems, then the MCP server, the
    /// Concierge and the web.
    pub fn all() -> &'static [System] {
        static ALL: OnceLock<Vec<System>> = OnceLock::new();
        ALL.get_or_init(|| business_services::SYSTEMS.iter().chain(APPS).map(|system| System(*system)).collect())
    }

    /// The system called `name`.
    pub fn parse(name: &str) -> Option<System> {
        System::all().iter().copied().find(|system| system.name() == name)
    }

    /// The system called `name`, which this binary knows by that name.
    ///
    /// # Panics
    /// If there is none: a name written in this binary's code that no system has.
    pub fn named(name: &str) -> System {
        System::parse(name).unwrap_or_else(|| panic!("no system is called `{name}`"))
    }

    /// All names, for error messages.
    pub fn names() -> String {
        System::all().iter().map(|system| system.name()).collect::<Vec<_>>().join(", ")
    }

    /// The name used on the command line, in configuration and as the PostgreSQL schema.
    pub fn name(self) -> &'static str {
        self.0.descriptor().name
    }

    /// The port it listens on unless configured otherwise.
    pub fn default_port(self) -> u16 {
        self.0.descriptor().default_port
    }

    /// Its descriptor and builder.
    pub fn get(self) -> &'static dyn system::System {
        self.0
    }
}

impl PartialEq for System {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for System {}

impl PartialOrd for System {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for System {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.name().cmp(other.name())
    }
}

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports_are_unique() {
        let mut names: Vec<_> = System::all().iter().map(|system| system.name()).collect();
        let mut ports: Vec<_> = System::all().iter().map(|system| system.default_port()).collect();
        let count = names.len();
        names.sort();
        names.dedup();
        ports.sort();
        ports.dedup();
        assert_eq!((names.len(), ports.len()), (count, count), "a name or a port is taken twice");
    }

    #[test]
    fn every_declared_peer_is_a_system() {
        for system in System::all() {
            for peer in system.get().descriptor().peers {
                assert!(System::parse(peer).is_some(), "{system} calls `{peer}`, which is no system");
            }
        }
    }
}

//! The availability zones the mock serves, each with its default PRIMARY host prefix.

use std::{fmt, str::FromStr};

use ipnet::Ipv4Net;

/// One availability zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The canonical (upper-case) name, such as `US-EAST-04A`.
    pub name: String,
    /// The IPv4 PRIMARY host prefix a VPC in this zone gets when it asks for none.
    pub default_primary: Ipv4Net,
}

impl Zone {
    /// A zone with an explicit default PRIMARY prefix.
    pub fn new(name: impl Into<String>, default_primary: Ipv4Net) -> Self {
        Self {
            name: name.into().to_ascii_uppercase(),
            default_primary,
        }
    }
}

/// Why a `--zone` value was not understood.
#[derive(Debug, thiserror::Error)]
#[error("invalid zone {input:?}: {reason} (expected NAME or NAME=IPV4-CIDR with a /18 or larger)")]
pub struct ZoneParseError {
    input: String,
    reason: &'static str,
}

impl FromStr for Zone {
    type Err = ZoneParseError;

    /// Parses `NAME` or `NAME=CIDR`. Without a CIDR the default prefix is derived from the name.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ZoneParseError {
            input: input.to_owned(),
            reason,
        };
        let (name, cidr) = match input.split_once('=') {
            Some((name, cidr)) => (name, Some(cidr)),
            None => (input, None),
        };
        let name = name.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(fail("the name must be letters, digits and '-'"));
        }
        let default_primary = match cidr {
            None => derived_default_prefix(name),
            Some(cidr) => {
                let net: Ipv4Net = cidr.trim().parse().map_err(|_| fail("bad IPv4 CIDR"))?;
                if net.prefix_len() > 18 || net.trunc() != net {
                    return Err(fail("the CIDR must be a /18 or larger with no host bits"));
                }
                net
            }
        };
        Ok(Self::new(name, default_primary))
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.default_primary)
    }
}

/// A stable /18 inside 10.0.0.0/8 for a zone given without a CIDR.
fn derived_default_prefix(name: &str) -> Ipv4Net {
    let hash = name
        .to_ascii_uppercase()
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
    // 10.0.0.0/8 holds 1024 /18s; pick one by hash.
    let index = hash % 1024;
    let address = (10u32 << 24) | (index << 14);
    Ipv4Net::new(address.into(), 18).unwrap_or_default()
}

/// The set of zones a server offers. Look-ups are case-insensitive.
#[derive(Debug, Clone)]
pub(crate) struct Zones(Vec<Zone>);

impl Zones {
    /// The given zones, in the given order.
    pub(crate) fn new(zones: Vec<Zone>) -> Self {
        Self(zones)
    }

    /// The zone whose name matches `name` case-insensitively. Nearly every request spells
    /// it exactly, which one comparison of bytes per zone finds.
    pub(crate) fn find(&self, name: &str) -> Option<&Zone> {
        let mut zones = self.0.iter();
        zones
            .clone()
            .find(|z| z.name == name)
            .or_else(|| zones.find(|z| z.name.eq_ignore_ascii_case(name)))
    }

    /// The canonical names, in order.
    pub(crate) fn names(&self) -> Vec<String> {
        self.0.iter().map(|z| z.name.clone()).collect()
    }
}

impl Default for Zones {
    /// A realistic set of CoreWeave zones.
    fn default() -> Self {
        let zone = |name: &str, second_octet: u8| {
            let net = Ipv4Net::new([10, second_octet, 0, 0].into(), 18).unwrap_or_default();
            Zone::new(name, net)
        };
        Self(vec![
            zone("US-EAST-01A", 16),
            zone("US-EAST-04A", 32),
            zone("US-EAST-06A", 48),
            zone("US-EAST-08A", 64),
            zone("US-WEST-09B", 80),
            zone("US-CENTRAL-07A", 96),
            zone("US-LAB-01A", 112),
            zone("EU-SOUTH-03A", 128),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_cidrs() {
        let zone: Zone = "us-east-99a=10.200.0.0/18".parse().unwrap();
        assert_eq!(zone.name, "US-EAST-99A");
        assert_eq!(zone.default_primary.to_string(), "10.200.0.0/18");
        let derived: Zone = "US-NEW-01A".parse().unwrap();
        assert_eq!(derived.default_primary.prefix_len(), 18);
        assert!("bad zone!".parse::<Zone>().is_err());
        assert!("X=10.0.0.0/24".parse::<Zone>().is_err());
    }

    #[test]
    fn default_set_has_the_documented_zones() {
        let zones = Zones::default();
        for name in [
            "US-EAST-04A",
            "US-EAST-06A",
            "US-WEST-09B",
            "US-CENTRAL-07A",
            "US-LAB-01A",
        ] {
            assert_eq!(zones.find(&name.to_lowercase()).unwrap().name, name);
        }
    }
}

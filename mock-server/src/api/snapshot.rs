//! A snapshot's resources checked against the API's own rules, so that `PUT /_mock/v1/state`
//! and `--seed` cannot load what no API call could have made.

use coreweave_api::networking::v1beta1::{CreateVpcRequest, Vpc};

use super::validation::{validate_create_vpc, validate_gateway};
use crate::{
    model::{error::Violations, store::OrgState, zones::Zones, OrgId},
    persist::snapshot::SnapshotError,
};

/// Checks every VPC and gateway of `orgs` as a create of it would be checked; the error names
/// the organization, the resource and the broken rule.
pub(crate) fn check_resources(
    orgs: &[(OrgId, OrgState)],
    zones: &Zones,
) -> Result<(), SnapshotError> {
    for (org, state) in orgs {
        for vpc in state.vpcs.all().map(|tracked| &tracked.value) {
            validate_create_vpc(as_create(vpc), zones).map_err(|broken| SnapshotError {
                path: format!("organizations.{org}.vpcs[id={}].vpc", vpc.id),
                problem: broken.to_string(),
            })?;
        }
        for spec in state.gateways.all().map(|tracked| &tracked.value) {
            let mut violations = Violations::new();
            validate_gateway(spec, zones, &mut violations);
            violations.into_result(()).map_err(|broken| SnapshotError {
                path: format!("organizations.{org}.gateways[id={}].spec", spec.id),
                problem: broken.to_string(),
            })?;
        }
    }
    Ok(())
}

/// The create request that would have made `vpc`.
fn as_create(vpc: &Vpc) -> CreateVpcRequest {
    CreateVpcRequest {
        name: vpc.name.clone(),
        zone: vpc.zone.clone(),
        host_prefixes: vpc.host_prefixes.clone(),
        vpc_prefixes: vpc.vpc_prefixes.clone(),
        ingress: vpc.ingress,
        egress: vpc.egress,
        dhcp: vpc.dhcp.clone(),
        ..CreateVpcRequest::default()
    }
}

//! VPC operations: `client.vpcs()`.

use crate::{
    client::{AsyncRecover, Client, NoRecovery, Recovery},
    error::{found, Error, ErrorKind, LastSeen},
    networking::v1beta1::{
        dhcp::Dns, host_prefix::Type as HostPrefixType, vpc::Status as VpcStatus, CreateVpcRequest,
        CreateVpcResponse, DeleteVpcRequest, DeleteVpcResponse, Dhcp, Egress, GetVpcRequest,
        GetVpcResponse, HostPrefix, Ingress, ListVpCsRequest, ListVpCsResponse, Prefix,
        UpdateVpcRequest, UpdateVpcResponse, Vpc,
    },
    proto::FieldMask,
    rpc::Method,
    wait::{wait_for, Condition, Phase, Resource, WaitOptions},
};

/// VPC operations, from [`Client::vpcs`].
#[derive(Debug, Clone)]
pub struct Vpcs {
    client: Client,
}

impl Vpcs {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Starts a create request for a VPC named `name`; set at least the zone, then `send()`.
    pub fn create(&self, name: impl Into<String>) -> CreateVpc {
        self.create_from(CreateVpcRequest {
            name: name.into(),
            ..CreateVpcRequest::default()
        })
    }

    /// Starts a create request from a raw request message.
    pub fn create_from(&self, request: CreateVpcRequest) -> CreateVpc {
        CreateVpc {
            client: self.client.clone(),
            request,
        }
    }

    /// The VPC with this id.
    pub async fn get(&self, id: &str) -> Result<Vpc, Error> {
        let request = GetVpcRequest { id: id.to_owned() };
        let response: GetVpcResponse = self
            .client
            .call(Method::GetVpc, request, NoRecovery)
            .await?;
        response.vpc.ok_or_else(|| missing_vpc("GetVPC"))
    }

    /// The VPC with this id, or `None` when there is none.
    pub async fn get_opt(&self, id: &str) -> Result<Option<Vpc>, Error> {
        found(self.get(id).await)
    }

    /// Every VPC of the organization.
    pub async fn list(&self) -> Result<Vec<Vpc>, Error> {
        let response: ListVpCsResponse = self
            .client
            .call(Method::ListVpcs, ListVpCsRequest {}, NoRecovery)
            .await?;
        Ok(response.items)
    }

    /// Starts an update of the VPC `id`. Only the fields you set are sent in the update mask.
    pub fn update(&self, id: impl Into<String>) -> UpdateVpc {
        UpdateVpc {
            client: self.client.clone(),
            request: UpdateVpcRequest {
                id: id.into(),
                ..UpdateVpcRequest::default()
            },
            mask: Vec::new(),
        }
    }

    /// Sends a raw update request as it is, mask included.
    pub async fn update_from(&self, request: UpdateVpcRequest) -> Result<Vpc, Error> {
        send_update(&self.client, request).await
    }

    /// Starts deleting the VPC and returns it, in STATUS_DELETING.
    pub async fn delete(&self, id: &str) -> Result<Vpc, Error> {
        let request = DeleteVpcRequest { id: id.to_owned() };
        let response: DeleteVpcResponse = self
            .client
            .call(Method::DeleteVpc, request, NoRecovery)
            .await?;
        response.vpc.ok_or_else(|| missing_vpc("DeleteVPC"))
    }

    /// Polls until the VPC is READY and returns it. A status this client does not know
    /// reads as UNSPECIFIED and keeps the wait going.
    ///
    /// Fails with [`ErrorKind::WaitTimeout`] (carrying the last VPC seen) when `options`'
    /// maximum wait passes, and with [`ErrorKind::UnexpectedState`] if the VPC is being deleted.
    pub async fn wait_until_ready(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<Vpc, Error> {
        let ready = wait_for(Condition::Ready, id, options.into(), || self.get_opt(id)).await?;
        ready.ok_or_else(|| missing_vpc("GetVPC"))
    }

    /// Polls until the VPC is gone (reads are NOT_FOUND).
    pub async fn wait_until_deleted(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        wait_for::<Vpc, _, _>(Condition::Deleted, id, options.into(), || self.get_opt(id)).await?;
        Ok(())
    }

    /// Deletes the VPC and waits until it is gone.
    pub async fn delete_and_wait(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        self.delete(id).await?;
        self.wait_until_deleted(id, options).await
    }
}

impl Resource for Vpc {
    const KIND: &'static str = "VPC";

    fn phase(&self) -> Phase {
        match self.status() {
            VpcStatus::Ready => Phase::Ready,
            VpcStatus::Deleting => Phase::Deleting,
            VpcStatus::Creating | VpcStatus::Updating | VpcStatus::Unspecified => Phase::Pending,
        }
    }

    fn status_name(&self) -> &'static str {
        self.status().as_str_name()
    }

    fn into_last_seen(self) -> LastSeen {
        LastSeen::Vpc(Box::new(self))
    }
}

fn missing_vpc(method: &str) -> Error {
    Error::new(ErrorKind::Other, format!("{method} returned no VPC"))
}

/// A VPC create request being built; from [`Vpcs::create`].
#[derive(Debug, Clone)]
#[must_use = "a create request does nothing until it is sent"]
pub struct CreateVpc {
    client: Client,
    request: CreateVpcRequest,
}

impl CreateVpc {
    /// The zone, such as `US-EAST-04A` (case-insensitive).
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.request.zone = zone.into();
        self
    }

    /// A single PRIMARY IPv4 or IPv6 CIDR, the legacy way. Prefer [`host_prefixes`](Self::host_prefixes).
    pub fn host_prefix(mut self, cidr: impl Into<String>) -> Self {
        #[allow(deprecated)]
        {
            self.request.host_prefix = cidr.into();
        }
        self
    }

    /// Adds a PRIMARY host prefix named `name` with one or two CIDRs (IPv4, IPv6 or both).
    pub fn primary_host_prefix<I, S>(self, name: impl Into<String>, cidrs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.add_host_prefix(HostPrefix {
            name: name.into(),
            prefixes: cidrs.into_iter().map(Into::into).collect(),
            r#type: HostPrefixType::Primary as i32,
            ipam: None,
        })
    }

    /// Adds a host prefix of any type.
    pub fn add_host_prefix(mut self, host_prefix: HostPrefix) -> Self {
        self.request.host_prefixes.push(host_prefix);
        self
    }

    /// Replaces every host prefix.
    pub fn host_prefixes(mut self, host_prefixes: Vec<HostPrefix>) -> Self {
        self.request.host_prefixes = host_prefixes;
        self
    }

    /// Adds a VPC prefix: a named IPv4 CIDR.
    pub fn vpc_prefix(mut self, name: impl Into<String>, cidr: impl Into<String>) -> Self {
        self.request.vpc_prefixes.push(Prefix {
            name: name.into(),
            value: cidr.into(),
            ..Prefix::default()
        });
        self
    }

    /// Disables ingress from the Internet when `true`.
    pub fn disable_public_services(mut self, disable: bool) -> Self {
        self.request.ingress = Some(Ingress {
            disable_public_services: disable,
        });
        self
    }

    /// Disables egress to the Internet when `true`.
    pub fn disable_public_access(mut self, disable: bool) -> Self {
        self.request.egress = Some(Egress {
            disable_public_access: disable,
        });
        self
    }

    /// The DNS servers handed out by DHCP.
    pub fn dns_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request.dhcp = Some(dns(servers));
        self
    }

    /// The request as it would be sent.
    pub fn request(&self) -> &CreateVpcRequest {
        &self.request
    }

    /// Creates the VPC and returns it, in STATUS_CREATING.
    ///
    /// A create is retried only when that cannot make a second VPC: when the request never
    /// reached the server, or when a lookup by name shows the failed attempt did not land. If
    /// the lookup finds the VPC, the failed attempt did land and that VPC is returned.
    pub async fn send(self) -> Result<Vpc, Error> {
        let recover = FindCreatedVpc {
            vpcs: Vpcs::new(self.client.clone()),
            name: self.request.name.clone(),
        };
        let response: CreateVpcResponse = self
            .client
            .call(Method::CreateVpc, self.request, recover)
            .await?;
        response.vpc.ok_or_else(|| missing_vpc("CreateVPC"))
    }

    /// Creates the VPC and waits until it is READY.
    pub async fn send_and_wait(self, options: impl Into<WaitOptions>) -> Result<Vpc, Error> {
        let vpcs = Vpcs::new(self.client.clone());
        let vpc = self.send().await?;
        vpcs.wait_until_ready(&vpc.id, options).await
    }
}

/// After a create attempt failed in a way that may have hidden its success, looks the VPC up
/// by its unique name.
struct FindCreatedVpc {
    vpcs: Vpcs,
    name: String,
}

impl AsyncRecover<CreateVpcResponse> for FindCreatedVpc {
    async fn recover(
        &self,
        error: &Error,
        _attempt: u32,
    ) -> Result<Recovery<CreateVpcResponse>, Error> {
        if !error.is_retryable() || error.kind() == ErrorKind::Connect {
            return Ok(Recovery::Default);
        }
        let existing = match self.vpcs.list().await {
            Ok(vpcs) => vpcs.into_iter().find(|vpc| vpc.name == self.name),
            // The lookup failed too: the outcome is unknown, so do not risk a second create.
            Err(lookup) => {
                tracing::warn!(error = %lookup, "could not check whether a failed create landed");
                return Ok(Recovery::Default);
            }
        };
        Ok(match existing {
            Some(vpc) => {
                tracing::info!(id = %vpc.id, "the failed create attempt had created the VPC");
                Recovery::Done(CreateVpcResponse { vpc: Some(vpc) })
            }
            None => Recovery::Retry,
        })
    }
}

fn dns<I, S>(servers: I) -> Dhcp
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Dhcp {
        dns: Some(Dns {
            servers: servers.into_iter().map(Into::into).collect(),
        }),
    }
}

/// A VPC update being built; from [`Vpcs::update`]. Each setter adds its field to the update
/// mask, so fields you do not set keep their values.
#[derive(Debug, Clone)]
#[must_use = "an update does nothing until it is sent"]
pub struct UpdateVpc {
    client: Client,
    request: UpdateVpcRequest,
    mask: Vec<&'static str>,
}

impl UpdateVpc {
    fn mark(&mut self, path: &'static str) {
        if !self.mask.contains(&path) {
            self.mask.push(path);
        }
    }

    /// Replaces the VPC prefixes with these `(name, cidr)` pairs.
    pub fn vpc_prefixes<I, N, C>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = (N, C)>,
        N: Into<String>,
        C: Into<String>,
    {
        self.request.vpc_prefixes = prefixes
            .into_iter()
            .map(|(name, value)| Prefix {
                name: name.into(),
                value: value.into(),
                ..Prefix::default()
            })
            .collect();
        self.mark("vpc_prefixes");
        self
    }

    /// Sets whether ingress from the Internet is disabled.
    pub fn disable_public_services(mut self, disable: bool) -> Self {
        self.request.ingress = Some(Ingress {
            disable_public_services: disable,
        });
        self.mark("ingress.disable_public_services");
        self
    }

    /// Sets whether egress to the Internet is disabled.
    pub fn disable_public_access(mut self, disable: bool) -> Self {
        self.request.egress = Some(Egress {
            disable_public_access: disable,
        });
        self.mark("egress.disable_public_access");
        self
    }

    /// Replaces the DNS servers.
    pub fn dns_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.request.dhcp = Some(dns(servers));
        self.mark("dhcp.dns.servers");
        self
    }

    /// The update mask computed from the fields set so far.
    pub fn update_mask(&self) -> Vec<String> {
        self.mask.iter().map(|p| (*p).to_owned()).collect()
    }

    /// The request as it would be sent, mask included.
    pub fn request(&self) -> UpdateVpcRequest {
        UpdateVpcRequest {
            update_mask: Some(FieldMask::new(&self.mask)),
            ..self.request.clone()
        }
    }

    /// Sends the update and returns the VPC, in STATUS_UPDATING. Fails with a configuration
    /// error when no field was set.
    pub async fn send(self) -> Result<Vpc, Error> {
        if self.mask.is_empty() {
            return Err(Error::config(
                "the update sets no field; nothing would change",
            ));
        }
        send_update(&self.client, self.request()).await
    }
}

async fn send_update(client: &Client, request: UpdateVpcRequest) -> Result<Vpc, Error> {
    let response: UpdateVpcResponse = client.call(Method::UpdateVpc, request, NoRecovery).await?;
    response.vpc.ok_or_else(|| missing_vpc("UpdateVPC"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn update_mask_lists_exactly_the_fields_set() {
        let client = Client::builder()
            .endpoint("http://127.0.0.1:1")
            .token("t")
            .build()
            .unwrap();
        let update = client
            .vpcs()
            .update("id")
            .disable_public_access(true)
            .dns_servers(["1.1.1.1"])
            .disable_public_access(false);
        assert_eq!(
            update.update_mask(),
            ["egress.disable_public_access", "dhcp.dns.servers"]
        );
        let request = update.request();
        assert!(!request.egress.unwrap().disable_public_access);
        assert!(request.ingress.is_none());

        let prefixes = client
            .vpcs()
            .update("id")
            .vpc_prefixes([("a", "10.0.0.0/24")]);
        assert_eq!(prefixes.update_mask(), ["vpc_prefixes"]);
    }

    #[tokio::test]
    async fn an_empty_update_is_refused_before_sending() {
        let client = Client::builder()
            .endpoint("http://127.0.0.1:1")
            .token("t")
            .build()
            .unwrap();
        let error = client.vpcs().update("id").send().await.unwrap_err();
        assert!(error.is_config());
    }

    #[test]
    fn lifecycle_phases() {
        let vpc = |status: i32| Vpc {
            status,
            ..Vpc::default()
        };
        assert!(matches!(vpc(VpcStatus::Ready as i32).phase(), Phase::Ready));
        assert!(matches!(
            vpc(VpcStatus::Creating as i32).phase(),
            Phase::Pending
        ));
        assert!(matches!(
            vpc(VpcStatus::Updating as i32).phase(),
            Phase::Pending
        ));
        assert!(matches!(
            vpc(VpcStatus::Deleting as i32).phase(),
            Phase::Deleting
        ));
        // A status from a newer server reads as UNSPECIFIED: keep waiting.
        assert!(matches!(vpc(99).phase(), Phase::Pending));
    }
}

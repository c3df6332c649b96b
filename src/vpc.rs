//! VPC operations: `client.vpcs()`.

use crate::{
    client::Client,
    error::{Error, ErrorKind, LastSeen},
    networking::v1beta1::{
        dhcp::Dns, host_prefix::Type as HostPrefixType, vpc::Status as VpcStatus, CreateVpcRequest,
        CreateVpcResponse, DeleteVpcRequest, DeleteVpcResponse, Dhcp, Egress, GetVpcRequest,
        GetVpcResponse, HostPrefix, Ingress, ListVpCsRequest, ListVpCsResponse, Prefix,
        UpdateVpcRequest, UpdateVpcResponse, Vpc,
    },
    proto::FieldMask,
    resource::{missing, resource_rpcs, Resources},
    retry::{AsyncRecover, NoRecovery, Recovery},
    rpc::{vpc_update_paths as paths, Method},
    wait::{Phase, WaitOptions, Watched},
};

/// VPC operations, from [`Client::vpcs`]: the shared reads, list, delete and waiters of
/// [`Resources`], and the VPC's create and update builders.
pub type Vpcs = Resources<Vpc>;

impl Client {
    /// VPC operations.
    pub fn vpcs(&self) -> Vpcs {
        Resources::new(self.clone())
    }
}

impl Resources<Vpc> {
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

    /// Starts an update of the VPC `id`. Only the fields you set are sent in the update mask.
    pub fn update(&self, id: impl Into<String>) -> UpdateVpc {
        self.update_from(UpdateVpcRequest {
            id: id.into(),
            update_mask: Some(FieldMask { paths: Vec::new() }),
            ..UpdateVpcRequest::default()
        })
    }

    /// Starts an update from a raw request message, its mask included (no mask replaces
    /// every updatable field, as the API defines); setters add to the mask.
    pub fn update_from(&self, mut request: UpdateVpcRequest) -> UpdateVpc {
        let mask = request.update_mask.take().map(|mask| mask.paths);
        UpdateVpc {
            client: self.client.clone(),
            request,
            mask,
        }
    }
}

resource_rpcs!(Vpc, field vpc,
    get: GetVpc(GetVpcRequest) -> GetVpcResponse,
    delete: DeleteVpc(DeleteVpcRequest) -> DeleteVpcResponse,
    list: ListVpcs(ListVpCsRequest) -> ListVpCsResponse,
);

impl Watched for Vpc {
    const KIND: &'static str = "VPC";

    fn phase(&self) -> Phase {
        match self.status() {
            VpcStatus::Ready => Phase::Ready,
            VpcStatus::Deleting => Phase::Deleting,
            VpcStatus::Creating | VpcStatus::Updating => Phase::Pending,
            VpcStatus::Unspecified => Phase::Unknown,
        }
    }

    fn status_name(&self) -> &'static str {
        self.status().as_str_name()
    }

    fn into_last_seen(self) -> LastSeen {
        LastSeen::Vpc(Box::new(self))
    }
}

/// Setters shared by the create and update builders, whose requests have the same fields;
/// each marks its field in the update's mask (a create has none).
macro_rules! vpc_setters {
    () => {
        /// Sets whether ingress from the Internet is disabled.
        pub fn disable_public_services(mut self, disable: bool) -> Self {
            self.request.ingress = Some(Ingress {
                disable_public_services: disable,
            });
            self.mark(paths::INGRESS_DISABLE_PUBLIC_SERVICES);
            self
        }

        /// Sets whether egress to the Internet is disabled.
        pub fn disable_public_access(mut self, disable: bool) -> Self {
            self.request.egress = Some(Egress {
                disable_public_access: disable,
            });
            self.mark(paths::EGRESS_DISABLE_PUBLIC_ACCESS);
            self
        }

        /// The DNS servers handed out by DHCP.
        pub fn dns_servers<I, S>(mut self, servers: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.request.dhcp = Some(dns(servers));
            self.mark(paths::DHCP_DNS_SERVERS);
            self
        }
    };
}

/// A VPC create request being built; from [`Vpcs::create`].
#[derive(Debug, Clone)]
#[must_use = "a create request does nothing until it is sent"]
pub struct CreateVpc {
    client: Client,
    request: CreateVpcRequest,
}

impl CreateVpc {
    vpc_setters!();

    /// A create has no mask: every field it sets is sent.
    fn mark(&mut self, _path: &str) {}

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
            vpcs: self.client.vpcs(),
            name: self.request.name.clone(),
        };
        let response: CreateVpcResponse = self
            .client
            .call(Method::CreateVpc, self.request, recover)
            .await?;
        response
            .vpc
            .ok_or_else(|| missing::<Vpc>(Method::CreateVpc))
    }

    /// Creates the VPC and waits until it is READY.
    pub async fn send_and_wait(self, options: impl Into<WaitOptions>) -> Result<Vpc, Error> {
        let vpcs = self.client.vpcs();
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
    /// The paths to update; `None` (only from a raw request without a mask) updates every
    /// updatable field.
    mask: Option<Vec<String>>,
}

impl UpdateVpc {
    vpc_setters!();

    fn mark(&mut self, path: &str) {
        let mask = self.mask.get_or_insert_with(Vec::new);
        if !mask.iter().any(|marked| marked == path) {
            mask.push(path.to_owned());
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
        self.mark(paths::VPC_PREFIXES);
        self
    }

    /// The update mask computed from the fields set so far.
    pub fn update_mask(&self) -> Vec<String> {
        self.mask.clone().unwrap_or_default()
    }

    /// The request as it would be sent, mask included.
    pub fn request(&self) -> UpdateVpcRequest {
        UpdateVpcRequest {
            update_mask: self.mask.as_ref().map(FieldMask::new),
            ..self.request.clone()
        }
    }

    /// Sends the update and returns the VPC, in STATUS_UPDATING. Fails with a configuration
    /// error when the mask is empty: nothing would change.
    pub async fn send(self) -> Result<Vpc, Error> {
        if self.mask.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::config(
                "the update sets no field; nothing would change",
            ));
        }
        let request = self.request();
        let response: UpdateVpcResponse = self
            .client
            .call(Method::UpdateVpc, request, NoRecovery)
            .await?;
        response
            .vpc
            .ok_or_else(|| missing::<Vpc>(Method::UpdateVpc))
    }
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
        assert!(matches!(vpc(99).phase(), Phase::Unknown));
    }
}

//! One handle for every kind of resource the API manages, as kube's `Api<K>`: reads, deletes,
//! lists and the waiters are written once here, for VPCs and gateways alike. `vpc.rs` and
//! `gateway.rs` add only what differs: their create and update builders.

use std::{
    fmt,
    future::{Future, IntoFuture},
    marker::PhantomData,
    pin::Pin,
};

use prost::{Message, Name};

use crate::{
    client::Client,
    error::{found, Error, ErrorKind},
    retry::NoRecovery,
    rpc::Method,
    wait::{wait_for, Condition, WaitOptions, Watched},
};

/// A kind of resource the API manages: a [`Vpc`](crate::networking::v1beta1::Vpc) or a
/// [`Gateway`](crate::inference::v1alpha1::Gateway). Sealed: its methods are the crate's.
pub trait Resource: Rpcs + Watched {}

impl<R: Rpcs + Watched> Resource for R {}

/// The RPCs that read, list and delete one kind of resource, and how to find the resource in
/// their messages.
#[allow(unreachable_pub)] // Public only to be a supertrait of `Resource`; not nameable outside.
pub trait Rpcs: Sized + Send + 'static {
    /// The get request.
    type GetRequest: Message + Name + Clone + Send + 'static;
    /// The get response.
    type GetResponse: Message + Name + Default + Send + 'static;
    /// The delete request.
    type DeleteRequest: Message + Name + Clone + Send + 'static;
    /// The delete response.
    type DeleteResponse: Message + Name + Default + Send + 'static;
    /// The list request.
    type ListRequest: Message + Name + Clone + Default + fmt::Debug + Send + 'static;
    /// The list response.
    type ListResponse: Message + Name + Default + Send + 'static;
    /// The get RPC.
    const GET: Method;
    /// The delete RPC.
    const DELETE: Method;
    /// The list RPC.
    const LIST: Method;

    /// The get request for `id`.
    fn get_request(id: String) -> Self::GetRequest;
    /// The delete request for `id`.
    fn delete_request(id: String) -> Self::DeleteRequest;
    /// The resource a get answered with.
    fn from_get(response: Self::GetResponse) -> Option<Self>;
    /// The resource a delete answered with.
    fn from_delete(response: Self::DeleteResponse) -> Option<Self>;
    /// The resources a list answered with.
    fn from_list(response: Self::ListResponse) -> Vec<Self>;
}

/// Implements [`Rpcs`] for a resource from its messages: the get, delete and list requests
/// and responses, the three methods, and the response field that carries the resource.
macro_rules! resource_rpcs {
    ($resource:ty, field $field:ident,
     get: $get:ident($get_request:ident) -> $get_response:ident,
     delete: $delete:ident($delete_request:ident) -> $delete_response:ident,
     list: $list:ident($list_request:ident) -> $list_response:ident $(,)?) => {
        impl $crate::resource::Rpcs for $resource {
            type GetRequest = $get_request;
            type GetResponse = $get_response;
            type DeleteRequest = $delete_request;
            type DeleteResponse = $delete_response;
            type ListRequest = $list_request;
            type ListResponse = $list_response;
            const GET: Method = Method::$get;
            const DELETE: Method = Method::$delete;
            const LIST: Method = Method::$list;

            fn get_request(id: String) -> $get_request {
                $get_request { id }
            }

            fn delete_request(id: String) -> $delete_request {
                $delete_request { id }
            }

            fn from_get(response: $get_response) -> Option<Self> {
                response.$field
            }

            fn from_delete(response: $delete_response) -> Option<Self> {
                response.$field
            }

            fn from_list(response: $list_response) -> Vec<Self> {
                response.items
            }
        }
    };
}
pub(crate) use resource_rpcs;

/// The operations on one kind of resource: [`Vpcs`](crate::Vpcs) from [`Client::vpcs`],
/// [`Gateways`](crate::Gateways) from [`Client::gateways`]. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Resources<R> {
    pub(crate) client: Client,
    kind: PhantomData<fn() -> R>,
}

impl<R> Resources<R> {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            kind: PhantomData,
        }
    }
}

impl<R: Resource> Resources<R> {
    /// The resource with this id.
    pub async fn get(&self, id: &str) -> Result<R, Error> {
        let request = R::get_request(id.to_owned());
        let response = self.client.call(R::GET, request, NoRecovery).await?;
        R::from_get(response).ok_or_else(|| missing::<R>(R::GET))
    }

    /// The resource with this id, or `None` when there is none.
    pub async fn get_opt(&self, id: &str) -> Result<Option<R>, Error> {
        found(self.get(id).await)
    }

    /// Lists the organization's resources; `.await` it (or call `send`), after any filter
    /// the kind offers, such as [`List::updated_after`] for gateways.
    pub fn list(&self) -> List<R> {
        List {
            client: self.client.clone(),
            request: R::ListRequest::default(),
        }
    }

    /// Starts deleting the resource and returns it, in STATUS_DELETING.
    pub async fn delete(&self, id: &str) -> Result<R, Error> {
        let request = R::delete_request(id.to_owned());
        let response = self.client.call(R::DELETE, request, NoRecovery).await?;
        R::from_delete(response).ok_or_else(|| missing::<R>(R::DELETE))
    }

    /// Polls until the resource is READY and returns it. A status this client does not know
    /// reads as UNSPECIFIED and keeps the wait going, as the Terraform provider does.
    ///
    /// Fails with [`ErrorKind::ResourceFailed`] for a FAILED or ERROR gateway,
    /// [`ErrorKind::UnexpectedState`] for a resource being deleted, and
    /// [`ErrorKind::WaitTimeout`] (carrying the last resource seen) when `options`' maximum
    /// wait passes.
    pub async fn wait_until_ready(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<R, Error> {
        let ready = wait_for(Condition::Ready, id, options.into(), || self.get_opt(id)).await?;
        ready.ok_or_else(|| missing::<R>(R::GET))
    }

    /// Polls until the resource is gone (reads are NOT_FOUND).
    pub async fn wait_until_deleted(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        wait_for::<R, _, _>(Condition::Deleted, id, options.into(), || self.get_opt(id)).await?;
        Ok(())
    }

    /// Deletes the resource and waits until it is gone.
    pub async fn delete_and_wait(
        &self,
        id: &str,
        options: impl Into<WaitOptions>,
    ) -> Result<(), Error> {
        self.delete(id).await?;
        self.wait_until_deleted(id, options).await
    }
}

/// A list request; `.await` it, or call [`send`](Self::send). From [`Resources::list`].
#[derive(Clone, Debug)]
#[must_use = "a list request does nothing until it is awaited"]
pub struct List<R: Resource> {
    pub(crate) client: Client,
    pub(crate) request: R::ListRequest,
}

impl<R: Resource> List<R> {
    /// The request as it would be sent.
    pub fn request(&self) -> &R::ListRequest {
        &self.request
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Vec<R>, Error> {
        let response = self.client.call(R::LIST, self.request, NoRecovery).await?;
        Ok(R::from_list(response))
    }
}

impl<R: Resource> IntoFuture for List<R> {
    type Output = Result<Vec<R>, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The error for a response that lacks the resource it must carry.
pub(crate) fn missing<R: Resource>(method: Method) -> Error {
    Error::new(
        ErrorKind::Other,
        format!("{method} returned no {}", R::KIND),
    )
}

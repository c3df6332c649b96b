//! A typed, async client for CoreWeave's VPC and inference gateway management APIs.
//!
//! - [`Client`] is cheap to clone and connects lazily; build it with [`Client::builder`] or
//!   [`Client::from_env`] (`COREWEAVE_API_TOKEN`, `COREWEAVE_API_ENDPOINT`).
//! - Every call carries the bearer token, has a deadline, and is retried on transient
//!   failures only when repeating it cannot create a second resource.
//! - Failures are one [`Error`] type with a [`ErrorKind`] and the server's `google.rpc`
//!   details ([`Error::field_violations`], [`Error::resource_info`], ...).
//! - Waiters ([`Vpcs::wait_until_ready`], [`Gateways::wait_until_ready`], ...) follow the
//!   asynchronous lifecycle.
//!
//! # Talking to the real API
//!
//! The client speaks JSON over the documented REST paths by default ([`Transport::Rest`]),
//! because field *names* are public and protobuf field numbers are not: this crate's numbers
//! are its own, so binary gRPC ([`Transport::Grpc`], opt-in with
//! [`ClientBuilder::transport`] or `COREWEAVE_API_TRANSPORT=grpc`) is only for
//! `coreweave-mock` and servers built from the same protos. Everything else (builders,
//! retries, waiters, errors) behaves the same on both. Responses are read tolerantly:
//! unknown keys are skipped and unknown enum names read as `*_UNSPECIFIED`. The REST
//! transport is tested against the mock and against a production-like test server, not
//! against production itself.
//!
//! # Add it to your project
//!
//! ```toml
//! [dependencies]
//! coreweave-api = "0.1"
//! tokio = { version = "1", features = ["macros", "rt-multi-thread"] }
//!
//! [dev-dependencies]
//! coreweave-mock = "0.1"   # the mock, in-process, for your tests
//! ```
//!
//! The client runs on Tokio: build it inside a runtime.
//!
//! # Tutorial
//!
//! The tutorial runs against the crate's mock server (`coreweave-mock`), started in-process,
//! as your own tests can; against the real API, use `Client::from_env()` instead.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use coreweave_api::{Client, WaitOptions};
//!
//! // A mock of the API on a free local port; each token is its own organization.
//! let mock = coreweave_mock::MockServer::builder()
//!     .transition_delay(Duration::from_millis(50))
//!     .start()
//!     .await?;
//!
//! // Connect. Nothing is sent until the first call.
//! let client = Client::builder()
//!     .endpoint(mock.endpoint())
//!     .token("CW-SECRET-tutorial")
//!     .build()?;
//!
//! // Create a VPC and wait until it is READY.
//! let vpc = client
//!     .vpcs()
//!     .create("tutorial-vpc")
//!     .zone("US-EAST-04A")
//!     .vpc_prefix("workloads", "172.16.0.0/16")
//!     .send()
//!     .await?;
//! let wait = WaitOptions::new(Duration::from_secs(30)).poll_interval(Duration::from_millis(20));
//! let vpc = client.vpcs().wait_until_ready(&vpc.id, wait).await?;
//! assert_eq!(vpc.host_prefixes[0].name, "host primary");
//!
//! // Create an inference gateway: one auth, one routing.
//! let gateway = client
//!     .gateways()
//!     .create("tutorial-gateway")
//!     .zones(["us-east-04a"])
//!     .core_weave_auth()
//!     .body_based_routing()
//!     .send_and_wait(wait)
//!     .await?;
//! let endpoints = &gateway.status.as_ref().unwrap().endpoints;
//! assert!(endpoints[0].starts_with("https://"));
//!
//! // List, then clean up.
//! assert_eq!(client.vpcs().list().await?.len(), 1);
//! assert_eq!(client.gateways().list().await?.len(), 1);
//! client.gateways().delete_and_wait(&gateway.spec.unwrap().id, wait).await?;
//! client.vpcs().delete_and_wait(&vpc.id, wait).await?;
//! assert!(client.vpcs().list().await?.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let mock = coreweave_mock::MockServer::builder().start().await?;
//! # let client = coreweave_api::Client::builder().endpoint(mock.endpoint()).token("t").build()?;
//! use coreweave_api::ErrorKind;
//!
//! let error = client.vpcs().create("Not_Valid").zone("US-EAST-04A").send().await.unwrap_err();
//! assert_eq!(error.kind(), ErrorKind::InvalidArgument);
//! assert_eq!(error.field_violations()[0].field, "name");
//! println!("{error}"); // INVALID_ARGUMENT: name: must contain only lowercase letters, ...
//!
//! assert!(client.vpcs().get_opt("no-such-id").await?.is_none());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The protocol: what the mock server builds on too.
mod conversions;
mod field_mask;
pub mod json;
pub mod proto;
pub mod rpc;
pub mod text;
mod timestamp;

// The client, behind the default `client` feature.
#[cfg(feature = "client")]
mod auth;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod config;
#[cfg(feature = "client")]
mod error;
#[cfg(feature = "client")]
mod gateway;
#[cfg(feature = "client")]
mod resource;
#[cfg(feature = "client")]
mod retry;
#[cfg(feature = "client")]
mod transport;
#[cfg(feature = "client")]
mod vpc;
#[cfg(feature = "client")]
mod wait;

pub use proto::{inference, networking, FILE_DESCRIPTOR_SET};
pub use rpc::MAX_RESPONSE_BYTES;

#[cfg(feature = "client")]
pub use client::Client;
#[cfg(feature = "client")]
pub use config::{ClientBuilder, DEFAULT_ENDPOINT, ENDPOINT_ENV, TOKEN_ENV};
#[cfg(feature = "client")]
pub use error::{
    Error, ErrorKind, FieldViolation, LastSeen, PreconditionViolation, QuotaViolation,
    ResourceInfo, MAX_MESSAGE_CHARS, MAX_VIOLATIONS,
};
#[cfg(feature = "client")]
pub use gateway::{CreateGateway, Gateways, ListGateways, UpdateGateway};
#[cfg(feature = "client")]
pub use resource::{List, Resource, Resources};
#[cfg(feature = "client")]
pub use retry::RetryPolicy;
/// The rustls this crate is built with, for [`ClientBuilder::tls_config`].
#[cfg(feature = "client")]
pub use rustls;
#[cfg(feature = "client")]
pub use transport::{Transport, TRANSPORT_ENV};
#[cfg(feature = "client")]
pub use vpc::{CreateVpc, UpdateVpc, Vpcs};
#[cfg(feature = "client")]
pub use wait::WaitOptions;

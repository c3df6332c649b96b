//! The server: starting, serving and stopping. The builder assembles the state, the two API
//! services, health, reflection and the control service, puts every protocol on one port
//! ([`routes`] for plain HTTP), and runs it on a listener with connection limits
//! ([`connections`]), in-process or from the binary; the handle stops it.

pub(crate) mod connections;
mod listen;
mod repoll;
mod routes;

use connections::ConnectionLimits;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use coreweave_api::{
    inference::v1alpha1::gateway_service_server::GatewayServiceServer, json::Unknown,
    networking::v1beta1::vpc_service_server::VpcServiceServer, FILE_DESCRIPTOR_SET,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::service::Routes;
use tonic_health::{server::HealthReporter, ServingStatus};

use coreweave_api::rpc::MAX_RESPONSE_BYTES;

use coreweave_api::inference::v1alpha1::Status as GatewayPhase;

use crate::{
    api::gateway::GatewayApi,
    api::vpc::VpcApi,
    control::grpc::{
        pb::control_service_server::ControlServiceServer, ControlGrpc, CONTROL_DESCRIPTOR_SET,
    },
    control::{ClockView, Expectation, Scope, VerifyError},
    model::clock::{Clock, SystemClock},
    model::lifecycle::ForcedGatewayState,
    model::zones::{Zone, Zones},
    pipeline::auth::Authenticator,
    pipeline::faults::{Fault, FaultPlan, TooManyFaults},
    pipeline::journal::{Call, CallFilter},
    pipeline::{Limits, MockState},
    protocol::{Apis, ControlAccess, ProtocolLayer},
};

/// A generated gRPC server that accepts gzip-compressed requests, and compresses its answers
/// for clients that ask for it (`grpc-accept-encoding`); uncompressed calls cost nothing more.
macro_rules! gzip {
    ($server:expr) => {
        $server
            .accept_compressed(tonic::codec::CompressionEncoding::Gzip)
            .send_compressed(tonic::codec::CompressionEncoding::Gzip)
    };
}

/// How long a graceful shutdown waits for open connections before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long each transitional state lasts unless configured otherwise.
pub const DEFAULT_TRANSITION_DELAY: Duration = Duration::from_secs(1);

/// Why the mock could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The reflection service could not be built from the descriptors.
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The descriptors the JSON codecs read are invalid.
    #[error("cannot read the services' descriptors: {0}")]
    Descriptors(String),
    /// The seed snapshot cannot be loaded.
    #[error("cannot load the seed snapshot: {0}")]
    Seed(#[from] crate::persist::snapshot::SnapshotError),
    /// The state file cannot be used.
    #[error("{0}")]
    StateFile(#[from] crate::persist::PersistError),
    /// The builder was given more faults than a server holds.
    #[error("cannot script the builder's faults: {0}")]
    Faults(#[from] TooManyFaults),
    /// A CORS origin that cannot be a header value.
    #[error("the CORS origin {0:?} is not a valid header value, such as http://localhost:3000")]
    Origin(String),
    /// The server task panicked or was cancelled.
    #[error("server task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Configures a mock server. Every setting has a sensible default.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), coreweave_mock::MockError> {
/// use std::time::Duration;
/// use coreweave_mock::MockServer;
///
/// let server = MockServer::builder()
///     .transition_delay(Duration::ZERO)
///     .token("CW-SECRET-example")
///     .start()
///     .await?;
/// println!("mock listening on {}", server.endpoint());
/// server.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct MockServerBuilder {
    addr: SocketAddr,
    zones: Zones,
    tokens: Vec<String>,
    admin_token: Option<String>,
    transition_delay: Duration,
    clock: Arc<dyn Clock>,
    limits: Limits,
    faults: FaultPlan,
    fault_error: Option<TooManyFaults>,
    allowed_hosts: Vec<String>,
    cors_origins: Vec<String>,
    strict_json: bool,
    connections: ConnectionLimits,
    control: bool,
    seed: Option<serde_json::Value>,
    state_file: Option<std::path::PathBuf>,
    shutdown_notice: Duration,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            zones: Zones::default(),
            tokens: Vec::new(),
            admin_token: None,
            transition_delay: DEFAULT_TRANSITION_DELAY,
            clock: Arc::new(SystemClock),
            limits: Limits::default(),
            faults: FaultPlan::default(),
            fault_error: None,
            allowed_hosts: Vec::new(),
            cors_origins: Vec::new(),
            strict_json: false,
            connections: ConnectionLimits::default(),
            control: true,
            seed: None,
            state_file: None,
            shutdown_notice: Duration::ZERO,
        }
    }
}

impl MockServerBuilder {
    /// The address [`start`](Self::start) binds; default `127.0.0.1:0` (any free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The zones on offer, replacing the default set.
    pub fn zones(mut self, zones: impl IntoIterator<Item = Zone>) -> Self {
        self.zones = Zones::new(zones.into_iter().collect());
        self
    }

    /// Accepts this token. Once any token is given, only the given tokens are accepted;
    /// otherwise any well-formed bearer token is.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }

    /// Grants the whole-server scope on the control API to calls that carry this token as
    /// `Authorization: Bearer <token>`. With [`token`](Self::token), that is the only way to
    /// act on every organization; without, `x-mock-scope: server` also asks for it.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Accepts these tokens (see [`token`](Self::token)).
    pub fn tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tokens.extend(tokens.into_iter().map(Into::into));
        self
    }

    /// How long CREATING, UPDATING and DELETING last; `Duration::ZERO` settles at once.
    pub fn transition_delay(mut self, delay: Duration) -> Self {
        self.transition_delay = delay;
        self
    }

    /// Where "now" comes from; pass a [`ManualClock`](crate::ManualClock) to drive the
    /// lifecycle from a test.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Size and count limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether an unknown key in a JSON request body (REST or Connect) is INVALID_ARGUMENT
    /// naming the key. Off by default: unknown keys are ignored, as the real service's JSON
    /// codecs do, and named in an `x-mock-warning` response header and the log.
    pub fn strict_json(mut self, strict: bool) -> Self {
        self.strict_json = strict;
        self
    }

    /// Whether the control API under `/_mock/v1/` is served (the default). Turn it off for a
    /// shared deployment, where one team must not reset another's state.
    pub fn control(mut self, enabled: bool) -> Self {
        self.control = enabled;
        self
    }

    /// State to start with: a snapshot in the format of `GET /_mock/v1/state` (see
    /// [`snapshot`](crate::snapshot)). A bad one stops the start with
    /// [`MockError::Seed`].
    pub fn seed(mut self, snapshot: serde_json::Value) -> Self {
        self.seed = Some(snapshot);
        self
    }

    /// Keeps the state in a redb file at `path` across restarts, `kill -9` included: every
    /// change is written before it is acknowledged. A missing file is created; one that is
    /// not a state file, is corrupt or was written by a newer mock stops the start with
    /// [`MockError::StateFile`] and is left as it is. When the file holds state, a
    /// [`seed`](Self::seed) is not applied.
    pub fn state_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// How long a shutdown keeps serving, with health checks (`/healthz` and gRPC health)
    /// reporting NOT_SERVING, before it stops accepting calls; an orchestrator or load
    /// balancer can take the server out of rotation meanwhile. Default zero.
    pub fn shutdown_notice(mut self, notice: Duration) -> Self {
        self.shutdown_notice = notice;
        self
    }

    /// Limits on connections and HTTP/2 streams.
    pub fn connection_limits(mut self, limits: ConnectionLimits) -> Self {
        self.connections = limits;
        self
    }

    /// Lets control requests from browsers' protocols be addressed to `host` (a name, such
    /// as a docker-compose service's, or an address), besides loopback names and addresses
    /// and the address the mock is bound to, which are always allowed.
    pub fn allowed_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Lets pages from `origin` (such as `http://localhost:3000`) call the control plane
    /// (CORS); by default no page may. The API itself is open to every origin.
    pub fn cors_origin(mut self, origin: impl Into<String>) -> Self {
        self.cors_origins.push(origin.into());
        self
    }

    /// Scripts a fault from the start. [`start`](Self::start) fails if the builder was
    /// given more than a server holds ([`MAX_FAULTS`](crate::MAX_FAULTS), and
    /// [`MAX_FAULTS_PER_ORG`](crate::MAX_FAULTS_PER_ORG) for one organization).
    pub fn fault(mut self, fault: Fault) -> Self {
        if let Err(too_many) = self.faults.add(fault) {
            self.fault_error.get_or_insert(too_many);
        }
        self
    }

    /// Binds the configured address and serves in a background task.
    pub async fn start(self) -> Result<MockServer, MockError> {
        let addr = self.addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MockError::Bind { addr, source })?;
        self.start_on(listener).await
    }

    /// Serves on a listener the caller already holds, in a background task.
    pub async fn start_on(self, listener: TcpListener) -> Result<MockServer, MockError> {
        if let Some(too_many) = self.fault_error.clone() {
            return Err(too_many.into());
        }
        let addr = listener.local_addr().map_err(|source| MockError::Bind {
            addr: self.addr,
            source,
        })?;
        let faults = self.faults.clone();
        let shutdown_notice = self.shutdown_notice;
        let connections = self.connections;
        let max_request_bytes = self.limits.max_request_bytes;
        let access = ControlAccess {
            allowed_hosts: self.allowed_hosts.clone(),
            cors_origins: cors_origins(&self.cors_origins)?,
            bound: Some(addr),
        };
        let Services {
            health,
            routes,
            http,
            apis,
            state,
            serving,
        } = self.into_services().await?;
        let (shutdown, signal) = oneshot::channel::<()>();
        let router = ProtocolLayer::new(http, apis, max_request_bytes, access, descriptors()?);
        let task = tokio::spawn(listen::serve(
            listener,
            connections,
            routes,
            router,
            async {
                // Either an explicit shutdown or the handle being dropped stops the server.
                let _ = signal.await;
            },
        ));
        let storage_watch = state.state_file.is_some().then(|| {
            tokio::spawn(watch_storage(
                Arc::clone(&state),
                health.clone(),
                Arc::clone(&serving),
            ))
        });
        Ok(MockServer {
            addr,
            faults,
            shutdown_notice,
            state,
            serving,
            health,
            shutdown: Some(shutdown),
            task: Some(task),
            storage_watch,
        })
    }

    /// Builds the state and every service: the two APIs, health and reflection over gRPC, and
    /// the router for REST and Connect.
    async fn into_services(self) -> Result<Services, MockError> {
        let mut auth = if self.tokens.is_empty() {
            Authenticator::any_token()
        } else {
            Authenticator::only(self.tokens)
        };
        if let Some(admin) = self.admin_token {
            auth = auth.with_admin(admin);
        }
        let mut state = MockState::new(
            self.clock,
            self.transition_delay,
            auth,
            self.faults,
            self.zones,
            self.limits,
        );
        let mut saved = Vec::new();
        if let Some(path) = &self.state_file {
            let (file, orgs) = crate::persist::StateFile::open(path)?;
            state.state_file = Some(file);
            saved = orgs;
        }
        match (&self.seed, saved.is_empty()) {
            (Some(seed), true) => {
                let orgs = state.read_snapshot(&Scope::All, seed)?;
                state.store.replace(None, orgs);
                if let Some(file) = &state.state_file {
                    file.save_scope(&state.store, None)?;
                }
            }
            _ => state.store.replace(None, saved),
        }
        let state = Arc::new(state);
        // tonic refuses a larger message before reading it, and stops inflating a compressed
        // one as soon as it is larger, so a small gzip bomb never grows in memory; the
        // protocol layer words both refusals as the services' own RESOURCE_EXHAUSTED.
        let decode_limit = state.limits.max_request_bytes;
        let serving = Arc::new(AtomicBool::new(true));
        let apis = Apis {
            vpcs: VpcApi::new(Arc::clone(&state)),
            gateways: GatewayApi::new(Arc::clone(&state)),
            max_body_bytes: state.limits.max_request_bytes,
            unknown_keys: if self.strict_json {
                Unknown::Reject
            } else {
                Unknown::Report
            },
            state: Arc::clone(&state),
            serving: Arc::clone(&serving),
        };
        let http = routes::router(apis.clone(), self.control);
        let vpcs = gzip!(VpcServiceServer::new(VpcApi::new(Arc::clone(&state))))
            .max_decoding_message_size(decode_limit)
            .max_encoding_message_size(MAX_RESPONSE_BYTES);
        let gateways = gzip!(GatewayServiceServer::new(GatewayApi::new(Arc::clone(
            &state
        ))))
        .max_decoding_message_size(decode_limit)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);

        let (health, health_service) = tonic_health::server::health_reporter();
        report_health(&health, ServingStatus::Serving).await;

        let control = self.control;
        let reflection = || {
            let builder = tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                // The google.rpc error details, so that grpcurl and buf can decode them.
                .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET);
            if control {
                builder.register_encoded_file_descriptor_set(CONTROL_DESCRIPTOR_SET)
            } else {
                builder
            }
        };
        let mut routes = Routes::new(vpcs)
            .add_service(gateways)
            .add_service(gzip!(health_service))
            .add_service(gzip!(reflection().build_v1()?))
            .add_service(gzip!(reflection().build_v1alpha()?));
        if control {
            let control = ControlServiceServer::new(ControlGrpc::new(Arc::clone(&state)));
            routes = routes.add_service(gzip!(control));
        }
        Ok(Services {
            health,
            routes,
            http,
            apis,
            state,
            serving,
        })
    }
}

/// What [`MockServerBuilder::into_services`] builds.
struct Services {
    health: HealthReporter,
    routes: Routes,
    http: axum::Router,
    apis: crate::protocol::Apis,
    state: Arc<MockState>,
    serving: Arc<AtomicBool>,
}

/// The `--cors-origin` values as headers; one that cannot be a header is an error.
fn cors_origins(origins: &[String]) -> Result<Vec<axum::http::HeaderValue>, MockError> {
    origins
        .iter()
        .map(|origin| {
            axum::http::HeaderValue::from_str(origin).map_err(|_| MockError::Origin(origin.clone()))
        })
        .collect()
}

/// A running mock server. Dropping it stops the server; [`shutdown`](Self::shutdown) stops it
/// gracefully and waits.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    faults: FaultPlan,
    shutdown_notice: Duration,
    state: Arc<MockState>,
    serving: Arc<AtomicBool>,
    health: HealthReporter,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), MockError>>>,
    /// With a state file: the task that reports it on health checks and recovers it.
    storage_watch: Option<JoinHandle<()>>,
}

/// How often the state file is checked, and recovered when it cannot be written.
const STORAGE_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Every [`STORAGE_CHECK_INTERVAL`]: makes sure the state file can be written (recovering it
/// when it can again), and reports NOT_SERVING on gRPC health while it cannot. `/healthz`
/// asks the file itself.
async fn watch_storage(state: Arc<MockState>, health: HealthReporter, serving: Arc<AtomicBool>) {
    let mut writable = true;
    let mut ticks = tokio::time::interval(STORAGE_CHECK_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let checking = Arc::clone(&state);
        let now_writable = tokio::task::spawn_blocking(move || {
            checking
                .state_file
                .as_ref()
                .is_none_or(|file| file.ensure_writable(&checking.store).is_ok())
        })
        .await
        .unwrap_or(false);
        if now_writable != writable && serving.load(Ordering::Relaxed) {
            let status = if now_writable {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            report_health(&health, status).await;
            writable = now_writable;
        }
    }
}

/// The descriptors of every service the mock can serve, for the JSON codecs: decoded once per
/// process, however many servers it starts (as tests do).
fn descriptors() -> Result<Arc<crate::protocol::Descriptors>, MockError> {
    static DESCRIPTORS: std::sync::OnceLock<Result<Arc<crate::protocol::Descriptors>, String>> =
        std::sync::OnceLock::new();
    DESCRIPTORS
        .get_or_init(|| {
            crate::protocol::Descriptors::new(&[
                tonic_types::pb::FILE_DESCRIPTOR_SET,
                FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                CONTROL_DESCRIPTOR_SET,
            ])
            .map(Arc::new)
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(MockError::Descriptors)
}

/// Reports `status` for the server and both APIs on gRPC health.
async fn report_health(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    for service in [
        <VpcServiceServer<VpcApi> as tonic::server::NamedService>::NAME,
        <GatewayServiceServer<GatewayApi> as tonic::server::NamedService>::NAME,
    ] {
        health.set_service_status(service, status).await;
    }
}

impl MockServer {
    /// A builder with the default configuration.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The address the server is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's URL, such as `http://127.0.0.1:50051`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's scripted faults; faults added here affect later calls. Limit one to an
    /// organization with [`Fault::for_token`].
    pub fn faults(&self) -> &FaultPlan {
        &self.faults
    }

    /// Deletes every resource, fault and journal entry in `scope`, and resets its clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use coreweave_mock::{MockServer, Scope};
    ///
    /// let mock = MockServer::builder().start().await?;
    /// let mine = Scope::token("CW-SECRET-my-test");
    /// mock.advance_clock(&mine, Duration::from_secs(90))?; // my CREATING resources settle
    /// mock.reset(&mine); // and now my organization is empty again
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&self, scope: &Scope) {
        if let Err(status) = self.state.reset(scope) {
            tracing::error!(error = %status.message(), "reset could not be saved");
        }
    }

    /// The time as `scope` sees it.
    pub fn clock(&self, scope: &Scope) -> ClockView {
        self.state.clock_view(scope)
    }

    /// Moves `scope`'s time forward by `by`; other organizations' time does not move. Fails
    /// (and moves nothing) when that would move a time in scope past
    /// 9999-12-31T23:59:59Z, the latest time a timestamp can hold.
    pub fn advance_clock(&self, scope: &Scope, by: Duration) -> Result<ClockView, tonic::Status> {
        self.state.advance_clock(scope, by)
    }

    /// The calls made in `scope` that pass `filter`, oldest first (at most
    /// [`JOURNAL_CAPACITY`](crate::JOURNAL_CAPACITY) per organization).
    pub fn calls(&self, scope: &Scope, filter: &CallFilter) -> Vec<Call> {
        self.state.calls(scope, filter)
    }

    /// Checks that the calls made in `scope` include what `expected` describes: how many
    /// matched, or an error whose `Display` is one line naming the calls that came closest
    /// and where they differ (`POST /_mock/v1/verify`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use coreweave_mock::{Count, Expectation, Method, MockServer, Scope};
    ///
    /// let mock = MockServer::builder().start().await?;
    /// let mine = Scope::token("CW-SECRET-my-test");
    /// let none = Expectation::new(Method::CreateVpc).count(Count::Exactly(0));
    /// assert_eq!(mock.verify(&mine, &none)?, 0);
    /// let error = mock.verify(&mine, &Expectation::new(Method::CreateVpc)).unwrap_err();
    /// assert!(error.to_string().starts_with("expected at least 1 CreateVPC call, but 0 matched"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn verify(&self, scope: &Scope, expected: &Expectation) -> Result<usize, VerifyError> {
        self.state.verify(scope, expected)
    }

    /// A snapshot of the state in `scope` (the JSON of `GET /_mock/v1/state`).
    pub fn state(&self, scope: &Scope) -> serde_json::Value {
        crate::persist::snapshot::export(&self.state.store, scope.org())
    }

    /// Replaces the state in `scope` with `snapshot`, checked whole first, like API input (its
    /// structure, the quota, and every resource against the rules a create follows): on error
    /// nothing changes.
    pub fn load_state(
        &self,
        scope: &Scope,
        snapshot: &serde_json::Value,
    ) -> Result<(), crate::persist::snapshot::SnapshotError> {
        let orgs = self.state.read_snapshot(scope, snapshot)?;
        self.state.store.replace(scope.org(), orgs);
        if let Err(status) = self.state.persist_scope(scope) {
            tracing::error!(error = %status.message(), "loaded state could not be saved");
        }
        Ok(())
    }

    /// Holds resource `id`'s CREATING, UPDATING or DELETING until released (`hold` false);
    /// fails for an unknown or settled resource.
    pub fn hold(&self, scope: &Scope, id: &str, hold: bool) -> Result<(), tonic::Status> {
        self.state.hold(scope, id, hold)
    }

    /// Makes reads of gateway `id` in `scope` report `status` (FAILED or ERROR) with `message`
    /// on its `Ready` condition, until the gateway is deleted or the scope reset: for testing
    /// how clients handle a gateway that fails, which the mock's own lifecycle never does.
    /// Fails for another status, or when `scope` holds no such gateway.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use coreweave_api::inference::v1alpha1::Status;
    /// use coreweave_mock::{MockServer, Scope};
    ///
    /// let mock = MockServer::builder().start().await?;
    /// let unknown = "6f2c51d4-93a1-4b1e-8d57-2a0ec3f19b44";
    /// let error = mock
    ///     .force_gateway_state(&Scope::token("t"), unknown, Status::Failed, "no capacity")
    ///     .unwrap_err();
    /// assert_eq!(error.code(), tonic::Code::NotFound);
    /// # Ok(())
    /// # }
    /// ```
    pub fn force_gateway_state(
        &self,
        scope: &Scope,
        id: &str,
        status: GatewayPhase,
        message: impl Into<String>,
    ) -> Result<(), tonic::Status> {
        let forced = ForcedGatewayState::parse(status.as_str_name(), &message.into())?;
        self.state.force_status(scope, id, forced)
    }

    /// The organization id of `token`, as snapshots and the journal name it.
    pub fn whoami(&self, token: &str) -> String {
        crate::model::org_for_token(token).to_string()
    }

    /// Reports NOT_SERVING on health checks, stops accepting connections, lets in-flight
    /// calls finish and waits for the server to stop. Connections still open after
    /// [`SHUTDOWN_GRACE`] (an idle client that ignores the server's GOAWAY, an open health
    /// watch) are closed.
    pub async fn shutdown(mut self) -> Result<(), MockError> {
        self.serving.store(false, Ordering::Relaxed);
        self.state.journal.close();
        if let Some(watch) = self.storage_watch.take() {
            watch.abort();
        }
        report_health(&self.health, ServingStatus::NotServing).await;
        if !self.shutdown_notice.is_zero() {
            tracing::info!(notice = ?self.shutdown_notice, "reporting NOT_SERVING before stopping");
            tokio::time::sleep(self.shutdown_notice).await;
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
            Ok(result) => result?,
            Err(_) => {
                tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the grace period; closing them");
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.state.journal.close();
        if let Some(watch) = self.storage_watch.take() {
            watch.abort();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

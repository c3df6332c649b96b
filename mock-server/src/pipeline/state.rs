//! What every call shares: the state, the configuration, and the per-call pipeline of size
//! limit, authentication, scripted faults and tracing.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use tonic::{Request, Response, Status};
use tracing::{field, Instrument, Level, Span};

use coreweave_api::rpc::Method;

use crate::{
    model::clock::{Clock, Offsets},
    model::error::ApiError,
    model::store::{OrgState, Store},
    model::zones::Zones,
    model::OrgId,
    pipeline::answer::Answer,
    pipeline::auth::Authenticator,
    pipeline::faults::{lost_reply_status, CallFaults, FaultPlan},
    pipeline::journal::{Entry, Journal, Outcome, Protocol, Resource},
    pipeline::recorded::{Journaled, RecordedRequest, Refusal},
};

/// How many VPCs, and how many gateways, one organization may hold unless configured
/// otherwise. With the per-field limits of validation, a full list at this quota stays under
/// the 64 MiB response limit even for the largest VPCs (about 60 KB each); a typical VPC is
/// about 200 bytes, so a typical full list is about 200 KB.
pub const DEFAULT_QUOTA: usize = 1000;

/// Size and count limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest request message accepted, in bytes; larger ones are RESOURCE_EXHAUSTED.
    pub max_request_bytes: usize,
    /// The most VPCs one organization may hold; `None` for no limit.
    pub max_vpcs_per_org: Option<usize>,
    /// The most gateways one organization may hold; `None` for no limit.
    pub max_gateways_per_org: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 4 * 1024 * 1024,
            max_vpcs_per_org: Some(DEFAULT_QUOTA),
            max_gateways_per_org: Some(DEFAULT_QUOTA),
        }
    }
}

/// The state and configuration shared by every service of one server.
pub(crate) struct MockState {
    /// Every organization's resources.
    pub store: Store,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// How long a transitional state lasts.
    pub transition_delay: Duration,
    /// Which tokens are accepted.
    pub auth: Authenticator,
    /// Scripted faults.
    pub faults: FaultPlan,
    /// The zones on offer.
    pub zones: Zones,
    /// Size and count limits.
    pub limits: Limits,
    /// How far each organization's time has been moved ahead.
    pub offsets: Offsets,
    /// What each organization's calls were.
    pub journal: Journal,
    /// Prometheus counters.
    pub metrics: crate::pipeline::metrics::Metrics,
    /// Where the state is kept across restarts, with `--state-file`.
    pub state_file: Option<crate::persist::StateFile>,
}

impl fmt::Debug for MockState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockState")
            .field("transition_delay", &self.transition_delay)
            .field("zones", &self.zones)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl MockState {
    /// The state with nothing stored yet.
    pub(crate) fn new(
        clock: Arc<dyn Clock>,
        transition_delay: Duration,
        auth: Authenticator,
        faults: FaultPlan,
        zones: Zones,
        limits: Limits,
    ) -> Self {
        Self {
            store: Store::new(),
            clock,
            transition_delay,
            auth,
            faults,
            zones,
            limits,
            offsets: Offsets::default(),
            journal: Journal::default(),
            metrics: crate::pipeline::metrics::Metrics::default(),
            state_file: None,
        }
    }

    /// "Now" as `org` sees it: the server's clock plus how far the organization's time has
    /// been advanced.
    pub(crate) fn now(&self, org: &OrgId) -> SystemTime {
        crate::model::clock::ahead(self.clock.now(), self.offsets.of(org))
    }

    /// Runs one unary call: checks size and credentials, applies scripted faults, runs `op`
    /// on the caller's organization, journals it, and records a tracing span with method,
    /// organization, code and latency. Tokens are never recorded. An answer carries the
    /// call's warnings in `x-mock-warning` metadata. Only a steered delay waits: every other
    /// call is answered before this returns.
    pub(crate) fn call<Req, Resp>(
        self: &Arc<Self>,
        method: Method,
        protocol: Protocol,
        request: Request<Req>,
        op: impl FnOnce(&Self, &OrgId, Req) -> Result<Resp, ApiError> + Send + 'static,
    ) -> Answer<Result<Response<Resp>, Status>>
    where
        Req: Journaled + Send + 'static,
        Resp: Send + 'static,
    {
        let call = CallStarted::of(method, protocol, &request);
        let (org, faults) = match self.admit(method, &request, &call.span.0) {
            Ok(admitted) => admitted,
            Err(refused) => return Answer::Now(self.finish(call, Err(refused))),
        };
        if faults.delay.is_zero() {
            let result = self.run(&call, request, op, org, faults);
            return Answer::Now(self.finish(call, result));
        }
        let state = Arc::clone(self);
        Answer::later(async move {
            let delay = tokio::time::sleep(faults.delay);
            delay.instrument(call.span.0.clone()).await;
            let result = state.run(&call, request, op, org, faults);
            state.finish(call, result)
        })
    }

    /// Runs an admitted call's `op`, within the call's span, off the async workers when it
    /// writes the state file.
    fn run<Req, Resp>(
        &self,
        call: &CallStarted,
        request: Request<Req>,
        op: impl FnOnce(&Self, &OrgId, Req) -> Result<Resp, ApiError>,
        org: OrgId,
        faults: CallFaults,
    ) -> Result<(Resp, OrgId), (Status, Option<OrgId>)> {
        let answer = || {
            call.span
                .0
                .in_scope(|| self.answer(request, op, org, faults))
        };
        if call.method.changes_state() && self.state_file.is_some() {
            off_the_workers(answer)
        } else {
            answer()
        }
    }

    /// Ends a call: its metrics, its closing log line, its journal entry, and its answer.
    fn finish<Resp>(
        &self,
        call: CallStarted,
        result: Result<(Resp, OrgId), (Status, Option<OrgId>)>,
    ) -> Result<Response<Resp>, Status> {
        let CallStarted {
            method,
            protocol,
            resource,
            recorded,
            ignored,
            warnings,
            span,
            started,
            time,
        } = call;
        let (code, org) = match &result {
            Ok((_, org)) => (tonic::Code::Ok, Some(org)),
            Err((status, org)) => (status.code(), org.as_ref()),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1e3;
        self.metrics.record(method, protocol, code, latency_ms);
        span.close(method, org, code, latency_ms);
        if let Some(org) = org {
            let outcome = Outcome {
                code,
                refusal: result.as_ref().err().map(|(status, _)| Refusal::of(status)),
                latency_ms,
                warnings: &warnings,
                ignored_keys: &ignored.keys,
            };
            let entry = Entry::new(time, protocol, method, resource, recorded, outcome);
            self.journal.record(org, entry);
        }
        let (response, _) = result.map_err(|(status, _)| status)?;
        let mut response = Response::new(response);
        crate::pipeline::recorded::warn(response.metadata_mut().as_mut(), &warnings);
        Ok(response)
    }

    /// Journals a call refused before its service saw it (a body that is not the request's
    /// JSON, an unsupported content type), in the caller's organization when its token is
    /// good: a test's `verify` then sees it among the near misses. The request is the body as
    /// sent, as text.
    pub(crate) fn journal_refused(
        &self,
        method: Method,
        protocol: Protocol,
        headers: &http::HeaderMap,
        body: &[u8],
        status: &Status,
    ) {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let Ok(org) = self.auth.authenticate(header) else {
            return;
        };
        let outcome = Outcome {
            code: status.code(),
            refusal: Some(Refusal::of(status)),
            latency_ms: 0.0,
            warnings: &[],
            ignored_keys: &[],
        };
        let request = RecordedRequest::as_sent(body);
        let resource = Resource::None;
        let entry = Entry::new(
            SystemTime::now(),
            protocol,
            method,
            resource,
            request,
            outcome,
        );
        self.journal.record(&org, entry);
    }

    /// Who the caller is, and the faults scripted or steered for the call.
    fn admit<Req: prost::Message>(
        &self,
        method: Method,
        request: &Request<Req>,
        span: &Span,
    ) -> Result<(OrgId, CallFaults), (Status, Option<OrgId>)> {
        let org = self.authorize(request).map_err(|status| (status, None))?;
        span.record("org", org.as_str());
        match self.faults_for(method, &org, request.metadata()) {
            Ok(faults) => Ok((org, faults)),
            Err(status) => Err((status, Some(org))),
        }
    }

    /// Runs `op` for an admitted call and applies the call's faults.
    fn answer<Req, Resp>(
        &self,
        request: Request<Req>,
        op: impl FnOnce(&Self, &OrgId, Req) -> Result<Resp, ApiError>,
        org: OrgId,
        faults: CallFaults,
    ) -> Result<(Resp, OrgId), (Status, Option<OrgId>)> {
        if let Some(status) = faults.fail {
            return Err((status, Some(org)));
        }
        let response = match op(self, &org, request.into_inner()) {
            Ok(response) => response,
            Err(error) => return Err((error.into(), Some(org))),
        };
        if faults.lose_reply {
            return Err((lost_reply_status(), Some(org)));
        }
        Ok((response, org))
    }

    /// Runs `change` on `org`'s state and, with a state file, writes what it changed before
    /// the call is answered. A change that cannot be written is undone and the call answers
    /// UNAVAILABLE, so that nothing is acknowledged, or kept, that a restart would lose.
    pub(crate) fn change_org<R>(
        &self,
        org: &OrgId,
        change: impl FnOnce(&mut OrgState) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let Some(file) = &self.state_file else {
            return self.store.change_org(org, change, |_, _| Ok(()));
        };
        file.ensure_writable(&self.store).map_err(unsaved)?;
        let remembered = |state: &mut OrgState| {
            state.remember_changes();
            change(state)
        };
        self.store.change_org(org, remembered, |state, changes| {
            file.save_changes(org, state, changes).map_err(unsaved)
        })
    }

    /// Checks the request's size and credentials, and returns the caller's organization.
    fn authorize<Req: prost::Message>(&self, request: &Request<Req>) -> Result<OrgId, Status> {
        let size = request.get_ref().encoded_len();
        if size > self.limits.max_request_bytes {
            return Err(ApiError::ResourceExhausted {
                subject: "request size".into(),
                description: format!(
                    "request of {size} bytes exceeds the limit of {} bytes",
                    self.limits.max_request_bytes
                ),
            }
            .into());
        }
        let headers: &http::HeaderMap = request.metadata().as_ref();
        let header = match headers.get(http::header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(value.to_str().map_err(|_| {
                ApiError::Unauthenticated(
                    "the authorization header is not printable ASCII: send `authorization: Bearer <token>`"
                        .into(),
                )
            })?),
        };
        Ok(self.auth.authenticate(header)?)
    }

    /// The scripted faults for this call, plus those its `x-mock-*` headers ask for.
    fn faults_for(
        &self,
        method: Method,
        org: &OrgId,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<CallFaults, Status> {
        let mut faults = self.faults.take(method, org);
        crate::pipeline::faults::steer(&mut faults, metadata)?;
        Ok(faults)
    }
}

/// What a call's journal entry, metrics and log line take from its start.
struct CallStarted {
    method: Method,
    protocol: Protocol,
    resource: Resource,
    recorded: RecordedRequest,
    ignored: coreweave_api::json::IgnoredKeys,
    warnings: Vec<String>,
    span: CallSpan,
    started: Instant,
    time: SystemTime,
}

impl CallStarted {
    fn of<Req: Journaled>(method: Method, protocol: Protocol, request: &Request<Req>) -> Self {
        let ignored = request
            .extensions()
            .get::<coreweave_api::json::IgnoredKeys>()
            .cloned()
            .unwrap_or_default();
        let mut warnings = request.get_ref().warnings();
        if !ignored.is_empty() {
            warnings.insert(0, format!("ignored unknown JSON keys: {ignored}"));
        }
        Self {
            method,
            protocol,
            resource: request.get_ref().subject(),
            recorded: RecordedRequest::of(request.get_ref()),
            ignored,
            warnings,
            span: CallSpan::open(method),
            started: Instant::now(),
            time: SystemTime::now(),
        }
    }
}

/// The `rpc` span of one call, with its method, organization, code and latency.
///
/// Formatting a span's fields costs about a tenth of a whole GetVPC, and at the default
/// level (`info`) a call that succeeds writes no line. So the span is opened as the call
/// starts only when `debug` is on, where it also holds the lines written during the call;
/// otherwise it is made as the call ends, and only when the call's closing line is written.
/// Either way a written line shows the same span with the same fields.
struct CallSpan(Span);

impl CallSpan {
    fn open(method: Method) -> Self {
        if !tracing::enabled!(Level::DEBUG) {
            return Self(Span::none());
        }
        Self(tracing::info_span!(
            "rpc",
            method = method.name(),
            org = field::Empty,
            code = field::Empty,
            latency_ms = field::Empty
        ))
    }

    /// Writes the call's closing line, at a level that says whose problem the outcome is:
    /// an answer the caller expects (a waiter's NOT_FOUND poll, a create that finds its
    /// resource) is routine; only the server's own failures read as failures.
    fn close(self, method: Method, org: Option<&OrgId>, code: tonic::Code, latency_ms: f64) {
        use tonic::Code;
        let (level, message) = match code {
            Code::Ok => (Level::DEBUG, "call finished"),
            Code::NotFound | Code::AlreadyExists => (Level::DEBUG, "call answered"),
            Code::Internal | Code::Unknown | Code::DataLoss => (Level::ERROR, "call failed"),
            _ => (Level::INFO, "call answered"),
        };
        let enabled = match level {
            Level::DEBUG => tracing::enabled!(Level::DEBUG),
            Level::ERROR => tracing::enabled!(Level::ERROR),
            _ => tracing::enabled!(Level::INFO),
        };
        if !enabled {
            return;
        }
        let span = if self.0.is_none() {
            tracing::info_span!(
                "rpc",
                method = method.name(),
                org = org.map(OrgId::as_str),
                code = ?code,
                latency_ms
            )
        } else {
            self.0.record("code", field::debug(code));
            self.0.record("latency_ms", latency_ms);
            self.0
        };
        span.in_scope(|| match level {
            Level::DEBUG => tracing::debug!("{message}"),
            Level::ERROR => tracing::error!("{message}"),
            _ => tracing::info!("{message}"),
        });
    }
}

/// UNAVAILABLE for a change the state file could not take: the call may be retried.
fn unsaved(error: crate::persist::PersistError) -> ApiError {
    ApiError::Unavailable(format!(
        "the change was not made: the mock cannot save it ({error}); retry once the state file can be written"
    ))
}

/// Runs `work`, which waits on the disk, without stalling the calls that do not: on a
/// multi-threaded runtime the worker first hands its other tasks to another thread. (A
/// current-thread runtime, as in a `#[tokio::test]`, has no other worker to hand them to.)
fn off_the_workers<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

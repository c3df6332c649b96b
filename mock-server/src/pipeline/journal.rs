//! The request journal: what each organization's calls were and how they ended, newest
//! last, in a bounded ring per organization. An entry holds the method, the resource's id or
//! name, the request (see [`recorded`](super::recorded)), the code, the latency, the warnings
//! and why a call was refused. Tokens are never recorded, and W&B API keys are replaced.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use coreweave_api::rpc::Method;
use serde_json::Value;
use tokio::sync::broadcast;
use tonic::Code;

use super::recorded::{kept_warnings, RecordedRequest, Refusal, Violation};
use crate::{model::Map, model::OrgId};

/// How many calls the journal keeps per organization; older ones are dropped.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// The protocol a call came in over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC over HTTP/2.
    Grpc,
    /// gRPC-Web.
    GrpcWeb,
    /// Connect.
    Connect,
    /// The documented REST paths.
    Rest,
}

impl Protocol {
    /// The protocol of a call to a gRPC service: marked on the request by the protocol
    /// router, for every protocol but native gRPC.
    pub(crate) fn of<T>(request: &tonic::Request<T>) -> Self {
        request
            .extensions()
            .get::<Self>()
            .copied()
            .unwrap_or(Self::Grpc)
    }
}

impl Protocol {
    /// The protocol's name in the journal: `grpc`, `grpc-web`, `connect`, `rest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::GrpcWeb => "grpc-web",
            Self::Connect => "connect",
            Self::Rest => "rest",
        }
    }
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Its place in the server's order of calls.
    pub sequence: u64,
    /// When it started, by the wall clock.
    pub time: SystemTime,
    /// The organization that made it.
    pub org: OrgId,
    /// The protocol it came in over.
    pub protocol: Protocol,
    /// The RPC.
    pub method: Method,
    /// The resource's id, or its name on a create; empty for lists.
    pub resource: String,
    /// The request as canonical proto3 JSON (fields at their default left out), whatever
    /// protocol it came by, with W&B API keys replaced by `"<redacted>"`.
    pub request: Value,
    /// Whether `request` was cut to fit
    /// [`MAX_REQUEST_JSON_BYTES`](crate::MAX_REQUEST_JSON_BYTES).
    pub request_truncated: bool,
    /// How it ended.
    pub code: Code,
    /// The error's message, for a call that did not end OK.
    pub message: String,
    /// The error's field violations, for a call refused as invalid.
    pub violations: Vec<Violation>,
    /// What the mock warned about, though it answered: unknown JSON keys it ignored, update
    /// mask paths that change nothing. Each was also sent in an `x-mock-warning` header.
    pub warnings: Vec<String>,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// The unknown JSON keys its body carried, which were ignored (REST and Connect).
    pub ignored_keys: Vec<String>,
}

/// A call as the journal keeps it: compact, because the ring holds thousands per
/// organization and each new entry lands in memory that has gone cold since it was last
/// written. The organization is the ring's key, not a field; times are nanoseconds; what
/// most calls lack is boxed behind one pointer.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Its place in the server's order of calls; assigned when recorded.
    sequence: u64,
    /// When it started, in nanoseconds since the Unix epoch by the wall clock.
    started_ns: u64,
    /// How long it took, in milliseconds.
    latency_ms: f64,
    /// The resource's id, or its name on a create.
    resource: Resource,
    /// The request, secrets replaced.
    request: RecordedRequest,
    /// Its warnings, ignored keys and refusal, when it has any.
    notes: Option<Box<Notes>>,
    /// How it ended.
    code: Code,
    /// The RPC.
    method: Method,
    /// The protocol it came in over.
    protocol: Protocol,
}

/// What only some calls have.
#[derive(Debug, Clone, Default)]
struct Notes {
    /// The unknown JSON keys its body carried, which were ignored (REST and Connect).
    ignored_keys: Box<[String]>,
    warnings: Box<[Box<str>]>,
    refusal: Option<Refusal>,
}

impl Notes {
    fn bytes(&self) -> usize {
        let keys: usize = self.ignored_keys.iter().map(|key| key.len() + 24).sum();
        let warnings: usize = self.warnings.iter().map(|text| text.len() + 16).sum();
        let refusal = self.refusal.as_ref().map_or(0, Refusal::bytes);
        std::mem::size_of::<Self>() + keys + warnings + refusal
    }
}

/// How a call ended, as the journal keeps it.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    /// Its code.
    pub(crate) code: Code,
    /// Why it was refused, for a call that did not end OK.
    pub(crate) refusal: Option<Refusal>,
    /// How long it took, in milliseconds.
    pub(crate) latency_ms: f64,
    /// What the mock warned about.
    pub(crate) warnings: &'a [String],
    /// The unknown JSON keys its body carried.
    pub(crate) ignored_keys: &'a [String],
}

impl Entry {
    /// A call that started at `time` and ended as `outcome`; its sequence number is
    /// assigned when it is recorded.
    pub(crate) fn new(
        time: SystemTime,
        protocol: Protocol,
        method: Method,
        resource: Resource,
        request: RecordedRequest,
        outcome: Outcome<'_>,
    ) -> Self {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let noted = outcome.refusal.is_some()
            || !outcome.warnings.is_empty()
            || !outcome.ignored_keys.is_empty();
        let notes = noted.then(|| {
            Box::new(Notes {
                ignored_keys: outcome
                    .ignored_keys
                    .iter()
                    .take(MAX_JOURNAL_KEYS)
                    .map(|key| crate::model::quoted(key).into_owned())
                    .collect(),
                warnings: kept_warnings(outcome.warnings),
                refusal: outcome.refusal,
            })
        });
        Self {
            sequence: 0,
            started_ns: u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX),
            latency_ms: outcome.latency_ms,
            resource,
            request,
            notes,
            code: outcome.code,
            method,
            protocol,
        }
    }

    /// The bytes it holds: its slot, its text and its request.
    fn bytes(&self) -> usize {
        let text = match &self.resource {
            Resource::Text(text) => text.len(),
            Resource::None | Resource::Uuid(_) => 0,
        };
        let notes = self.notes.as_deref().map_or(0, Notes::bytes);
        std::mem::size_of::<Self>() + text + self.request.bytes() + notes
    }

    /// The call as the control API shows it.
    pub(crate) fn to_call(&self, org: &OrgId) -> Call {
        let (request, request_truncated) = self.request.to_json();
        let notes = self.notes.as_deref();
        let refusal = notes.and_then(|notes| notes.refusal.as_ref());
        Call {
            sequence: self.sequence,
            time: UNIX_EPOCH + Duration::from_nanos(self.started_ns),
            org: org.clone(),
            protocol: self.protocol,
            method: self.method,
            resource: self.resource.to_text(),
            request,
            request_truncated,
            code: self.code,
            message: refusal.map(|r| r.message.to_string()).unwrap_or_default(),
            violations: refusal.map(|r| r.violations.to_vec()).unwrap_or_default(),
            warnings: notes
                .map(|notes| notes.warnings.iter().map(|w| w.to_string()).collect())
                .unwrap_or_default(),
            latency_ms: self.latency_ms,
            ignored_keys: notes
                .map(|notes| notes.ignored_keys.to_vec())
                .unwrap_or_default(),
        }
    }
}

/// The resource a journal entry names, kept without an allocation when it is a UUID spelled
/// the canonical way (as nearly every id is): the ring holds thousands of entries per
/// organization, and a string per entry, freed long after, costs every call cache misses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resource {
    /// No resource: a list.
    None,
    /// A UUID, spelled lowercase with hyphens.
    Uuid(uuid::Uuid),
    /// Anything else, as sent, cut to `MAX_QUOTED_CHARS` characters.
    Text(Box<str>),
}

impl Resource {
    /// The resource `text` names: none when empty.
    pub(crate) fn of(text: &str) -> Self {
        if text.is_empty() {
            return Self::None;
        }
        // Of the spellings a UUID parses from, only the hyphenated one has 36 characters.
        let canonical = text.len() == 36 && !text.bytes().any(|b| b.is_ascii_uppercase());
        if canonical {
            if let Ok(uuid) = uuid::Uuid::try_parse(text) {
                return Self::Uuid(uuid);
            }
        }
        Self::Text(crate::model::quoted(text).into())
    }

    fn to_text(&self) -> String {
        match self {
            Self::None => String::new(),
            Self::Uuid(uuid) => crate::model::uuid_text(*uuid),
            Self::Text(text) => text.to_string(),
        }
    }
}

/// The journal of every organization.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    next: AtomicU64,
    orgs: Mutex<Rings>,
}

/// The most bytes every organization's journal holds together. Past it, the journals of the
/// organizations that called least recently are dropped whole, down to nine tenths of it.
pub(crate) const JOURNAL_BUDGET_BYTES: usize = 128 * 1024 * 1024;
/// The most bytes one organization's journal holds; past it, its oldest calls are dropped
/// (however few it holds). With requests of up to 16 KiB, one journal would otherwise hold
/// more than the whole budget.
pub(crate) const ORG_JOURNAL_BYTES: usize = JOURNAL_BUDGET_BYTES / 4;
/// The most ignored keys one journal entry keeps.
pub(crate) const MAX_JOURNAL_KEYS: usize = 8;
/// The most calls a live stream may fall behind before it is told it missed some.
pub(crate) const LIVE_BACKLOG: usize = 1024;
/// The most live streams open at once.
pub(crate) const MAX_LIVE_STREAMS: usize = 64;

/// A recorded call as the live streams receive it.
pub(crate) type LiveCall = (OrgId, Entry);

/// Every organization's ring, the bytes they hold together, and the live streams.
#[derive(Debug)]
struct Rings {
    by_org: Map<OrgId, Ring>,
    bytes: usize,
    /// Every recorded call, for the live streams, sent only while one listens; none once
    /// the server stops, which ends every stream.
    live: Option<broadcast::Sender<LiveCall>>,
}

impl Default for Rings {
    fn default() -> Self {
        Self {
            by_org: Map::default(),
            bytes: 0,
            live: Some(broadcast::channel(LIVE_BACKLOG).0),
        }
    }
}

/// Why a live stream cannot be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoStream {
    /// [`MAX_LIVE_STREAMS`] are open.
    #[error("{MAX_LIVE_STREAMS} live streams of calls are open already; close one")]
    TooMany,
    /// The server is stopping.
    #[error("the mock is stopping")]
    Stopping,
}

impl Rings {
    /// Drops the rings of the organizations that called least recently until the journals
    /// hold at most nine tenths of `budget` bytes.
    fn evict_to(&mut self, budget: usize) {
        if self.bytes <= budget {
            return;
        }
        let mut by_age: Vec<(u64, OrgId)> = self
            .by_org
            .iter()
            .map(|(org, ring)| (ring.newest, org.clone()))
            .collect();
        by_age.sort_unstable_by_key(|(newest, _)| *newest);
        let target = budget / 10 * 9;
        for (_, org) in by_age {
            if self.bytes <= target {
                break;
            }
            if let Some(ring) = self.by_org.remove(&org) {
                self.bytes -= ring.bytes;
            }
        }
    }
}

/// The newest calls of one organization: at most [`JOURNAL_CAPACITY`] of them and
/// [`ORG_JOURNAL_BYTES`]. Once full, each new entry takes the slot the oldest leaves (the
/// deque is a ring buffer), and the slots never outgrow the capacity.
#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Entry>,
    /// The bytes its entries hold, their slots and their text.
    bytes: usize,
    /// The sequence number of its newest entry.
    newest: u64,
}

impl Ring {
    /// Adds `entry`, dropping the oldest to stay within bounds; returns the bytes added and
    /// freed.
    fn push(&mut self, entry: Entry, max_bytes: usize) -> (usize, usize) {
        let added = entry.bytes();
        self.newest = entry.sequence;
        let mut freed = 0;
        while self.entries.len() >= JOURNAL_CAPACITY
            || (!self.entries.is_empty() && self.bytes + added - freed > max_bytes)
        {
            freed += self.entries.pop_front().map_or(0, |old| old.bytes());
        }
        if self.entries.len() == self.entries.capacity() {
            // Doubling, but never past the capacity.
            let room = JOURNAL_CAPACITY - self.entries.len();
            self.entries
                .reserve_exact(self.entries.len().max(8).min(room));
        }
        self.entries.push_back(entry);
        self.bytes = self.bytes + added - freed;
        (added, freed)
    }
}

/// Which recorded calls to list.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    /// Only calls of this RPC.
    pub method: Option<Method>,
    /// Only calls that ended with this code.
    pub code: Option<Code>,
}

impl CallFilter {
    /// Whether `entry` passes.
    pub(crate) fn keeps(&self, entry: &Entry) -> bool {
        self.method.is_none_or(|m| m == entry.method) && self.code.is_none_or(|c| c == entry.code)
    }
}

impl Journal {
    /// Records a call of `org`; the sequence number is assigned here.
    pub(crate) fn record(&self, org: &OrgId, mut entry: Entry) {
        entry.sequence = self.next.fetch_add(1, Ordering::Relaxed);
        let mut rings = self.lock();
        if let Some(live) = rings.live.as_ref().filter(|live| live.receiver_count() > 0) {
            // A stream that falls behind misses the oldest calls, and is told.
            let _ = live.send((org.clone(), entry.clone()));
        }
        // Looked up by reference: the organization's id is cloned only into a new ring.
        let (added, freed) = match rings.by_org.get_mut(org) {
            Some(ring) => ring.push(entry, ORG_JOURNAL_BYTES),
            None => rings
                .by_org
                .entry(org.clone())
                .or_default()
                .push(entry, ORG_JOURNAL_BYTES),
        };
        rings.bytes = rings.bytes + added - freed;
        rings.evict_to(JOURNAL_BUDGET_BYTES);
    }

    /// Every call recorded from now on, as it is recorded, until the server stops.
    pub(crate) fn subscribe(&self) -> Result<broadcast::Receiver<LiveCall>, NoStream> {
        let rings = self.lock();
        let live = rings.live.as_ref().ok_or(NoStream::Stopping)?;
        if live.receiver_count() >= MAX_LIVE_STREAMS {
            return Err(NoStream::TooMany);
        }
        Ok(live.subscribe())
    }

    /// The organizations whose calls it holds.
    pub(crate) fn orgs(&self) -> Vec<OrgId> {
        self.lock().by_org.keys().cloned().collect()
    }

    /// Ends every live stream, for good: the server is stopping.
    pub(crate) fn close(&self) {
        self.lock().live = None;
    }

    /// The calls of `org` (every organization's, for `None`) that pass `filter` and come
    /// after sequence number `after`, oldest first: at most `limit` of them, and whether
    /// more follow. Only the calls returned are copied out of the rings.
    pub(crate) fn calls(
        &self,
        org: Option<&OrgId>,
        filter: &CallFilter,
        after: Option<u64>,
        limit: usize,
    ) -> (Vec<Call>, bool) {
        let rings = self.lock();
        let keep = |entry: &&Entry| {
            after.is_none_or(|after| entry.sequence > after) && filter.keeps(entry)
        };
        let rings: Vec<(&OrgId, &Ring)> = match org {
            Some(org) => rings.by_org.get_key_value(org).into_iter().collect(),
            None => rings.by_org.iter().collect(),
        };
        // Each ring is in sequence order, so the first `limit + 1` of each are enough.
        let wanted = limit.saturating_add(1);
        let mut found: Vec<(&OrgId, &Entry)> = rings
            .into_iter()
            .flat_map(|(org, ring)| {
                ring.entries
                    .iter()
                    .filter(keep)
                    .take(wanted)
                    .map(move |e| (org, e))
            })
            .collect();
        found.sort_unstable_by_key(|(_, entry)| entry.sequence);
        let more = found.len() > limit;
        let calls = found
            .into_iter()
            .take(limit)
            .map(|(org, entry)| entry.to_call(org))
            .collect();
        (calls, more)
    }

    /// Forgets the calls of `org` (or every call, for `None`).
    pub(crate) fn clear(&self, org: Option<&OrgId>) {
        let mut rings = self.lock();
        match org {
            Some(org) => {
                if let Some(ring) = rings.by_org.remove(org) {
                    rings.bytes -= ring.bytes;
                }
            }
            None => {
                rings.by_org.clear();
                rings.bytes = 0;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rings> {
        self.orgs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::org_for_token;

    fn outcome(code: Code) -> Outcome<'static> {
        Outcome {
            code,
            refusal: None,
            latency_ms: 0.0,
            warnings: &[],
            ignored_keys: &[],
        }
    }

    fn call(method: Method, code: Code) -> Entry {
        let request = RecordedRequest::of(&coreweave_api::networking::v1beta1::GetVpcRequest {
            id: "x".into(),
        });
        let resource = Resource::None;
        Entry::new(
            SystemTime::now(),
            Protocol::Rest,
            method,
            resource,
            request,
            outcome(code),
        )
    }

    #[test]
    fn the_ring_is_bounded_and_filters_apply() {
        let journal = Journal::default();
        let a = org_for_token("a");
        let b = org_for_token("b");
        for _ in 0..JOURNAL_CAPACITY + 5 {
            journal.record(&a, call(Method::GetVpc, Code::Ok));
        }
        journal.record(&b, call(Method::ListVpcs, Code::NotFound));
        let all = CallFilter::default();
        // The newest calls, oldest first: the first five were overwritten.
        let every = |org, filter| journal.calls(org, filter, None, usize::MAX).0;
        let kept: Vec<u64> = every(Some(&a), &all).iter().map(|c| c.sequence).collect();
        let newest: Vec<u64> = (5..JOURNAL_CAPACITY as u64 + 5).collect();
        assert_eq!(kept, newest);
        assert!(journal.lock().by_org[&a].entries.capacity() <= JOURNAL_CAPACITY);
        assert_eq!(every(Some(&b), &all).len(), 1);
        let not_found = CallFilter {
            code: Some(Code::NotFound),
            ..CallFilter::default()
        };
        assert_eq!(every(None, &not_found).len(), 1);

        // Pages across organizations, in sequence order, with whether more follow.
        let (first, more) = journal.calls(None, &all, None, 3);
        let sequences: Vec<u64> = first.iter().map(|c| c.sequence).collect();
        assert_eq!((sequences, more), (vec![5, 6, 7], true));
        let last = journal.calls(None, &all, Some(JOURNAL_CAPACITY as u64 + 3), 3);
        let sequences: Vec<u64> = last.0.iter().map(|c| c.sequence).collect();
        let end = JOURNAL_CAPACITY as u64 + 4;
        assert_eq!(
            (sequences, last.1),
            (vec![end, end + 1], false),
            "a's last, then b's"
        );

        journal.clear(Some(&a));
        assert_eq!(every(None, &all).len(), 1);
    }

    #[test]
    fn past_the_budget_the_least_recently_active_journals_go() {
        let journal = Journal::default();
        let (a, b, c) = (org_for_token("a"), org_for_token("b"), org_for_token("c"));
        for org in [&a, &b, &c, &a] {
            journal.record(org, call(Method::GetVpc, Code::Ok));
        }
        let mut rings = journal.lock();
        let sum: usize = rings.by_org.values().map(|ring| ring.bytes).sum();
        assert_eq!(rings.bytes, sum);
        let one_ring = rings.by_org[&b].bytes;
        // Over the budget: b called least recently, so it goes, and that is enough (a holds
        // two entries, b and c one each).
        rings.evict_to(sum - 1);
        assert!(!rings.by_org.contains_key(&b), "the least recent goes");
        assert!(rings.by_org.contains_key(&a) && rings.by_org.contains_key(&c));
        assert_eq!(rings.bytes, sum - one_ring);
        drop(rings);
        journal.clear(None);
        assert_eq!(journal.lock().bytes, 0);
    }

    #[test]
    fn an_entry_keeps_few_and_short_ignored_keys() {
        let keys: Vec<String> = (0..50).map(|i| format!("{i}{}", "k".repeat(500))).collect();
        let request = RecordedRequest::of(&coreweave_api::networking::v1beta1::GetVpcRequest {
            id: "x".into(),
        });
        let entry = Entry::new(
            SystemTime::now(),
            Protocol::Rest,
            Method::CreateVpc,
            Resource::of(&"n".repeat(10_000)),
            request,
            Outcome {
                ignored_keys: &keys,
                ..outcome(Code::Ok)
            },
        );
        let kept = &entry.notes.as_ref().unwrap().ignored_keys;
        assert_eq!(kept.len(), MAX_JOURNAL_KEYS);
        assert!(entry.bytes() < 3_000, "{}", entry.bytes());
    }

    #[test]
    fn one_journal_stays_within_its_bytes_and_keeps_its_newest_calls() {
        use coreweave_api::networking::v1beta1::CreateVpcRequest;
        let big = CreateVpcRequest {
            name: "n".repeat(12_000),
            ..CreateVpcRequest::default()
        };
        let entry = || {
            let resource = Resource::None;
            let request = RecordedRequest::of(&big);
            let protocol = Protocol::Connect;
            let ok = outcome(Code::Ok);
            Entry::new(
                SystemTime::now(),
                protocol,
                Method::CreateVpc,
                resource,
                request,
                ok,
            )
        };
        let mut ring = Ring::default();
        let one = entry().bytes();
        let max = one * 10 + one / 2;
        for _ in 0..25 {
            ring.push(entry(), max);
        }
        assert_eq!(ring.entries.len(), 10);
        assert!(ring.bytes <= max);
        let shown = ring.entries[0].to_call(&crate::model::org_for_token("a"));
        assert_eq!(shown.request["name"], "n".repeat(12_000));
        assert!(!shown.request_truncated);
    }

    #[test]
    fn resources_read_back_as_sent() {
        let id = "0b6f6f43-3d6e-4c55-8f9c-0d5e2e2b8a11";
        let simple = id.replace('-', "");
        let braced = format!("{{{id}}}");
        let urn = format!("urn:uuid:{id}");
        let others = [&id.to_uppercase(), &simple, &braced, &urn];
        for text in ["", id, "my-vpc", "not-a-uuid-at-all"]
            .into_iter()
            .chain(others.map(String::as_str))
        {
            let resource = Resource::of(text);
            assert_eq!(resource.to_text(), text);
            assert_eq!(matches!(resource, Resource::Uuid(_)), text == id, "{text}");
        }
    }
}

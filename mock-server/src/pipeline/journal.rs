//! The request journal: what each organization's calls were and how they ended, newest
//! last, in a bounded ring per organization. Tokens and W&B API keys are never recorded: an
//! entry holds only the method, the resource's id or name, the code and the latency.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use coreweave_api::{
    inference::v1alpha1::{
        CreateGatewayRequest, DeleteGatewayRequest, GetGatewayParametersRequest, GetGatewayRequest,
        ListGatewaysRequest, UpdateGatewayRequest,
    },
    networking::v1beta1::{
        CreateVpcRequest, DeleteVpcRequest, GetVpcRequest, ListVpCsRequest, UpdateVpcRequest,
    },
    rpc::Method,
};
use tonic::Code;

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
    /// How it ended.
    pub code: Code,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// The unknown JSON keys its body carried, which were ignored (REST and Connect).
    pub ignored_keys: Vec<String>,
}

/// A call as the journal keeps it: compact, because the ring holds thousands per
/// organization and each new entry lands in memory that has gone cold since it was last
/// written. The organization is the ring's key, not a field; times are nanoseconds.
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
    /// The unknown JSON keys its body carried, which were ignored (REST and Connect).
    ignored_keys: Box<[String]>,
    /// How it ended.
    code: Code,
    /// The RPC.
    method: Method,
    /// The protocol it came in over.
    protocol: Protocol,
}

impl Entry {
    /// A call that started at `time` and ended with `code`; its sequence number is assigned
    /// when it is recorded.
    pub(crate) fn new(
        time: SystemTime,
        protocol: Protocol,
        method: Method,
        resource: Resource,
        code: Code,
        latency_ms: f64,
        ignored_keys: Vec<String>,
    ) -> Self {
        let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self {
            sequence: 0,
            started_ns: u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX),
            latency_ms,
            resource,
            ignored_keys: ignored_keys
                .iter()
                .take(MAX_JOURNAL_KEYS)
                .map(|key| crate::model::quoted(key).into_owned())
                .collect(),
            code,
            method,
            protocol,
        }
    }

    /// The bytes it holds: its slot and its text.
    fn bytes(&self) -> usize {
        let text = match &self.resource {
            Resource::Text(text) => text.len(),
            Resource::None | Resource::Uuid(_) => 0,
        };
        let keys: usize = self
            .ignored_keys
            .iter()
            .map(|key| key.capacity() + 24)
            .sum();
        std::mem::size_of::<Self>() + text + keys
    }

    fn to_call(&self, org: &OrgId) -> Call {
        Call {
            sequence: self.sequence,
            time: UNIX_EPOCH + Duration::from_nanos(self.started_ns),
            org: org.clone(),
            protocol: self.protocol,
            method: self.method,
            resource: self.resource.to_text(),
            code: self.code,
            latency_ms: self.latency_ms,
            ignored_keys: self.ignored_keys.to_vec(),
        }
    }
}

/// The id or name a request is about, for the journal.
pub(crate) trait Subject {
    /// The resource's id, or its name on a create; none for lists.
    fn subject(&self) -> Resource;
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
    fn of(text: &str) -> Self {
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

macro_rules! subject_by {
    ($field:ident: $($request:ty),+) => {
        $(impl Subject for $request {
            fn subject(&self) -> Resource {
                Resource::of(&self.$field)
            }
        })+
    };
}

subject_by!(id: GetVpcRequest, UpdateVpcRequest, DeleteVpcRequest, GetGatewayRequest,
    UpdateGatewayRequest, DeleteGatewayRequest);
subject_by!(name: CreateVpcRequest);

impl Subject for CreateGatewayRequest {
    fn subject(&self) -> Resource {
        if self.id.is_empty() {
            Resource::of(&self.name)
        } else {
            Resource::of(&self.id)
        }
    }
}

macro_rules! no_subject {
    ($($request:ty),+) => {
        $(impl Subject for $request {
            fn subject(&self) -> Resource {
                Resource::None
            }
        })+
    };
}

no_subject!(
    ListVpCsRequest,
    ListGatewaysRequest,
    GetGatewayParametersRequest
);

/// The journal of every organization.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    next: AtomicU64,
    orgs: Mutex<Rings>,
}

/// The most bytes every organization's journal holds together. Past it, the journals of the
/// organizations that called least recently are dropped whole, down to nine tenths of it.
/// One ring holds at most [`JOURNAL_CAPACITY`] entries of at most about 2.5 KB (ids, names
/// and ignored keys are kept cut), so no single organization can reach it.
pub(crate) const JOURNAL_BUDGET_BYTES: usize = 128 * 1024 * 1024;
/// The most ignored keys one journal entry keeps.
pub(crate) const MAX_JOURNAL_KEYS: usize = 8;

/// Every organization's ring, and the bytes they hold together.
#[derive(Debug, Default)]
struct Rings {
    by_org: Map<OrgId, Ring>,
    bytes: usize,
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

/// The newest [`JOURNAL_CAPACITY`] calls of one organization. Once full, each new entry
/// overwrites the oldest in place, so a call touches one slot of memory (a queue that pops
/// the front and pushes the back touches two, far apart), and the slots never outgrow the
/// capacity.
#[derive(Debug, Default)]
struct Ring {
    entries: Vec<Entry>,
    /// The slot of the oldest entry once the ring is full; 0 until then.
    oldest: usize,
    /// The bytes its entries hold, their slots and their text.
    bytes: usize,
    /// The sequence number of its newest entry.
    newest: u64,
}

impl Ring {
    /// Adds `entry`, overwriting the oldest once full; returns the bytes added and freed.
    fn push(&mut self, entry: Entry) -> (usize, usize) {
        let added = entry.bytes();
        self.newest = entry.sequence;
        let freed = self.put(entry);
        self.bytes = self.bytes + added - freed;
        (added, freed)
    }

    /// Stores `entry`; returns the bytes of the entry it overwrote.
    fn put(&mut self, entry: Entry) -> usize {
        if self.entries.len() < JOURNAL_CAPACITY {
            if self.entries.len() == self.entries.capacity() {
                // Doubling, but never past the capacity (`clamp` would panic once the room
                // left is under its minimum).
                let room = JOURNAL_CAPACITY - self.entries.len();
                self.entries
                    .reserve_exact(self.entries.len().max(8).min(room));
            }
            self.entries.push(entry);
            return 0;
        }
        let freed = match self.entries.get_mut(self.oldest) {
            Some(slot) => std::mem::replace(slot, entry).bytes(),
            None => 0,
        };
        self.oldest = (self.oldest + 1) % JOURNAL_CAPACITY;
        freed
    }

    /// The entries, oldest first.
    fn iter(&self) -> impl Iterator<Item = &Entry> {
        let (newer, older) = self.entries.split_at(self.oldest);
        older.iter().chain(newer)
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

impl Journal {
    /// Records a call of `org`; the sequence number is assigned here.
    pub(crate) fn record(&self, org: &OrgId, mut entry: Entry) {
        entry.sequence = self.next.fetch_add(1, Ordering::Relaxed);
        let mut rings = self.lock();
        // Looked up by reference: the organization's id is cloned only into a new ring.
        let (added, freed) = match rings.by_org.get_mut(org) {
            Some(ring) => ring.push(entry),
            None => rings.by_org.entry(org.clone()).or_default().push(entry),
        };
        rings.bytes = rings.bytes + added - freed;
        rings.evict_to(JOURNAL_BUDGET_BYTES);
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
            after.is_none_or(|after| entry.sequence > after)
                && filter.method.is_none_or(|m| m == entry.method)
                && filter.code.is_none_or(|c| c == entry.code)
        };
        let rings: Vec<(&OrgId, &Ring)> = match org {
            Some(org) => rings.by_org.get_key_value(org).into_iter().collect(),
            None => rings.by_org.iter().collect(),
        };
        // Each ring is in sequence order, so the first `limit + 1` of each are enough.
        let wanted = limit.saturating_add(1);
        let mut found: Vec<(&OrgId, &Entry)> = rings
            .into_iter()
            .flat_map(|(org, ring)| ring.iter().filter(keep).take(wanted).map(move |e| (org, e)))
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
            None => *rings = Rings::default(),
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

    fn call(method: Method, code: Code) -> Entry {
        let time = SystemTime::now();
        Entry::new(
            time,
            Protocol::Rest,
            method,
            Resource::None,
            code,
            0.0,
            Vec::new(),
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
        let entry = Entry::new(
            SystemTime::now(),
            Protocol::Rest,
            Method::CreateVpc,
            Resource::of(&"n".repeat(10_000)),
            Code::Ok,
            1.0,
            keys,
        );
        assert_eq!(entry.ignored_keys.len(), MAX_JOURNAL_KEYS);
        assert!(entry.bytes() < 3_000, "{}", entry.bytes());
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

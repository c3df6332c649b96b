//! The in-memory state: one lock per organization, never one global lock on the hot path.
//!
//! The outer map is read-locked only long enough to find (or, once per organization, create)
//! the organization's own state. Calls from different organizations never wait on each other.

use std::{
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock},
    time::{Duration, SystemTime},
};

use coreweave_api::{inference::v1alpha1::GatewaySpec, networking::v1beta1::Vpc};
use uuid::Uuid;

use crate::{
    model::error::ApiError,
    model::lifecycle::{Lifecycle, Observed},
    model::Map,
    model::OrgId,
};

/// A stored resource and its lifecycle.
#[derive(Debug, Clone)]
pub struct Tracked<T> {
    /// The resource as stored, without its computed status.
    pub value: T,
    /// Its timestamps and last change.
    pub lifecycle: Lifecycle,
}

/// The resources of one kind in one organization, keyed by id.
///
/// Every id is a UUID, kept as its 16 bytes: a key that needs no allocation, hashes in a
/// few instructions and compares without following a pointer into a cold string.
///
/// Resources whose delete has settled are purged lazily, on the next access that sees them.
///
/// Every change is remembered, with what the resource was before it, until
/// [`OrgState::take_unsaved`] collects the changes to save them (or to undo them when they
/// cannot be saved).
#[derive(Debug)]
pub struct Collection<T> {
    items: Map<Uuid, Tracked<T>>,
    unsaved: Map<Uuid, Before<T>>,
    /// Whether changes are remembered: only where they are saved (with a state file), so
    /// that a mock without one pays nothing for it.
    remembering: bool,
}

/// What a changed resource was before its first unsaved change.
#[derive(Debug)]
enum Before<T> {
    /// It did not exist: undoing removes it.
    Absent,
    /// It was this: undoing puts it back.
    Was(Tracked<T>),
    /// Its delete had settled and it was purged: nothing to undo.
    Purged,
}

/// A resource id as a request names it: the text, and the key it is stored under when it is
/// a UUID (in either case). Any other id names nothing.
#[derive(Debug, Clone, Copy)]
pub struct RequestedId<'a> {
    text: &'a str,
    key: Option<Uuid>,
}

impl<'a> RequestedId<'a> {
    /// Reads the id a request sent.
    pub fn parse(text: &'a str) -> Self {
        Self {
            text,
            key: Uuid::try_parse(text).ok(),
        }
    }
}

impl fmt::Display for RequestedId<'_> {
    /// A UUID as the server spells it (lowercase, hyphenated); anything else as sent, cut to
    /// [`MAX_QUOTED_CHARS`](super::MAX_QUOTED_CHARS).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Some(key) => key.hyphenated().fmt(f),
            None => f.write_str(&super::quoted(self.text)),
        }
    }
}

impl<T> Default for Collection<T> {
    fn default() -> Self {
        Self {
            items: Map::default(),
            unsaved: Map::default(),
            remembering: false,
        }
    }
}

impl<T: Clone> Collection<T> {
    /// The live resource with this id; a settled delete is purged and reads as absent.
    pub fn get_live(
        &mut self,
        id: Uuid,
        now: SystemTime,
        delay: Duration,
    ) -> Option<&mut Tracked<T>> {
        let gone = self.items.get(&id)?.lifecycle.observe(now, delay) == Observed::Gone;
        if gone {
            self.purge(id);
            return None;
        }
        self.items.get_mut(&id)
    }

    /// The resource with this id as stored, settled deletes included, without changing
    /// anything.
    pub fn stored(&self, id: Uuid) -> Option<&Tracked<T>> {
        self.items.get(&id)
    }

    /// Remembers what resource `id` is now, before a change to it (only before the first
    /// unsaved change: undoing goes back to what was saved).
    fn before_change(&mut self, id: Uuid) {
        if !self.remembering {
            return;
        }
        if let std::collections::hash_map::Entry::Vacant(entry) = self.unsaved.entry(id) {
            entry.insert(match self.items.get(&id) {
                Some(tracked) => Before::Was(tracked.clone()),
                None => Before::Absent,
            });
        }
    }

    fn purge(&mut self, id: Uuid) -> Option<Tracked<T>> {
        let purged = self.items.remove(&id)?;
        if self.remembering {
            self.unsaved.entry(id).or_insert(Before::Purged);
        }
        Some(purged)
    }

    /// Collects the unsaved changes: the ids changed and what each was before.
    fn take_unsaved(&mut self) -> Vec<(Uuid, Before<T>)> {
        self.unsaved.drain().collect()
    }

    /// Puts back what `unsaved` says each changed resource was.
    fn undo(&mut self, unsaved: Vec<(Uuid, Before<T>)>) {
        for (id, before) in unsaved {
            match before {
                Before::Absent => {
                    self.items.remove(&id);
                }
                Before::Was(tracked) => {
                    self.items.insert(id, tracked);
                }
                Before::Purged => {}
            }
        }
    }

    /// A random (version 4) UUID that no resource here has.
    ///
    /// Its bits come from a fast per-thread generator rather than from the operating system:
    /// an id must be unique, which the check here guarantees, not secret, and a create then
    /// makes no system call for it.
    pub fn unused_id(&self) -> Uuid {
        loop {
            let bytes = fastrand::u128(..).to_le_bytes();
            let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
            if !self.items.contains_key(&id) {
                return id;
            }
        }
    }

    /// Adds a resource created at `now` (replacing any under the same id) and returns it.
    pub fn insert(&mut self, id: Uuid, value: T, now: SystemTime) -> &mut Tracked<T> {
        self.before_change(id);
        let tracked = Tracked {
            value,
            lifecycle: Lifecycle::created(now),
        };
        match self.items.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut entry) => {
                entry.insert(tracked);
                entry.into_mut()
            }
            std::collections::hash_map::Entry::Vacant(entry) => entry.insert(tracked),
        }
    }

    /// Purges every settled delete and returns the purged resources.
    pub fn purge_gone(&mut self, now: SystemTime, delay: Duration) -> Vec<T> {
        let gone: Vec<Uuid> = self
            .items
            .iter()
            .filter(|(_, t)| t.lifecycle.observe(now, delay) == Observed::Gone)
            .map(|(id, _)| *id)
            .collect();
        gone.into_iter()
            .filter_map(|id| self.purge(id))
            .map(|t| t.value)
            .collect()
    }

    /// Every stored resource with its id, settled deletes included.
    pub fn entries(&self) -> impl Iterator<Item = (Uuid, &Tracked<T>)> {
        self.items.iter().map(|(id, tracked)| (*id, tracked))
    }

    /// Every stored resource, settled deletes included.
    pub fn all(&self) -> impl Iterator<Item = &Tracked<T>> {
        self.items.values()
    }

    /// Adds a resource with the lifecycle it already has, unless its id is taken; says
    /// whether it was added.
    pub fn restore(&mut self, id: Uuid, tracked: Tracked<T>) -> bool {
        match self.items.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(tracked);
                true
            }
        }
    }

    /// Every resource after purging settled deletes, oldest first: ones created at the same
    /// instant (as under a frozen clock) in id order, so a list reads the same every time.
    pub fn live_oldest_first(&mut self, now: SystemTime, delay: Duration) -> Vec<&Tracked<T>> {
        self.purge_gone(now, delay);
        let mut live: Vec<(&Uuid, &Tracked<T>)> = self.items.iter().collect();
        live.sort_unstable_by_key(|(id, tracked)| (tracked.lifecycle.created_at, **id));
        live.into_iter().map(|(_, tracked)| tracked).collect()
    }

    /// How many resources are stored, including ones being deleted.
    pub fn len(&self) -> usize {
        self.items.len()
    }
}

/// What the paths VPCs and gateways share need to know of a kind of resource.
pub trait Kind {
    /// Its name in messages: `VPC`, `gateway`.
    const NAME: &'static str;
    /// Its full type, for `google.rpc.ResourceInfo`.
    const RESOURCE_TYPE: &'static str;
    /// The collection a precondition's subject names: `vpcs`, `gateways`.
    const PLURAL: &'static str;
}

impl Kind for Vpc {
    const NAME: &'static str = "VPC";
    const RESOURCE_TYPE: &'static str = "coreweave.networking.v1beta1.VPC";
    const PLURAL: &'static str = "vpcs";
}

impl Kind for GatewaySpec {
    const NAME: &'static str = "gateway";
    const RESOURCE_TYPE: &'static str = "coreweave.inference.v1alpha1.Gateway";
    const PLURAL: &'static str = "gateways";
}

/// NOT_FOUND for resource `id` of kind `T`.
pub(crate) fn not_found<T: Kind>(id: RequestedId<'_>) -> ApiError {
    ApiError::NotFound {
        kind: T::NAME,
        resource_type: T::RESOURCE_TYPE,
        id: id.to_string(),
    }
}

impl<T: Kind + Clone> Collection<T> {
    /// The live resource `id`, or NOT_FOUND.
    pub fn get_or_not_found(
        &mut self,
        id: RequestedId<'_>,
        now: SystemTime,
        delay: Duration,
    ) -> Result<&mut Tracked<T>, ApiError> {
        id.key
            .and_then(|key| self.get_live(key, now, delay))
            .ok_or_else(|| not_found::<T>(id))
    }

    /// The live resource `id`, ready to change: NOT_FOUND, or FAILED_PRECONDITION while it
    /// is being deleted.
    pub fn get_for_update(
        &mut self,
        id: RequestedId<'_>,
        now: SystemTime,
        delay: Duration,
    ) -> Result<&mut Tracked<T>, ApiError> {
        if self.observe(id, now, delay)? == Observed::Deleting {
            return Err(ApiError::FailedPrecondition {
                violation_type: "STATE",
                subject: format!("{}/{id}", T::PLURAL),
                description: format!("{} {id} is being deleted and cannot be updated", T::NAME),
            });
        }
        self.changing(id)
    }

    /// Starts deleting resource `id` (or NOT_FOUND). Deleting one that is already being
    /// deleted changes nothing, so a retried delete sees the same answer as the first.
    pub fn start_delete(
        &mut self,
        id: RequestedId<'_>,
        now: SystemTime,
        delay: Duration,
    ) -> Result<&mut Tracked<T>, ApiError> {
        if self.observe(id, now, delay)? == Observed::Deleting {
            return self.get_or_not_found(id, now, delay);
        }
        let tracked = self.changing(id)?;
        tracked.lifecycle.delete(now, delay);
        Ok(tracked)
    }

    /// Where the live resource `id` is in its lifecycle, or NOT_FOUND.
    fn observe(
        &mut self,
        id: RequestedId<'_>,
        now: SystemTime,
        delay: Duration,
    ) -> Result<Observed, ApiError> {
        let tracked = self.get_or_not_found(id, now, delay)?;
        Ok(tracked.lifecycle.observe(now, delay))
    }

    /// The stored resource `id`, remembered as it is for undoing the change about to be made.
    fn changing(&mut self, id: RequestedId<'_>) -> Result<&mut Tracked<T>, ApiError> {
        let key = id.key.ok_or_else(|| not_found::<T>(id))?;
        self.before_change(key);
        self.items.get_mut(&key).ok_or_else(|| not_found::<T>(id))
    }
}

/// Everything one organization owns.
#[derive(Debug, Default)]
pub struct OrgState {
    /// VPCs by id.
    pub vpcs: Collection<Vpc>,
    /// VPC ids by name, for the name-uniqueness rule. May name VPCs already purged; those
    /// entries are dropped when looked up.
    pub vpc_names: Map<String, Uuid>,
    /// Gateway specs by id.
    pub gateways: Collection<GatewaySpec>,
}

/// The changes to one organization's resources not saved yet, with what each resource was
/// before them (see [`Store::change_org`]).
#[derive(Debug, Default)]
pub struct Unsaved {
    vpcs: Vec<(Uuid, Before<Vpc>)>,
    gateways: Vec<(Uuid, Before<GatewaySpec>)>,
}

impl Unsaved {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.vpcs.is_empty() && self.gateways.is_empty()
    }

    /// The ids of the VPCs changed.
    pub fn vpc_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.vpcs.iter().map(|(id, _)| *id)
    }

    /// The ids of the gateways changed.
    pub fn gateway_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.gateways.iter().map(|(id, _)| *id)
    }
}

impl OrgState {
    /// Remembers every change from now on, with what it changed, until
    /// [`take_unsaved`](Self::take_unsaved) collects them.
    pub fn remember_changes(&mut self) {
        self.vpcs.remembering = true;
        self.gateways.remembering = true;
    }

    /// Collects the changes made since the last call, to save them.
    pub fn take_unsaved(&mut self) -> Unsaved {
        Unsaved {
            vpcs: self.vpcs.take_unsaved(),
            gateways: self.gateways.take_unsaved(),
        }
    }

    /// Undoes `unsaved`, which must be the changes made since the last
    /// [`take_unsaved`](Self::take_unsaved): every resource is again what it was, and the
    /// name of a VPC whose create is undone is free again.
    pub fn undo(&mut self, unsaved: Unsaved) {
        for (id, before) in &unsaved.vpcs {
            if matches!(before, Before::Absent) {
                self.vpc_names.retain(|_, named| named != id);
            }
        }
        self.vpcs.undo(unsaved.vpcs);
        self.gateways.undo(unsaved.gateways);
    }

    /// Whether it holds no resource, live or being purged.
    pub fn is_empty(&self) -> bool {
        self.vpcs.len() == 0 && self.gateways.len() == 0
    }

    /// The id of the live VPC named `name`, if there is one. A name whose VPC is gone is
    /// freed.
    pub fn live_vpc_named(&mut self, name: &str, now: SystemTime, delay: Duration) -> Option<Uuid> {
        let id = *self.vpc_names.get(name)?;
        if self.vpcs.get_live(id, now, delay).is_some() {
            return Some(id);
        }
        self.vpc_names.remove(name);
        None
    }
}

/// The whole server's state.
#[derive(Debug, Default)]
pub struct Store {
    orgs: RwLock<Map<OrgId, Arc<Mutex<OrgState>>>>,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks one organization's state, creating it on first use.
    ///
    /// The returned guard must not be held across an `.await`.
    ///
    /// An organization left holding nothing is forgotten, so that callers who only read, or
    /// whose resources are gone, leave no state behind.
    pub fn with_org<R>(&self, org: &OrgId, f: impl FnOnce(&mut OrgState) -> R) -> R {
        let state = self.org_state(org);
        let mut guard: MutexGuard<'_, OrgState> =
            state.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut guard);
        let empty = guard.is_empty();
        drop(guard);
        if empty {
            self.forget_if_empty(org, state);
        }
        result
    }

    /// Runs `change` on `org`'s state and, with the state still locked, hands what it changed
    /// to `save`; when `save` fails, the change is undone and `save`'s error returned, so that
    /// nothing is ever kept in memory that could not be saved. Calls of one organization
    /// save in the order they changed its state.
    ///
    /// A failed `change` saves nothing: what it changed before failing (purges of settled
    /// deletes) is saved with the next change.
    pub fn change_org<R, E>(
        &self,
        org: &OrgId,
        change: impl FnOnce(&mut OrgState) -> Result<R, E>,
        save: impl FnOnce(&OrgState, &Unsaved) -> Result<(), E>,
    ) -> Result<R, E> {
        self.with_org(org, |state| {
            let result = change(state)?;
            let unsaved = state.take_unsaved();
            if unsaved.is_empty() {
                return Ok(result);
            }
            match save(state, &unsaved) {
                Ok(()) => Ok(result),
                Err(error) => {
                    state.undo(unsaved);
                    Err(error)
                }
            }
        })
    }

    /// Removes `org` if it holds nothing and no other call holds its state: with the map
    /// locked for writing, no call can take the state anew, and one that already holds it
    /// keeps it alive (so its change is never made to a forgotten state).
    fn forget_if_empty(&self, org: &OrgId, state: Arc<Mutex<OrgState>>) {
        let mut orgs = self.orgs.write().unwrap_or_else(PoisonError::into_inner);
        let only_ours = Arc::strong_count(&state) == 2;
        let still_empty = state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        if only_ours && still_empty {
            orgs.remove(org);
        }
    }

    /// How many organizations hold state.
    pub fn org_count(&self) -> usize {
        self.orgs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Deletes everything `org` owns (or, for `None`, everything).
    pub fn reset(&self, org: Option<&OrgId>) {
        let mut orgs = self.orgs.write().unwrap_or_else(PoisonError::into_inner);
        match org {
            Some(org) => {
                orgs.remove(org);
            }
            None => orgs.clear(),
        }
    }

    /// Runs `f` on every organization in `org`'s scope (every organization, for `None`),
    /// in the order of their ids.
    pub fn each_org<R>(
        &self,
        org: Option<&OrgId>,
        mut f: impl FnMut(&OrgId, &OrgState) -> R,
    ) -> Vec<R> {
        let orgs: Vec<(OrgId, Arc<Mutex<OrgState>>)> = {
            let orgs = self.orgs.read().unwrap_or_else(PoisonError::into_inner);
            let mut chosen: Vec<_> = orgs
                .iter()
                .filter(|(id, _)| org.is_none_or(|wanted| wanted == *id))
                .map(|(id, state)| (id.clone(), Arc::clone(state)))
                .collect();
            chosen.sort_by(|a, b| a.0.cmp(&b.0));
            chosen
        };
        orgs.iter()
            .map(|(id, state)| {
                let guard = state.lock().unwrap_or_else(PoisonError::into_inner);
                f(id, &guard)
            })
            .collect()
    }

    /// Runs `f` on the lifecycle of the VPC or gateway `id` in `org`'s scope (every
    /// organization, for `None`); `None` when there is no such resource.
    pub(crate) fn with_lifecycle<R>(
        &self,
        org: Option<&OrgId>,
        id: &str,
        mut f: impl FnMut(&OrgId, &mut Lifecycle) -> R,
    ) -> Option<R> {
        self.find_in_scope(org, id, |key, state, id| {
            let tracked = match state.vpcs.items.get_mut(&id) {
                Some(vpc) => &mut vpc.lifecycle,
                None => &mut state.gateways.items.get_mut(&id)?.lifecycle,
            };
            Some(f(key, tracked))
        })
    }

    /// Runs `f` on the lifecycle of the gateway `id` in `org`'s scope (every organization,
    /// for `None`); `None` when there is no such gateway.
    pub(crate) fn with_gateway_lifecycle<R>(
        &self,
        org: Option<&OrgId>,
        id: &str,
        mut f: impl FnMut(&OrgId, &mut Lifecycle) -> R,
    ) -> Option<R> {
        self.find_in_scope(org, id, |key, state, id| {
            let gateway = state.gateways.items.get_mut(&id)?;
            Some(f(key, &mut gateway.lifecycle))
        })
    }

    /// Runs `find` on each organization in scope, one lock at a time, until it finds the
    /// resource `id`; `None` when no organization has it or `id` is not a UUID.
    fn find_in_scope<R>(
        &self,
        org: Option<&OrgId>,
        id: &str,
        mut find: impl FnMut(&OrgId, &mut OrgState, Uuid) -> Option<R>,
    ) -> Option<R> {
        let id = Uuid::try_parse(id).ok()?;
        let orgs: Vec<(OrgId, Arc<Mutex<OrgState>>)> = {
            let orgs = self.orgs.read().unwrap_or_else(PoisonError::into_inner);
            orgs.iter()
                .filter(|(key, _)| org.is_none_or(|wanted| wanted == *key))
                .map(|(key, state)| (key.clone(), Arc::clone(state)))
                .collect()
        };
        orgs.into_iter().find_map(|(key, state)| {
            let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
            find(&key, &mut guard, id)
        })
    }

    /// Replaces the state in `org`'s scope (everything, for `None`) with `orgs`.
    pub fn replace(&self, org: Option<&OrgId>, orgs: Vec<(OrgId, OrgState)>) {
        let mut all = self.orgs.write().unwrap_or_else(PoisonError::into_inner);
        match org {
            Some(org) => {
                all.remove(org);
            }
            None => all.clear(),
        }
        for (id, state) in orgs {
            all.insert(id, Arc::new(Mutex::new(state)));
        }
    }

    fn org_state(&self, org: &OrgId) -> Arc<Mutex<OrgState>> {
        if let Some(state) = self
            .orgs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(org)
        {
            return Arc::clone(state);
        }
        let mut orgs = self.orgs.write().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(orgs.entry(org.clone()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organization_that_holds_nothing_is_forgotten() {
        let store = Store::new();
        for n in 0..100 {
            let org = crate::model::org_for_token(&format!("reader-{n}"));
            store.with_org(&org, |state| state.vpcs.len());
        }
        assert_eq!(store.org_count(), 0, "readers leave nothing behind");
        let owner = crate::model::org_for_token("owner");
        store.with_org(&owner, |state| {
            let id = state.vpcs.unused_id();
            state
                .vpcs
                .insert(id, Vpc::default(), SystemTime::UNIX_EPOCH);
        });
        assert_eq!(store.org_count(), 1);
        // A call still holding the state keeps it, so its change is not lost.
        let held = store.org_state(&crate::model::org_for_token("busy"));
        store.with_org(&crate::model::org_for_token("busy"), |_| ());
        assert_eq!(store.org_count(), 2);
        drop(held);
    }

    #[test]
    fn a_change_that_cannot_be_saved_is_undone_whole() {
        let store = Store::new();
        let org = crate::model::org_for_token("undo");
        let now = SystemTime::UNIX_EPOCH;
        let delay = Duration::from_secs(10);
        let refuse = |_: &OrgState, _: &Unsaved| Err("disk full");
        let save = |_: &OrgState, unsaved: &Unsaved| {
            assert!(!unsaved.is_empty());
            Ok(())
        };
        let named = |name: &str| Vpc {
            name: name.into(),
            ..Vpc::default()
        };
        let create = |name: &'static str| {
            move |state: &mut OrgState| {
                state.remember_changes(); // as the mock does with a state file
                let id = state.vpcs.unused_id();
                state.vpc_names.insert(name.into(), id);
                state.vpcs.insert(id, named(name), now);
                Ok::<_, &str>(id)
            }
        };
        let kept = store.change_org(&org, create("kept"), save).unwrap();
        assert_eq!(
            store.change_org(&org, create("lost"), refuse),
            Err("disk full")
        );
        let update = |state: &mut OrgState| {
            let id = kept.to_string();
            let vpcs = &mut state.vpcs;
            let vpc = vpcs
                .get_for_update(RequestedId::parse(&id), now, delay)
                .map_err(|_| "gone")?;
            vpc.value.zone = "CHANGED".into();
            Ok(())
        };
        assert_eq!(store.change_org(&org, update, refuse), Err("disk full"));
        let delete = |state: &mut OrgState| {
            let id = kept.to_string();
            state
                .vpcs
                .start_delete(RequestedId::parse(&id), now, delay)
                .map(|_| ())
                .map_err(|_| "gone")
        };
        assert_eq!(store.change_org(&org, delete, refuse), Err("disk full"));

        store.with_org(&org, |state| {
            assert_eq!(state.vpcs.len(), 1, "the refused create is gone");
            let vpc = state.vpcs.stored(kept).unwrap();
            assert_eq!(vpc.value.zone, "", "the refused update is undone");
            assert_ne!(vpc.lifecycle.observe(now, delay), Observed::Deleting);
            assert_eq!(state.vpc_names.get("lost"), None, "the name is free again");
            assert_eq!(state.vpc_names.get("kept"), Some(&kept));
            assert!(state.take_unsaved().is_empty(), "nothing is left to save");
        });
    }

    #[test]
    fn new_ids_are_random_uuids_no_resource_has() {
        let mut vpcs = Collection::<Vpc>::default();
        let now = SystemTime::now();
        for _ in 0..1000 {
            let id = vpcs.unused_id();
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(vpcs.get_live(id, now, Duration::ZERO).is_none());
            vpcs.insert(id, Vpc::default(), now);
        }
        assert_eq!(vpcs.len(), 1000);
        let id = vpcs.unused_id();
        assert_eq!(crate::model::uuid_text(id), id.hyphenated().to_string());
    }

    #[test]
    fn live_resources_come_oldest_first_and_ties_in_id_order() {
        let mut gateways = Collection::<GatewaySpec>::default();
        let start = SystemTime::UNIX_EPOCH;
        let later = start + Duration::from_secs(1);
        for (key, name, created_at) in [(1, "a", later), (3, "c", start), (2, "b", start)] {
            let spec = GatewaySpec {
                name: name.into(),
                ..GatewaySpec::default()
            };
            gateways.insert(Uuid::from_u128(key), spec, created_at);
        }
        let names: Vec<&str> = gateways
            .live_oldest_first(later, Duration::ZERO)
            .into_iter()
            .map(|tracked| tracked.value.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["b", "c", "a"],
            "same instant in id order, then the later one"
        );
    }
}

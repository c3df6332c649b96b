//! The journal as the control API pages through it, whichever face a call came through: a
//! [`CallQuery`] is what a caller asks for (both faces convert theirs into one), a
//! [`CallPage`] what the API answers with.

use coreweave_api::rpc::Method;
use tonic::Status;

use super::Scope;
use crate::pipeline::{
    faults::{code_from_name, code_names},
    journal::{Call, CallFilter, JOURNAL_CAPACITY},
    MockState,
};

/// The calls a page holds unless the query asks for another number.
pub(crate) const DEFAULT_PAGE: usize = 1000;
/// The most calls one page holds: one organization's whole journal.
pub(crate) const MAX_PAGE: usize = JOURNAL_CAPACITY;

/// Which calls a caller asks for: `?method=&code=&after=&limit=` over HTTP,
/// `ListCallsRequest` over gRPC.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallQuery {
    /// Only calls of this RPC, by name.
    pub(crate) method: Option<String>,
    /// Only calls that ended with this code, by name.
    pub(crate) code: Option<String>,
    /// Only calls after this sequence number (the `next` of the page before).
    pub(crate) after: Option<u64>,
    /// The most calls to answer with; [`DEFAULT_PAGE`] unless given.
    pub(crate) limit: Option<u64>,
}

/// One page of the journal, oldest call first.
#[derive(Debug)]
pub(crate) struct CallPage {
    /// The calls.
    pub(crate) calls: Vec<Call>,
    /// The `after` that asks for the next page, when there are more calls.
    pub(crate) next: Option<u64>,
}

impl CallQuery {
    /// The filter it asks for, without its paging.
    pub(crate) fn filter(&self) -> Result<CallFilter, Status> {
        let method = self
            .method
            .as_deref()
            .map(str::parse::<Method>)
            .transpose()
            .map_err(|e| Status::invalid_argument(format!("method: {e}")))?;
        let code = self
            .code
            .as_deref()
            .map(|name| {
                code_from_name(name).ok_or_else(|| {
                    Status::invalid_argument(format!(
                        "code: {:?} is not a gRPC code; use one of {}",
                        crate::model::quoted(name),
                        code_names()
                    ))
                })
            })
            .transpose()?;
        Ok(CallFilter { method, code })
    }

    fn limit(&self) -> Result<usize, Status> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(limit) => usize::try_from(limit)
                .ok()
                .filter(|limit| (1..=MAX_PAGE).contains(limit))
                .ok_or_else(|| {
                    Status::invalid_argument(format!("limit: {limit} is not from 1 to {MAX_PAGE}"))
                }),
        }
    }
}

impl MockState {
    /// The page of `scope`'s calls that `query` asks for.
    pub(crate) fn call_page(&self, scope: &Scope, query: &CallQuery) -> Result<CallPage, Status> {
        let filter = query.filter()?;
        let limit = query.limit()?;
        let (calls, more) = self.journal.calls(scope.org(), &filter, query.after, limit);
        let next = more
            .then(|| calls.last().map(|call| call.sequence))
            .flatten();
        Ok(CallPage { calls, next })
    }
}

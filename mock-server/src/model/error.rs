//! The mock's domain errors and their gRPC form, with `google.rpc` details.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// One invalid field of a request, named by its proto field path
/// (for example `host_prefixes[1].ipam.prefix_length`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The proto field path of the bad field.
    pub field: String,
    /// Why the value is not accepted.
    pub description: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Every way a call to the mock can fail, before it is turned into a protocol's error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The request broke one or more validation rules.
    #[error("{}", invalid_argument_message(.0))]
    InvalidArgument(Vec<Violation>),
    /// The resource does not exist in the caller's organization.
    #[error("{kind} {id} not found")]
    NotFound {
        /// Short kind, such as `VPC` or `gateway`.
        kind: &'static str,
        /// Full resource type, such as `coreweave.networking.v1beta1.VPC`.
        resource_type: &'static str,
        /// The id that was asked for.
        id: String,
    },
    /// A resource with the same identity exists already.
    #[error("{description}")]
    AlreadyExists {
        /// Full resource type.
        resource_type: &'static str,
        /// The conflicting name or id.
        resource_name: String,
        /// A readable explanation.
        description: String,
    },
    /// The resource is not in a state that allows the call.
    #[error("{description}")]
    FailedPrecondition {
        /// The precondition's type, such as `STATE`.
        violation_type: &'static str,
        /// What the precondition is about, such as `vpcs/<id>`.
        subject: String,
        /// A readable explanation.
        description: String,
    },
    /// The caller sent no usable credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The change could not be made now; retrying later may succeed.
    #[error("{0}")]
    Unavailable(String),
    /// A size or count limit was exceeded.
    #[error("{description}")]
    ResourceExhausted {
        /// What is limited, such as `vpcs per organization`.
        subject: String,
        /// A readable explanation.
        description: String,
    },
}

/// The short `grpc-message`: the first violation and how many more there are. The full list
/// is in the BadRequest detail.
fn invalid_argument_message(violations: &[Violation]) -> String {
    match violations {
        [] => "invalid request".to_owned(),
        [only] => format!("invalid request: {only}"),
        [first, rest @ ..] => format!(
            "invalid request: {first} (and {} more; see the BadRequest details)",
            rest.len()
        ),
    }
}

impl ApiError {
    /// An INVALID_ARGUMENT for a single field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![Violation {
            field: field.into(),
            description: description.into(),
        }])
    }

    /// The gRPC code this error is reported with.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists { .. } => Code::AlreadyExists,
            Self::FailedPrecondition { .. } => Code::FailedPrecondition,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::ResourceExhausted { .. } => Code::ResourceExhausted,
            Self::Unavailable(_) => Code::Unavailable,
        }
    }

    fn details(&self) -> ErrorDetails {
        match self {
            Self::InvalidArgument(violations) => ErrorDetails::with_bad_request(
                violations
                    .iter()
                    .map(|v| FieldViolation::new(&v.field, &v.description))
                    .collect::<Vec<_>>(),
            ),
            Self::NotFound {
                resource_type, id, ..
            } => ErrorDetails::with_resource_info(*resource_type, id, "", "not found"),
            Self::AlreadyExists {
                resource_type,
                resource_name,
                description,
            } => ErrorDetails::with_resource_info(*resource_type, resource_name, "", description),
            Self::FailedPrecondition {
                violation_type,
                subject,
                description,
            } => ErrorDetails::with_precondition_failure_violation(
                *violation_type,
                subject,
                description,
            ),
            Self::Unauthenticated(_) => ErrorDetails::new(),
            // The state file is retried every second.
            Self::Unavailable(_) => {
                ErrorDetails::with_retry_info(Some(std::time::Duration::from_secs(1)))
            }
            Self::ResourceExhausted {
                subject,
                description,
            } => ErrorDetails::with_quota_failure_violation(subject, description),
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        Status::with_error_details(error.code(), error.to_string(), error.details())
    }
}

/// The most violations one error lists; the rest are counted in a last entry. With
/// descriptions cut to [`MAX_DESCRIPTION_CHARS`] and to [`DESCRIPTIONS_BUDGET`] together, the
/// whole error stays under 5 KB of trailers, which every gRPC client accepts (grpcio's soft
/// limit is 8 KB).
pub(crate) const MAX_LISTED_VIOLATIONS: usize = 16;
/// The longest violation description, in characters: long enough for the longest the mock
/// writes whole (an unknown zone's, which names every zone and where to find them), while the
/// caller's values it quotes are cut to 100 characters already.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 300;
/// The bytes the descriptions of one error may take together; once it is spent, each further
/// description is cut to [`MIN_DESCRIPTION_CHARS`].
pub(crate) const DESCRIPTIONS_BUDGET: usize = 2048;
/// What a description keeps however much of the budget is spent.
const MIN_DESCRIPTION_CHARS: usize = 60;

/// Collects the violations of one request so that all of them are reported together, up to
/// [`MAX_LISTED_VIOLATIONS`].
#[derive(Debug)]
pub(crate) struct Violations {
    listed: Vec<Violation>,
    unlisted: usize,
    /// The description bytes still to spend.
    budget: usize,
}

impl Default for Violations {
    fn default() -> Self {
        Self {
            listed: Vec::new(),
            unlisted: 0,
            budget: DESCRIPTIONS_BUDGET,
        }
    }
}

impl Violations {
    /// No violations yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records that `field` is invalid because of `description`.
    pub(crate) fn add(&mut self, field: impl std::fmt::Display, description: impl Into<String>) {
        if self.listed.len() >= MAX_LISTED_VIOLATIONS {
            self.unlisted += 1;
            return;
        }
        let description: String = description.into();
        let limit = MAX_DESCRIPTION_CHARS.min(self.budget.max(MIN_DESCRIPTION_CHARS));
        let description = match description.char_indices().nth(limit) {
            Some((cut, _)) => format!("{}...", &description[..cut]),
            None => description,
        };
        self.budget = self.budget.saturating_sub(description.len());
        self.listed.push(Violation {
            field: field.to_string(),
            description,
        });
    }

    /// `Ok(value)` when nothing was recorded, else INVALID_ARGUMENT with the violations (and
    /// a last entry, with an empty field, counting those not listed).
    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, ApiError> {
        if self.listed.is_empty() {
            return Ok(value);
        }
        if self.unlisted > 0 {
            self.listed.push(Violation {
                field: String::new(),
                description: format!("{} more violations are not listed", self.unlisted),
            });
        }
        Err(ApiError::InvalidArgument(self.listed))
    }
}

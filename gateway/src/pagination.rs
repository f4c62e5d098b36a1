//! Paging: the query parameters `skip` (≥ 0), `limit` (1..=100, default 20), `order_by`
//! (`field` or `-field` for descending) and `page_token` (cursor paging) become a
//! `common.v1.PageRequest`; the service's `PageInfo` becomes the
//! `{"items", "total", "skip", "limit", "next_page_token"}` envelope. The token is checked by
//! the service alone (it holds the key and knows the filters it is bound to).
//!
//! The bounds are the services' own rules (`operant_platform::paging`), checked here too because
//! REST can say what the proto cannot: an explicit `limit=0` is a 422 here, while 0 on the wire
//! means "the default". Checking them here also keeps a bad page a 422 naming the parameter
//! before any call (what the gateway's tests pin). Which `order_by` fields exist is the service's
//! business alone (it answers 422 naming `order_by`).

use operant_platform::error::{ErrorCode, FieldViolation};
use operant_platform::paging::{DEFAULT_LIMIT, MAX_TOKEN_CHARS, check_limit, check_skip, is_token_shaped};
use operant_proto::common::v1::{PageInfo, PageRequest};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::{HttpError, HttpResult};
use crate::extract::QueryParams;

/// Paging and sorting parameters of every list.
#[derive(Debug, Clone, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows to skip (≥ 0, default 0).
    #[param(minimum = 0)]
    pub skip: Option<i32>,
    /// Page size (1..=100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i32>,
    /// Sort field; `-field` sorts descending, e.g. `-created_at`.
    pub order_by: Option<String>,
    /// Cursor paging: the `next_page_token` of the previous page, sent with the same filters
    /// and `order_by` (otherwise 400 `INVALID_PAGE_TOKEN`); `skip` must then be 0. Rows added or
    /// removed between two reads never make a page repeat or skip a row, and a deep page costs
    /// what the first does. Opaque: never build or change one.
    pub page_token: Option<String>,
}

impl PageParams {
    pub fn from_query(query: &QueryParams) -> HttpResult<Self> {
        let invalid = |v: FieldViolation| HttpError::validation(v.field, v.description);
        let skip = query.int("skip")?;
        if let Some(skip) = skip {
            check_skip(i64::from(skip)).map_err(invalid)?;
        }
        let limit = query.int("limit")?;
        check_limit(limit.map(i64::from)).map_err(invalid)?;
        // The token exactly as sent (not trimmed): what the document's pattern says, or 400
        // INVALID_PAGE_TOKEN, like a token of the right shape that this list never issued.
        let page_token = query.untrimmed("page_token").filter(|t| !t.is_empty());
        if page_token.is_some_and(|t| !is_token_shaped(t)) {
            return Err(HttpError::new(
                ErrorCode::InvalidPageToken,
                format!(
                    "page_token must be a next_page_token: up to {MAX_TOKEN_CHARS} characters of A-Z a-z 0-9 - _"
                ),
            ));
        }
        Ok(Self {
            skip,
            limit,
            order_by: query.string("order_by"),
            page_token: page_token.map(str::to_owned),
        })
    }

    pub fn to_proto(&self) -> PageRequest {
        PageRequest {
            skip: self.skip.unwrap_or(0),
            // DEFAULT_LIMIT (20) fits any integer type.
            limit: self.limit.unwrap_or(DEFAULT_LIMIT as i32),
            order_by: self.order_by.clone().unwrap_or_default(),
            page_token: self.page_token.clone().unwrap_or_default(),
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Rows matching the filters, over all pages.
    pub total: i64,
    /// The skip that was applied.
    pub skip: i32,
    /// The limit that was applied.
    pub limit: i32,
    /// `page_token` of the next page (the rows after the last one of this page, in this order
    /// with these filters); `null` on the last page.
    #[schema(nullable)]
    pub next_page_token: Option<String>,
}

impl<T: ToSchema> Page<T> {
    /// Builds the envelope from the service's rows and `PageInfo` (falling back to the request).
    pub fn new<P>(rows: Vec<P>, info: Option<PageInfo>, request: &PageRequest) -> Self
    where
        T: From<P>,
    {
        let items: Vec<T> = rows.into_iter().map(T::from).collect();
        let info = info.unwrap_or(PageInfo {
            total: items.len() as i64,
            skip: request.skip,
            limit: request.limit,
            next_page_token: String::new(),
        });
        let next_page_token = Some(info.next_page_token).filter(|t| !t.is_empty());
        Self { items, total: info.total, skip: info.skip, limit: info.limit, next_page_token }
    }
}

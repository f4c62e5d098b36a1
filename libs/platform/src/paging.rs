//! Offset paging and typed sorting of every list RPC (`operant.common.v1.PageRequest`), and the
//! page bounds the gateway checks on its `skip`/`limit` query parameters: one set of rules, one
//! wording of each violation.
//!
//! - `skip >= 0`; `limit` in 1..=[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when unset (0 on the wire);
//! - `order_by` is `field`, `+field` or `-field` (descending), `field` taken from the list's
//!   [`SortField`] allow-list, so user input never reaches SQL as text. Whoever orders the rows
//!   adds the id as the last key in the same direction, so equal sort values still give a total
//!   order and pages never repeat or skip rows.
//!
//! Violations name the REST query parameters (`skip`, `limit`, `order_by`), which are also the
//! proto field names. [`Page`] is a plain value so that a later cursor (`page_token`) can be
//! added as one more field without touching the lists.

use operant_proto::common::v1::{PageInfo, PageRequest};

use crate::error::{ApiError, FieldViolation};

/// Page size when the request does not give one.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// The sort fields of one list, usually a small enum.
pub trait SortField: Copy + Eq + std::fmt::Debug + 'static {
    /// The accepted `order_by` names and their fields.
    const FIELDS: &'static [(&'static str, Self)];
    /// The list's order when `order_by` is empty.
    const DEFAULT: Sort<Self>;
}

/// A sort field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page<F> {
    pub skip: i64,
    pub limit: i64,
    pub sort: Sort<F>,
}

/// One page of rows and the number of matching rows over all pages.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// `skip`, or the violation naming it.
pub fn check_skip(skip: i64) -> Result<i64, FieldViolation> {
    if skip < 0 { Err(FieldViolation::new("skip", "must be at least 0")) } else { Ok(skip) }
}

/// `limit` ([`DEFAULT_LIMIT`] when `None`), or the violation naming it.
pub fn check_limit(limit: Option<i64>) -> Result<i64, FieldViolation> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(FieldViolation::new("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

impl<F: SortField> Page<F> {
    /// Validates a `PageRequest` (absent = every default); 422 `VALIDATION_ERROR` naming each bad
    /// field. Nothing here needs the network, so callers parse before they call anyone.
    pub fn parse(request: Option<&PageRequest>) -> Result<Self, ApiError> {
        let empty = PageRequest::default();
        let request = request.unwrap_or(&empty);
        let skip = check_skip(i64::from(request.skip));
        // 0 is proto's "unset".
        let limit = check_limit(Some(i64::from(request.limit)).filter(|l| *l != 0));
        let sort = parse_sort::<F>(&request.order_by).ok_or_else(|| {
            let allowed: Vec<&str> = F::FIELDS.iter().map(|(name, _)| *name).collect();
            FieldViolation::new(
                "order_by",
                format!("must be one of {} (prefix `-` for descending)", allowed.join(", ")),
            )
        });
        match (skip, limit, sort) {
            (Ok(skip), Ok(limit), Ok(sort)) => Ok(Page { skip, limit, sort }),
            (skip, limit, sort) => {
                let violations = [skip.err(), limit.err(), sort.err()].into_iter().flatten().collect();
                Err(ApiError::validation(violations))
            }
        }
    }

    /// The `PageInfo` of this page for `total` matching rows.
    pub fn info(&self, total: i64) -> PageInfo {
        PageInfo {
            total,
            skip: i32::try_from(self.skip).unwrap_or(i32::MAX),
            limit: i32::try_from(self.limit).unwrap_or(i32::MAX),
        }
    }

    /// The part of `items` (already in page order) that this page covers.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(0);
        items.into_iter().skip(skip).take(limit).collect()
    }
}

fn parse_sort<F: SortField>(order_by: &str) -> Option<Sort<F>> {
    let order_by = order_by.trim();
    if order_by.is_empty() {
        return Some(F::DEFAULT);
    }
    let (descending, name) = match order_by.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, order_by.strip_prefix('+').unwrap_or(order_by)),
    };
    F::FIELDS.iter().find(|(n, _)| *n == name).map(|(_, field)| Sort { field: *field, descending })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum F {
        A,
        B,
    }

    impl SortField for F {
        const FIELDS: &'static [(&'static str, Self)] = &[("a", F::A), ("b", F::B)];
        const DEFAULT: Sort<Self> = Sort { field: F::A, descending: true };
    }

    fn parse(skip: i32, limit: i32, order_by: &str) -> Result<Page<F>, ApiError> {
        Page::parse(Some(&PageRequest { skip, limit, order_by: order_by.into() }))
    }

    fn fields(e: ApiError) -> Vec<String> {
        assert_eq!(e.error_code, crate::error::ErrorCode::ValidationError);
        e.violations.into_iter().map(|v| v.field).collect()
    }

    #[test]
    fn parses_pages() {
        let p = Page::<F>::parse(None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((p.skip, p.limit, p.sort), (0, DEFAULT_LIMIT, F::DEFAULT));
        let p = parse(5, 100, "b").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((p.skip, p.limit, p.sort), (5, 100, Sort { field: F::B, descending: false }));
        assert_eq!(parse(0, 1, "-b").map(|p| p.sort).ok(), Some(Sort { field: F::B, descending: true }));
        assert_eq!(parse(0, 1, "+b").map(|p| p.sort).ok(), Some(Sort { field: F::B, descending: false }));
    }

    #[test]
    fn bad_values_name_their_fields() {
        assert_eq!(fields(parse(-1, 20, "").expect_err("negative skip")), ["skip"]);
        assert_eq!(fields(parse(0, 101, "").expect_err("limit too big")), ["limit"]);
        assert_eq!(fields(parse(0, -3, "").expect_err("negative limit")), ["limit"]);
        assert_eq!(fields(parse(0, 10, "c").expect_err("unknown field")), ["order_by"]);
        assert_eq!(fields(parse(0, 10, "--a").expect_err("double sign")), ["order_by"]);
        assert_eq!(fields(parse(-1, 500, "x").expect_err("all bad")), ["skip", "limit", "order_by"]);
    }

    #[test]
    fn bounds_for_the_gateway() {
        assert_eq!(check_limit(None), Ok(DEFAULT_LIMIT));
        assert!(check_limit(Some(0)).is_err(), "an explicit 0 is not a page size");
        assert!(check_skip(-1).is_err());
    }

    #[test]
    fn slices_and_reports() {
        let page = parse(2, 2, "").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.slice(vec![1, 2, 3, 4, 5]), vec![3, 4]);
        assert_eq!(page.info(5), PageInfo { total: 5, skip: 2, limit: 2 });
    }
}

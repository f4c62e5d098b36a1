//! Parsing of `operant.common.v1.PageRequest`, shared by every list RPC of the service, so that
//! skip/limit bounds, the default page size and the `order_by` allow-lists behave the same
//! everywhere (and mirror the gateway's `skip`, `limit` and `order_by` query parameters, which is
//! why violations name those fields).

use operant_platform::error::FieldViolation;
use operant_proto::common::v1::{PageInfo, PageRequest};

use crate::error::TenancyError;

/// Page size when the request leaves `limit` at 0.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// A validated page: offset, size and one allow-listed sort field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: i64,
    pub limit: i64,
    /// One of the RPC's allowed fields.
    pub field: &'static str,
    pub descending: bool,
}

impl Page {
    /// Validates `request` against the RPC's sortable `fields`; `default` (for example
    /// `-created_at`) applies when `order_by` is empty and must itself be allowed.
    pub fn parse(
        request: Option<&PageRequest>,
        fields: &[&'static str],
        default: &'static str,
    ) -> Result<Page, TenancyError> {
        let empty = PageRequest::default();
        let request = request.unwrap_or(&empty);
        let mut violations = Vec::new();
        if request.skip < 0 {
            violations.push(FieldViolation::new("skip", "must be 0 or more"));
        }
        let limit = match request.limit {
            0 => DEFAULT_LIMIT,
            n if (1..=MAX_LIMIT).contains(&i64::from(n)) => i64::from(n),
            _ => {
                violations.push(FieldViolation::new("limit", format!("must be between 1 and {MAX_LIMIT}")));
                DEFAULT_LIMIT
            }
        };
        let order_by = request.order_by.trim();
        let order_by = if order_by.is_empty() { default } else { order_by };
        let (descending, name) = match order_by.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, order_by),
        };
        let field = fields.iter().copied().find(|f| *f == name);
        if field.is_none() {
            violations.push(FieldViolation::new(
                "order_by",
                format!("must be one of {} (prefix `-` for descending)", fields.join(", ")),
            ));
        }
        match field {
            Some(field) if violations.is_empty() => {
                Ok(Page { skip: i64::from(request.skip), limit, field, descending })
            }
            _ => Err(TenancyError::Validation(violations)),
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

    /// The slice of `items` (already sorted) that this page covers.
    pub fn slice<T>(&self, items: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.skip).unwrap_or(usize::MAX);
        let limit = usize::try_from(self.limit).unwrap_or(0);
        items.into_iter().skip(skip).take(limit).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(skip: i32, limit: i32, order_by: &str) -> Result<Page, TenancyError> {
        let request = PageRequest { skip, limit, order_by: order_by.into() };
        Page::parse(Some(&request), &["name", "created_at"], "-created_at")
    }

    fn fields(e: TenancyError) -> Vec<String> {
        match e {
            TenancyError::Validation(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply() {
        let page = Page::parse(None, &["name", "created_at"], "-created_at").expect("default page");
        assert_eq!(page, Page { skip: 0, limit: 20, field: "created_at", descending: true });
        let page = parse(5, 100, "name").expect("explicit page");
        assert_eq!(page, Page { skip: 5, limit: 100, field: "name", descending: false });
    }

    #[test]
    fn bad_values_name_their_fields() {
        assert_eq!(fields(parse(-1, 0, "").expect_err("negative skip")), ["skip"]);
        assert_eq!(fields(parse(0, 101, "").expect_err("limit too big")), ["limit"]);
        assert_eq!(fields(parse(0, -3, "").expect_err("negative limit")), ["limit"]);
        assert_eq!(fields(parse(0, 0, "-password").expect_err("unknown field")), ["order_by"]);
        assert_eq!(fields(parse(-1, 500, "x").expect_err("all bad")), ["skip", "limit", "order_by"]);
    }

    #[test]
    fn slices() {
        let page = parse(2, 2, "").expect("page");
        assert_eq!(page.slice(vec![1, 2, 3, 4, 5]), vec![3, 4]);
        assert_eq!(page.info(5), PageInfo { total: 5, skip: 2, limit: 2 });
    }
}

//! Offset paging and sorting of the list RPCs: `skip >= 0`, `limit` in 1..=100 (0 = 20) and an
//! `order_by` taken from a per-list allow-list, with `-` for descending.
//!
//! Only allow-listed fields become [`Sort`] values, so user input never reaches SQL as text;
//! the repositories turn a [`Sort`] into diesel `ORDER BY` clauses and always add the id as the
//! last key in the same direction, so equal sort values still give a total order and pages never
//! repeat or skip rows.

use operant_platform::error::FieldViolation;

use crate::error::WorkError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;

/// A field a list can be sorted by.
pub trait SortField: Copy + 'static {
    /// The accepted names and their fields.
    const FIELDS: &'static [(&'static str, Self)];
    /// The list's default when `order_by` is empty.
    const DEFAULT: Sort<Self>;
}

/// A sort field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

/// A validated page request.
#[derive(Debug, Clone, Copy)]
pub struct Page<F> {
    pub skip: i64,
    pub limit: i64,
    pub sort: Sort<F>,
}

/// One page of rows and the number of rows over all pages.
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
}

impl<F: SortField> Page<F> {
    /// Validates `skip`, `limit` and `order_by`; violations name those fields.
    pub fn parse(skip: i32, limit: i32, order_by: &str) -> Result<Self, WorkError> {
        let mut violations = Vec::new();
        if skip < 0 {
            violations.push(FieldViolation::new("skip", "must be 0 or more"));
        }
        let limit = match i64::from(limit) {
            0 => DEFAULT_LIMIT,
            l if (1..=MAX_LIMIT).contains(&l) => l,
            _ => {
                violations.push(FieldViolation::new("limit", format!("must be between 1 and {MAX_LIMIT}")));
                DEFAULT_LIMIT
            }
        };
        let sort = match parse_sort::<F>(order_by) {
            Some(sort) => sort,
            None => {
                let allowed: Vec<&str> = F::FIELDS.iter().map(|(name, _)| *name).collect();
                violations.push(FieldViolation::new(
                    "order_by",
                    format!("must be one of {} (prefix `-` for descending)", allowed.join(", ")),
                ));
                F::DEFAULT
            }
        };
        if violations.is_empty() {
            Ok(Page { skip: i64::from(skip), limit, sort })
        } else {
            Err(WorkError::Validation(violations))
        }
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

/// Escapes `\`, `%` and `_` so `q` matches literally inside an `ILIKE '%q%'` pattern.
pub fn contains_pattern(q: &str) -> String {
    let mut pattern = String::with_capacity(q.len() + 2);
    pattern.push('%');
    for c in q.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
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

    fn fields(e: WorkError) -> Vec<String> {
        match e {
            WorkError::Validation(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parses_pages() {
        let p = Page::<F>::parse(0, 0, "").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((p.skip, p.limit, p.sort), (0, 20, F::DEFAULT));
        let p = Page::<F>::parse(5, 100, "b").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((p.skip, p.limit, p.sort), (5, 100, Sort { field: F::B, descending: false }));
        let p = Page::<F>::parse(0, 1, "-b").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.sort, Sort { field: F::B, descending: true });
    }

    #[test]
    fn rejects_bad_pages() {
        assert_eq!(fields(Page::<F>::parse(-1, 20, "").expect_err("invalid")), ["skip"]);
        assert_eq!(fields(Page::<F>::parse(0, 101, "").expect_err("invalid")), ["limit"]);
        assert_eq!(fields(Page::<F>::parse(0, -3, "").expect_err("invalid")), ["limit"]);
        assert_eq!(fields(Page::<F>::parse(0, 10, "c").expect_err("invalid")), ["order_by"]);
        assert_eq!(fields(Page::<F>::parse(0, 10, "--a").expect_err("invalid")), ["order_by"]);
    }

    #[test]
    fn escapes_like_patterns() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

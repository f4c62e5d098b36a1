//! Repositories: the diesel-async queries of the work service, one module per table.
//!
//! Every tenant-scoped function takes the organization id first and filters by it, so a row of
//! another organization is invisible here, exactly like a missing one. Queries are built with
//! diesel's typed DSL (boxed where filters are optional); no user input is ever spliced into SQL
//! text.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Text;

pub mod projects;
pub mod tasks;

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

/// `EXPLAIN (FORMAT TEXT)` of a query, loadable as the plan's lines (`Vec<String>`); used to
/// prove that the list queries the repositories build use indexes.
#[derive(Debug)]
pub struct Explain<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (FORMAT TEXT) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_patterns() {
        assert_eq!(super::contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

//! Repositories: the diesel-async queries of the work service, one module per table.
//!
//! Every tenant-scoped function takes the organization id first and filters by it, so a row of
//! another organization is invisible here, exactly like a missing one. Queries are built with
//! diesel's typed DSL (boxed where filters are optional); no user input is ever spliced into SQL
//! text.
//!
//! `projects` and `tasks` have the same shape (tenant-scoped, versioned rows, filtered lists), so
//! their common queries are written once, in [`tenant_rows!`], and instantiated per table.

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

/// `ORDER BY column, id`, both in the page's direction: the id breaks ties, so the order is total
/// and pages never repeat or skip rows.
macro_rules! sorted {
    ($query:expr, $column:expr, $id:expr, $descending:expr) => {
        if $descending {
            $query.order_by($column.desc()).then_order_by($id.desc())
        } else {
            $query.order_by($column.asc()).then_order_by($id.asc())
        }
    };
}
pub(crate) use sorted;

/// The queries every tenant-scoped, versioned table of the service has: `find`,
/// `find_for_update`, the versioned `apply` of a changeset, `delete`, `delete_all`, and `list`
/// (count and page pipelined). The module must define `Changeset`, `filtered` and `list_query`.
macro_rules! tenant_rows {
    ($table:ident, $row:ty, $filter:ty, $sort:ty) => {
        /// The row, if it exists in the organization; `lock` holds it until the end of the
        /// transaction.
        async fn find_row(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            id: Uuid,
            lock: bool,
        ) -> QueryResult<Option<$row>> {
            let query = $table::table
                .filter($table::organization_id.eq(organization_id))
                .filter($table::id.eq(id))
                .select(<$row>::as_select());
            if lock { query.for_update().first(conn).await } else { query.first(conn).await }.optional()
        }

        /// The row, if it exists in the organization.
        pub async fn find(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            id: Uuid,
        ) -> QueryResult<Option<$row>> {
            find_row(conn, organization_id, id, false).await
        }

        /// [`find`], locking the row until the end of the transaction.
        pub async fn find_for_update(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            id: Uuid,
        ) -> QueryResult<Option<$row>> {
            find_row(conn, organization_id, id, true).await
        }

        /// Applies `changeset` if the row is at `version`; bumps the version. `None` when no row
        /// matched (another organization's, missing, or at another version): nothing changed.
        async fn apply(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            id: Uuid,
            version: i64,
            changeset: Changeset<'_>,
        ) -> QueryResult<Option<$row>> {
            diesel::update(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::organization_id.eq(organization_id))
                    .filter($table::version.eq(version)),
            )
            .set((changeset, $table::version.eq($table::version + 1), $table::updated_at.eq(now)))
            .returning(<$row>::as_returning())
            .get_result(conn)
            .await
            .optional()
        }

        /// Deletes the row if it is at `version`; rows deleted.
        pub async fn delete(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            id: Uuid,
            version: i64,
        ) -> QueryResult<usize> {
            diesel::delete(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::organization_id.eq(organization_id))
                    .filter($table::version.eq(version)),
            )
            .execute(conn)
            .await
        }

        /// Deletes every row of the organization; rows deleted.
        pub async fn delete_all(conn: &mut AsyncPgConnection, organization_id: Uuid) -> QueryResult<usize> {
            diesel::delete($table::table.filter($table::organization_id.eq(organization_id)))
                .execute(conn)
                .await
        }

        /// One page of the organization's rows matching `filter` and the total over all pages.
        pub async fn list(
            conn: &mut AsyncPgConnection,
            organization_id: Uuid,
            filter: &$filter,
            page: &Page<$sort>,
        ) -> QueryResult<Paged<$row>> {
            // The count and the page are sent together (pipelined on the one connection: one
            // round trip) and both stay prepared statements. A window count (`count(*) OVER ()`)
            // would save the second statement but makes PostgreSQL materialise every matching
            // row before LIMIT: measured slower on a 200-task list (BENCHMARKS.md).
            // `fetch` is one row more than the page: whether a next page exists.
            let shared: &AsyncPgConnection = conn;
            let count = filtered(organization_id, filter).count().get_result::<i64>(&mut &*shared);
            let items = list_query(organization_id, filter, page).load::<$row>(&mut &*shared);
            let (total, items) = tokio::try_join!(count, items)?;
            Ok(page.paged(items, total, cursor))
        }
    };
}
pub(crate) use tenant_rows;

/// `EXPLAIN (FORMAT TEXT)` of a query, loadable as the plan's lines (`Vec<String>`); used to
/// prove that the list queries the repositories build use indexes.
#[derive(Debug)]
pub struct Explain<Q>(pub Q);

/// `EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)`: the query is run, and the plan carries the real
/// rows, times and buffers of each node (BENCHMARKS.md records them).
#[derive(Debug)]
pub struct ExplainAnalyze<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (FORMAT TEXT) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for ExplainAnalyze<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> QueryId for ExplainAnalyze<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

impl<Q> Query for ExplainAnalyze<Q> {
    type SqlType = Text;
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_patterns() {
        assert_eq!(super::contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}

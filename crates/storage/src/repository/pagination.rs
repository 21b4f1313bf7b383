//! Cursor pagination over ULID primary keys, for the admin API's lists
//! (MAS's `page[first]`/`page[after]`, `page[last]`/`page[before]`): a
//! page is the rows after and/or before a cursor, in id order, at most
//! `limit`, and whether more rows lie beyond it. Filters are a list of SQL
//! conditions with their values, built by each table's accessor
//! ([`Conditions`]), so a request's filters never reach the SQL text.

use ulid::Ulid;
use uuid::Uuid;

use super::{on_conn, Row, Table, Tx, TxRef};
use crate::{
    types::{to_uuid, Timestamp},
    StorageError,
};

/// Which rows of a list, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// Only ids greater than this.
    pub after: Option<Ulid>,
    /// Only ids smaller than this.
    pub before: Option<Ulid>,
    /// How many at most.
    pub limit: usize,
    /// The last `limit` rows (`page[last]`) rather than the first.
    pub from_end: bool,
}

/// One page of rows, in id order, and whether rows lie beyond it (after
/// the last one when paging forwards, before the first when backwards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_more: self.has_more,
        }
    }
}

/// A value bound into a filter.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Id(Uuid),
    Text(String),
    Bool(bool),
    Time(Timestamp),
}

/// The `WHERE` conditions of a list: SQL fragments whose `?` stands for
/// the next value of `binds`, numbered when the statement is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    parts: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    /// A condition with no value (`u.locked_at IS NULL`).
    pub fn add(&mut self, sql: &str) {
        self.parts.push(sql.to_owned());
    }

    /// A condition with one value for its `?`.
    pub fn add_bind(&mut self, sql: &str, value: Bind) {
        self.parts.push(sql.to_owned());
        self.binds.push(value);
    }

    /// The text after `WHERE`, placeholders numbered from `$1`, and the
    /// next free number.
    fn render(&self) -> (String, usize) {
        let mut n = 0;
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|part| {
                let mut out = String::new();
                for c in part.chars() {
                    if c == '?' {
                        n += 1;
                        out.push_str(&format!("${n}"));
                    } else {
                        out.push(c);
                    }
                }
                out
            })
            .collect();
        let text = if parts.is_empty() {
            "TRUE".to_owned()
        } else {
            parts.join(" AND ")
        };
        (text, n + 1)
    }
}

/// Which sessions (browser, OAuth, compat) a list shows; every field
/// narrows it. `client` applies to OAuth sessions, `browser_session` to
/// OAuth and compat sessions.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    pub user: Option<Ulid>,
    /// Not finished (or finished).
    pub active: Option<bool>,
    pub client: Option<Ulid>,
    pub browser_session: Option<Ulid>,
}

impl SessionFilter {
    /// The conditions on a session table aliased `alias` (`s.`, or empty).
    pub(crate) fn conditions(&self, prefix: &str) -> Conditions {
        let mut c = Conditions::default();
        if let Some(user) = self.user {
            c.add_bind(&format!("{prefix}user_id = ?"), Bind::Id(to_uuid(user)));
        }
        match self.active {
            Some(true) => c.add(&format!("{prefix}finished_at IS NULL")),
            Some(false) => c.add(&format!("{prefix}finished_at IS NOT NULL")),
            None => {}
        }
        if let Some(client) = self.client {
            c.add_bind(
                &format!("{prefix}oauth2_client_id = ?"),
                Bind::Id(to_uuid(client)),
            );
        }
        if let Some(session) = self.browser_session {
            c.add_bind(
                &format!("{prefix}user_session_id = ?"),
                Bind::Id(to_uuid(session)),
            );
        }
        c
    }
}

/// Binds `$binds` to the query `$q`, in order.
macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for bind in $binds {
            q = match bind {
                Bind::Id(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Bool(v) => q.bind(*v),
                Bind::Time(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// One page of `table`'s rows matching `conditions`, by its id column.
pub(crate) async fn page<R: Row>(
    tx: &mut Tx,
    table: &Table,
    id_column: &str,
    conditions: &Conditions,
    pagination: Pagination,
) -> Result<Page<R>, StorageError> {
    let (mut text, mut next) = conditions.render();
    let mut binds = conditions.binds.clone();
    let id = if table.alias.is_empty() {
        id_column.to_owned()
    } else {
        format!("{}.{id_column}", table.alias)
    };
    if let Some(after) = pagination.after {
        text.push_str(&format!(" AND {id} > ${next}"));
        binds.push(Bind::Id(to_uuid(after)));
        next += 1;
    }
    if let Some(before) = pagination.before {
        text.push_str(&format!(" AND {id} < ${next}"));
        binds.push(Bind::Id(to_uuid(before)));
    }
    // One row more than asked tells whether there are more.
    let order = if pagination.from_end { "DESC" } else { "ASC" };
    let fetch = pagination.limit + 1;
    let sql = format!(
        "{} ORDER BY {id} {order} LIMIT {fetch}",
        table.select_where(&text)
    );
    let this = TxRef { tx };
    let mut rows: Vec<R> = on_conn!(this, |conn| {
        bind_all!(sqlx::query_as(&sql), &binds)
            .fetch_all(conn)
            .await
    })?;
    let has_more = rows.len() > pagination.limit;
    rows.truncate(pagination.limit);
    if pagination.from_end {
        rows.reverse();
    }
    Ok(Page {
        items: rows,
        has_more,
    })
}

/// How many rows of `table` match `conditions`.
pub(crate) async fn count(
    tx: &mut Tx,
    table: &Table,
    conditions: &Conditions,
) -> Result<u64, StorageError> {
    let (text, _) = conditions.render();
    let alias = table.alias;
    let sql = format!("SELECT COUNT(*) FROM {} {alias} WHERE {text}", table.name);
    let this = TxRef { tx };
    let n: i64 = on_conn!(this, |conn| {
        bind_all!(sqlx::query_scalar(&sql), &conditions.binds)
            .fetch_one(conn)
            .await
    })?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut c = Conditions::default();
        c.add("u.locked_at IS NULL");
        c.add_bind("u.can_request_admin = ?", Bind::Bool(true));
        c.add_bind("LOWER(u.username) LIKE ?", Bind::Text("%a%".into()));
        assert_eq!(
            c.render(),
            (
                "u.locked_at IS NULL AND u.can_request_admin = $1 AND LOWER(u.username) LIKE $2"
                    .to_owned(),
                3
            )
        );
        assert_eq!(Conditions::default().render(), ("TRUE".to_owned(), 1));
    }
}

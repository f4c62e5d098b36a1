//! Paging and typed sorting of every list RPC (`operant.common.v1.PageRequest`), and the
//! page bounds the gateway checks on its `skip`/`limit` query parameters: one set of rules, one
//! wording of each violation.
//!
//! - `skip >= 0`; `limit` in 1..=[`MAX_LIMIT`], [`DEFAULT_LIMIT`] when unset (0 on the wire);
//! - `order_by` is `field`, `+field` or `-field` (descending), `field` taken from the list's
//!   [`SortField`] allow-list, so user input never reaches SQL as text. Whoever orders the rows
//!   adds the id as the last key in the same direction, so equal sort values still give a total
//!   order and pages never repeat or skip rows.
//! - `page_token` (cursor paging): the `next_page_token` of the previous page. It is opaque to
//!   clients: the sort value and id of the last row sent, signed with HMAC-SHA256 under a key
//!   derived from the service credential (`OPERANT_SERVICE_TOKEN`, so every replica accepts every
//!   replica's tokens) over that key *and* a digest of the list, its filters (the scope the
//!   handler passes) and its order. A token that was altered, or that is presented with other
//!   filters or another `order_by`, is 400 `INVALID_PAGE_TOKEN`. The next page starts strictly
//!   after that row (a keyset condition `(sort, id) > (value, id)` the indexes serve), so rows
//!   inserted or deleted between two page reads never make a page repeat or skip a row, and a
//!   deep page costs what the first one does. `skip` must be 0 with a token.
//!
//! Violations name the REST query parameters (`skip`, `limit`, `order_by`, `page_token`), which
//! are also the proto field names.

use std::cmp::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use operant_proto::common::v1::{PageInfo, PageRequest};
use ring::hmac;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode, FieldViolation};

/// Page size when the request does not give one.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size.
pub const MAX_LIMIT: i64 = 100;
/// Longest `page_token` accepted (a text sort key is at most a few hundred bytes).
pub const MAX_TOKEN_CHARS: usize = 2048;
/// What every token is made of (unpadded URL-safe base64); the OpenAPI document states it.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() <= MAX_TOKEN_CHARS
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
/// The first byte of every token: the encoding's version.
const TOKEN_VERSION: u8 = 1;

/// What type a sort field's values have (what a cursor must carry for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A timestamp, never null.
    Time,
    /// A nullable timestamp (nulls sort after every value ascending, before descending, as
    /// PostgreSQL's default `NULLS LAST` / `NULLS FIRST` do).
    OptTime,
    /// Text.
    Text,
    /// An integer.
    Int,
}

/// The sort fields of one list, usually a small enum.
pub trait SortField: Copy + Eq + std::fmt::Debug + 'static {
    /// The accepted `order_by` names and their fields.
    const FIELDS: &'static [(&'static str, Self)];
    /// The list's order when `order_by` is empty.
    const DEFAULT: Sort<Self>;
    /// The type of the field's values.
    fn kind(self) -> KeyKind;
}

/// A sort field and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort<F> {
    pub field: F,
    pub descending: bool,
}

/// The sort value of a row, as a cursor carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    Null,
    Time(DateTime<Utc>),
    Text(String),
    Int(i64),
}

/// Where a page starts: strictly after the row with this sort value and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub value: KeyValue,
    pub id: Uuid,
}

impl Cursor {
    pub fn new(value: KeyValue, id: Uuid) -> Self {
        Self { value, id }
    }

    pub fn time(value: DateTime<Utc>, id: Uuid) -> Self {
        Self::new(KeyValue::Time(value), id)
    }

    pub fn opt_time(value: Option<DateTime<Utc>>, id: Uuid) -> Self {
        Self::new(value.map_or(KeyValue::Null, KeyValue::Time), id)
    }

    pub fn text(value: impl Into<String>, id: Uuid) -> Self {
        Self::new(KeyValue::Text(value.into()), id)
    }

    pub fn int(value: i64, id: Uuid) -> Self {
        Self::new(KeyValue::Int(value), id)
    }

    /// The timestamp value ([`Page::parse`] only accepts a cursor of the field's kind, so the
    /// fallback is never used for a parsed page).
    pub fn time_value(&self) -> DateTime<Utc> {
        match self.value {
            KeyValue::Time(t) => t,
            _ => DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// The nullable timestamp value.
    pub fn opt_time_value(&self) -> Option<DateTime<Utc>> {
        match self.value {
            KeyValue::Time(t) => Some(t),
            _ => None,
        }
    }

    /// The text value.
    pub fn text_value(&self) -> &str {
        match &self.value {
            KeyValue::Text(t) => t,
            _ => "",
        }
    }

    /// The integer value.
    pub fn int_value(&self) -> i64 {
        match self.value {
            KeyValue::Int(i) => i,
            _ => 0,
        }
    }

    fn fits(&self, kind: KeyKind) -> bool {
        matches!(
            (kind, &self.value),
            (KeyKind::Time, KeyValue::Time(_))
                | (KeyKind::OptTime, KeyValue::Time(_) | KeyValue::Null)
                | (KeyKind::Text, KeyValue::Text(_))
                | (KeyKind::Int, KeyValue::Int(_))
        )
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = vec![TOKEN_VERSION];
        match &self.value {
            KeyValue::Null => out.push(0),
            KeyValue::Time(t) => {
                out.push(1);
                out.extend_from_slice(&t.timestamp_micros().to_be_bytes());
            }
            KeyValue::Text(t) => {
                out.push(2);
                out.extend_from_slice(&u32::try_from(t.len()).unwrap_or(u32::MAX).to_be_bytes());
                out.extend_from_slice(t.as_bytes());
            }
            KeyValue::Int(i) => {
                out.push(3);
                out.extend_from_slice(&i.to_be_bytes());
            }
        }
        out.extend_from_slice(self.id.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (&version, rest) = bytes.split_first()?;
        let (&tag, rest) = rest.split_first()?;
        if version != TOKEN_VERSION {
            return None;
        }
        let int = |rest: &[u8]| -> Option<(i64, usize)> {
            Some((i64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 8))
        };
        let (value, used) = match tag {
            0 => (KeyValue::Null, 0),
            1 => {
                let (micros, used) = int(rest)?;
                (KeyValue::Time(DateTime::from_timestamp_micros(micros)?), used)
            }
            2 => {
                let len = usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
                let text = std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
                (KeyValue::Text(text.to_owned()), 4 + len)
            }
            3 => {
                let (i, used) = int(rest)?;
                (KeyValue::Int(i), used)
            }
            _ => return None,
        };
        let id = Uuid::from_slice(rest.get(used..)?).ok()?;
        Some(Self { value, id })
    }
}

/// The key that signs page tokens, derived from the service credential so that every replica
/// of every service signs and accepts the same tokens. Never logged.
#[derive(Clone)]
pub struct PageTokens {
    key: hmac::Key,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(..)")
    }
}

impl PageTokens {
    /// The key for `secret` (the service credential, `OPERANT_SERVICE_TOKEN`).
    pub fn new(secret: &str) -> Self {
        let derive = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let derived = hmac::sign(&derive, b"operant page tokens v1");
        Self { key: hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()) }
    }

    /// The key of the running configuration.
    pub fn from_settings(settings: &crate::config::Settings) -> Self {
        Self::new(&settings.service_token)
    }

    fn sign(&self, binding: &[u8; 32], cursor: &Cursor) -> String {
        let mut payload = cursor.encode();
        let tag = self.tag(binding, &payload);
        payload.extend_from_slice(tag.as_ref());
        URL_SAFE_NO_PAD.encode(payload)
    }

    fn tag(&self, binding: &[u8; 32], payload: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(binding);
        context.update(payload);
        context.sign()
    }

    fn open(&self, binding: &[u8; 32], token: &str) -> Option<Cursor> {
        if token.len() > MAX_TOKEN_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
        let split = bytes.len().checked_sub(32)?;
        let (payload, tag) = bytes.split_at(split);
        let mut signed = binding.to_vec();
        signed.extend_from_slice(payload);
        hmac::verify(&self.key, &signed, tag).ok()?;
        Cursor::decode(payload)
    }
}

/// A validated page request.
#[derive(Debug, Clone)]
pub struct Page<F> {
    pub skip: i64,
    pub limit: i64,
    pub sort: Sort<F>,
    /// Set by a `page_token`: the page starts strictly after this row.
    pub after: Option<Cursor>,
    /// Digest of the list, its scope and filters, and its order: what a token is bound to.
    binding: [u8; 32],
    tokens: PageTokens,
}

/// One page of rows, the number of matching rows over all pages, and where the next page
/// starts (`None`: this is the last page).
#[derive(Debug)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub next: Option<Cursor>,
}

impl<T> Paged<T> {
    /// The same page with its rows converted.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged { items: self.items.into_iter().map(f).collect(), total: self.total, next: self.next }
    }
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

/// 400 `INVALID_PAGE_TOKEN`.
fn invalid_token() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidPageToken,
        "page_token is not a next_page_token of this list with these filters and this order",
    )
}

impl<F: SortField> Page<F> {
    /// Validates a `PageRequest` (absent = every default); 422 `VALIDATION_ERROR` naming each bad
    /// field, then 400 `INVALID_PAGE_TOKEN` for a token that was not issued for this list,
    /// `scope` (the caller and every filter of the request: its `Debug` text is digested) and
    /// order. Nothing here needs the network, so callers parse before they call anyone.
    pub fn parse(
        request: Option<&PageRequest>,
        tokens: &PageTokens,
        scope: &impl std::fmt::Debug,
    ) -> Result<Self, ApiError> {
        let empty = PageRequest::default();
        let request = request.unwrap_or(&empty);
        let token = request.page_token.trim();
        let skip = check_skip(i64::from(request.skip)).and_then(|skip| {
            if skip != 0 && !token.is_empty() {
                Err(FieldViolation::new("skip", "must be 0 with a page_token"))
            } else {
                Ok(skip)
            }
        });
        // 0 is proto's "unset".
        let limit = check_limit(Some(i64::from(request.limit)).filter(|l| *l != 0));
        let sort = parse_sort::<F>(&request.order_by).ok_or_else(|| {
            let allowed: Vec<&str> = F::FIELDS.iter().map(|(name, _)| *name).collect();
            FieldViolation::new(
                "order_by",
                format!("must be one of {} (prefix `-` for descending)", allowed.join(", ")),
            )
        });
        let (skip, limit, sort) = match (skip, limit, sort) {
            (Ok(skip), Ok(limit), Ok(sort)) => (skip, limit, sort),
            (skip, limit, sort) => {
                let violations = [skip.err(), limit.err(), sort.err()].into_iter().flatten().collect();
                return Err(ApiError::validation(violations));
            }
        };
        let binding = binding::<F>(sort, scope);
        let after = if token.is_empty() {
            None
        } else {
            let cursor = tokens.open(&binding, token).ok_or_else(invalid_token)?;
            if !cursor.fits(sort.field.kind()) {
                return Err(invalid_token());
            }
            Some(cursor)
        };
        Ok(Page { skip, limit, sort, after, binding, tokens: tokens.clone() })
    }

    /// Rows to read: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The page of `rows` read with [`Page::fetch`] (already in page order, starting at the
    /// page): at most `limit` of them, and the cursor of the last one when more follow.
    /// `key` gives a row's cursor for the page's sort field.
    pub fn paged<T>(&self, mut rows: Vec<T>, total: i64, key: impl Fn(&T, F) -> Cursor) -> Paged<T> {
        let limit = usize::try_from(self.limit).unwrap_or(0);
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| key(row, self.sort.field))
        } else {
            None
        };
        Paged { items: rows, total, next }
    }

    /// The page of `items` (every matching row, in page order) that this page covers:
    /// after the cursor (`cmp` orders a row against it in the page's order) or `skip` rows.
    pub fn window<T>(
        &self,
        items: Vec<T>,
        cmp: impl Fn(&T, &Cursor) -> Ordering,
        key: impl Fn(&T, F) -> Cursor,
    ) -> Paged<T> {
        let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
        let start = match &self.after {
            Some(cursor) => items.iter().take_while(|item| cmp(item, cursor) != Ordering::Greater).count(),
            None => usize::try_from(self.skip).unwrap_or(usize::MAX),
        };
        let fetch = usize::try_from(self.fetch()).unwrap_or(0);
        let rows = items.into_iter().skip(start).take(fetch).collect();
        self.paged(rows, total, key)
    }

    /// The `PageInfo` of a page: `total`, the applied bounds and the `next_page_token`.
    pub fn info<T>(&self, paged: &Paged<T>) -> PageInfo {
        PageInfo {
            total: paged.total,
            skip: i32::try_from(self.skip).unwrap_or(i32::MAX),
            limit: i32::try_from(self.limit).unwrap_or(i32::MAX),
            next_page_token: paged
                .next
                .as_ref()
                .map(|cursor| self.tokens.sign(&self.binding, cursor))
                .unwrap_or_default(),
        }
    }
}

/// Keeps the rows of `$query` strictly after the cursor `($value, $after)` in the order
/// `$column, $id` (both ascending, or both descending): `col >= v AND (col > v OR id > after)`,
/// whose first half is an index condition of an index on `(…, col, id)`, so a deep page starts
/// where the previous one ended instead of walking the rows before it. For non-null columns;
/// a nullable one needs its `NULLS LAST` / `NULLS FIRST` side written out.
#[macro_export]
macro_rules! keyset {
    ($query:expr, $column:expr, $id:expr, $value:expr, $after:expr, $descending:expr) => {{
        let (value, after) = ($value, $after);
        if $descending {
            $query.filter($column.le(value.clone()).and($column.lt(value).or($id.lt(after))))
        } else {
            $query.filter($column.ge(value.clone()).and($column.gt(value).or($id.gt(after))))
        }
    }};
}

/// What a token is bound to: the list (its sort type), the order, and the scope's `Debug` text.
fn binding<F: SortField>(sort: Sort<F>, scope: &impl std::fmt::Debug) -> [u8; 32] {
    let name = F::FIELDS.iter().find(|(_, f)| *f == sort.field).map_or("", |(n, _)| *n);
    let mut hasher = Sha256::new();
    hasher.update(std::any::type_name::<F>().as_bytes());
    hasher.update([0, u8::from(sort.descending)]);
    hasher.update(name.as_bytes());
    hasher.update([0]);
    hasher.update(format!("{scope:?}").as_bytes());
    hasher.finalize().into()
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
mod tests;

//! Unit tests of `paging`.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum F {
    A,
    B,
}

impl SortField for F {
    const FIELDS: &'static [(&'static str, Self)] = &[("a", F::A), ("b", F::B)];
    const DEFAULT: Sort<Self> = Sort { field: F::A, descending: true };
    fn kind(self) -> KeyKind {
        match self {
            F::A => KeyKind::Int,
            F::B => KeyKind::Text,
        }
    }
}

fn tokens() -> PageTokens {
    PageTokens::new("test-secret")
}

fn request(skip: i32, limit: i32, order_by: &str, token: &str) -> PageRequest {
    PageRequest { skip, limit, order_by: order_by.into(), page_token: token.into() }
}

fn parse(skip: i32, limit: i32, order_by: &str) -> Result<Page<F>, ApiError> {
    Page::parse(Some(&request(skip, limit, order_by, "")), &tokens(), &"scope")
}

fn fields(e: ApiError) -> Vec<String> {
    assert_eq!(e.error_code, crate::error::ErrorCode::ValidationError);
    e.violations.into_iter().map(|v| v.field).collect()
}

#[test]
fn parses_pages() {
    let p = Page::<F>::parse(None, &tokens(), &()).unwrap_or_else(|e| panic!("{e:?}"));
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

/// Every row after the cursor, in page order, as the keyset query returns them.
fn after(rows: &[(i64, Uuid)], page: &Page<F>) -> Vec<(i64, Uuid)> {
    rows.iter()
        .filter(|(v, id)| page.after.as_ref().is_none_or(|c| (*v, *id) > (c.int_value(), c.id)))
        .skip(usize::try_from(page.skip).unwrap_or(0))
        .take(usize::try_from(page.fetch()).unwrap_or(0))
        .copied()
        .collect()
}

#[test]
fn tokens_walk_every_row_once() {
    let mut rows: Vec<(i64, Uuid)> = (0..7).map(|i| (i / 2, Uuid::now_v7())).collect();
    rows.sort();
    let (mut token, mut seen) = (String::new(), Vec::new());
    for _ in 0..10 {
        let page = Page::<F>::parse(Some(&request(0, 3, "+a", &token)), &tokens(), &"scope")
            .unwrap_or_else(|e| panic!("{e:?}"));
        let paged = page.paged(after(&rows, &page), 7, |(v, id), _| Cursor::int(*v, *id));
        seen.extend(paged.items.iter().copied());
        token = page.info(&paged).next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, rows, "three pages of 3, 3 and 1 rows, in order, none twice");
}

fn first_token(order_by: &str, scope: &str) -> String {
    let page = Page::<F>::parse(Some(&request(0, 1, order_by, "")), &tokens(), &scope)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let rows = vec![(1, Uuid::now_v7()), (2, Uuid::now_v7())];
    page.info(&page.paged(rows, 2, |(v, id), _| Cursor::int(*v, *id))).next_page_token
}

fn code(order_by: &str, scope: &str, token: &str, secret: &str) -> Option<ErrorCode> {
    Page::<F>::parse(Some(&request(0, 1, order_by, token)), &PageTokens::new(secret), &scope)
        .err()
        .map(|e| e.error_code)
}

#[test]
fn tokens_are_bound_and_signed() {
    let token = first_token("a", "scope");
    assert!(!token.is_empty());
    assert_eq!(code("a", "scope", &token, "test-secret"), None, "the same list accepts it");
    let invalid = Some(ErrorCode::InvalidPageToken);
    assert_eq!(code("-a", "scope", &token, "test-secret"), invalid, "another direction");
    assert_eq!(code("b", "scope", &token, "test-secret"), invalid, "another field");
    assert_eq!(code("a", "other filter", &token, "test-secret"), invalid, "other filters");
    assert_eq!(code("a", "scope", &token, "another-secret"), invalid, "another deployment's key");
    for at in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        assert_eq!(code("a", "scope", &tampered, "test-secret"), invalid, "byte {at} changed");
    }
    assert_eq!(code("a", "scope", "not a token!", "test-secret"), invalid);
    assert_eq!(code("a", "scope", &"A".repeat(5000), "test-secret"), invalid);
    let skip = Page::<F>::parse(Some(&request(3, 1, "a", &token)), &tokens(), &"scope");
    assert_eq!(fields(skip.expect_err("skip with a token")), ["skip"]);
}

#[test]
fn cursors_round_trip() {
    let id = Uuid::now_v7();
    let now = DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap_or_default();
    for cursor in [
        Cursor::time(now, id),
        Cursor::opt_time(None, id),
        Cursor::text("Zoë's project", id),
        Cursor::int(-3, id),
    ] {
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor.clone()));
    }
}

#[test]
fn windows_of_sorted_items() {
    let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let items: Vec<(i64, Uuid)> = ids.iter().enumerate().map(|(i, id)| (i as i64, *id)).collect();
    let cmp = |item: &(i64, Uuid), c: &Cursor| (item.0, item.1).cmp(&(c.int_value(), c.id));
    let key = |item: &(i64, Uuid), _| Cursor::int(item.0, item.1);
    let page = parse(2, 2, "a").unwrap_or_else(|e| panic!("{e:?}"));
    let paged = page.window(items.clone(), cmp, key);
    assert_eq!(paged.items, items[2..4].to_vec());
    assert_eq!(paged.total, 5);
    assert_eq!(paged.next, Some(Cursor::int(3, ids[3])));
    let info = page.info(&paged);
    assert_eq!((info.total, info.skip, info.limit), (5, 2, 2));
    let page = Page::<F>::parse(Some(&request(0, 2, "a", &info.next_page_token)), &tokens(), &"scope")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let last = page.window(items.clone(), cmp, key);
    assert_eq!((last.items, last.next), (vec![items[4]], None));
}

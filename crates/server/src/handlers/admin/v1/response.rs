//! The JSON:API-like shapes of MAS's admin API: one resource
//! `{"data": {"type", "id", "attributes", "links": {"self"}}, "links":
//! {"self"}}`, a list `{"meta": {"count"}, "data": […], "links": {"self",
//! "first", "last", "next"?, "prev"?}}`; and the cursor parameters of
//! lists (`page[first]`, `page[after]`, `page[last]`, `page[before]`,
//! `count=true|false|only`).

use mxauth_storage::{Page, Pagination};
use serde::{Deserialize, Serialize};
use ulid::Ulid;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

/// The admin API's base path.
pub const BASE: &str = "/api/admin/v1";

/// A kind of resource: its JSON:API `type` and where one lives.
pub trait Resource: Serialize {
    const TYPE: &'static str;
    /// The collection's path under [`BASE`] (`/users`).
    const PATH: &'static str;
    fn id(&self) -> Ulid;
}

/// `{"self": "…"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfLink {
    #[serde(rename = "self")]
    pub this: String,
}

/// One resource in an answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceObject<T> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
    pub attributes: T,
    pub links: SelfLink,
}

impl<T: Resource> ResourceObject<T> {
    pub fn new(attributes: T) -> Self {
        let id = attributes.id().to_string();
        Self {
            kind: T::TYPE,
            links: SelfLink {
                this: format!("{BASE}{}/{id}", T::PATH),
            },
            id,
            attributes,
        }
    }
}

/// The answer with one resource.
#[derive(Debug, Serialize, ToSchema)]
pub struct Single<T> {
    pub data: ResourceObject<T>,
    pub links: SelfLink,
}

impl<T: Resource> Single<T> {
    pub fn new(attributes: T) -> Self {
        let data = ResourceObject::new(attributes);
        let links = SelfLink {
            this: data.links.this.clone(),
        };
        Self { data, links }
    }
}

/// `meta` of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListMeta {
    /// How many match the filters (absent with `count=false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// `links` of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListLinks {
    #[serde(rename = "self")]
    pub this: String,
    pub first: String,
    pub last: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
}

/// The answer with a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub meta: ListMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<ResourceObject<T>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<ListLinks>,
}

/// The page size when none is asked (MAS's).
const DEFAULT_PAGE_SIZE: usize = 10;
/// The largest page.
const MAX_PAGE_SIZE: usize = 1000;

/// The cursor and count parameters of every list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The first N items (default 10, at most 1000).
    #[serde(rename = "page[first]")]
    #[param(rename = "page[first]", minimum = 1, maximum = 1000)]
    pub first: Option<usize>,
    /// The last N items (at most 1000).
    #[serde(rename = "page[last]")]
    #[param(rename = "page[last]", minimum = 1, maximum = 1000)]
    pub last: Option<usize>,
    /// Items after this id.
    #[serde(rename = "page[after]")]
    #[serde(default, deserialize_with = "cursor")]
    #[param(rename = "page[after]", value_type = Option<String>, pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub after: Option<Ulid>,
    /// Items before this id.
    #[serde(rename = "page[before]")]
    #[serde(default, deserialize_with = "cursor")]
    #[param(rename = "page[before]", value_type = Option<String>, pattern = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")]
    pub before: Option<Ulid>,
    /// `true` (default): the count and the items; `false`: the items;
    /// `only`: the count.
    #[param(value_type = Option<CountParam>, inline)]
    pub count: Option<String>,
}

// The values of `count` in the document; the field is read as text, so
// that a wrong one is refused in the API's words.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // only its schema is used
pub enum CountParam {
    True,
    False,
    Only,
}

/// A cursor is a ULID as `parse_ulid` reads one (the `pattern` above is
/// [`super::document::ULID_PATTERN`]; attributes take only literals).
fn cursor<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Ulid>, D::Error> {
    let text = String::deserialize(deserializer)?;
    super::error::parse_ulid(&text)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a ULID")))
}

/// What a list includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountMode {
    Both,
    ItemsOnly,
    CountOnly,
}

impl PageParams {
    pub fn pagination(&self) -> Result<Pagination, ApiError> {
        let limit = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request(
                    "page[first] and page[last] cannot be used together",
                ))
            }
            (Some(n), None) | (None, Some(n)) => n,
            (None, None) => DEFAULT_PAGE_SIZE,
        };
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(ApiError::bad_request(format!(
                "a page holds 1 to {MAX_PAGE_SIZE} items"
            )));
        }
        Ok(Pagination {
            after: self.after,
            before: self.before,
            limit,
            from_end: self.last.is_some(),
        })
    }

    pub fn count_mode(&self) -> Result<CountMode, ApiError> {
        match self.count.as_deref() {
            None | Some("true") => Ok(CountMode::Both),
            Some("false") => Ok(CountMode::ItemsOnly),
            Some("only") => Ok(CountMode::CountOnly),
            Some(other) => Err(ApiError::bad_request(format!(
                "count must be true, false or only, not {other:?}"
            ))),
        }
    }
}

impl<T: Resource> List<T> {
    /// The answer for `page` of a list at `path` (with its filters in
    /// `filter_query`, `a=b&c=d`, kept in every link).
    pub fn new(
        page: Option<Page<T>>,
        count: Option<u64>,
        pagination: Pagination,
        filter_query: &str,
    ) -> Self {
        let base = format!("{BASE}{}", T::PATH);
        let link = |extra: String| {
            let parts: Vec<&str> = [filter_query, extra.as_str()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect();
            if parts.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", parts.join("&"))
            }
        };
        let size = pagination.limit;
        let Some(page) = page else {
            return Self {
                meta: ListMeta { count },
                data: None,
                links: None,
            };
        };
        let first_id = page.items.first().map(|i| i.id());
        let last_id = page.items.last().map(|i| i.id());
        // Forwards, more rows lie after the last item; backwards, before
        // the first. The other direction has rows when a cursor was given.
        let (more_after, more_before) = if pagination.from_end {
            (pagination.before.is_some(), page.has_more)
        } else {
            (page.has_more, pagination.after.is_some())
        };
        let this = {
            let mut q = vec![if pagination.from_end {
                format!("page[last]={size}")
            } else {
                format!("page[first]={size}")
            }];
            if let Some(a) = pagination.after {
                q.push(format!("page[after]={a}"));
            }
            if let Some(b) = pagination.before {
                q.push(format!("page[before]={b}"));
            }
            link(q.join("&"))
        };
        let links = ListLinks {
            this,
            first: link(format!("page[first]={size}")),
            last: link(format!("page[last]={size}")),
            next: more_after
                .then_some(last_id)
                .flatten()
                .map(|id| link(format!("page[after]={id}&page[first]={size}"))),
            prev: more_before
                .then_some(first_id)
                .flatten()
                .map(|id| link(format!("page[before]={id}&page[last]={size}"))),
        };
        Self {
            meta: ListMeta { count },
            data: Some(page.items.into_iter().map(ResourceObject::new).collect()),
            links: Some(links),
        }
    }
}

/// Answers a list request: the count and/or the page (as `count` asks),
/// read with `count_of` and `page_of`, each item shown with `show`. Every
/// list of the API is this, with its own storage calls.
pub async fn list_of<T: Resource, M>(
    state: &crate::state::AppState,
    page: &PageParams,
    filter_query: &str,
    count_of: impl AsyncFnOnce(
        &mut mxauth_storage::ReadHandle,
    ) -> Result<u64, mxauth_storage::StorageError>,
    page_of: impl AsyncFnOnce(
        &mut mxauth_storage::ReadHandle,
        Pagination,
    ) -> Result<Page<M>, mxauth_storage::StorageError>,
    show: impl FnMut(M) -> T,
) -> Result<axum::Json<List<T>>, ApiError> {
    let pagination = page.pagination()?;
    let mode = page.count_mode()?;
    let mut repo = state.db.read().await?;
    let count = match mode {
        CountMode::ItemsOnly => None,
        _ => Some(count_of(&mut repo).await?),
    };
    let items = match mode {
        CountMode::CountOnly => None,
        _ => Some(page_of(&mut repo, pagination).await?.map(show)),
    };
    Ok(axum::Json(List::new(
        items,
        count,
        pagination,
        filter_query,
    )))
}

#[cfg(test)]
mod tests {
    use axum::{extract::Query, http::Uri};

    use super::*;

    fn page(query: &str) -> Result<Pagination, String> {
        let uri: Uri = format!("/x?{query}").parse().unwrap();
        let Query(params) = Query::<PageParams>::try_from_uri(&uri).map_err(|e| e.body_text())?;
        params.pagination().map_err(|e| e.title)
    }

    /// The bounds the document gives (`minimum: 1`, `maximum: 1000`, a
    /// ULID cursor) are the ones enforced.
    #[test]
    fn page_parameters_are_bounded_as_documented() {
        assert_eq!(page("").unwrap().limit, DEFAULT_PAGE_SIZE);
        assert_eq!(page("page[first]=1000").unwrap().limit, 1000);
        assert!(page("page[last]=1").unwrap().from_end);
        for bad in ["page[first]=0", "page[last]=1001", "page[first]=-1"] {
            assert!(page(bad).is_err(), "{bad}");
        }
        let largest = format!("7{}", "Z".repeat(25));
        let after = page(&format!("page[after]={}", largest.to_lowercase())).unwrap();
        assert_eq!(after.after, Some(Ulid(u128::MAX)));
        // Above 128 bits: refused, not read as another cursor.
        let refused = page(&format!("page[before]=8{}", "Z".repeat(25))).unwrap_err();
        assert!(refused.contains("is not a ULID"), "{refused}");
        assert!(page("page[after]=").is_err());
    }
}

//! The route table: every route is added through [`Routes`], which registers it with axum and
//! records its method and path. Tests walk that record, so a new route cannot escape the
//! authentication checks by being forgotten in a hand-kept list. The routes that take large
//! bodies are recorded the same way ([`Routes::upload`]), for the body limit.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post, put};

use super::AppState;

#[derive(Default)]
pub struct Routes {
    pub(super) router: Router<AppState>,
    pub(super) table: Vec<(Method, &'static str)>,
    /// The paths registered with [`Routes::upload`].
    pub(super) uploads: Vec<&'static str>,
}

impl Routes {
    pub fn new() -> Self {
        Self::default()
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        self.table.push((method, path));
        self.router = self.router.route(path, route);
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add(Method::GET, path, get(h))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add(Method::POST, path, post(h))
    }

    /// A POST route that takes a file or a registration dump: the only kind allowed a body up
    /// to [`super::limits::UPLOAD_LIMIT`]; every other route gets [`super::limits::FORM_LIMIT`].
    pub fn upload<H: Handler<T, AppState>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.uploads.push(path);
        self.post(path, h)
    }

    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add(Method::PUT, path, put(h))
    }

    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add(Method::DELETE, path, delete(h))
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.table.extend(other.table);
        self.uploads.extend(other.uploads);
        self.router = self.router.merge(other.router);
        self
    }
}

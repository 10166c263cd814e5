//! A CSV import is applied at the versions its dry run read: a row changed, created or deleted
//! between the dry run and the apply refuses the whole import (409, naming it), and nothing is
//! written. On every backend.

use crate::helpers::{self, TestApp};

/// A multipart post of the import form: the CSV, the action and the dry run's versions.
fn import_form(
    app: &TestApp,
    csv: &str,
    action: &str,
    basis: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let b = "IMPORTBOUNDARY";
    let csrf = app.admin.csrf();
    let mut body = String::new();
    let mut field = |name: &str, value: &str| {
        body.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    };
    field("csrf", &csrf);
    field("csv", csv);
    field("action", action);
    if let Some(basis) = basis {
        field("basis", basis);
    }
    body.push_str(&format!("--{b}--\r\n"));
    axum::http::Request::post("/tenants/import")
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// The dry run's versions as the page carries them (an HTML-escaped JSON attribute).
fn basis_of(html: &str) -> String {
    let marker = "name=\"basis\" value=\"";
    let start = html.find(marker).expect("the dry run carries its versions") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end]
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

const CSV: &str = "code,name,expected_phones,pool,notes\nACME,Acme Srl,10,,\nBETA,Beta Spa,20,,\nGAMMA,Gamma Snc,5,,\n";

async fn each(db: helpers::TestDb) {
    let app = TestApp::on(db).await;
    let label = app.db.label;
    // ACME exists; BETA and GAMMA are new.
    let res = app
        .post_form(
            "/tenants",
            &[("code", "ACME"), ("name", "Acme"), ("expected_phones", "3")],
        )
        .await;
    assert_eq!(res.status, 303, "{label}: {}", res.body);

    let dry = app
        .admin
        .send(&app, import_form(&app, CSV, "preview", None))
        .await;
    assert_eq!(dry.status, 200, "{label}: {}", dry.body);
    let basis = basis_of(&dry.body);

    // Someone edits ACME after the dry run: the apply from that dry run is refused whole.
    let acme = app.store().tenant_by_code("ACME").await.unwrap();
    let res = app
        .post_form(
            &format!("/tenants/{}", acme.code),
            &[
                ("code", "ACME"),
                ("name", "Acme by someone else"),
                ("expected_phones", "4"),
                ("version", &acme.version.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status, 303, "{label}: {}", res.body);
    let apply = app
        .admin
        .send(&app, import_form(&app, CSV, "apply", Some(&basis)))
        .await;
    assert_eq!(apply.status, 409, "{label}: {}", apply.body);
    assert!(
        apply.body.contains("acme"),
        "{label}: names the tenant: {}",
        apply.body
    );
    assert_eq!(
        app.store().all_tenants().await.unwrap().len(),
        1,
        "{label}: nothing written"
    );
    let acme = app.store().tenant_by_code("ACME").await.unwrap();
    assert_eq!(
        acme.name, "Acme by someone else",
        "{label}: the other edit stands"
    );

    // Someone creates BETA after a new dry run: refused again, nothing written.
    let dry = app
        .admin
        .send(&app, import_form(&app, CSV, "preview", None))
        .await;
    let basis = basis_of(&dry.body);
    app.post_form(
        "/tenants",
        &[("code", "BETA"), ("name", "Beta"), ("expected_phones", "1")],
    )
    .await;
    let apply = app
        .admin
        .send(&app, import_form(&app, CSV, "apply", Some(&basis)))
        .await;
    assert_eq!(apply.status, 409, "{label}: {}", apply.body);
    assert!(
        app.store().tenant_by_code("GAMMA").await.is_err(),
        "{label}"
    );

    // A fresh dry run applies.
    let dry = app
        .admin
        .send(&app, import_form(&app, CSV, "preview", None))
        .await;
    let basis = basis_of(&dry.body);
    let apply = app
        .admin
        .send(&app, import_form(&app, CSV, "apply", Some(&basis)))
        .await;
    assert_eq!(apply.status, 303, "{label}: {}", apply.body);
    let job = apply.location.clone().unwrap();
    for _ in 0..100 {
        if app.store().tenant_by_code("GAMMA").await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let acme = app.store().tenant_by_code("ACME").await.unwrap();
    assert_eq!(
        acme.name, "Acme Srl",
        "{label}: the import's value, at {job}"
    );
    assert!(app.store().tenant_by_code("GAMMA").await.is_ok(), "{label}");
    app.db.cleanup().await;
}

#[tokio::test]
async fn an_import_refuses_rows_changed_since_its_dry_run() {
    each(helpers::sqlite().await).await;
    if let Some(pg) = helpers::postgres().await {
        each(pg).await;
    }
}
